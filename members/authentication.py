import logging

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from . import services
from .middleware import client_ip
from .models import ApiToken, User

security_log = logging.getLogger("hearth.security")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>`. The token is looked up by its SHA-256; a revoked token,
    or one whose user is inactive, is refused. request.auth is the ApiToken, which the base
    viewset uses to keep the token inside its own community."""

    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        try:
            return self._authenticate(header)
        except exceptions.AuthenticationFailed:
            _count_failure(request)
            raise

    def _authenticate(self, header: list[bytes]) -> tuple[User, ApiToken]:
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Malformed Authorization header."))
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(_("Malformed token.")) from exc
        token = (
            ApiToken.objects.select_related("user", "community")
            .filter(token_hash=services.token_hash(raw), revoked_at__isnull=True)
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        services.api_token_touch(token=token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


def _count_failure(request: Request) -> None:
    """Refused tokens are counted per address; past the limit the address gets 429 for the rest
    of the minute. Authentication runs before DRF's throttles, so they never see these."""
    key = f"hearth:token-failures:{client_ip(request) or 'unknown'}"
    cache.add(key, 0, timeout=60)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        failures = 1
    if failures > settings.API_TOKEN_FAILURES_PER_MINUTE:
        security_log.warning("token failures throttled for %s", client_ip(request))
        raise exceptions.Throttled(wait=60)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "members.authentication.ApiTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A community-scoped API token created by an admin.",
        }
