"""members.services: every service and branch, each with the audit row it writes; the races
that must have one winner; and the append-only audit log."""

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from members import services
from members.audit import audit_record
from members.exceptions import ApplicationError, ConflictError
from members.models import (
    ApiToken,
    AuditEvent,
    Community,
    Invitation,
    Role,
    TeamMembership,
    User,
)
from tests.members.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def audit(action: str) -> AuditEvent:
    """The one audit row with this action (fails if there are none or several)."""
    return AuditEvent.objects.get(action=action)


def assert_audit(event: AuditEvent, **expected: object) -> None:
    actual = {field: getattr(event, field) for field in expected}
    assert actual == expected


def invite(admin: User, community: Community, email: str = "new@acme.test", role=Role.MANAGER):
    return services.invitation_create(actor=admin, community=community, email=email, role=role)


def membership(user: User, community: Community) -> TeamMembership:
    return TeamMembership.objects.select_related("user", "community").get(
        user=user, community=community
    )


# --- tokens and users --------------------------------------------------------------------------


def test_token_hash_is_the_sha256_hex_of_the_raw_token():
    assert services.token_hash("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_user_create_lowercases_the_email_and_vouches_for_it():
    user = services.user_create(email="  Ada@Example.ORG ", password=PASSWORD, name=" Ada ")

    assert (user.email, user.name) == ("ada@example.org", "Ada")
    assert user.check_password(PASSWORD)
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.primary, address.verified) == ("ada@example.org", True, True)
    # A login belongs to no community; there is nothing to audit yet.
    assert not AuditEvent.objects.exists()


def test_user_create_refuses_an_email_that_differs_only_in_case():
    services.user_create(email="ada@example.org", password=PASSWORD)

    with pytest.raises(ConflictError) as caught:
        services.user_create(email="ADA@example.org", password=PASSWORD)

    assert caught.value.field == "email"
    assert User.objects.count() == 1


# --- communities -------------------------------------------------------------------------------


def test_community_create_records_the_new_community_and_makes_the_owner_admin(admin):
    owner = UserFactory(email="owner@initech.test")

    community = services.community_create(
        slug="initech", name="Initech", timezone_name="Europe/Berlin", owner=owner, actor=admin
    )

    assert (community.slug, community.name, community.timezone) == (
        "initech",
        "Initech",
        "Europe/Berlin",
    )
    assert membership(owner, community).role == Role.ADMIN
    assert_audit(
        audit("community.create"),
        actor=admin,
        actor_label="admin@acme.test",
        community=community,
        target_type="members.community",
        target_id="initech",
        target_label="Initech",
        before=None,
        after={"slug": "initech", "name": "Initech", "timezone": "Europe/Berlin"},
        ip=None,
    )
    assert_audit(
        audit("team.add"),
        actor=admin,
        community=community,
        target_type="members.teammembership",
        target_id=str(membership(owner, community).pk),
        after={"user": "owner@initech.test", "role": "admin"},
    )


def test_community_create_without_owner_or_actor_is_recorded_as_the_system(db):
    community = services.community_create(slug="initech", name="Initech", timezone_name="UTC")

    assert not TeamMembership.objects.filter(community=community).exists()
    assert_audit(audit("community.create"), actor=None, actor_label="", community=community)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"slug": "initech", "name": "Initech", "timezone_name": "Mars/Olympus"}, "timezone"),
        ({"slug": "not a slug", "name": "Initech", "timezone_name": "UTC"}, "slug"),
        ({"slug": "initech", "name": "   ", "timezone_name": "UTC"}, "name"),
    ],
)
def test_community_create_rejects_bad_input_with_the_field_named(db, fields, field):
    with pytest.raises(ApplicationError) as caught:
        services.community_create(**fields)

    assert caught.value.field == field
    assert not Community.objects.exists()
    assert not AuditEvent.objects.exists()


def test_community_create_refuses_a_taken_slug(community):
    with pytest.raises(ConflictError) as caught:
        services.community_create(slug="acme", name="Acme again", timezone_name="UTC")

    assert caught.value.field == "slug"


