import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .audit import request_ip


def _valid_ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address. Behind N trusted proxies (HEARTH_TRUSTED_PROXIES) it is the Nth
    address from the right of X-Forwarded-For; a client can forge the left part, never that.
    Anything that is not an IP address (a proxy writing "unknown", a port) is ignored: the audit
    column is an inet on PostgreSQL, and a bad value there would fail the audited action."""
    proxies = settings.HEARTH_TRUSTED_PROXIES
    if proxies:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if len(forwarded) >= proxies:
            address = _valid_ip(forwarded[-proxies])
            if address:
                return address
    return _valid_ip(request.META.get("REMOTE_ADDR"))


class RequestContextMiddleware:
    """Per-request context: the client's address for audit_record, and the community time zone
    that community views activate, reset afterwards so it never leaks into the next request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = request_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            request_ip.reset(token)
            timezone.deactivate()
