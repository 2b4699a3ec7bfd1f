"""An invitation's email reaches its invitee even when the broker is down at the moment it is
created, and an admin can send a fresh link."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from config.celery import app as celery_app
from members import services, tasks
from members.models import AuditEvent, Invitation

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down():
    """A real publish to a port where nothing listens, with no retry."""
    keys = ("task_always_eager", "broker_url", "broker_connection_max_retries")
    before = {key: celery_app.conf[key] for key in keys}
    celery_app.conf.update(
        task_always_eager=False, broker_url="redis://127.0.0.1:1/0", broker_connection_max_retries=0
    )
    _forget_connections()
    yield
    celery_app.conf.update(before)
    _forget_connections()


def _forget_connections() -> None:
    """The connection and producer pools are built from broker_url on first use and then kept;
    drop both so the next publish uses the current URL."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def accept_link_token(mail) -> str:
    return mail.body.split("/invitations/")[1].split("/")[0]


def test_an_invitation_is_saved_and_answered_when_the_broker_is_down(
    admin, community, client, broker_down, django_capture_on_commit_callbacks, caplog
):
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/c/{community.slug}/team/", {"email": "late@example.org", "role": "moderator"}
        )
    assert response.status_code == 302
    invitation = Invitation.objects.get(email="late@example.org")
    assert invitation.sent_at is None
    # The publish really failed, and was logged rather than raised (a robust on_commit).
    assert any(
        "Connection refused" in r.getMessage() for r in caplog.records if r.levelname == "ERROR"
    )


def test_the_sweep_sends_unsent_invitations_with_a_fresh_link(admin, community, mailoutbox, client):
    invitation, lost_raw = services.invitation_create(  # its message never reached a worker
        actor=admin, community=community, email="late@example.org", role="moderator"
    )
    mailoutbox.clear()
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=None)
    assert tasks.invitations_send_unsent() == 0  # too recent: the worker may just be busy
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert tasks.invitations_send_unsent() == 1
    assert len(mailoutbox) == 1
    fresh = accept_link_token(mailoutbox[0])
    assert fresh != lost_raw
    assert client.get(f"/invitations/{lost_raw}/").status_code == 410
    assert client.get(f"/invitations/{fresh}/").status_code == 200
    invitation.refresh_from_db()
    assert invitation.sent_at is not None


def test_resend_mails_a_new_link_and_kills_the_old_one(
    admin, community, client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, first = services.invitation_create(
            actor=admin, community=community, email="again@example.org", role="viewer"
        )
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/c/{community.slug}/invitations/{invitation.public_id}/resend/")
    assert response.status_code == 302
    assert len(mailoutbox) == 2
    second = accept_link_token(mailoutbox[1])
    assert second != first
    client.logout()
    assert client.get(f"/invitations/{first}/").status_code == 410
    assert client.get(f"/invitations/{second}/").status_code == 200
    event = AuditEvent.objects.get(action="invitation.resend")
    assert event.actor == admin and event.target_id == str(invitation.public_id)


def test_a_revoked_invitation_cannot_be_resent(admin, community, api_client):
    invitation, _raw = services.invitation_create(
        actor=admin, community=community, email="gone@example.org", role="viewer"
    )
    services.invitation_revoke(actor=admin, invitation=invitation)
    api_client.force_authenticate(admin)
    response = api_client.post(
        f"/api/v1/communities/{community.slug}/invitations/{invitation.public_id}/resend/"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"
