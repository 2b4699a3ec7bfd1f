"""Management commands of the foundation (public contracts, see ARCHITECTURE.md)."""

from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F
from django.utils import timezone

from members.ledger import Activity, Identity, Member, MergeSuggestion
from members.models import ApiToken, AuditEvent, Community, Role, TeamMembership, User
from tests.members.factories import UserFactory

pytestmark = pytest.mark.django_db

DEMO_LOGINS = {
    "admin@demo.hearth": Role.ADMIN,
    "manager@demo.hearth": Role.MANAGER,
    "moderator@demo.hearth": Role.MODERATOR,
    "exec@demo.hearth": Role.VIEWER,
}


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def snapshot() -> dict[str, object]:
    return {
        "communities": list(Community.objects.values_list("slug", "name", "timezone")),
        "team": sorted(
            TeamMembership.objects.values_list("community__slug", "user__email", "role")
        ),
        "users": sorted(User.objects.values_list("email", "password")),
        "audit": AuditEvent.objects.count(),
        "members": Member.objects.count(),
        "activities": Activity.objects.count(),
        "merges": MergeSuggestion.objects.count(),
    }


SMALL = ("--members", "20", "--days", "10")


def ledger_shape(slug: str) -> dict[str, object]:
    activities = Activity.objects.filter(community__slug=slug)
    return {
        "members": Member.objects.filter(community__slug=slug).count(),
        "identities": Counter(
            Identity.objects.filter(community__slug=slug).values_list("platform", flat=True)
        ),
        "kinds": Counter(activities.values_list("platform", "kind")),
        "external_ids": sorted(activities.values_list("platform", "external_id")),
        "per_member": sorted(
            activities.values("member").annotate(n=Count("id")).values_list("n", flat=True)
        ),
        "merges": MergeSuggestion.objects.filter(community__slug=slug).count(),
    }


# --- seed_demo ---------------------------------------------------------------------------------


def test_seed_demo_creates_the_demo_community_and_one_login_per_role(client, db):
    output = run("seed_demo")

    demo = Community.objects.get(slug="demo")
    assert (demo.name, demo.timezone) == ("Demo Community", "Europe/Amsterdam")
    roles = dict(TeamMembership.objects.filter(community=demo).values_list("user__email", "role"))
    assert roles == DEMO_LOGINS
    for email in DEMO_LOGINS:
        assert client.login(email=email, password="hearth-demo")
    assert "Created community 'demo'" in output
    assert "admin@demo.hearth" in output and "hearth-demo" in output


def test_seed_demo_twice_changes_nothing_and_keeps_what_people_did(db):
    run("seed_demo")
    demo = Community.objects.get(slug="demo")
    demo.name = "Renamed in the demo"
    demo.save(update_fields=["name"])
    before = snapshot()

    output = run("seed_demo")

    assert snapshot() == before
    assert "exists; keeping its data" in output


def test_seed_demo_restores_a_missing_demo_membership_without_touching_the_rest(db):
    run("seed_demo")
    TeamMembership.objects.filter(user__email="exec@demo.hearth").delete()

    run("seed_demo")

    assert TeamMembership.objects.get(user__email="exec@demo.hearth").role == Role.VIEWER
    assert TeamMembership.objects.filter(community__slug="demo").count() == 4


def test_seed_demo_into_another_slug(db):
    run("seed_demo", "--community", "sandbox")

    assert TeamMembership.objects.filter(community__slug="sandbox").count() == 4


def test_seed_demo_is_deterministic_for_a_seed(db):
    run("seed_demo", "--community", "one", "--seed", "7", *SMALL)
    run("seed_demo", "--community", "two", "--seed", "7", *SMALL)
    run("seed_demo", "--community", "three", "--seed", "8", *SMALL)

    assert ledger_shape("one") == ledger_shape("two")
    assert ledger_shape("one") != ledger_shape("three")


def test_seed_demo_activity_is_seeded_once(db):
    run("seed_demo", *SMALL)
    before = snapshot()

    output = run("seed_demo", *SMALL)

    assert snapshot() == before
    assert "exists; keeping its data" in output


def test_seed_demo_respects_members_and_days(db):
    output = run("seed_demo", *SMALL)

    demo = Community.objects.get(slug="demo")
    now = timezone.now()
    activities = Activity.objects.filter(community=demo)
    assert Member.objects.filter(community=demo).count() == 20
    assert "Seeded 20 members" in output
    not_joins = activities.exclude(kind=Activity.Kind.JOIN)
    assert not not_joins.filter(occurred_at__lt=now - timedelta(days=10)).exists()
    assert not activities.filter(occurred_at__gt=now).exists()
    # Some members joined before the window, some within it.
    assert activities.filter(kind="join", occurred_at__lt=now - timedelta(days=10)).exists()
    assert activities.filter(kind="join", occurred_at__gte=now - timedelta(days=10)).exists()
    assert {"join", "post", "reply", "reaction"} <= set(activities.values_list("kind", flat=True))


