"""Services and selectors of platform integrations (webhook secrets and delivery records).

Kept out of services.py/selectors.py, like ingestion.py, because webhooks are their own path:
the counters are written by unauthenticated platform traffic, never by a staff action, so
recording a delivery writes no audit row; setting a secret is a staff action and does."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import crypto
from .audit import audit_record
from .exceptions import ApplicationError
from .models import Community, Integration, IntegrationPlatform, User

SECRET_MIN = 8
SECRET_MAX = 512
REASON_MAX = 300


# --- services ------------------------------------------------------------------------------


@transaction.atomic
def integration_set_secret(
    *, actor: User | None, community: Community, platform: str, secret: str
) -> Integration:
    """Set or replace one platform's signing secret. The secret is encrypted before it reaches
    the database, and the audit row says only that it changed."""
    if platform not in IntegrationPlatform.values:
        raise ApplicationError(_("Unknown platform."), field="platform")
    if not isinstance(secret, str) or not secret.strip():
        raise ApplicationError(_("Enter the secret."), field="secret")
    if not SECRET_MIN <= len(secret) <= SECRET_MAX:
        raise ApplicationError(
            _("The secret must have %(min)d to %(max)d characters.")
            % {"min": SECRET_MIN, "max": SECRET_MAX},
            field="secret",
        )
    if "\x00" in secret:
        raise ApplicationError(_("The secret must not contain NUL characters."), field="secret")
    now = timezone.now()
    # get_or_create: two admins setting the first secret at once get one row (the loser's
    # INSERT conflicts and re-reads it, locked), never an IntegrityError.
    integration, created = Integration.objects.select_for_update().get_or_create(
        community=community,
        platform=platform,
        defaults={"secret_encrypted": crypto.encrypt(secret), "secret_set_at": now},
    )
    replaced = not created
    if replaced:
        integration.secret_encrypted = crypto.encrypt(secret)
        integration.secret_set_at = now
        integration.save(update_fields=["secret_encrypted", "secret_set_at", "updated_at"])
    audit_record(
        actor=actor,
        community=community,
        action="integration.secret_set",
        target=integration,
        before={"platform": platform, "configured": replaced},
        after={"platform": platform, "configured": True, "secret": "secret changed"},
    )
    return integration


def integration_record_delivery(*, integration: Integration, unknown: bool = False) -> None:
    """A verified delivery: stored or acknowledged (`unknown`: an event Hearth does not map).
    One UPDATE with `n = n + 1`, so concurrent deliveries lose no count."""
    counter = "unknown_events" if unknown else "deliveries_ok"
    Integration.objects.filter(pk=integration.pk).update(
        **{counter: F(counter) + 1}, last_delivery_at=timezone.now()
    )


@transaction.atomic
def integration_record_error(
    *, integration: Integration, reason: str, rejected: bool = False
) -> None:
    """A delivery Hearth refused: `rejected` for a bad, missing or stale signature (counted),
    otherwise a verified delivery whose content could not be stored. Keeps the last
    Integration.ERRORS_KEPT reasons, newest first; the row lock orders concurrent errors (on
    SQLite the database-wide write lock does)."""
    now = timezone.now()
    current = (
        Integration.objects.select_for_update()
        .filter(pk=integration.pk)
        .values_list("last_errors", flat=True)
        .first()
    )
    if current is None:
        return
    entry = {"at": now.isoformat(), "reason": reason[:REASON_MAX]}
    errors = [entry, *(current or [])][: Integration.ERRORS_KEPT]
    changes: dict = {"last_error_at": now, "last_errors": errors}
    if rejected:
        changes["deliveries_rejected"] = F("deliveries_rejected") + 1
    Integration.objects.filter(pk=integration.pk).update(**changes)


# --- selectors -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IntegrationCard:
    """One platform, configured or not, as the integrations page and API show it."""

    platform: str
    label: str
    webhook_url: str
    integration: Integration | None

    @property
    def configured(self) -> bool:
        return self.integration is not None

    def _value(self, name: str, default: Any) -> Any:
        return getattr(self.integration, name) if self.integration else default

    @property
    def secret_set_at(self) -> datetime | None:
        return self._value("secret_set_at", None)

    @property
    def deliveries_ok(self) -> int:
        return self._value("deliveries_ok", 0)

    @property
    def deliveries_rejected(self) -> int:
        return self._value("deliveries_rejected", 0)

    @property
    def unknown_events(self) -> int:
        return self._value("unknown_events", 0)

    @property
    def last_delivery_at(self) -> datetime | None:
        return self._value("last_delivery_at", None)

    @property
    def last_error_at(self) -> datetime | None:
        return self._value("last_error_at", None)

    @property
    def last_errors(self) -> list[dict[str, Any]]:
        return _parsed_errors(self.integration.last_errors) if self.integration else []


def _parsed_errors(raw: Any) -> list[dict[str, Any]]:
    """The stored errors with their times parsed, for display."""
    out = []
    for entry in raw if isinstance(raw, list) else []:
        try:
            at: datetime | None = datetime.fromisoformat(entry["at"])
        except (KeyError, TypeError, ValueError):
            at = None
        out.append({"at": at, "reason": str(entry.get("reason", ""))})
    return out


def webhook_url(community: Community, platform: str) -> str:
    """The absolute URL to paste into the platform's webhook settings."""
    return settings.SITE_URL + reverse("webhook", args=[community.slug, platform])


def integrations_of(community: Community) -> list[IntegrationCard]:
    """Every platform Hearth takes webhooks from, with the community's integration if any:
    one query."""
    found = {i.platform: i for i in Integration.objects.filter(community=community)}
    return [
        IntegrationCard(
            platform=value,
            label=str(label),
            webhook_url=webhook_url(community, value),
            integration=found.get(value),
        )
        for value, label in IntegrationPlatform.choices
    ]


def integration_for_webhook(community_slug: str, platform: str) -> Integration | None:
    """The integration a delivery is for, with its community: one query."""
    if platform not in IntegrationPlatform.values:
        return None
    return (
        Integration.objects.select_related("community")
        .filter(community__slug=community_slug, platform=platform)
        .first()
    )


def webhook_secret(integration: Integration) -> str | None:
    return crypto.decrypt(integration.secret_encrypted)