def test_community_update_records_before_and_after(admin, community):
    services.community_update(
        actor=admin, community=community, name="Acme Rebrand", timezone_name="Asia/Tokyo"
    )

    community.refresh_from_db()
    assert (community.name, community.timezone) == ("Acme Rebrand", "Asia/Tokyo")
    assert_audit(
        audit("community.update"),
        actor=admin,
        community=community,
        target_type="members.community",
        target_id="acme",
        target_label="Acme Rebrand",
        before={"name": "Acme Community", "timezone": "Europe/Amsterdam"},
        after={"name": "Acme Rebrand", "timezone": "Asia/Tokyo"},
    )


@pytest.mark.parametrize(
    ("name", "timezone_name", "field"),
    [("Acme", "Nowhere/Special", "timezone"), ("  ", "UTC", "name")],
)
def test_community_update_rejects_bad_input_and_changes_nothing(
    admin, community, name, timezone_name, field
):
    with pytest.raises(ApplicationError) as caught:
        services.community_update(
            actor=admin, community=community, name=name, timezone_name=timezone_name
        )

    assert caught.value.field == field
    community.refresh_from_db()
    assert (community.name, community.timezone) == ("Acme Community", "Europe/Amsterdam")
    assert not AuditEvent.objects.filter(action="community.update").exists()


def test_target_label_keeps_what_the_target_was_called_at_the_time(admin, community):
    services.community_update(actor=admin, community=community, name="First", timezone_name="UTC")
    services.community_update(actor=admin, community=community, name="Second", timezone_name="UTC")

    labels = list(
        AuditEvent.objects.filter(action="community.update")
        .order_by("id")
        .values_list("target_label", flat=True)
    )
    assert labels == ["First", "Second"]


# --- team --------------------------------------------------------------------------------------


def test_membership_add_records_the_new_teammate(admin, community):
    user = UserFactory(email="newbie@acme.test")

    added = services.membership_add(actor=admin, community=community, user=user, role="moderator")

    assert added.role == Role.MODERATOR
    assert_audit(
        audit("team.add"),
        actor=admin,
        community=community,
        target_type="members.teammembership",
        target_id=str(added.pk),
        target_label="newbie@acme.test · Acme Community · moderator",
        before=None,
        after={"user": "newbie@acme.test", "role": "moderator"},
    )


def test_membership_add_refuses_an_unknown_role(admin, community):
    user = UserFactory()

    with pytest.raises(ApplicationError) as caught:
        services.membership_add(actor=admin, community=community, user=user, role="owner")

    assert caught.value.field == "role"
    assert not TeamMembership.objects.filter(user=user).exists()


def test_membership_add_refuses_someone_already_on_the_team(admin, manager, community):
    with pytest.raises(ConflictError) as caught:
        services.membership_add(actor=admin, community=community, user=manager, role="viewer")

    assert caught.value.field == "email"
    assert membership(manager, community).role == Role.MANAGER
    assert not AuditEvent.objects.exists()


def test_membership_set_role_records_before_and_after(admin, manager, community):
    changed = services.membership_set_role(
        actor=admin, membership=membership(manager, community), role="viewer"
    )

    assert changed.role == Role.VIEWER
    assert membership(manager, community).role == Role.VIEWER
    assert_audit(
        audit("team.role_change"),
        actor=admin,
        community=community,
        target_type="members.teammembership",
        target_id=str(changed.pk),
        target_label="manager@acme.test · Acme Community · viewer",
        before={"role": "manager"},
        after={"role": "viewer"},
    )


def test_membership_set_role_to_the_same_role_changes_and_records_nothing(
    admin, manager, community
):
    services.membership_set_role(
        actor=admin, membership=membership(manager, community), role="manager"
    )

    assert not AuditEvent.objects.exists()


def test_membership_set_role_refuses_an_unknown_role(admin, manager, community):
    with pytest.raises(ApplicationError) as caught:
        services.membership_set_role(
            actor=admin, membership=membership(manager, community), role="superuser"
        )

    assert caught.value.field == "role"


