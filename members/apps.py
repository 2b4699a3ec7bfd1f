from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members, team and tenancy")

    def ready(self) -> None:
        from . import signals  # noqa: F401
        from .navigation import NavItem, register
        from .permissions import Capability

        register(
            NavItem(_("Overview"), _("Home"), "community_home", Capability.DASHBOARDS, 0),
            NavItem(
                _("People"),
                _("Members"),
                "member_directory",
                Capability.MEMBERS_READ,
                100,
                also_current=("member_profile",),
            ),
            NavItem(
                _("People"),
                _("Key members"),
                "key_members",
                Capability.MEMBERS_READ,
                110,
            ),
            NavItem(
                _("People"),
                _("Introductions"),
                "introductions",
                Capability.MEMBERS_READ,
                120,
            ),
            NavItem(
                _("People"),
                _("Merge inbox"),
                "merge_inbox",
                Capability.MEMBERS_EDIT,
                130,
                also_current=("member_merge",),
            ),
            NavItem(_("Administration"), _("Team"), "team", Capability.ADMINISTER, 900),
            NavItem(_("Administration"), _("API tokens"), "api_tokens", Capability.ADMINISTER, 910),
            NavItem(
                _("Administration"), _("Integrations"), "integrations", Capability.ADMINISTER, 915
            ),
            NavItem(_("Administration"), _("Audit log"), "audit_log", Capability.ADMINISTER, 920),
            NavItem(
                _("Administration"), _("Settings"), "community_settings", Capability.ADMINISTER, 930
            ),
        )