def test_seed_demo_defaults_look_like_a_real_community(db):
    run("seed_demo")

    demo = Community.objects.get(slug="demo")
    activities = Activity.objects.filter(community=demo)
    assert Member.objects.filter(community=demo).count() == 120
    assert set(Identity.objects.filter(community=demo).values_list("platform", flat=True)) == {
        "discourse",
        "slack",
        "github",
    }
    # Replies answer other members, and hang off their thread.
    replies = activities.filter(kind="reply")
    assert (
        replies.exclude(replied_to_member=F("member"))
        .filter(replied_to_member__isnull=False)
        .exists()
    )
    assert not replies.filter(thread_id="").exists()
    assert not replies.filter(parent_id="").exists()
    # Some threads are never answered.
    answered = set(replies.values_list("platform", "thread_id"))
    posts = set(activities.filter(kind="post").values_list("platform", "thread_id"))
    assert posts - answered and posts & answered
    # Heavy-tailed: the busiest tenth of members do most of the posting and replying.
    counts = sorted(
        activities.filter(kind__in=["post", "reply"])
        .values("member")
        .annotate(n=Count("id"))
        .values_list("n", flat=True),
        reverse=True,
    )
    assert sum(counts[:12]) > sum(counts) / 2
    # A few people on two platforms with one email: merge suggestions, not merges.
    assert MergeSuggestion.objects.filter(community=demo, status="pending").count() >= 1


# --- create_community --------------------------------------------------------------------------


def test_create_community_with_an_owner_makes_them_its_admin(db):
    owner = UserFactory(email="owner@initech.test")

    output = run(
        "create_community",
        "initech",
        "--name",
        "Initech",
        "--timezone",
        "Asia/Tokyo",
        "--owner",
        "OWNER@initech.test",
    )

    community = Community.objects.get(slug="initech")
    assert (community.name, community.timezone) == ("Initech", "Asia/Tokyo")
    assert TeamMembership.objects.get(community=community).user == owner
    assert TeamMembership.objects.get(community=community).role == Role.ADMIN
    assert "Created community 'initech'." in output
    assert AuditEvent.objects.filter(community=community, action="community.create").exists()


def test_create_community_without_an_owner_has_an_empty_team(db):
    run("create_community", "initech", "--name", "Initech", "--timezone", "UTC")

    assert not TeamMembership.objects.filter(community__slug="initech").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["initech", "--name", "Initech", "--timezone", "Moon/Base"], "not an IANA time zone"),
        (
            ["initech", "--name", "Initech", "--timezone", "UTC", "--owner", "no@one.test"],
            "No user with email no@one.test",
        ),
        (["bad slug!", "--name", "Initech", "--timezone", "UTC"], "slug"),
        (["acme", "--name", "Acme again", "--timezone", "UTC"], "already exists"),
    ],
)
def test_create_community_refuses_bad_input_with_a_command_error(community, args, message):
    with pytest.raises(CommandError, match=message):
        run("create_community", *args)

    assert Community.objects.count() == 1


# --- create_api_token --------------------------------------------------------------------------


def test_create_api_token_prints_a_token_that_works_against_the_api(
    api_client, manager, community, other_community
):
    output = run(
        "create_api_token",
        "--community",
        "acme",
        "--user",
        "MANAGER@acme.test",
        "--name",
        "importer",
    )

    raw = output.strip()
    assert raw.startswith("hth_")
    token = ApiToken.objects.get()
    assert (token.name, token.user, token.community, token.created_by) == (
        "importer",
        manager,
        community,
        None,
    )
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = api_client.get("/api/v1/communities/acme/")
    assert response.status_code == 200
    assert response.json()["slug"] == "acme"
    # It acts as that user, in that community only.
    assert api_client.get("/api/v1/communities/globex/").status_code == 404


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--community", "nope", "--user", "manager@acme.test"], "No community 'nope'"),
        (["--community", "acme", "--user", "ghost@acme.test"], "No user with email"),
        (["--community", "acme", "--user", "admin@globex.test"], "not on this community's team"),
    ],
)
def test_create_api_token_refuses_bad_input(manager, outsider, community, args, message):
    with pytest.raises(CommandError, match=message):
        run("create_api_token", *args)

    assert not ApiToken.objects.exists()
