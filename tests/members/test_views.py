"""The foundation's HTML pages: home per role, team and invitations, API tokens, community
settings, the audit log and its export, the invitation link, and `/`."""

import csv
import io
from datetime import timedelta

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from members import services
from members.audit import audit_record
from members.models import ApiToken, AuditEvent, Invitation, Role, TeamMembership, User
from tests.members.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ADMIN_PAGES = [
    "/c/acme/team/",
    "/c/acme/tokens/",
    "/c/acme/settings/",
    "/c/acme/audit/",
    "/c/acme/audit/export.csv",
]


@pytest.fixture
def admin_client(client: Client, admin) -> Client:
    client.force_login(admin)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def invite(admin, community, email="new@acme.test", role=Role.MANAGER):
    return services.invitation_create(actor=admin, community=community, email=email, role=role)


def html(response) -> str:
    return response.content.decode()


# --- who may open what -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ADMIN_PAGES)
@pytest.mark.parametrize(
    ("persona", "status"),
    [("admin", 200), ("manager", 403), ("moderator", 403), ("viewer", 403), ("outsider", 404)],
)
def test_admin_pages_open_for_admins_only_and_strangers_get_404(
    client, personas, path, persona, status
):
    client.force_login(personas[persona])

    assert client.get(path).status_code == status


@pytest.mark.parametrize("path", [*ADMIN_PAGES, "/c/acme/"])
def test_community_pages_send_anonymous_visitors_to_sign_in(client, community, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("persona", ["manager", "moderator", "viewer"])
def test_a_non_admin_cannot_post_to_the_team_page(client, personas, persona):
    client.force_login(personas[persona])

    response = client.post("/c/acme/team/", {"email": "x@acme.test", "role": "admin"})

    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_state_changes_need_a_csrf_token(admin, community):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)

    response = client.post("/c/acme/team/", {"email": "x@acme.test", "role": "viewer"})

    assert response.status_code == 403
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/c/acme/team/00000000-0000-0000-0000-000000000000/role/",
        "/c/acme/team/00000000-0000-0000-0000-000000000000/remove/",
        "/c/acme/invitations/00000000-0000-0000-0000-000000000000/revoke/",
        "/c/acme/tokens/00000000-0000-0000-0000-000000000000/revoke/",
    ],
)
def test_actions_do_nothing_on_get(admin_client, path):
    assert admin_client.get(path).status_code == 405


# --- home and root -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "manager", "moderator", "viewer"])
def test_home_shows_the_role_its_team_and_what_the_role_may_do(client, personas, role):
    client.force_login(personas[role])

    response = client.get("/c/acme/")

    assert response.status_code == 200
    assert response.templates[0].name == f"members/home_{role}.html"
    page = html(response)
    for persona in ("admin", "manager", "moderator", "viewer"):
        assert personas[persona].email in page
    assert personas["outsider"].email not in page
    administer = "Manage the team, integrations, API tokens and the audit log"
    assert (administer in page) == (role == "admin")


def test_admin_home_shows_setup_state_and_recent_staff_actions(admin_client, admin, community):
    with time_machine.travel(timezone.now() - timedelta(days=30)):
        invite(admin, community, email="lapsed@acme.test")  # pending, but past its date
    invite(admin, community)
    services.api_token_create(actor=admin, community=community, user=admin, name="ci")

    response = admin_client.get("/c/acme/")

    assert response.context["active_tokens"] == 1
    assert [i.email for i in response.context["pending_invitations"]] == ["new@acme.test"]
    assert [e.action for e in response.context["recent_audit"]] == [
        "api_token.create",
        "invitation.create",
        "invitation.create",
    ]
    assert response.context["has_totp"] is False


def test_root_sends_you_to_the_community_you_last_worked_in(client, admin, other_community):
    MembershipFactory(user=admin, community=other_community, role=Role.VIEWER)
    client.force_login(admin)

    assert client.get("/")["Location"] == "/c/acme/"  # first by name without history
    client.get("/c/globex/")
    assert client.get("/")["Location"] == "/c/globex/"
    client.get("/c/acme/")
    assert client.get("/")["Location"] == "/c/acme/"


