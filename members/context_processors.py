from typing import Any

from django.conf import settings
from django.http import HttpRequest

from .navigation import nav_for
from .selectors import memberships_of


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The community switcher and the sidebar: one query for the user's memberships."""
    context: dict[str, Any] = {"site_debug": settings.DEBUG}
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return context
    match = request.resolver_match
    slug = match.kwargs.get("community_slug") if match else None
    memberships = list(memberships_of(user))
    current = next((m for m in memberships if m.community.slug == slug), None)
    context["my_memberships"] = memberships
    if current is not None:
        context["current_membership"] = current
        context["nav_groups"] = nav_for(current.role, slug, match.url_name if match else None)
    return context