def test_the_last_admin_cannot_be_demoted(admin, manager, community):
    with pytest.raises(ConflictError) as caught:
        services.membership_set_role(
            actor=admin, membership=membership(admin, community), role="manager"
        )

    assert caught.value.field == "role"
    assert membership(admin, community).role == Role.ADMIN
    assert not AuditEvent.objects.exists()


def test_an_admin_can_be_demoted_while_another_admin_remains(admin, manager, community):
    services.membership_set_role(
        actor=admin, membership=membership(manager, community), role="admin"
    )

    services.membership_set_role(
        actor=manager, membership=membership(admin, community), role="viewer"
    )

    assert membership(admin, community).role == Role.VIEWER
    assert AuditEvent.objects.filter(action="team.role_change").count() == 2


def test_the_last_admin_of_one_community_is_counted_in_that_community_only(
    admin, community, other_community, outsider
):
    # outsider is admin of globex; that does not make acme's admin removable.
    with pytest.raises(ConflictError):
        services.membership_remove(actor=admin, membership=membership(admin, community))


def test_membership_remove_deletes_the_membership_revokes_its_tokens_and_records_it(
    admin, manager, community, other_community
):
    MembershipFactory(user=manager, community=other_community, role=Role.MANAGER)
    here, _ = services.api_token_create(actor=admin, community=community, user=manager, name="a")
    there, _ = services.api_token_create(
        actor=None, community=other_community, user=manager, name="b"
    )
    removed = membership(manager, community)
    removed_pk = removed.pk

    services.membership_remove(actor=admin, membership=removed)

    assert not TeamMembership.objects.filter(user=manager, community=community).exists()
    here.refresh_from_db()
    there.refresh_from_db()
    assert here.revoked_at is not None
    assert there.revoked_at is None  # the other community's token is not this team's business
    assert_audit(
        audit("team.remove"),
        actor=admin,
        community=community,
        target_type="members.teammembership",
        target_id=str(removed_pk),
        target_label="manager@acme.test · Acme Community · manager",
        before={"user": "manager@acme.test", "role": "manager"},
        after=None,
    )


def test_the_last_admin_cannot_be_removed(admin, manager, community):
    with pytest.raises(ConflictError):
        services.membership_remove(actor=admin, membership=membership(admin, community))

    assert membership(admin, community).role == Role.ADMIN
    assert not AuditEvent.objects.exists()


def test_the_last_admin_cannot_be_removed_through_a_stale_copy_of_the_membership(
    admin, manager, community
):
    stale = membership(manager, community)  # loaded while still a manager
    services.membership_set_role(
        actor=admin, membership=membership(manager, community), role="admin"
    )
    services.membership_set_role(
        actor=manager, membership=membership(admin, community), role="viewer"
    )

    with pytest.raises(ConflictError):
        services.membership_remove(actor=admin, membership=stale)

    assert membership(manager, community).role == Role.ADMIN


# --- invitations -------------------------------------------------------------------------------


def test_invitation_create_stores_only_a_hash_and_records_the_invitation(
    admin, community, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        invitation, raw = invite(admin, community, email=" New@Acme.TEST ", role="moderator")

    assert (invitation.email, invitation.role, invitation.status) == (
        "new@acme.test",
        "moderator",
        "pending",
    )
    assert invitation.token_hash == services.token_hash(raw)
    assert raw not in invitation.token_hash
    assert invitation.invited_by == admin
    assert invitation.sent_at is None
    assert len(callbacks) == 1  # the email goes out once the transaction commits
    assert_audit(
        audit("invitation.create"),
        actor=admin,
        community=community,
        target_type="members.invitation",
        target_id=str(invitation.public_id),
        target_label="new@acme.test → Acme Community (moderator)",
        before=None,
        after={
            "email": "new@acme.test",
            "role": "moderator",
            "expires_at": invitation.expires_at.isoformat(),
        },
    )


def test_invitation_expires_after_the_configured_days(admin, community, settings):
    settings.HEARTH_INVITATION_DAYS = 3
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False):
        invitation, _raw = invite(admin, community)

    assert invitation.expires_at.isoformat() == "2030-01-04T12:00:00+00:00"


def test_invitation_create_refuses_an_unknown_role(admin, community):
    with pytest.raises(ApplicationError) as caught:
        invite(admin, community, role="owner")

    assert caught.value.field == "role"
    assert not Invitation.objects.exists()


