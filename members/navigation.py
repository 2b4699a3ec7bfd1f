"""The sidebar, by role. Each app registers its sections from its AppConfig.ready(), so members
links to pages of higher apps without importing them; only registered (working) pages appear."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise

from .permissions import Capability, role_can


@dataclass(frozen=True)
class NavItem:
    group: str | Promise
    label: str | Promise
    url_name: str  # reversed with the community slug
    capability: Capability
    order: int = 100
    # Pages below this one (a profile below the directory) that keep the link marked current.
    also_current: tuple[str, ...] = ()


_registry: list[NavItem] = []


def register(*items: NavItem) -> None:
    for item in items:
        if item not in _registry:
            _registry.append(item)


def nav_for(role: str, slug: str, current_url_name: str | None) -> list[dict]:
    """Groups of links this role may open, in order, with the current page marked."""
    groups: dict[str, list[dict]] = {}
    for item in sorted(_registry, key=lambda i: i.order):
        if role_can(role, item.capability):
            groups.setdefault(str(item.group), []).append(
                {
                    "label": item.label,
                    "url": reverse(item.url_name, args=[slug]),
                    "active": current_url_name in (item.url_name, *item.also_current),
                }
            )
    return [{"group": name, "items": links} for name, links in groups.items()]
