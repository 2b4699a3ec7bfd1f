from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from .audit import request_ip


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address. Behind N trusted proxies (HEARTH_TRUSTED_PROXIES) it is the Nth
    address from the right of X-Forwarded-For; a client can forge the left part, never that."""
    proxies = settings.HEARTH_TRUSTED_PROXIES
    if proxies:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if len(forwarded) >= proxies and forwarded[-proxies]:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR") or None


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