def test_invitation_create_refuses_someone_already_on_the_team(admin, manager, community):
    with pytest.raises(ConflictError) as caught:
        invite(admin, community, email="MANAGER@acme.test")

    assert caught.value.field == "email"
    assert not Invitation.objects.exists()


def test_inviting_a_teammate_of_another_community_is_fine(admin, community, outsider):
    invitation, _raw = invite(admin, community, email=outsider.email)

    assert invitation.status == Invitation.Status.PENDING


def test_reinviting_revokes_the_pending_invitation_and_its_link(admin, community):
    first, first_raw = invite(admin, community, email="new@acme.test", role="viewer")

    second, second_raw = invite(admin, community, email="NEW@acme.test", role="manager")

    first.refresh_from_db()
    assert first.status == Invitation.Status.REVOKED
    assert second.status == Invitation.Status.PENDING
    assert Invitation.objects.filter(status="pending").count() == 1
    assert_audit(
        audit("invitation.revoked"),
        actor=admin,
        target_id=str(first.public_id),
        before={"status": "pending"},
        after={"status": "revoked"},
    )
    with pytest.raises(ConflictError):
        services.invitation_accept(raw_token=first_raw, name="New", password=PASSWORD)
    services.invitation_accept(raw_token=second_raw, name="New", password=PASSWORD)
    assert TeamMembership.objects.get(user__email="new@acme.test").role == Role.MANAGER


def test_the_database_allows_one_pending_invitation_per_email_and_community(
    admin, community, other_community
):
    invitation, _raw = invite(admin, community, email="new@acme.test")
    clone = {
        "community": community,
        "email": "New@Acme.test",
        "role": Role.VIEWER,
        "invited_by": admin,
        "expires_at": invitation.expires_at,
    }

    with pytest.raises(IntegrityError), transaction.atomic():
        Invitation.objects.create(token_hash="x" * 64, **clone)
    # Pending in another community, or ended in this one, is allowed.
    Invitation.objects.create(token_hash="y" * 64, **{**clone, "community": other_community})
    Invitation.objects.create(token_hash="z" * 64, status="revoked", **clone)


def test_invitation_revoke_ends_the_invitation_and_records_it(admin, community):
    invitation, raw = invite(admin, community)

    services.invitation_revoke(actor=admin, invitation=invitation)

    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.REVOKED
    assert invitation.ended_at is not None
    assert_audit(
        audit("invitation.revoked"),
        actor=admin,
        community=community,
        target_type="members.invitation",
        target_id=str(invitation.public_id),
        target_label="new@acme.test → Acme Community (manager)",
        before={"status": "pending"},
        after={"status": "revoked"},
    )
    with pytest.raises(ConflictError):
        services.invitation_accept(raw_token=raw, name="New", password=PASSWORD)


def test_revoking_twice_is_a_conflict_and_records_once(admin, community):
    invitation, _raw = invite(admin, community)
    services.invitation_revoke(actor=admin, invitation=invitation)

    with pytest.raises(ConflictError):
        services.invitation_revoke(actor=admin, invitation=invitation)

    assert AuditEvent.objects.filter(action="invitation.revoked").count() == 1


def test_revoking_an_accepted_invitation_from_a_stale_copy_loses(admin, community):
    invitation, raw = invite(admin, community)
    stale = Invitation.objects.get(pk=invitation.pk)  # still says "pending" in memory
    services.invitation_accept(raw_token=raw, name="New", password=PASSWORD)

    with pytest.raises(ConflictError):
        services.invitation_revoke(actor=admin, invitation=stale)

    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert not AuditEvent.objects.filter(action="invitation.revoked").exists()


def test_invitation_mark_sent_sets_the_time_once(admin, community):
    invitation, _raw = invite(admin, community)
    with time_machine.travel("2030-01-01 09:00:00Z", tick=False):
        services.invitation_mark_sent(invitation_id=invitation.pk)
    with time_machine.travel("2030-01-02 09:00:00Z", tick=False):
        services.invitation_mark_sent(invitation_id=invitation.pk)

    invitation.refresh_from_db()
    assert invitation.sent_at.isoformat() == "2030-01-01T09:00:00+00:00"