def test_root_forgets_a_last_community_you_were_removed_from(client, admin, other_community):
    MembershipFactory(user=admin, community=other_community, role=Role.VIEWER)
    client.force_login(admin)
    client.get("/c/globex/")
    TeamMembership.objects.filter(user=admin, community=other_community).delete()

    assert client.get("/")["Location"] == "/c/acme/"


def test_someone_on_no_team_sees_the_no_community_page(client, db):
    loner = UserFactory(email="loner@example.org")
    client.force_login(loner)

    response = client.get("/")

    assert response.status_code == 200
    assert "members/no_community.html" in [t.name for t in response.templates]
    assert "not on a community" in html(response)
    assert "loner@example.org" in html(response)


def test_root_asks_anonymous_visitors_to_sign_in(client, db):
    assert client.get("/")["Location"] == "/accounts/login/?next=/"


# --- query budgets -----------------------------------------------------------------------------


@pytest.fixture
def busy_community(personas, community):
    """Enough rows of each kind that a query per row would show up in the counts."""
    admin = personas["admin"]
    for n in range(5):
        user = UserFactory(email=f"mate{n}@acme.test")
        MembershipFactory(user=user, community=community, role=Role.MODERATOR)
        invite(admin, community, email=f"invitee{n}@acme.test", role=Role.VIEWER)
        services.api_token_create(actor=admin, community=community, user=user, name=f"t{n}")
    return community


@pytest.mark.parametrize("role", ["manager", "moderator", "viewer"])
def test_home_query_budget_for_non_admins(
    client, personas, busy_community, role, django_assert_num_queries
):
    client.force_login(personas[role])
    client.get("/c/acme/")  # remembers the community in the session once
    # 1 session, 2 user, 3 membership + community (URL), 4 team + users, (managers only: the
    # count of key members gone quiet), 5 the navigation's memberships + communities.
    with django_assert_num_queries(6 if role == "manager" else 5):
        assert client.get("/c/acme/").status_code == 200


def test_home_query_budget_for_admins(admin_client, busy_community, django_assert_num_queries):
    admin_client.get("/c/acme/")
    # 1 session, 2 user, 3 membership + community, 4 team + users, 5 pending invitations +
    # inviters, 6 active token count, 7 recent audit events, 8 "has TOTP", 9 navigation.
    with django_assert_num_queries(9):
        assert admin_client.get("/c/acme/").status_code == 200


def test_team_page_query_budget(admin_client, busy_community, django_assert_num_queries):
    # 1 session, 2 user, 3 membership + community, 4 team + users,
    # 5 invitations + inviters, 6 navigation.
    with django_assert_num_queries(6):
        assert admin_client.get("/c/acme/team/").status_code == 200


def test_tokens_page_query_budget(admin_client, busy_community, django_assert_num_queries):
    # 1 session, 2 user, 3 membership + community, 4 team + users (the form's choices),
    # 5 tokens + their users, 6 navigation, 7 the "acts as" select's users.
    with django_assert_num_queries(7):
        assert admin_client.get("/c/acme/tokens/").status_code == 200


def test_audit_page_query_budget(admin_client, busy_community, django_assert_num_queries):
    # 1 session, 2 user, 3 membership + community, 4 count for the pager, 5 one page of events,
    # 6 distinct actions (filter), 7 team (actor filter), 8 navigation.
    with django_assert_num_queries(8):
        assert admin_client.get("/c/acme/audit/").status_code == 200


# --- team and invitations ----------------------------------------------------------------------


def test_team_page_lists_teammates_and_invitations(admin_client, personas, community):
    invite(personas["admin"], community, email="pending@acme.test")

    response = admin_client.get("/c/acme/team/")

    page = html(response)
    for persona in ("admin", "manager", "moderator", "viewer"):
        assert personas[persona].email in page
    assert "pending@acme.test" in page
    assert "admin@globex.test" not in page


