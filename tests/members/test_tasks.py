"""members.tasks: called directly, as units. Each is idempotent: run twice, same result."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from config.celery import app as celery_app
from members import services, tasks
from members.models import AuditEvent, Invitation, Role

pytestmark = pytest.mark.django_db


def invite(admin, community, email="new@acme.test"):
    # Without capturing on-commit callbacks the service's own enqueue never runs here.
    return services.invitation_create(
        actor=admin, community=community, email=email, role=Role.MODERATOR
    )


def test_invitation_send_emails_the_link_once_however_often_it_runs(admin, community, mailoutbox):
    invitation, raw = invite(admin, community)

    tasks.invitation_send(invitation.pk, raw)
    tasks.invitation_send(invitation.pk, raw)

    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["new@acme.test"]
    assert email.from_email == settings.DEFAULT_FROM_EMAIL
    assert f"{settings.SITE_URL}/invitations/{raw}/" in email.body
    assert "as Moderator" in email.body
    invitation.refresh_from_db()
    assert invitation.sent_at is not None


def test_invitation_send_skips_a_revoked_invitation(admin, community, mailoutbox):
    invitation, raw = invite(admin, community)
    services.invitation_revoke(actor=admin, invitation=invitation)

    tasks.invitation_send(invitation.pk, raw)

    assert mailoutbox == []
    invitation.refresh_from_db()
    assert invitation.sent_at is None


def test_invitation_send_skips_an_expired_invitation(admin, community, mailoutbox):
    invitation, raw = invite(admin, community)

    with time_machine.travel(invitation.expires_at + timedelta(minutes=1)):
        tasks.invitation_send(invitation.pk, raw)

    assert mailoutbox == []


def test_invitation_send_logs_and_returns_when_the_invitation_is_gone(db, mailoutbox, caplog):
    caplog.set_level("INFO", logger="members.tasks")

    tasks.invitation_send(987654, "hth_whatever")

    assert mailoutbox == []
    assert "invitation 987654: nothing to send" in caplog.text


def test_invitation_send_retries_transient_mail_errors_only():
    assert tasks.invitation_send.autoretry_for == (OSError,)
    assert tasks.invitation_send.max_retries == 5


def test_invitations_expire_marks_lapsed_invitations_and_records_each_once(admin, community):
    with time_machine.travel(timezone.now() - timedelta(days=settings.HEARTH_INVITATION_DAYS + 1)):
        lapsed, _raw = invite(admin, community, email="late@acme.test")
    current, _raw = invite(admin, community, email="fresh@acme.test")

    assert tasks.invitations_expire() == 1
    assert tasks.invitations_expire() == 0

    lapsed.refresh_from_db()
    current.refresh_from_db()
    assert (lapsed.status, current.status) == ("expired", "pending")
    assert lapsed.ended_at is not None
    event = AuditEvent.objects.get(action="invitation.expired")
    assert (event.actor, event.community, event.target_id) == (
        None,
        community,
        str(lapsed.public_id),
    )


def test_invitations_expire_runs_hourly_from_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["invitations-expire"]

    assert entry["task"] == "members.tasks.invitations_expire"
    assert entry["task"] in celery_app.tasks
    assert tasks.invitations_expire.name == entry["task"]


def test_an_expired_invitation_can_be_replaced_by_a_new_one(admin, community):
    with time_machine.travel(timezone.now() - timedelta(days=30)):
        invite(admin, community)
    tasks.invitations_expire()

    invitation, _raw = invite(admin, community)

    assert invitation.status == Invitation.Status.PENDING
    assert Invitation.objects.filter(email="new@acme.test").count() == 2


def test_the_invitation_email_gives_the_expiry_in_the_communitys_time_zone(
    admin, community, mailoutbox
):
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False):
        invitation, raw = invite(admin, community)
        tasks.invitation_send(invitation.pk, raw)

    # Acme counts its days in Europe/Amsterdam: 12:00 UTC is 13:00 there.
    assert "expires on 8 January 2030, 13:00 CET." in mailoutbox[0].body


def test_the_invitation_subject_stays_on_one_line(admin, community, mailoutbox):
    services.community_update(
        actor=admin, community=community, name="Acme\nBcc: victim@example.org", timezone_name="UTC"
    )
    invitation, raw = invite(admin, community)

    tasks.invitation_send(invitation.pk, raw)

    assert mailoutbox[0].subject == (
        "You're invited to join Acme Bcc: victim@example.org on Hearth"
    )
    assert mailoutbox[0].to == ["new@acme.test"]
    assert not mailoutbox[0].bcc