def test_invitations_expire_marks_only_lapsed_pending_invitations_and_records_each(
    admin, community
):
    with time_machine.travel(timezone.now() - timedelta(days=8)):
        lapsed, _ = invite(admin, community, email="late@acme.test")
        lapsed_revoked, _ = invite(admin, community, email="revoked@acme.test")
        services.invitation_revoke(actor=admin, invitation=lapsed_revoked)
    invite(admin, community, email="fresh@acme.test")

    assert services.invitations_expire() == 1
    assert services.invitations_expire() == 0  # idempotent

    statuses = dict(Invitation.objects.values_list("email", "status"))
    assert statuses == {
        "late@acme.test": "expired",
        "revoked@acme.test": "revoked",
        "fresh@acme.test": "pending",
    }
    assert_audit(
        audit("invitation.expired"),
        actor=None,
        actor_label="",
        community=community,
        target_id=str(lapsed.public_id),
        before={"status": "pending"},
        after={"status": "expired"},
    )


def test_invitation_for_token_finds_the_invitation_by_its_raw_token(admin, community):
    invitation, raw = invite(admin, community)

    assert services.invitation_for_token(raw) == invitation
    assert services.invitation_for_token(raw + "x") is None


def test_accepting_as_a_new_person_creates_their_login_and_membership(admin, community):
    invitation, raw = invite(admin, community, email="new@acme.test", role="moderator")

    joined = services.invitation_accept(raw_token=raw, name="Nia New", password=PASSWORD)

    user = joined.user
    assert (user.email, user.name, joined.role, joined.community) == (
        "new@acme.test",
        "Nia New",
        "moderator",
        community,
    )
    assert user.check_password(PASSWORD)
    assert EmailAddress.objects.get(user=user).verified
    invitation.refresh_from_db()
    assert (invitation.status, invitation.accepted_by) == ("accepted", user)
    assert invitation.ended_at is not None
    assert_audit(
        audit("invitation.accepted"),
        actor=user,
        actor_label="new@acme.test",
        community=community,
        target_type="members.invitation",
        target_id=str(invitation.public_id),
        before={"status": "pending"},
        after={"status": "accepted"},
    )
    assert_audit(
        audit("team.add"),
        actor=user,
        community=community,
        target_id=str(joined.pk),
        after={"user": "new@acme.test", "role": "moderator"},
    )


def test_accepting_as_the_signed_in_invitee_adds_the_existing_login(admin, community, outsider):
    invitation, raw = invite(admin, community, email="ADMIN@globex.test", role="viewer")

    joined = services.invitation_accept(raw_token=raw, user=outsider)

    assert (joined.user, joined.role) == (outsider, "viewer")
    assert User.objects.filter(email__iexact="admin@globex.test").count() == 1
    invitation.refresh_from_db()
    assert invitation.accepted_by == outsider


def test_accepting_as_someone_else_is_refused_and_changes_nothing(admin, community, outsider):
    invitation, raw = invite(admin, community, email="new@acme.test")

    with pytest.raises(ApplicationError) as caught:
        services.invitation_accept(raw_token=raw, user=outsider)

    assert not isinstance(caught.value, ConflictError)
    assert "new@acme.test" in caught.value.message
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING
    assert not TeamMembership.objects.filter(user=outsider, community=community).exists()


def test_accepting_for_an_existing_login_without_signing_in_is_refused(admin, community, outsider):
    invitation, raw = invite(admin, community, email=outsider.email)

    with pytest.raises(ConflictError) as caught:
        services.invitation_accept(raw_token=raw, name="Impostor", password=PASSWORD)

    assert caught.value.field == "email"
    outsider.refresh_from_db()
    assert outsider.check_password(PASSWORD)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING  # rolled back with the failure


def test_an_expired_invitation_cannot_be_accepted(admin, community):
    invitation, raw = invite(admin, community)

    with (
        time_machine.travel(invitation.expires_at + timedelta(seconds=1)),
        pytest.raises(ConflictError),
    ):
        services.invitation_accept(raw_token=raw, name="Late", password=PASSWORD)

    assert not User.objects.filter(email="new@acme.test").exists()