def test_inviting_creates_the_invitation_and_emails_the_link_after_commit(
    admin_client, admin, community, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(
            "/c/acme/team/", {"email": "New@Acme.test", "role": "moderator"}
        )

    assert response.status_code == 302
    assert response["Location"] == "/c/acme/team/"
    assert messages_of(response) == ["Invitation sent to new@acme.test."]
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "new@acme.test",
        "moderator",
        admin,
    )
    assert len(callbacks) == 1
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["new@acme.test"]
    assert email.subject == "You're invited to join Acme Community on Hearth"
    link = next(line for line in email.body.splitlines() if "/invitations/" in line)
    assert link.startswith("http://127.0.0.1:8000/invitations/")
    invitation.refresh_from_db()
    assert invitation.sent_at is not None
    # The emailed link is the invitation's.
    path = link.removeprefix("http://127.0.0.1:8000")
    assert Client().get(path).context["invitation"] == invitation


def test_the_invitation_email_is_plain_text_not_html_escaped(
    admin, community, mailoutbox, django_capture_on_commit_callbacks
):
    services.community_update(
        actor=admin, community=community, name="R&D <Team>", timezone_name="UTC"
    )

    with django_capture_on_commit_callbacks(execute=True):
        invite(admin, community)

    assert mailoutbox[0].subject == "You're invited to join R&D <Team> on Hearth"
    assert "join the R&D <Team> team" in mailoutbox[0].body


def test_nothing_is_emailed_when_the_transaction_does_not_commit(
    admin_client, community, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin_client.post("/c/acme/team/", {"email": "new@acme.test", "role": "viewer"})

    assert len(callbacks) == 1
    assert mailoutbox == []


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"email": "not-an-email", "role": "viewer"}, "Enter a valid email address."),
        ({"email": "x@acme.test", "role": "owner"}, "Select a valid choice."),
        ({"email": "MANAGER@acme.test", "role": "viewer"}, "is already on this team."),
    ],
)
def test_an_invalid_invitation_re_renders_the_form_with_400(
    admin_client, manager, community, mailoutbox, data, error
):
    response = admin_client.post("/c/acme/team/", data)

    assert response.status_code == 400
    assert error in html(response)
    assert response.context["invite_form"].errors
    assert not Invitation.objects.exists()
    assert mailoutbox == []


def test_changing_a_role_says_so(admin_client, manager, community):
    response = admin_client.post(f"/c/acme/team/{manager.public_id}/role/", {"role": "viewer"})

    assert response["Location"] == "/c/acme/team/"
    assert messages_of(response) == ["manager@acme.test is now Executive (read-only)."]
    assert TeamMembership.objects.get(user=manager).role == Role.VIEWER
    assert AuditEvent.objects.filter(action="team.role_change").count() == 1


def test_demoting_the_last_admin_is_refused_with_a_message(admin_client, admin, community):
    response = admin_client.post(f"/c/acme/team/{admin.public_id}/role/", {"role": "manager"})

    assert response["Location"] == "/c/acme/team/"
    assert messages_of(response) == ["A community needs at least one admin."]
    assert TeamMembership.objects.get(user=admin).role == Role.ADMIN


def test_an_unknown_role_is_refused_with_a_message(admin_client, manager, community):
    response = admin_client.post(f"/c/acme/team/{manager.public_id}/role/", {"role": "god"})

    assert messages_of(response) == ["Choose a role."]
    assert TeamMembership.objects.get(user=manager).role == Role.MANAGER


def test_removing_a_teammate_says_so(admin_client, manager, community):
    response = admin_client.post(f"/c/acme/team/{manager.public_id}/remove/")

    assert messages_of(response) == ["manager@acme.test was removed from the team."]
    assert not TeamMembership.objects.filter(user=manager).exists()


def test_removing_the_last_admin_is_refused_with_a_message(admin_client, admin, community):
    response = admin_client.post(f"/c/acme/team/{admin.public_id}/remove/")

    assert messages_of(response) == ["A community needs at least one admin."]
    assert TeamMembership.objects.filter(user=admin).exists()


