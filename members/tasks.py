import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse

from . import ingestion_hooks, selectors, services
from .models import Invitation

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def invitation_send(invitation_id: int, raw_token: str | None = None) -> None:
    """Email the invitation link. Idempotent: an invitation already sent, or no longer pending,
    is not sent again. The raw token travels only in this message, never in the database;
    without one (the sweep below) a fresh link is issued and the lost one stops working."""
    invitation = (
        Invitation.objects.select_related("community", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or invitation.sent_at or not invitation.is_usable:
        logger.info("invitation %s: nothing to send", invitation_id)
        return
    raw_token = raw_token or services.invitation_reissue_token(invitation_id=invitation.pk)
    if raw_token is None:
        return
    context = {
        "invitation": invitation,
        "url": settings.SITE_URL + reverse("invitation_accept", args=[raw_token]),
    }
    send_mail(
        # One line whatever a community is called: a newline in a header is refused by Django.
        subject=" ".join(render_to_string("members/email/invitation_subject.txt", context).split()),
        message=render_to_string("members/email/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )
    services.invitation_mark_sent(invitation_id=invitation.pk)


@shared_task
def invitations_expire() -> int:
    return services.invitations_expire()


@shared_task
def invitations_send_unsent() -> int:
    """Fan out a send for each invitation whose email never left (the broker was down when it
    was created). Older than five minutes, so a merely busy worker is not overtaken."""
    pending = selectors.invitations_unsent(older_than=timedelta(minutes=5))
    for invitation_id in pending:
        invitation_send.delay(invitation_id)
    return len(pending)


@shared_task
def ingest_followup(
    *, community_id: int, activity_ids: list[int], days: list[str], source: str
) -> int:
    """After an ingest commits: run the hooks other apps registered (auto-moderation, KPI dirty
    days, onboarding rules). Routed to the ingest queue; the ingest request never waits for it.
    Hooks are idempotent, so a redelivery only repeats work."""
    return ingestion_hooks.run(
        community_id=community_id, activity_ids=activity_ids, days=days, source=source
    )
