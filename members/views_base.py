"""The one base for community pages. It resolves the community from the URL, requires a login,
requires a role in that community (a stranger gets 404, never 403), checks the view's capability
and activates the community's time zone. Subclasses cannot override `dispatch`, so none of this
can be skipped."""

import logging
from typing import Any, ClassVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.generic import TemplateView

from .models import Community, TeamMembership
from .permissions import Capability, role_can
from .selectors import membership_for

security_log = logging.getLogger("hearth.security")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def resolve_membership(request: HttpRequest, slug: str) -> TeamMembership:
    """The caller's role in the community named by the URL; 404 for anyone not on its team."""
    membership = membership_for(request.user, slug)
    if membership is None:
        raise Http404("No such community.")
    return membership


def check_capability(
    request: HttpRequest, membership: TeamMembership, capability: Capability | None
) -> None:
    if capability is None or not role_can(membership.role, capability):
        security_log.warning(
            "permission denied: user=%s community=%s role=%s needs=%s %s %s",
            request.user.pk,
            membership.community.slug,
            membership.role,
            capability,
            request.method,
            request.path,
        )
        raise PermissionDenied


class CommunityView(TemplateView):
    """Base of every HTML view under /c/<community_slug>/.

    `read_capability` guards GET/HEAD; `write_capability` guards every other method (None means
    the view accepts no writes). `scoped(Model)` is the only way a view reaches a model's rows."""

    read_capability: ClassVar[Capability]
    write_capability: ClassVar[Capability | None] = None
    community: Community
    membership: TeamMembership

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "dispatch" in cls.__dict__:
            raise TypeError(f"{cls.__name__} may not override CommunityView.dispatch.")
        if not isinstance(getattr(cls, "read_capability", None), Capability):
            raise ImproperlyConfigured(f"{cls.__name__} must name its read_capability.")

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        self.membership = resolve_membership(request, kwargs["community_slug"])
        self.community = self.membership.community
        method = request.method.lower() if request.method else ""
        if method not in self.http_method_names or not hasattr(self, method):
            return self.http_method_not_allowed(request, *args, **kwargs)  # 405, after the 404
        needed = self.read_capability if request.method in SAFE_METHODS else self.write_capability
        check_capability(request, self.membership, needed)
        timezone.activate(self.community.tzinfo)
        return super().dispatch(request, *args, **kwargs)

    def can(self, capability: Capability) -> bool:
        return role_can(self.membership.role, capability)

    def scoped(self, model: type[Model], community_field: str = "community") -> QuerySet:
        return model._default_manager.filter(**{community_field: self.community})

    def get_scoped_or_404(
        self, queryset: QuerySet, community_field: str = "community", **lookup: Any
    ) -> Any:
        return get_object_or_404(queryset, **{community_field: self.community}, **lookup)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(community=self.community, membership=self.membership)
        return context


def filtered(filterset: Any) -> QuerySet:
    """A FilterSet's rows, or none when its input is invalid (the form shows the errors)."""
    return filterset.qs if filterset.is_valid() else filterset.queryset.none()


class FilteredListMixin:
    """For a CommunityView listing filtered rows: a page of `page_size`, and for an htmx request
    (a filter changed) only `partial_template_name`, the results, rendered from the same view."""

    request: HttpRequest
    template_name: str
    partial_template_name: str
    page_size = 50

    def get_template_names(self) -> list[str]:
        htmx = getattr(self.request, "htmx", None)
        if htmx and not htmx.boosted:
            return [self.partial_template_name]
        return [self.template_name]

    def is_partial(self) -> bool:
        return self.get_template_names() == [self.partial_template_name]

    def page_of(self, filterset: Any) -> Page:
        return Paginator(filtered(filterset), self.page_size).get_page(self.request.GET.get("page"))