def test_team_actions_on_another_communitys_teammate_are_404(admin_client, outsider):
    for action in ("role", "remove"):
        response = admin_client.post(
            f"/c/acme/team/{outsider.public_id}/{action}/", {"role": "viewer"}
        )
        assert response.status_code == 404
    assert TeamMembership.objects.get(user=outsider).role == Role.ADMIN


def test_revoking_an_invitation_says_so_and_twice_says_it_is_no_longer_pending(
    admin_client, admin, community
):
    invitation, _raw = invite(admin, community)
    url = f"/c/acme/invitations/{invitation.public_id}/revoke/"

    first = admin_client.post(url, follow=True)
    second = admin_client.post(url, follow=True)

    assert "The invitation to new@acme.test was revoked." in html(first)
    assert "This invitation is no longer pending." in html(second)
    assert "was revoked" not in html(second)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.REVOKED


def test_revoking_another_communitys_invitation_is_404(admin_client, outsider, other_community):
    invitation, _raw = invite(outsider, other_community, email="x@globex.test")

    response = admin_client.post(f"/c/acme/invitations/{invitation.public_id}/revoke/")

    assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


# --- API tokens --------------------------------------------------------------------------------


def test_a_new_token_is_shown_once_and_never_cached(admin_client, manager, community):
    response = admin_client.post(
        "/c/acme/tokens/", {"name": "Discourse importer", "user": str(manager.public_id)}
    )

    assert response.status_code == 200
    raw = response.context["new_token"]
    assert raw.startswith("hth_")
    assert raw in html(response)
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get()
    assert (token.name, token.user) == ("Discourse importer", manager)

    later = admin_client.get("/c/acme/tokens/")
    assert raw not in html(later)
    assert token.prefix in html(later)
    assert "no-store" in later["Cache-Control"]


def test_the_token_form_refuses_a_user_outside_the_team(admin_client, outsider, community):
    response = admin_client.post("/c/acme/tokens/", {"name": "x", "user": str(outsider.public_id)})

    assert response.status_code == 400
    assert "Select a valid choice" in html(response)
    assert not ApiToken.objects.exists()


def test_the_token_form_needs_a_name(admin_client, admin, community):
    response = admin_client.post("/c/acme/tokens/", {"name": "", "user": str(admin.public_id)})

    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    assert "new_token" not in response.context


def test_revoking_a_token_says_so(admin_client, admin, community):
    token, _raw = services.api_token_create(actor=admin, community=community, user=admin, name="ci")
    url = f"/c/acme/tokens/{token.public_id}/revoke/"

    first = admin_client.post(url, follow=True)
    second = admin_client.post(url, follow=True)

    assert first.redirect_chain == [("/c/acme/tokens/", 302)]
    assert "Token “ci” revoked." in html(first)
    assert "This token is already revoked." in html(second)
    token.refresh_from_db()
    assert not token.is_active


def test_revoking_another_communitys_token_is_404(admin_client, outsider, other_community):
    token, _raw = services.api_token_create(
        actor=outsider, community=other_community, user=outsider, name="ci"
    )

    response = admin_client.post(f"/c/acme/tokens/{token.public_id}/revoke/")

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.is_active


# --- community settings ------------------------------------------------------------------------


def test_settings_page_shows_the_current_values(admin_client, community):
    form = admin_client.get("/c/acme/settings/").context["form"]

    assert form.initial == {"name": "Acme Community", "timezone": "Europe/Amsterdam"}


def test_saving_settings_updates_the_community_and_records_it(admin_client, admin, community):
    response = admin_client.post(
        "/c/acme/settings/", {"name": "Acme Collective", "timezone": "Asia/Tokyo"}
    )

    assert response["Location"] == "/c/acme/settings/"
    assert messages_of(response) == ["Community settings saved."]
    community.refresh_from_db()
    assert (community.name, community.timezone) == ("Acme Collective", "Asia/Tokyo")
    event = AuditEvent.objects.get(action="community.update")
    assert (event.actor, event.after) == (
        admin,
        {"name": "Acme Collective", "timezone": "Asia/Tokyo"},
    )