def test_an_invitation_link_works_once(admin, community):
    _invitation, raw = invite(admin, community)
    services.invitation_accept(raw_token=raw, name="New", password=PASSWORD)

    with pytest.raises(ConflictError):
        services.invitation_accept(raw_token=raw, name="Again", password=PASSWORD)

    assert TeamMembership.objects.filter(user__email="new@acme.test").count() == 1
    assert AuditEvent.objects.filter(action="invitation.accepted").count() == 1


def test_an_unknown_invitation_token_is_refused(db):
    with pytest.raises(ConflictError):
        services.invitation_accept(raw_token="hth_nonsense", name="X", password=PASSWORD)


@pytest.mark.parametrize("password", ["short", "12345678901234", "password123", "new@acme.test"])
def test_a_weak_password_comes_back_as_a_password_error_and_creates_nothing(
    admin, community, password
):
    invitation, raw = invite(admin, community, email="new@acme.test")

    with pytest.raises(ApplicationError) as caught:
        services.invitation_accept(raw_token=raw, name="New", password=password)

    assert caught.value.field == "password"
    assert caught.value.message
    assert not User.objects.filter(email="new@acme.test").exists()
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


# --- API tokens --------------------------------------------------------------------------------


def test_api_token_create_returns_the_secret_once_and_stores_its_hash(admin, manager, community):
    token, raw = services.api_token_create(
        actor=admin, community=community, user=manager, name="  Discourse importer "
    )

    assert raw.startswith("hth_")
    assert len(raw) > 40
    assert token.token_hash == services.token_hash(raw)
    assert token.prefix == raw[:10]
    assert (token.name, token.user, token.created_by, token.is_active) == (
        "Discourse importer",
        manager,
        admin,
        True,
    )
    assert not ApiToken.objects.filter(token_hash=raw).exists()
    assert_audit(
        audit("api_token.create"),
        actor=admin,
        community=community,
        target_type="members.apitoken",
        target_id=str(token.public_id),
        target_label=f"Discourse importer ({token.prefix}…)",
        before=None,
        after={"name": "Discourse importer", "user": "manager@acme.test", "prefix": token.prefix},
    )


def test_api_token_create_names_a_nameless_token_and_trims_a_long_name(admin, community):
    nameless, _ = services.api_token_create(actor=admin, community=community, user=admin, name="")
    long, _ = services.api_token_create(
        actor=admin, community=community, user=admin, name="x" * 150
    )

    assert nameless.name == "API token"
    assert long.name == "x" * 100


def test_api_token_create_refuses_a_user_outside_the_team(admin, community, outsider):
    with pytest.raises(ApplicationError) as caught:
        services.api_token_create(actor=admin, community=community, user=outsider, name="x")

    assert caught.value.field == "user"
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.exists()


def test_api_token_revoke_records_it_and_a_second_revoke_conflicts(admin, community):
    token, _raw = services.api_token_create(actor=admin, community=community, user=admin, name="t")

    services.api_token_revoke(actor=admin, token=token)
    with pytest.raises(ConflictError):
        services.api_token_revoke(actor=admin, token=token)

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert_audit(
        audit("api_token.revoke"),
        actor=admin,
        community=community,
        target_type="members.apitoken",
        target_id=str(token.public_id),
        before={"revoked": False},
        after={"revoked": True},
    )


def test_api_token_touch_writes_at_most_once_a_minute(admin, community):
    token, _raw = services.api_token_create(actor=admin, community=community, user=admin, name="t")

    with time_machine.travel("2030-01-01 10:00:00Z", tick=False):
        services.api_token_touch(token=token)
    with time_machine.travel("2030-01-01 10:00:50Z", tick=False):
        services.api_token_touch(token=token)
    token.refresh_from_db()
    assert token.last_used_at.isoformat() == "2030-01-01T10:00:00+00:00"

    with time_machine.travel("2030-01-01 10:01:01Z", tick=False):
        services.api_token_touch(token=token)
    token.refresh_from_db()
    assert token.last_used_at.isoformat() == "2030-01-01T10:01:01+00:00"


