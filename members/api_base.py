"""The API's shared parts: the community-scoped base viewset, pagination, the error shape."""

import logging
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.viewsets import GenericViewSet

from .exceptions import ApplicationError, ConflictError, NotAllowed
from .models import ApiToken, Community, TeamMembership
from .permissions import Capability, role_can
from .selectors import membership_for

security_log = logging.getLogger("hearth.security")
_SEALED = ("initial", "get_queryset", "check_permissions", "check_object_permissions")


class CommunityViewSet(GenericViewSet):
    """Base of every endpoint under /api/v1/communities/{community_slug}/.

    Authentication and throttling run first (401 without credentials); then the caller must be
    on the community's team and, with a token, the token must belong to this community — else
    404; a method the endpoint does not have is 405; then the role must hold the capability for
    the method — else 403. Every queryset is `base_queryset()` filtered to the URL's community;
    the sealed methods cannot be overridden."""

    read_capability: ClassVar[Capability]
    write_capability: ClassVar[Capability | None] = None
    community_field: ClassVar[str] = "community"
    lookup_field = "public_id"
    community: Community
    membership: TeamMembership

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        overridden = [name for name in _SEALED if name in cls.__dict__]
        if overridden:
            raise TypeError(f"{cls.__name__} may not override {', '.join(overridden)}.")
        if not isinstance(getattr(cls, "read_capability", None), Capability):
            raise ImproperlyConfigured(f"{cls.__name__} must name its read_capability.")

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        membership = membership_for(request.user, kwargs["community_slug"])
        token = request.auth if isinstance(request.auth, ApiToken) else None
        if membership is None or (token and token.community_id != membership.community_id):
            raise exceptions.NotFound()
        if not self._handles(request.method):
            # A method no role may use is a 405, not a 403 (teammates only: 404 comes first).
            raise exceptions.MethodNotAllowed(request.method)
        needed = (
            self.read_capability
            if request.method in ("GET", "HEAD", "OPTIONS")
            else self.write_capability
        )
        if needed is None or not role_can(membership.role, needed):
            security_log.warning(
                "api permission denied: user=%s community=%s role=%s %s %s",
                request.user.pk,
                membership.community.slug,
                membership.role,
                request.method,
                request.path,
            )
            raise exceptions.PermissionDenied()
        self.membership, self.community = membership, membership.community
        timezone.activate(self.community.tzinfo)

    def _handles(self, method: str) -> bool:
        method = method.lower()
        return method in self.http_method_names and hasattr(self, method)

    def base_queryset(self) -> QuerySet:
        return self.queryset.all()

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular builds the schema
            return self.base_queryset().none()
        return self.base_queryset().filter(**{self.community_field: self.community})


def error_body(code: str, message: str, errors: dict | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "errors": errors or {}}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every API error answers `{"code", "message", "errors": {field: [messages]}}`."""
    if isinstance(exc, NotAllowed):
        return Response(
            error_body("permission_denied", exc.message), status=status.HTTP_403_FORBIDDEN
        )
    if isinstance(exc, ApplicationError):
        errors = {exc.field: [exc.message]} if exc.field else {}
        http_status = (
            status.HTTP_409_CONFLICT
            if isinstance(exc, ConflictError)
            else status.HTTP_400_BAD_REQUEST
        )
        code = "conflict" if isinstance(exc, ConflictError) else "invalid"
        return Response(error_body(code, exc.message, errors), status=http_status)
    if isinstance(exc, RequestDataTooBig):
        exc = exceptions.APIException(str(exc))
        exc.status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        response.data = error_body("invalid", "The request has invalid fields.", detail)
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else "error"
        response.data = error_body(code, str(getattr(exc, "detail", exc)))
    return response