@pytest.mark.parametrize(
    "data", [{"name": "Acme", "timezone": "Mars/Base"}, {"name": "", "timezone": "UTC"}]
)
def test_invalid_settings_re_render_with_400(admin_client, community, data):
    response = admin_client.post("/c/acme/settings/", data)

    assert response.status_code == 400
    assert response.context["form"].errors
    community.refresh_from_db()
    assert community.name == "Acme Community"


# --- audit log ---------------------------------------------------------------------------------


@pytest.fixture
def audit_trail(admin, manager, community, other_community, outsider):
    """Three staff actions in acme by two people, one in globex."""
    services.community_update(
        actor=admin, community=community, name="Acme Two", timezone_name="Europe/Amsterdam"
    )
    invite(admin, community, email="alice@acme.test")
    services.membership_set_role(
        actor=admin, membership=TeamMembership.objects.get(user=manager), role="viewer"
    )
    services.community_update(
        actor=outsider, community=other_community, name="Globex Two", timezone_name="UTC"
    )


def listed_actions(response) -> list[str]:
    return [e.action for e in response.context["events"]]


def test_audit_page_lists_this_communitys_events_newest_first(admin_client, audit_trail):
    response = admin_client.get("/c/acme/audit/")

    assert listed_actions(response) == ["team.role_change", "invitation.create", "community.update"]
    assert "Globex Two" not in html(response)
    assert response.context["actions"] == [
        "community.update",
        "invitation.create",
        "team.role_change",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "invitation.create"}, ["invitation.create"]),
        (
            {"actor": "ADMIN@acme.test"},
            ["team.role_change", "invitation.create", "community.update"],
        ),
        ({"actor": "manager@acme.test"}, []),
        ({"target": "alice"}, ["invitation.create"]),
        ({"target_type": "members.teammembership"}, ["team.role_change"]),
    ],
)
def test_audit_filters(admin_client, audit_trail, query, expected):
    assert listed_actions(admin_client.get("/c/acme/audit/", query)) == expected


def test_the_target_filter_also_takes_an_exact_id(admin_client, audit_trail):
    invitation = Invitation.objects.get()

    response = admin_client.get("/c/acme/audit/", {"target": str(invitation.public_id)})

    assert listed_actions(response) == ["invitation.create"]


def test_audit_date_filters_use_the_communitys_days(admin_client, admin, community):
    # 23:30 UTC on 1 January is already 2 January in Amsterdam.
    with time_machine.travel("2030-01-01 23:30:00Z", tick=False):
        audit_record(actor=admin, community=community, action="late.night", target=community)
    with time_machine.travel("2030-01-01 12:00:00Z", tick=False):
        audit_record(actor=admin, community=community, action="midday", target=community)

    def listed(**query):
        return listed_actions(admin_client.get("/c/acme/audit/", query))

    assert listed(since="2030-01-02") == ["late.night"]
    assert listed(until="2030-01-01") == ["midday"]
    assert listed(since="2030-01-01", until="2030-01-02") == ["late.night", "midday"]


def test_a_malformed_audit_filter_shows_its_error_not_a_crash(admin_client, audit_trail):
    response = admin_client.get("/c/acme/audit/", {"since": "last tuesday"})

    assert response.status_code == 200
    assert listed_actions(response) == []
    assert "Enter a valid date." in html(response)


def test_an_htmx_filter_request_gets_only_the_results(admin_client, audit_trail):
    response = admin_client.get(
        "/c/acme/audit/", {"action": "invitation.create"}, HTTP_HX_REQUEST="true"
    )

    assert response.templates[0].name == "members/_partials/audit_results.html"
    assert "<html" not in html(response)
    assert "alice@acme.test" in html(response)

    boosted = admin_client.get("/c/acme/audit/", HTTP_HX_REQUEST="true", HTTP_HX_BOOSTED="true")
    assert "<html" in html(boosted)