# --- audit log ---------------------------------------------------------------------------------


def test_audit_log_export_is_itself_recorded_with_its_filters(admin, community):
    services.audit_log_export(actor=admin, community=community, filters={"action": "team.add"})

    assert_audit(
        audit("audit.export"),
        actor=admin,
        community=community,
        target_type="members.community",
        target_id="acme",
        after={"filters": {"action": "team.add"}},
    )


def test_audit_record_outside_a_request_has_no_ip(admin, community):
    event = audit_record(actor=admin, community=community, action="x.y", target=community)

    assert event.ip is None


def test_audit_rows_written_inside_a_request_carry_the_client_ip(client, admin, manager, community):
    client.force_login(admin)

    client.post(
        f"/c/acme/team/{manager.public_id}/role/",
        {"role": "viewer"},
        REMOTE_ADDR="203.0.113.7",
    )

    assert audit("team.role_change").ip == "203.0.113.7"


def test_behind_a_trusted_proxy_the_ip_is_the_one_the_proxy_saw(
    client, admin, manager, community, settings
):
    settings.HEARTH_TRUSTED_PROXIES = 1
    client.force_login(admin)

    client.post(
        f"/c/acme/team/{manager.public_id}/role/",
        {"role": "viewer"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.20",  # the client forged the first one
    )

    assert audit("team.role_change").ip == "198.51.100.20"


def test_a_malformed_forwarded_address_falls_back_to_the_peer_address(
    client, admin, manager, community, settings
):
    settings.HEARTH_TRUSTED_PROXIES = 1
    client.force_login(admin)

    response = client.post(
        f"/c/acme/team/{manager.public_id}/role/",
        {"role": "viewer"},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="unknown",
    )

    assert response.status_code == 302
    assert audit("team.role_change").ip == "10.0.0.2"


def test_the_orm_refuses_to_change_or_delete_audit_rows(admin, community):
    event = audit_record(actor=admin, community=community, action="x.y", target=community)

    event.action = "x.z"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(action="x.z")
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()

    assert AuditEvent.objects.get(pk=event.pk).action == "x.y"


def test_postgres_refuses_raw_updates_and_deletes_of_audit_rows(
    requires_postgres, admin, community
):
    event = audit_record(actor=admin, community=community, action="x.y", target=community)

    for sql in (
        "UPDATE members_auditevent SET action = 'x.z' WHERE id = %s",
        "DELETE FROM members_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])

    assert AuditEvent.objects.get(pk=event.pk).action == "x.y"


@pytest.mark.django_db(transaction=True)
def test_postgres_allows_a_redaction_update_only_inside_its_own_transaction(
    requires_postgres, admin, community
):
    event = audit_record(actor=admin, community=community, action="x.y", target=community)
    update = "UPDATE members_auditevent SET target_label = %s WHERE id = %s"

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hearth.audit_redaction = 'on'")
        cursor.execute(update, ["[erased]", event.pk])
        # Redaction rewrites rows; it never removes them.
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute("DELETE FROM members_auditevent WHERE id = %s", [event.pk])

    assert AuditEvent.objects.get(pk=event.pk).target_label == "[erased]"
    # SET LOCAL ended with that transaction: the next one is refused again.
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(update, ["again", event.pk])
    assert AuditEvent.objects.get(pk=event.pk).target_label == "[erased]"


# --- races (PostgreSQL: real concurrent transactions) ------------------------------------------


class Racer(threading.Thread):
    """Runs `work` in its own thread, hence its own database connection."""

    def __init__(self, work) -> None:
        super().__init__(daemon=True)
        self.work, self.result, self.error = work, None, None

    def run(self) -> None:
        try:
            self.result = self.work()
        except Exception as exc:
            self.error = exc
        finally:
            connection.close()

    def finish(self) -> "Racer":
        self.join(timeout=10)
        assert not self.is_alive(), "racer hung"
        return self


def hold_open(work, started: threading.Event, release: threading.Event):
    """`work` inside a transaction that stays open (holding its row locks) until released."""

    def run():
        with transaction.atomic():
            result = work()
            started.set()
            assert release.wait(timeout=10)
        return result

    return run


def race(first, second) -> tuple[Racer, Racer]:
    """`first` wins the locks and keeps its transaction open while `second` starts and blocks
    on them; then `first` commits and `second` carries on against the committed state."""
    started, release = threading.Event(), threading.Event()
    winner = Racer(hold_open(first, started, release))
    winner.start()
    assert started.wait(timeout=10)
    loser = Racer(second)
    loser.start()
    time.sleep(0.5)  # long enough for `second` to reach the lock it waits on
    assert loser.is_alive(), "the second transaction should be waiting on the first"
    release.set()
    return winner.finish(), loser.finish()


@pytest.mark.django_db(transaction=True)
def test_accept_and_revoke_at_once_only_one_wins_revoke_first(requires_postgres, admin, community):
    invitation, raw = invite(admin, community)

    revoker, accepter = race(
        lambda: services.invitation_revoke(actor=admin, invitation=invitation),
        lambda: services.invitation_accept(raw_token=raw, name="New", password=PASSWORD),
    )

    assert revoker.error is None
    assert isinstance(accepter.error, ConflictError)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.REVOKED
    assert not User.objects.filter(email="new@acme.test").exists()  # rolled back
    assert list(
        AuditEvent.objects.filter(action__startswith="invitation.")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["invitation.create", "invitation.revoked"]


@pytest.mark.django_db(transaction=True)
def test_accept_and_revoke_at_once_only_one_wins_accept_first(requires_postgres, admin, community):
    invitation, raw = invite(admin, community)

    accepter, revoker = race(
        lambda: services.invitation_accept(raw_token=raw, name="New", password=PASSWORD),
        lambda: services.invitation_revoke(actor=admin, invitation=invitation),
    )

    assert accepter.error is None
    assert isinstance(revoker.error, ConflictError)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED
    assert TeamMembership.objects.filter(user__email="new@acme.test", community=community).exists()
    assert not AuditEvent.objects.filter(action="invitation.revoked").exists()


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin(requires_postgres, community):
    ann, bob = UserFactory(email="ann@acme.test"), UserFactory(email="bob@acme.test")
    MembershipFactory(user=ann, community=community, role=Role.ADMIN)
    MembershipFactory(user=bob, community=community, role=Role.ADMIN)

    first, second = race(
        lambda: services.membership_set_role(
            actor=ann, membership=membership(bob, community), role="manager"
        ),
        lambda: services.membership_set_role(
            actor=bob, membership=membership(ann, community), role="manager"
        ),
    )

    assert first.error is None
    assert isinstance(second.error, ConflictError)
    assert list(
        TeamMembership.objects.filter(community=community, role=Role.ADMIN).values_list(
            "user__email", flat=True
        )
    ) == ["ann@acme.test"]


@pytest.mark.django_db(transaction=True)
def test_two_admins_removing_each_other_at_once_leave_one_admin(requires_postgres, community):
    ann, bob = UserFactory(email="ann@acme.test"), UserFactory(email="bob@acme.test")
    MembershipFactory(user=ann, community=community, role=Role.ADMIN)
    MembershipFactory(user=bob, community=community, role=Role.ADMIN)

    first, second = race(
        lambda: services.membership_remove(actor=ann, membership=membership(bob, community)),
        lambda: services.membership_remove(actor=bob, membership=membership(ann, community)),
    )

    assert first.error is None
    assert isinstance(second.error, ConflictError)
    assert list(
        TeamMembership.objects.filter(community=community).values_list("user__email", flat=True)
    ) == ["ann@acme.test"]


@pytest.mark.django_db(transaction=True)
def test_two_invitations_to_one_address_at_once_conflict_cleanly(
    requires_postgres, admin, community
):
    first, second = race(
        lambda: invite(admin, community, email="new@acme.test", role="viewer"),
        lambda: invite(admin, community, email="new@acme.test", role="manager"),
    )

    assert first.error is None
    assert isinstance(second.error, ConflictError)
    assert second.error.field == "email"
    assert list(Invitation.objects.values_list("role", "status")) == [("viewer", "pending")]
