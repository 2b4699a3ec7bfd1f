"""Introductions and key-member care: members.services_intros (transitions, races, handover,
quiet days, audit rows), members.selectors_intros (gone quiet, counts per manager), the two
pages and the profile card (render, query budgets, escaping, permissions), and the API."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from members import selectors_intros as sel
from members import services_intros as svc
from members.exceptions import ApplicationError, ConflictError
from members.models import (
    AuditEvent,
    Community,
    Introduction,
    IntroductionStatus,
    KeyRole,
    Member,
    Note,
    Role,
)
from tests.members.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

S = IntroductionStatus


def mk(community: Community, name: str, *, days_ago: int | None = 1, key_role="", owner=None):
    last = None if days_ago is None else timezone.now() - timedelta(days=days_ago)
    return Member.objects.create(
        community=community,
        display_name=name,
        last_active_at=last,
        key_role=key_role,
        relationship_owner=owner,
    )


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


@pytest.fixture
def ada(community):
    return mk(community, "Ada")


@pytest.fixture
def bob(community):
    return mk(community, "Bob")


@pytest.fixture
def intro(manager, ada, bob):
    return svc.introduction_create(actor=manager, member_a=ada, member_b=bob, reason="Both SRE.")


# --- introductions: services -------------------------------------------------------------------


def test_introduction_create_is_proposed_audited_without_the_reason(intro, manager):
    assert intro.status == S.PROPOSED
    assert intro.introduced_by == manager
    event = AuditEvent.objects.get(action="introduction.create")
    assert "Both SRE" not in str(event.after)
    assert event.after == {
        "member_a": str(intro.member_a.public_id),
        "member_b": str(intro.member_b.public_id),
    }


def test_introduction_needs_two_different_members_of_one_community_and_a_reason(
    manager, ada, bob, other_community
):
    with pytest.raises(ApplicationError):
        svc.introduction_create(actor=manager, member_a=ada, member_b=ada, reason="x")
    with pytest.raises(ApplicationError):
        svc.introduction_create(actor=manager, member_a=ada, member_b=bob, reason="   ")
    foreign = mk(other_community, "Eve")
    with pytest.raises(ApplicationError):
        svc.introduction_create(actor=manager, member_a=ada, member_b=foreign, reason="x")
    assert not Introduction.objects.exists()
    assert actions() == []


def test_the_database_refuses_an_introduction_of_a_member_to_themselves(manager, ada, community):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Introduction.objects.create(
            community=community, member_a=ada, member_b=ada, reason="x", introduced_by=manager
        )


def test_a_second_open_introduction_of_the_same_pair_either_way_is_a_conflict(
    intro, manager, ada, bob
):
    with pytest.raises(ConflictError):
        svc.introduction_create(actor=manager, member_a=bob, member_b=ada, reason="again")
    svc.introduction_set_status(actor=manager, introduction=intro, status=S.DECLINED)
    again = svc.introduction_create(actor=manager, member_a=bob, member_b=ada, reason="retry")
    assert again.status == S.PROPOSED


def test_introduction_goes_proposed_made_connected_with_timestamps_and_audit(intro, manager):
    svc.introduction_set_status(actor=manager, introduction=intro, status=S.MADE)
    svc.introduction_set_status(actor=manager, introduction=intro, status=S.CONNECTED)
    intro.refresh_from_db()
    assert intro.status == S.CONNECTED
    assert intro.made_at and intro.connected_at and intro.declined_at is None
    events = AuditEvent.objects.filter(action="introduction.status").order_by("id")
    assert [(e.before, e.after) for e in events] == [
        ({"status": "proposed"}, {"status": "made"}),
        ({"status": "made"}, {"status": "connected"}),
    ]


@pytest.mark.parametrize(
    ("path", "to"),
    [
        ([], S.CONNECTED),  # proposed → connected skips "made"
        ([], S.PROPOSED),
        ([S.MADE], S.PROPOSED),  # no going back
        ([S.DECLINED], S.MADE),  # declined is final
        ([S.MADE, S.CONNECTED], S.DECLINED),  # connected is final
        ([], "lost"),
    ],
)
def test_moves_the_statuses_do_not_allow_are_refused(intro, manager, path, to):
    for step in path:
        svc.introduction_set_status(actor=manager, introduction=intro, status=step)
    before = AuditEvent.objects.count()
    with pytest.raises(ApplicationError) as exc:
        svc.introduction_set_status(actor=manager, introduction=intro, status=to)
    assert not isinstance(exc.value, ConflictError)
    assert AuditEvent.objects.count() == before


def test_a_stale_status_move_loses_to_the_one_that_landed_first(intro, manager, admin):
    """Two teammates loaded the proposed intro; one declines, then the other's "made" must not
    overwrite it (conditional UPDATE on the status they saw)."""
    stale = Introduction.objects.get(pk=intro.pk)
    svc.introduction_set_status(actor=admin, introduction=intro, status=S.DECLINED)
    with pytest.raises(ConflictError):
        svc.introduction_set_status(actor=manager, introduction=stale, status=S.MADE)
    intro.refresh_from_db()
    assert intro.status == S.DECLINED and intro.made_at is None
    assert actions().count("introduction.status") == 1


# --- key members: handover and quiet days ------------------------------------------------------


@pytest.fixture
def teammate(community):
    user = UserFactory(email="mate@acme.test", name="Mate")
    MembershipFactory(user=user, community=community, role=Role.MANAGER)
    return user


def test_handover_moves_every_key_member_of_one_teammate_with_a_note_and_one_audit_row(
    community, admin, manager, teammate
):
    mine = [mk(community, f"K{n}", key_role=KeyRole.CHAMPION, owner=manager) for n in range(3)]
    others = mk(community, "Other", key_role=KeyRole.INFLUENCER, owner=admin)
    moved = svc.key_members_reassign(
        actor=admin, community=community, from_user=manager, to_user=teammate
    )
    assert sorted(m.pk for m in moved) == sorted(m.pk for m in mine)
    assert set(
        Member.objects.filter(pk__in=[m.pk for m in mine]).values_list(
            "relationship_owner", flat=True
        )
    ) == {teammate.pk}
    others.refresh_from_db()
    assert others.relationship_owner == admin
    notes = Note.objects.filter(member__in=mine)
    assert notes.count() == 3
    assert {n.author_id for n in notes} == {admin.pk}
    assert all(manager.display_name in n.body and "Mate" in n.body for n in notes)
    assert not Note.objects.filter(member=others).exists()
    event = AuditEvent.objects.get(action="key_members.handover")
    assert event.after["count"] == 3
    assert sorted(event.after["members"]) == sorted(str(m.public_id) for m in mine)
    assert actions() == ["key_members.handover"]


@pytest.mark.parametrize("count", [2, 20])
def test_handover_is_set_based_its_query_count_does_not_grow(
    community, admin, manager, teammate, count, django_assert_num_queries
):
    for n in range(count):
        mk(community, f"K{n}", key_role=KeyRole.CHAMPION, owner=manager)
    # 1 savepoint, 2 "to" is on the team, 3 lock the members, 4 one UPDATE, 5 one INSERT of
    # notes, 6 the audit row, 7 release the savepoint.
    with django_assert_num_queries(7):
        svc.key_members_reassign(
            actor=admin, community=community, from_user=manager, to_user=teammate
        )


def test_handover_refuses_the_same_teammate_an_outsider_and_nobody_to_hand_over(
    community, admin, manager, teammate, outsider
):
    mk(community, "K", key_role=KeyRole.CHAMPION, owner=manager)
    for from_user, to_user in [(manager, manager), (manager, outsider), (teammate, manager)]:
        with pytest.raises(ApplicationError):
            svc.key_members_reassign(
                actor=admin, community=community, from_user=from_user, to_user=to_user
            )
    assert actions() == []
    assert not Note.objects.exists()


def test_handover_only_touches_this_communitys_members(
    community, other_community, admin, manager, teammate
):
    MembershipFactory(user=manager, community=other_community, role=Role.MANAGER)
    theirs = mk(other_community, "Theirs", key_role=KeyRole.CHAMPION, owner=manager)
    mk(community, "Ours", key_role=KeyRole.CHAMPION, owner=manager)
    svc.key_members_reassign(actor=admin, community=community, from_user=manager, to_user=teammate)
    theirs.refresh_from_db()
    assert theirs.relationship_owner == manager


def test_quiet_days_are_bounded_and_audited_only_when_changed(community, manager):
    svc.community_set_quiet_days(actor=manager, community=community, days=14)
    svc.community_set_quiet_days(actor=manager, community=community, days=14)
    community.refresh_from_db()
    assert community.quiet_after_days == 14
    assert actions() == ["community.quiet_days"]
    for bad in (0, 366):
        with pytest.raises(ApplicationError):
            svc.community_set_quiet_days(actor=manager, community=community, days=bad)


# --- selectors ---------------------------------------------------------------------------------


def test_gone_quiet_lists_key_members_silent_for_n_days_longest_first(community, manager):
    mk(community, "Busy champion", days_ago=3, key_role=KeyRole.CHAMPION)
    mk(community, "Quiet ordinary", days_ago=90)  # not a key member
    q40 = mk(community, "Quiet 40", days_ago=40, key_role=KeyRole.CHAMPION, owner=manager)
    q80 = mk(community, "Quiet 80", days_ago=80, key_role=KeyRole.INFLUENCER)
    never = mk(community, "Never", days_ago=None, key_role=KeyRole.CHAMPION)
    assert list(sel.gone_quiet(community)) == [never, q80, q40]
    assert sel.gone_quiet_count(community) == 3
    community.quiet_after_days = 60
    assert list(sel.gone_quiet(community)) == [never, q80]
    community.quiet_after_days = 2
    assert sel.gone_quiet(community).count() == 4


def test_gone_quiet_is_per_community(community, other_community):
    mk(other_community, "Theirs", days_ago=99, key_role=KeyRole.CHAMPION)
    assert sel.gone_quiet_count(community) == 0


def test_introduction_counts_per_manager_by_status(community, manager, admin):
    people = [mk(community, f"P{n}") for n in range(4)]
    a = svc.introduction_create(actor=manager, member_a=people[0], member_b=people[1], reason="r")
    svc.introduction_create(actor=manager, member_a=people[0], member_b=people[2], reason="r")
    svc.introduction_create(actor=admin, member_a=people[2], member_b=people[3], reason="r")
    svc.introduction_set_status(actor=manager, introduction=a, status=S.MADE)
    rows = {r["email"]: r for r in sel.introduction_counts_per_manager(community)}
    assert rows[manager.email]["total"] == 2
    assert rows[manager.email]["made"] == 1 and rows[manager.email]["proposed"] == 1
    assert rows[admin.email]["total"] == 1
    assert next(iter(rows)) == manager.email  # most first


def test_introductions_of_member_finds_both_sides(intro, ada, bob, community):
    carol = mk(community, "Carol")
    assert list(sel.introductions_of_member(ada)) == [intro]
    assert list(sel.introductions_of_member(bob)) == [intro]
    assert list(sel.introductions_of_member(carol)) == []


# --- pages -------------------------------------------------------------------------------------

KEY = "/c/acme/members/key/"
INTROS = "/c/acme/members/introductions/"


def test_key_members_page_shows_gone_quiet_first_with_days_and_owner(client, manager, community):
    mk(community, "Quiet Q", days_ago=45, key_role=KeyRole.CHAMPION, owner=manager)
    mk(community, "Busy B", days_ago=1, key_role=KeyRole.INFLUENCER, owner=manager)
    client.force_login(manager)
    response = client.get(KEY)
    assert response.status_code == 200
    body = response.content.decode()
    assert [m.display_name for m in response.context["quiet"]] == ["Quiet Q"]
    assert response.context["quiet"][0].days_quiet == 45
    assert body.index("Quiet Q") < body.index("Busy B")
    assert 'action="/c/acme/members/key/handover/"' in body


def test_key_members_page_is_read_only_for_moderators(client, moderator, community):
    client.force_login(moderator)
    body = client.get(KEY).content.decode()
    assert "handover/" not in body and "quiet-days/" not in body


@pytest.mark.parametrize("count", [3, 30])
def test_key_members_page_query_budget_does_not_grow(
    client, manager, community, count, django_assert_num_queries
):
    for n in range(count):
        mk(community, f"K{n}", days_ago=n * 3, key_role=KeyRole.CHAMPION, owner=manager)
    client.force_login(manager)
    # 1 session, 2 user, 3 membership + community, 4 gone quiet + owners, 5 key members +
    # owners, 6 team (handover choices), 7 navigation.
    with django_assert_num_queries(7):
        assert client.get(KEY).status_code == 200


def test_handover_form_needs_the_confirmation(client, manager, teammate, community):
    mk(community, "K", key_role=KeyRole.CHAMPION, owner=manager)
    client.force_login(manager)
    data = {"from_user": manager.public_id, "to_user": teammate.public_id}
    client.post(f"{KEY}handover/", data)
    assert not AuditEvent.objects.filter(action="key_members.handover").exists()
    response = client.post(f"{KEY}handover/", {**data, "confirm": "1"})
    assert response.status_code == 302
    assert Member.objects.get(display_name="K").relationship_owner == teammate


@pytest.mark.parametrize("count", [3, 30])
def test_introductions_page_query_budget_does_not_grow(
    client, manager, community, count, django_assert_num_queries
):
    people = [mk(community, f"P{n}") for n in range(count + 1)]
    for n in range(count):
        svc.introduction_create(
            actor=manager, member_a=people[n], member_b=people[n + 1], reason="r"
        )
    client.force_login(manager)
    # 1 session, 2 user, 3 membership + community, 4 count, 5 page + members + introducer,
    # 6 per-manager counts, 7 navigation.
    with django_assert_num_queries(7):
        assert client.get(INTROS).status_code == 200


def test_introductions_page_filters_by_status(client, manager, intro, community):
    other = svc.introduction_create(
        actor=manager, member_a=intro.member_a, member_b=mk(community, "C"), reason="r"
    )
    svc.introduction_set_status(actor=manager, introduction=other, status=S.MADE)
    client.force_login(manager)
    assert client.get(f"{INTROS}?status=made").context["intros"] == [other]
    assert len(client.get(f"{INTROS}?status=bogus").context["intros"]) == 2


def test_profile_introduce_and_move_on_from_the_card(client, manager, ada, bob):
    client.force_login(manager)
    profile = f"/c/acme/members/{ada.public_id}/"
    response = client.post(
        f"{profile}introductions/", {"member_b": bob.public_id, "reason": "Both SRE."}
    )
    assert response.status_code == 302
    intro = Introduction.objects.get()
    assert (intro.member_a, intro.member_b, intro.introduced_by) == (ada, bob, manager)
    # On both profiles, with the next moves as buttons.
    for who in (ada, bob):
        body = client.get(f"/c/acme/members/{who.public_id}/").content.decode()
        assert "Both SRE." in body and 'value="made"' in body
    response = client.post(
        f"/c/acme/members/introductions/{intro.public_id}/status/",
        {"status": "made", "next": profile},
    )
    assert response["Location"] == profile
    intro.refresh_from_db()
    assert intro.status == S.MADE


def test_status_form_never_redirects_off_site(client, manager, intro):
    client.force_login(manager)
    response = client.post(
        f"/c/acme/members/introductions/{intro.public_id}/status/",
        {"status": "made", "next": "https://evil.example/"},
    )
    assert response["Location"] == INTROS


def test_introducing_a_member_of_another_community_is_refused(
    client, manager, ada, other_community
):
    eve = mk(other_community, "Eve")
    client.force_login(manager)
    client.post(
        f"/c/acme/members/{ada.public_id}/introductions/",
        {"member_b": eve.public_id, "reason": "r"},
    )
    assert not Introduction.objects.exists()


def test_member_written_text_in_introductions_is_escaped(client, manager, community):
    evil = mk(community, "<script>alert(1)</script>")
    svc.introduction_create(
        actor=manager, member_a=evil, member_b=mk(community, "B"), reason="<img src=x onerror=1>"
    )
    evil.key_role, evil.last_active_at = KeyRole.CHAMPION, None
    evil.save(update_fields=["key_role", "last_active_at"])
    client.force_login(manager)
    for url in (INTROS, KEY, f"/c/acme/members/{evil.public_id}/"):
        body = client.get(url).content.decode()
        assert "<script>alert(1)</script>" not in body
        assert "<img src=x" not in body
        assert "&lt;script&gt;" in body


def test_manager_home_shows_the_gone_quiet_count(client, manager, community):
    mk(community, "Q1", days_ago=60, key_role=KeyRole.CHAMPION)
    mk(community, "Q2", days_ago=None, key_role=KeyRole.INFLUENCER)
    client.force_login(manager)
    response = client.get("/c/acme/")
    assert response.context["gone_quiet_count"] == 2
    assert "key members gone quiet" in response.content.decode()


# --- API ---------------------------------------------------------------------------------------

API = "/api/v1/communities/acme"


def test_api_create_list_filter_and_move_on(api_client, manager, ada, bob, community):
    api_client.force_authenticate(manager)
    created = api_client.post(
        f"{API}/introductions/",
        {"member_a": str(ada.public_id), "member_b": str(bob.public_id), "reason": "SRE"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "proposed" and body["member_b"]["display_name"] == "Bob"
    intro_id = body["id"]
    moved = api_client.post(
        f"{API}/introductions/{intro_id}/status/", {"status": "made"}, format="json"
    )
    assert moved.status_code == 200 and moved.json()["made_at"]
    invalid = api_client.post(
        f"{API}/introductions/{intro_id}/status/", {"status": "proposed"}, format="json"
    )
    assert invalid.status_code == 400 and invalid.json()["code"] == "invalid"
    listed = api_client.get(f"{API}/introductions/", {"status": "made", "member": bob.public_id})
    assert [i["id"] for i in listed.json()["results"]] == [intro_id]
    assert (
        api_client.get(f"{API}/introductions/", {"status": "proposed"}, format="json").json()[
            "results"
        ]
        == []
    )
    assert api_client.get(f"{API}/introductions/", {"status": "x"}).status_code == 400
    assert api_client.get(f"{API}/introductions/", {"member": "nope"}).status_code == 400


def test_api_create_refuses_another_communitys_member(api_client, manager, ada, other_community):
    api_client.force_authenticate(manager)
    eve = mk(other_community, "Eve")
    response = api_client.post(
        f"{API}/introductions/",
        {"member_a": str(ada.public_id), "member_b": str(eve.public_id), "reason": "r"},
        format="json",
    )
    assert response.status_code == 400
    assert "member_b" in response.json()["errors"]


def test_api_a_duplicate_open_introduction_is_409(api_client, manager, intro, ada, bob):
    api_client.force_authenticate(manager)
    response = api_client.post(
        f"{API}/introductions/",
        {"member_a": str(bob.public_id), "member_b": str(ada.public_id), "reason": "r"},
        format="json",
    )
    assert response.status_code == 409


def test_api_key_members_quiet_filter_and_handover(api_client, manager, teammate, community):
    quiet = mk(community, "Quiet", days_ago=50, key_role=KeyRole.CHAMPION, owner=manager)
    mk(community, "Busy", days_ago=1, key_role=KeyRole.CHAMPION, owner=manager)
    mk(community, "Plain", days_ago=99)
    api_client.force_authenticate(manager)
    everyone = api_client.get(f"{API}/key-members/").json()["results"]
    assert {m["display_name"] for m in everyone} == {"Quiet", "Busy"}
    only_quiet = api_client.get(f"{API}/key-members/", {"quiet": "true"}).json()["results"]
    assert [m["id"] for m in only_quiet] == [str(quiet.public_id)]
    response = api_client.post(
        f"{API}/key-members/handover/",
        {"from_user": str(manager.public_id), "to_user": str(teammate.public_id)},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 2
    assert response.json()["to_user"]["email"] == teammate.email


@pytest.mark.parametrize("count", [3, 30])
def test_api_lists_query_budget_does_not_grow(
    api_client, manager, community, count, django_assert_num_queries
):
    people = [
        mk(community, f"P{n}", days_ago=90, key_role=KeyRole.CHAMPION, owner=manager)
        for n in range(count + 1)
    ]
    for n in range(count):
        svc.introduction_create(
            actor=manager, member_a=people[n], member_b=people[n + 1], reason="r"
        )
    api_client.force_authenticate(manager)
    # 1 membership + community, 2 count, 3 page + members + introducer.
    with django_assert_num_queries(3):
        assert api_client.get(f"{API}/introductions/").status_code == 200
    # 1 membership + community, 2 count, 3 page + owners.
    with django_assert_num_queries(3):
        response = api_client.get(f"{API}/key-members/?quiet=1")
    assert response.json()["count"] == count + 1


def test_schema_documents_the_new_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    for path in (
        "/api/v1/communities/{community_slug}/introductions/",
        "/api/v1/communities/{community_slug}/introductions/{public_id}/status/",
        "/api/v1/communities/{community_slug}/key-members/",
        "/api/v1/communities/{community_slug}/key-members/handover/",
    ):
        assert path in schema


# --- PostgreSQL --------------------------------------------------------------------------------


def test_on_postgres_the_constraints_and_indexes_exist(requires_postgres):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'members_introduction'")
        indexes = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = 'members_introduction'::regclass"
        )
        constraints = {row[0] for row in cursor.fetchall()}
    assert {
        "members_intro_member_a",
        "members_intro_member_b",
        "members_intro_comm_status",
        "members_intro_manager",
    } <= indexes
    assert {"members_intro_two_members", "members_intro_status_valid"} <= constraints


# --- races (PostgreSQL: real concurrent transactions) ------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_status_moves_at_once_only_the_first_lands(requires_postgres, manager, admin, intro):
    from tests.members.test_services import race

    stale = Introduction.objects.get(pk=intro.pk)
    maker, decliner = race(
        lambda: svc.introduction_set_status(actor=manager, introduction=intro, status=S.MADE),
        lambda: svc.introduction_set_status(actor=admin, introduction=stale, status=S.DECLINED),
    )
    assert maker.error is None
    assert isinstance(decliner.error, ConflictError)
    intro.refresh_from_db()
    assert (intro.status, intro.declined_at) == (S.MADE, None)
    assert actions().count("introduction.status") == 1


@pytest.mark.django_db(transaction=True)
def test_two_handovers_of_one_teammate_at_once_move_each_member_once(
    requires_postgres, community, admin, manager, teammate
):
    from tests.members.test_services import race

    mine = [mk(community, f"K{n}", key_role=KeyRole.CHAMPION, owner=manager) for n in range(3)]
    first, second = race(
        lambda: svc.key_members_reassign(
            actor=admin, community=community, from_user=manager, to_user=teammate
        ),
        lambda: svc.key_members_reassign(
            actor=admin, community=community, from_user=manager, to_user=admin
        ),
    )
    assert first.error is None and len(first.result) == 3
    assert isinstance(second.error, ApplicationError)  # nothing left to hand over
    assert {
        m.relationship_owner_id for m in Member.objects.filter(pk__in=[m.pk for m in mine])
    } == {teammate.pk}
    assert Note.objects.count() == 3
    assert actions().count("key_members.handover") == 1