def test_the_audit_log_is_paginated_and_keeps_the_filters(admin_client, admin, community):
    for _ in range(55):
        audit_record(actor=admin, community=community, action="bulk.thing", target=community)
    audit_record(actor=admin, community=community, action="other.thing", target=community)

    first = admin_client.get("/c/acme/audit/", {"action": "bulk.thing"})
    second = admin_client.get("/c/acme/audit/", {"action": "bulk.thing", "page": 2})

    assert len(first.context["events"]) == 50
    assert len(second.context["events"]) == 5
    assert {e.action for e in second.context["events"]} == {"bulk.thing"}
    assert 'href="?action=bulk.thing&amp;page=2"' in html(first)
    assert "51\N{EN DASH}55 of 55" in html(second)


def export(client, **query) -> tuple[object, list[list[str]]]:
    response = client.get("/c/acme/audit/export.csv", query)
    body = b"".join(response.streaming_content).decode()
    return response, list(csv.reader(io.StringIO(body)))


def test_the_csv_export_has_a_header_row_and_one_row_per_event(admin_client, audit_trail):
    response, rows = export(admin_client, action="invitation.create")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == 'attachment; filename="hearth-acme-audit.csv"'
    assert rows[0] == [
        "time",
        "actor",
        "action",
        "target_type",
        "target_id",
        "target",
        "before",
        "after",
        "ip",
    ]
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["actor"] == "admin@acme.test"
    assert row["action"] == "invitation.create"
    assert row["target"] == "alice@acme.test → Acme Two (manager)"
    assert row["before"] == ""
    assert '"email": "alice@acme.test"' in row["after"]


def test_the_csv_export_neutralises_spreadsheet_formulas(admin, community, client):
    services.community_update(
        actor=admin, community=community, name='=HYPERLINK("http://evil")', timezone_name="UTC"
    )
    sneaky = UserFactory(email="+1+1@evil.test")
    MembershipFactory(user=sneaky, community=community, role=Role.ADMIN)
    audit_record(actor=sneaky, community=community, action="x.y", target=community)
    client.force_login(admin)

    _response, rows = export(client)

    cells = [cell for row in rows[1:] for cell in row]
    assert '\'=HYPERLINK("http://evil")' in cells
    assert "'+1+1@evil.test" in cells
    assert not any(cell[:1] in ("=", "+", "-", "@") for cell in cells)


def test_exporting_the_audit_log_is_itself_audited(admin_client, admin, community, audit_trail):
    export(admin_client, action="team.role_change")

    event = AuditEvent.objects.get(action="audit.export")
    assert (event.actor, event.community, event.after) == (
        admin,
        community,
        {"filters": {"action": "team.role_change"}},
    )


# --- escaping ----------------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_a_community_name_is_escaped_wherever_it_shows(admin_client, admin, community):
    services.community_update(actor=admin, community=community, name=SCRIPT, timezone_name="UTC")

    for path in ("/c/acme/", "/c/acme/audit/", "/c/acme/team/"):
        page = html(admin_client.get(path))
        assert SCRIPT not in page, path
        assert ESCAPED in page, path


def test_an_invited_address_and_a_teammates_name_are_escaped(admin_client, admin, community):
    # Quoted local parts are valid email addresses, angle brackets and all.
    address = f'"{SCRIPT}"@evil.test'
    response = admin_client.post("/c/acme/team/", {"email": address, "role": "viewer"}, follow=True)
    named = UserFactory(email="named@acme.test", name=SCRIPT)
    MembershipFactory(user=named, community=community, role=Role.VIEWER)

    assert Invitation.objects.get().email == address.lower()
    page = html(admin_client.get("/c/acme/team/"))
    assert SCRIPT not in page
    assert SCRIPT not in html(response)
    assert ESCAPED in page


def test_the_invitation_page_escapes_the_community_and_the_inviter(admin, community, client):
    admin.name = SCRIPT
    admin.save(update_fields=["name"])
    services.community_update(actor=admin, community=community, name=SCRIPT, timezone_name="UTC")
    _invitation, raw = invite(admin, community)

    page = html(client.get(f"/invitations/{raw}/"))

    assert SCRIPT not in page
    assert page.count(ESCAPED) >= 2


