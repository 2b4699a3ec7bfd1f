"""Sections other apps add to a member's profile (moderation history, events attended, feedback
raised) without members importing them: each app registers from its AppConfig.ready().

    register(title=_("Moderation history"), selector=cases_of_member,
             template="moderation/_partials/member_cases.html",
             capability=Capability.MODERATE)

`selector(member)` returns what the template shows (a list, evaluated by the view so templates
never query); the template gets it as `items`, with `member` and `community`. A section whose
selector returns nothing empty is left out."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise

from .ledger import Member
from .permissions import Capability, role_can


@dataclass(frozen=True)
class ProfileSection:
    title: str | Promise
    selector: Callable[[Member], Sequence[Any]]
    template: str
    capability: Capability = Capability.MEMBERS_READ
    order: int = 100


_registry: list[ProfileSection] = []


def register(
    title: str | Promise,
    selector: Callable[[Member], Sequence[Any]],
    template: str,
    *,
    capability: Capability = Capability.MEMBERS_READ,
    order: int = 100,
) -> ProfileSection:
    section = ProfileSection(title, selector, template, capability, order)
    if section not in _registry:
        _registry.append(section)
    return section


def unregister(section: ProfileSection) -> None:
    if section in _registry:
        _registry.remove(section)


def sections_for(member: Member, role: str) -> list[dict[str, Any]]:
    """The registered sections this role may see, filled, in order; empty ones left out."""
    filled = []
    for section in sorted(_registry, key=lambda s: s.order):
        if not role_can(role, section.capability):
            continue
        items = list(section.selector(member))
        if items:
            filled.append({"title": section.title, "template": section.template, "items": items})
    return filled
