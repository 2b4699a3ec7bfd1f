"""What each role may do: the capability table of ARCHITECTURE.md, in one place.

Every HTML view (members.views_base.CommunityView) and every API viewset
(members.api_base.CommunityViewSet) names the capability it needs; nothing else decides access.
"""

from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from .models import Role


class Capability(StrEnum):
    DASHBOARDS = "dashboards"  # dashboards, KPI exports
    MEMBERS_AGGREGATES = "members_aggregates"  # counts and charts about members, no people
    MEMBERS_READ = "members_read"  # profiles, timelines
    MEMBERS_PII = "members_pii"  # emails and personal data, PII exports
    MEMBERS_NOTES = "members_notes"  # notes on a member
    MEMBERS_EDIT = "members_edit"  # edit, intros, onboarding, import/export, erase
    MODERATE = "moderate"  # queue, decisions, sanctions
    APPEALS_REVIEW = "appeals_review"  # never by the original decider (enforced by the service)
    MODERATION_CONFIGURE = "moderation_configure"  # guidelines, auto-rules, policy, SLA targets
    PROGRAMMING_READ = "programming_read"  # events, programming, feedback, escalations
    PROGRAMMING_EDIT = "programming_edit"
    ADMINISTER = "administer"  # team, invitations, integrations, API tokens, audit log


_EVERYONE = {Capability.DASHBOARDS, Capability.MEMBERS_AGGREGATES, Capability.PROGRAMMING_READ}
_MODERATION = {Capability.MODERATE, Capability.APPEALS_REVIEW}

CAPABILITIES: dict[str, frozenset[Capability]] = {
    Role.ADMIN: frozenset(Capability),
    Role.MANAGER: frozenset(set(Capability) - {Capability.ADMINISTER}),
    Role.MODERATOR: frozenset(
        _EVERYONE | _MODERATION | {Capability.MEMBERS_READ, Capability.MEMBERS_NOTES}
    ),
    Role.VIEWER: frozenset(_EVERYONE),
}

# Shown on each home page so a teammate knows what their role lets them do.
CAPABILITY_LABELS: dict[Capability, str] = {
    Capability.DASHBOARDS: _("Read dashboards and export KPIs"),
    Capability.MEMBERS_AGGREGATES: _("See member counts and trends"),
    Capability.MEMBERS_READ: _("Read member profiles and timelines"),
    Capability.MEMBERS_PII: _("See members' emails and export personal data"),
    Capability.MEMBERS_NOTES: _("Write notes on members"),
    Capability.MEMBERS_EDIT: _("Edit members, onboarding, introductions, imports and erasure"),
    Capability.MODERATE: _("Work the moderation queue and decide cases"),
    Capability.APPEALS_REVIEW: _("Review appeals of other moderators' decisions"),
    Capability.MODERATION_CONFIGURE: _("Edit guidelines, auto-rules, enforcement policy and SLAs"),
    Capability.PROGRAMMING_READ: _("See events, programming, feedback and escalations"),
    Capability.PROGRAMMING_EDIT: _("Run events, the content calendar and feedback escalation"),
    Capability.ADMINISTER: _("Manage the team, integrations, API tokens and the audit log"),
}


def role_can(role: str | None, capability: Capability) -> bool:
    return role is not None and capability in CAPABILITIES.get(role, frozenset())