# --- the invitation link -----------------------------------------------------------------------

NEW_LOGIN = {"name": "Nia New", "password1": PASSWORD, "password2": PASSWORD}


def test_someone_new_creates_their_login_and_lands_signed_in_on_the_community(
    client, admin, community
):
    _invitation, raw = invite(admin, community, role=Role.MODERATOR)

    page = client.get(f"/invitations/{raw}/")
    assert page.status_code == 200
    assert "Join Acme Community" in html(page)
    assert "no-store" in page["Cache-Control"]

    response = client.post(f"/invitations/{raw}/", NEW_LOGIN)

    assert response["Location"] == "/c/acme/"
    assert messages_of(response) == ["Welcome to Acme Community."]
    home = client.get("/c/acme/")
    assert home.status_code == 200
    assert home.context["user"].email == "new@acme.test"
    assert home.context["user"].name == "Nia New"
    assert home.context["membership"].role == Role.MODERATOR


def test_the_two_passwords_must_match(client, admin, community):
    _invitation, raw = invite(admin, community)

    response = client.post(f"/invitations/{raw}/", {**NEW_LOGIN, "password2": "something-else"})

    assert response.status_code == 400
    assert "The two passwords differ." in html(response)
    assert not TeamMembership.objects.filter(user__email="new@acme.test").exists()


def test_a_weak_password_is_shown_on_the_password_field(client, admin, community):
    _invitation, raw = invite(admin, community)

    response = client.post(
        f"/invitations/{raw}/", {"name": "Nia", "password1": "123", "password2": "123"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["password1"]
    assert "too short" in html(response)
    assert not response.wsgi_request.user.is_authenticated


def test_someone_with_a_login_must_sign_in_first_and_then_accepts(
    client, admin, outsider, community
):
    invitation, raw = invite(admin, community, email=outsider.email, role=Role.VIEWER)
    link = f"/invitations/{raw}/"

    page = client.get(link)
    assert page.context["existing_user"] is True
    assert f'href="/accounts/login/?next={link}"' in html(page)
    assert "Create login and join" not in html(page)

    signed_in = client.post(
        f"/accounts/login/?next={link}", {"login": outsider.email, "password": PASSWORD}
    )
    assert signed_in["Location"] == link
    assert "Accept and join" in html(client.get(link))

    response = client.post(link)

    assert response["Location"] == "/c/acme/"
    assert TeamMembership.objects.get(user=outsider, community=community).role == Role.VIEWER
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ACCEPTED


def test_a_signed_in_user_with_another_email_is_told_to_sign_out(client, admin, community):
    invitation, raw = invite(admin, community)
    client.force_login(admin)

    page = client.get(f"/invitations/{raw}/")
    assert "You are signed in as admin@acme.test. Sign out, then open the link again." in html(page)
    assert "Accept and join" not in html(page)

    response = client.post(f"/invitations/{raw}/")

    assert response.status_code == 400
    assert messages_of(response) == [
        "This invitation is for new@acme.test. Sign out and open the link again."
    ]
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.PENDING


@pytest.mark.parametrize("ending", ["revoked", "expired", "accepted", "unknown"])
def test_a_dead_invitation_link_answers_410(client, admin, community, ending):
    invitation, raw = invite(admin, community)
    if ending == "revoked":
        services.invitation_revoke(actor=admin, invitation=invitation)
    elif ending == "accepted":
        services.invitation_accept(raw_token=raw, name="Nia", password=PASSWORD)
        client.logout()
    elif ending == "unknown":
        raw = "hth_no-such-token"
    traveller = time_machine.travel(
        timezone.now() + timedelta(days=8 if ending == "expired" else 0)
    )

    with traveller:
        page = client.get(f"/invitations/{raw}/")
        posted = client.post(f"/invitations/{raw}/", NEW_LOGIN)

    assert page.status_code == 410
    assert "This invitation link has expired" in html(page)
    assert posted.status_code == 410
    assert not User.objects.filter(name="Nia New").exists()
