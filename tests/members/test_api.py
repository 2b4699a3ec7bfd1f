"""The foundation's API: bearer tokens, each endpoint's behaviour, the error shape, pagination,
throttling and the OpenAPI document. Who may call what is test_permissions.py's matrix."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from django.core.cache import cache
from django.db.models import Model
from django.utils import timezone
from drf_spectacular.validation import validate_schema
from rest_framework.throttling import SimpleRateThrottle

from members import services
from members.models import (
    ApiToken,
    AuditEvent,
    Community,
    Invitation,
    Role,
    TeamMembership,
    User,
)
from tests.members.factories import CommunityFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/communities"


def assert_error(response, status: int, code: str, fields: set[str] | None = None) -> dict:
    """Every API error is `{"code", "message", "errors": {field: [messages]}}`."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    if fields is not None:
        assert set(body["errors"]) == fields
        assert all(isinstance(m, list) and m for m in body["errors"].values())
    return body


def bearer(api_client, raw: str):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api_client


def token_row(raw: str) -> ApiToken:
    return ApiToken.objects.get(token_hash=services.token_hash(raw))


@pytest.fixture
def as_admin(api_client, admin):
    api_client.force_login(admin)
    return api_client


def membership(user: User, community: Community) -> TeamMembership:
    return TeamMembership.objects.get(user=user, community=community)


# --- bearer tokens -------------------------------------------------------------------------------


def test_valid_token_authenticates_and_records_its_last_use(
    api_client, admin, community, token_for
):
    raw = token_for(admin, community)
    assert token_row(raw).last_used_at is None

    response = bearer(api_client, raw).get(f"{API}/acme/")

    assert response.status_code == 200
    assert response.json()["slug"] == "acme"
    assert timezone.now() - token_row(raw).last_used_at < timedelta(seconds=10)


def test_token_use_is_written_at_most_once_a_minute(api_client, admin, community, token_for):
    raw = token_for(admin, community)
    recently = timezone.now() - timedelta(seconds=30)
    ApiToken.objects.filter(pk=token_row(raw).pk).update(last_used_at=recently)
    bearer(api_client, raw).get(f"{API}/acme/")
    assert token_row(raw).last_used_at == recently

    a_while_ago = timezone.now() - timedelta(minutes=2)
    ApiToken.objects.filter(pk=token_row(raw).pk).update(last_used_at=a_while_ago)
    api_client.get(f"{API}/acme/")
    assert token_row(raw).last_used_at > a_while_ago


def test_revoked_token_is_refused(api_client, admin, community, token_for):
    raw = token_for(admin, community)
    services.api_token_revoke(actor=admin, token=token_row(raw))

    response = bearer(api_client, raw).get(f"{API}/acme/")

    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Bearer"


def test_token_of_a_deactivated_user_is_refused(api_client, admin, community, token_for):
    raw = token_for(admin, community)
    User.objects.filter(pk=admin.pk).update(is_active=False)

    assert_error(bearer(api_client, raw).get(f"{API}/acme/"), 401, "authentication_failed")


def test_token_stays_in_its_community_even_when_its_user_is_on_both_teams(
    api_client, admin, community, other_community, token_for
):
    """The admin of Acme is also admin of Globex. Their session reaches both; their Acme token
    is scoped to Acme, so Globex's URLs answer 404 to it, reads and writes alike."""
    MembershipFactory(user=admin, community=other_community, role=Role.ADMIN)
    api_client.force_login(admin)
    assert api_client.get(f"{API}/globex/").status_code == 200

    bearer(api_client, token_for(admin, community))
    assert api_client.get(f"{API}/acme/").status_code == 200
    assert_error(api_client.get(f"{API}/globex/"), 404, "not_found")
    assert_error(api_client.get(f"{API}/globex/team/"), 404, "not_found")
    assert_error(api_client.patch(f"{API}/globex/", {"name": "Mine"}), 404, "not_found")
    assert_error(
        api_client.post(f"{API}/globex/tokens/", {"name": "escape"}, format="json"),
        404,
        "not_found",
    )
    other_community.refresh_from_db()
    assert other_community.name == "Globex Community"
    assert not ApiToken.objects.filter(community=other_community).exists()


@pytest.mark.parametrize(
    ("header", "code"),
    [
        ("Bearer", "authentication_failed"),
        ("Bearer   ", "authentication_failed"),
        ("Bearer two parts", "authentication_failed"),
        ("Bearer hth_not-a-token-we-issued", "authentication_failed"),
        ("Bearer hth_\xe9\xe8", "authentication_failed"),  # not ASCII
        ("Token hth_other-scheme", "not_authenticated"),  # not ours: the caller is anonymous
        ("", "not_authenticated"),
    ],
    ids=["no-token", "blank-token", "two-parts", "unknown", "non-ascii", "other-scheme", "empty"],
)
def test_malformed_or_unknown_authorization_is_401(api_client, community, header, code):
    response = api_client.get(f"{API}/acme/", HTTP_AUTHORIZATION=header)
    assert_error(response, 401, code)


def test_removing_a_teammate_revokes_their_tokens(api_client, admin, manager, community, token_for):
    raw = token_for(manager, community)
    api_client.force_login(admin)

    assert api_client.delete(f"{API}/acme/team/{manager.public_id}/").status_code == 204

    assert token_row(raw).revoked_at is not None
    api_client.logout()
    assert_error(bearer(api_client, raw).get(f"{API}/acme/"), 401, "authentication_failed")


def test_token_acts_with_its_users_current_role(api_client, admin, viewer, community, token_for):
    bearer(api_client, token_for(viewer, community))
    assert_error(api_client.get(f"{API}/acme/team/"), 403, "permission_denied")

    services.membership_set_role(
        actor=admin, membership=membership(viewer, community), role="admin"
    )

    assert api_client.get(f"{API}/acme/team/").status_code == 200


# --- /communities/ -------------------------------------------------------------------------------


def test_my_communities_lists_each_community_with_the_callers_role(
    api_client, admin, community, other_community
):
    MembershipFactory(user=admin, community=other_community, role=Role.VIEWER)
    api_client.force_login(admin)

    body = api_client.get(f"{API}/").json()

    assert body["count"] == 2
    assert [(r["community"]["slug"], r["role"]) for r in body["results"]] == [
        ("acme", "admin"),
        ("globex", "viewer"),
    ]
    assert body["results"][0]["community"] == {
        "slug": "acme",
        "name": "Acme Community",
        "timezone": "Europe/Amsterdam",
        "created_at": community.created_at.isoformat().replace("+00:00", "Z"),
    }


def test_a_token_lists_only_its_own_community(
    api_client, admin, community, other_community, token_for
):
    MembershipFactory(user=admin, community=other_community, role=Role.ADMIN)

    body = bearer(api_client, token_for(admin, other_community)).get(f"{API}/").json()

    assert [r["community"]["slug"] for r in body["results"]] == ["globex"]


# --- the community -------------------------------------------------------------------------------


def test_community_retrieve_shows_its_settings(as_admin, community):
    body = as_admin.get(f"{API}/acme/").json()
    assert {k: body[k] for k in ("slug", "name", "timezone")} == {
        "slug": "acme",
        "name": "Acme Community",
        "timezone": "Europe/Amsterdam",
    }


def test_admin_renames_the_community_and_the_change_is_audited(as_admin, admin, community):
    response = as_admin.patch(f"{API}/acme/", {"name": "Acme Co"}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "Acme Co"
    assert response.json()["timezone"] == "Europe/Amsterdam"
    event = AuditEvent.objects.get(action="community.update")
    assert (event.actor, event.before["name"], event.after["name"]) == (
        admin,
        "Acme Community",
        "Acme Co",
    )


def test_patching_only_the_time_zone_keeps_the_name(as_admin, community):
    response = as_admin.patch(f"{API}/acme/", {"timezone": "Asia/Tokyo"}, format="json")

    assert response.status_code == 200
    community.refresh_from_db()
    assert (community.name, community.timezone) == ("Acme Community", "Asia/Tokyo")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, {"timezone"}),
        ({"timezone": None}, {"timezone"}),
        ({"name": ""}, {"name"}),
        ({"name": "x" * 121}, {"name"}),
        ([{"name": "a list, not an object"}], {"non_field_errors"}),
        ("just a string", {"non_field_errors"}),
    ],
    ids=["unknown-zone", "null-zone", "blank-name", "long-name", "list-body", "string-body"],
)
def test_bad_community_patch_is_400_with_field_errors(as_admin, community, body, fields):
    response = as_admin.patch(f"{API}/acme/", json.dumps(body), content_type="application/json")

    assert_error(response, 400, "invalid", fields)
    community.refresh_from_db()
    assert (community.name, community.timezone) == ("Acme Community", "Europe/Amsterdam")
    assert not AuditEvent.objects.filter(action="community.update").exists()


# --- team ----------------------------------------------------------------------------------------


def test_team_lists_each_teammate_with_their_role(as_admin, personas):
    body = as_admin.get(f"{API}/acme/team/").json()

    assert [(r["user"]["email"], r["role"]) for r in body["results"]] == [
        ("admin@acme.test", "admin"),
        ("exec@acme.test", "viewer"),
        ("manager@acme.test", "manager"),
        ("moderator@acme.test", "moderator"),
    ]
    assert body["results"][0]["user"]["id"] == str(personas["admin"].public_id)


def test_a_teammate_is_found_by_their_user_id(as_admin, manager):
    body = as_admin.get(f"{API}/acme/team/{manager.public_id}/").json()
    assert (body["user"]["email"], body["role"]) == ("manager@acme.test", "manager")


@pytest.mark.parametrize("user_id", ["42", "not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_an_unknown_teammate_is_404(as_admin, community, user_id):
    assert_error(as_admin.get(f"{API}/acme/team/{user_id}/"), 404, "not_found")


def test_admin_changes_a_teammates_role(as_admin, manager, community):
    response = as_admin.patch(
        f"{API}/acme/team/{manager.public_id}/", {"role": "moderator"}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["role"] == "moderator"
    assert membership(manager, community).role == Role.MODERATOR
    event = AuditEvent.objects.get(action="team.role_change")
    assert (event.before, event.after) == ({"role": "manager"}, {"role": "moderator"})


@pytest.mark.parametrize("body", [{"role": "owner"}, {}, {"role": None}])
def test_an_unknown_role_is_400_with_field_errors(as_admin, manager, community, body):
    response = as_admin.patch(f"{API}/acme/team/{manager.public_id}/", body, format="json")
    assert_error(response, 400, "invalid", {"role"})
    assert membership(manager, community).role == Role.MANAGER


def test_the_last_admin_cannot_be_demoted(as_admin, admin, community):
    response = as_admin.patch(
        f"{API}/acme/team/{admin.public_id}/", {"role": "viewer"}, format="json"
    )

    assert_error(response, 409, "conflict", {"role"})
    assert membership(admin, community).role == Role.ADMIN


def test_an_admin_may_step_down_while_another_admin_remains(as_admin, admin, manager, community):
    services.membership_set_role(
        actor=admin, membership=membership(manager, community), role="admin"
    )

    response = as_admin.patch(
        f"{API}/acme/team/{admin.public_id}/", {"role": "viewer"}, format="json"
    )

    assert response.status_code == 200
    assert membership(admin, community).role == Role.VIEWER


def test_admin_removes_a_teammate(as_admin, moderator, community):
    response = as_admin.delete(f"{API}/acme/team/{moderator.public_id}/")

    assert response.status_code == 204
    assert not TeamMembership.objects.filter(user=moderator, community=community).exists()
    assert AuditEvent.objects.get(action="team.remove").before == {
        "user": "moderator@acme.test",
        "role": "moderator",
    }


def test_the_last_admin_cannot_be_removed(as_admin, admin, community):
    assert_error(as_admin.delete(f"{API}/acme/team/{admin.public_id}/"), 409, "conflict")
    assert membership(admin, community).role == Role.ADMIN


# --- invitations ---------------------------------------------------------------------------------


def invite(client, email: str, role: str = "manager"):
    return client.post(f"{API}/acme/invitations/", {"email": email, "role": role}, format="json")


def test_inviting_creates_a_pending_invitation(as_admin, community):
    response = invite(as_admin, "New.Person@Example.org", "moderator")

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("email", "role", "status", "invited_by", "sent_at")} == {
        "email": "new.person@example.org",
        "role": "moderator",
        "status": "pending",
        "invited_by": "admin@acme.test",
        "sent_at": None,
    }
    assert "token" not in body and "token_hash" not in body
    assert Invitation.objects.get(public_id=body["id"]).community == community


def test_inviting_again_replaces_the_pending_invitation(as_admin, community):
    first = invite(as_admin, "twice@example.org", "viewer").json()
    second = invite(as_admin, "TWICE@example.org", "manager").json()

    statuses = dict(Invitation.objects.values_list("public_id", "status"))
    assert {str(k): v for k, v in statuses.items()} == {
        first["id"]: "revoked",
        second["id"]: "pending",
    }
    assert second["role"] == "manager"


def test_inviting_a_teammate_is_409(as_admin, manager):
    assert_error(invite(as_admin, "Manager@Acme.test"), 409, "conflict", {"email"})
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": "not an email", "role": "viewer"}, {"email"}),
        ({"email": "ok@example.org", "role": "owner"}, {"role"}),
        ({}, {"email", "role"}),
    ],
    ids=["bad-email", "bad-role", "empty"],
)
def test_bad_invitation_is_400_with_field_errors(as_admin, community, body, fields):
    response = as_admin.post(f"{API}/acme/invitations/", body, format="json")
    assert_error(response, 400, "invalid", fields)
    assert not Invitation.objects.exists()


def test_invitations_list_filters_by_status(as_admin, community):
    kept = invite(as_admin, "kept@example.org").json()
    revoked = invite(as_admin, "gone@example.org").json()
    as_admin.post(f"{API}/acme/invitations/{revoked['id']}/revoke/")

    pending = as_admin.get(f"{API}/acme/invitations/?status=pending").json()["results"]
    everything = as_admin.get(f"{API}/acme/invitations/").json()["results"]

    assert [i["id"] for i in pending] == [kept["id"]]
    assert [i["id"] for i in everything] == [revoked["id"], kept["id"]]  # newest first
    assert_error(as_admin.get(f"{API}/acme/invitations/?status=bogus"), 400, "invalid", {"status"})


def test_revoking_an_invitation_ends_it_once(as_admin, community):
    invitation = invite(as_admin, "bye@example.org").json()
    url = f"{API}/acme/invitations/{invitation['id']}/revoke/"

    response = as_admin.post(url)

    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert response.json()["ended_at"] is not None
    assert_error(as_admin.post(url), 409, "conflict")


# --- API tokens ----------------------------------------------------------------------------------


def _stored_text(*models: type[Model]) -> str:
    """Every value of every row of these models, as one string to search."""
    return json.dumps([list(model._default_manager.values()) for model in models], default=str)


def test_token_secret_is_shown_once_and_only_its_hash_is_stored(as_admin, admin, community):
    response = as_admin.post(f"{API}/acme/tokens/", {"name": "Discourse importer"}, format="json")

    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    raw = body["token"]
    assert raw.startswith("hth_") and len(raw) > 40
    assert (body["name"], body["user"], body["prefix"]) == (
        "Discourse importer",
        "admin@acme.test",
        raw[:10],
    )
    token = ApiToken.objects.get(public_id=body["id"])
    assert token.token_hash == services.token_hash(raw)
    assert raw not in _stored_text(ApiToken, AuditEvent, Invitation)
    listed = as_admin.get(f"{API}/acme/tokens/").json()["results"]
    retrieved = as_admin.get(f"{API}/acme/tokens/{body['id']}/").json()
    assert "token" not in listed[0] and "token" not in retrieved
    assert raw not in json.dumps([listed, retrieved])


def test_a_token_made_for_a_teammate_acts_as_them(as_admin, api_client, viewer, community):
    response = as_admin.post(
        f"{API}/acme/tokens/", {"name": "exec's sheet", "user": "EXEC@acme.test"}, format="json"
    )
    raw = response.json()["token"]
    assert token_row(raw).user == viewer

    as_admin.logout()
    bearer(api_client, raw)
    assert api_client.get(f"{API}/acme/").status_code == 200
    assert_error(api_client.get(f"{API}/acme/tokens/"), 403, "permission_denied")


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "x", "user": "admin@globex.test"}, {"user"}),  # not on this team
        ({"name": "x", "user": "nobody@example.org"}, {"user"}),
        ({"name": "x", "user": "not an email"}, {"user"}),
        ({"name": ""}, {"name"}),
        ({}, {"name"}),
    ],
    ids=["outsider", "stranger", "bad-email", "blank-name", "empty"],
)
def test_bad_token_request_is_400_with_field_errors(as_admin, outsider, body, fields):
    response = as_admin.post(f"{API}/acme/tokens/", body, format="json")
    assert_error(response, 400, "invalid", fields)
    assert not ApiToken.objects.exists()


def test_revoking_a_token_stops_it_at_once(as_admin, api_client, admin, community, token_for):
    raw = token_for(admin, community)
    url = f"{API}/acme/tokens/{token_row(raw).public_id}/revoke/"

    response = as_admin.post(url)

    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    assert_error(as_admin.post(url), 409, "conflict")
    as_admin.logout()
    assert_error(bearer(api_client, raw).get(f"{API}/acme/"), 401, "authentication_failed")


def test_tokens_list_shows_active_tokens_first_newest_first(as_admin, admin, community):
    names = ["first", "second", "third"]
    tokens = [
        services.api_token_create(actor=admin, community=community, user=admin, name=n)[0]
        for n in names
    ]
    services.api_token_revoke(actor=admin, token=tokens[2])

    results = as_admin.get(f"{API}/acme/tokens/").json()["results"]

    assert [t["name"] for t in results] == ["second", "first", "third"]


# --- audit log -----------------------------------------------------------------------------------


def event(community: Community, at: datetime, **fields: str) -> AuditEvent:
    defaults = {
        "actor_label": "admin@acme.test",
        "action": "team.add",
        "target_type": "members.teammembership",
        "target_id": "1",
        "target_label": "someone",
    }
    return AuditEvent.objects.create(community=community, created_at=at, **(defaults | fields))


def audit(client, query: str = "") -> list[str]:
    response = client.get(f"{API}/acme/audit/{query}")
    assert response.status_code == 200, response.content
    return [e["target"] for e in response.json()["results"]]


def test_audit_list_is_newest_first_and_filters(as_admin, community, other_community):
    base = datetime(2024, 5, 1, 12, tzinfo=UTC)
    event(community, base, target_label="oldest", actor_label="manager@acme.test")
    event(community, base + timedelta(hours=1), target_label="middle", action="invitation.create")
    event(
        community,
        base + timedelta(hours=2),
        target_label="Newest Token",
        action="api_token.create",
        target_type="members.apitoken",
        target_id="5b1e",
    )
    event(other_community, base, target_label="globex's")

    assert audit(as_admin) == ["Newest Token", "middle", "oldest"]
    assert audit(as_admin, "?actor=MANAGER@acme.test") == ["oldest"]
    assert audit(as_admin, "?action=invitation.create") == ["middle"]
    assert audit(as_admin, "?target_type=members.apitoken") == ["Newest Token"]
    assert audit(as_admin, "?target=5b1e") == ["Newest Token"]
    assert audit(as_admin, "?target=token") == ["Newest Token"]  # part of the name
    assert audit(as_admin, "?action=nothing.like.this") == []


def test_audit_dates_are_days_in_the_communitys_time_zone(as_admin, community):
    """Acme counts days in Europe/Amsterdam (UTC+1 in January): 23:30 UTC on the 15th is
    00:30 on the 16th there; 22:30 UTC is still 23:30 on the 15th."""
    event(community, datetime(2024, 1, 15, 22, 30, tzinfo=UTC), target_label="local 15th")
    event(community, datetime(2024, 1, 15, 23, 30, tzinfo=UTC), target_label="local 16th")

    assert audit(as_admin, "?since=2024-01-16&until=2024-01-16") == ["local 16th"]
    assert audit(as_admin, "?until=2024-01-15") == ["local 15th"]
    assert audit(as_admin, "?since=2024-01-15&until=2024-01-15") == ["local 15th"]
    assert audit(as_admin, "?since=2024-01-17") == []


@pytest.mark.parametrize("query", ["?since=yesterday", "?until=2024-02-30"])
def test_bad_audit_date_is_400_with_field_errors(as_admin, community, query):
    response = as_admin.get(f"{API}/acme/audit/{query}")
    assert_error(response, 400, "invalid", {query[1:].split("=")[0]})


# --- the error shape -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("patch", "/api/v1/communities/acme/", "{not json", 400, "parse_error"),
        ("patch", "/api/v1/communities/acme/", {"timezone": "Nowhere"}, 400, "invalid"),
        ("get", "/api/v1/communities/acme/team/", None, 403, "permission_denied"),
        ("get", "/api/v1/communities/no-such-community/", None, 404, "not_found"),
        ("get", "/api/v1/communities/acme/nothing-here/", None, 404, "not_found"),
        ("get", "/api/v1/no-such-endpoint/", None, 404, "not_found"),
        ("get", "/api/v1/", None, 404, "not_found"),
        ("delete", "/api/v1/communities/acme/", None, 405, "method_not_allowed"),
        ("patch", "/api/v1/communities/acme/team/{admin}/", {"role": "viewer"}, 409, "conflict"),
    ],
    ids=[
        "400-malformed-json",
        "400-invalid-field",
        "403",
        "404-unknown-community",
        "404-unknown-community-endpoint",
        "404-unknown-api-url",
        "404-api-root",
        "405",
        "409",
    ],
)
def test_every_error_has_the_common_shape(
    api_client, admin, moderator, community, method, path, body, status, code
):
    """The 403 is the moderator's; everything else is asked by the admin."""
    api_client.force_login(moderator if status == 403 else admin)
    data = "" if body is None else body if isinstance(body, str) else json.dumps(body)
    response = api_client.generic(
        method.upper(), path.format(admin=admin.public_id), data, content_type="application/json"
    )
    assert_error(response, status, code)


def test_anonymous_error_has_the_common_shape(api_client, community):
    response = api_client.get(f"{API}/acme/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_form_encoded_body_is_415(as_admin, community):
    response = as_admin.patch(
        f"{API}/acme/", "name=Form", content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 415, "unsupported_media_type")


# --- pagination ----------------------------------------------------------------------------------


def _events(community: Community, n: int) -> None:
    start = datetime(2024, 3, 1, tzinfo=UTC)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            community=community,
            created_at=start + timedelta(minutes=i),
            actor_label="admin@acme.test",
            action="team.add",
            target_type="members.teammembership",
            target_id=str(i),
            target_label=f"event {i}",
        )
        for i in range(n)
    )


def test_lists_answer_count_next_previous_results(as_admin, community):
    _events(community, 5)

    first = as_admin.get(f"{API}/acme/audit/?page_size=2").json()
    last = as_admin.get(f"{API}/acme/audit/?page_size=2&page=3").json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert (first["count"], len(first["results"]), first["previous"]) == (5, 2, None)
    assert "page=2" in first["next"] and "page_size=2" in first["next"]
    assert [e["target"] for e in first["results"]] == ["event 4", "event 3"]
    assert (len(last["results"]), last["next"]) == (1, None)
    assert "page_size=2" in last["previous"]


def test_page_size_is_capped_at_500(as_admin, community):
    _events(community, 501)

    body = as_admin.get(f"{API}/acme/audit/?page_size=100000").json()

    assert body["count"] == 501
    assert len(body["results"]) == 500
    assert body["next"] is not None


def test_default_page_size_is_50(as_admin, community):
    _events(community, 51)
    assert len(as_admin.get(f"{API}/acme/audit/").json()["results"]) == 50


def test_a_page_past_the_end_is_404(as_admin, community):
    assert_error(as_admin.get(f"{API}/acme/audit/?page=9"), 404, "not_found")


# --- throttling ----------------------------------------------------------------------------------


@pytest.fixture
def low_throttle(monkeypatch):
    """DRF read the rates into SimpleRateThrottle when it was imported; patch them there, and
    start from an empty cache (the throttle's history lives in it)."""
    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"anon": "2/minute", "user": "3/minute"}
    )
    cache.clear()
    yield
    cache.clear()


def test_too_many_requests_is_429_with_the_common_shape(
    low_throttle, api_client, admin, community, token_for
):
    bearer(api_client, token_for(admin, community))
    for _ in range(3):
        assert api_client.get(f"{API}/acme/").status_code == 200

    response = api_client.get(f"{API}/acme/")

    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0


# --- OpenAPI -------------------------------------------------------------------------------------


def test_schema_is_a_valid_openapi_3_document(as_admin):
    response = as_admin.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)  # raises on an invalid document
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/communities/",
        "/api/v1/communities/{community_slug}/",
        "/api/v1/communities/{community_slug}/team/",
        "/api/v1/communities/{community_slug}/team/{user_id}/",
        "/api/v1/communities/{community_slug}/invitations/",
        "/api/v1/communities/{community_slug}/invitations/{public_id}/",
        "/api/v1/communities/{community_slug}/invitations/{public_id}/revoke/",
        "/api/v1/communities/{community_slug}/tokens/",
        "/api/v1/communities/{community_slug}/tokens/{public_id}/",
        "/api/v1/communities/{community_slug}/tokens/{public_id}/revoke/",
        "/api/v1/communities/{community_slug}/audit/",
    } <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "A community-scoped API token created by an admin.",
    }
    created = schema["paths"]["/api/v1/communities/{community_slug}/tokens/"]["post"]
    assert "token" in _resolve(schema, created["responses"]["201"])["properties"]


def _resolve(schema: dict, response: dict) -> dict:
    ref = response["content"]["application/json"]["schema"]["$ref"]
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]


def test_schema_is_also_served_as_json(as_admin):
    response = as_admin.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert "/api/v1/communities/" in json.loads(response.content)["paths"]


def test_api_docs_page_renders(as_admin):
    response = as_admin.get("/api/docs/")
    assert response.status_code == 200
    assert b"/api/schema/" in response.content


# --- query counts --------------------------------------------------------------------------------
# Signed in with a session, each request starts with the same two queries: the session row and
# the user. Community endpoints then read the caller's membership joined to its community. Each
# list ends with COUNT(*) and one page SELECT whose relations are joined, so adding rows adds no
# query: every test makes several rows.


@pytest.fixture
def crowded(personas, community, other_community):
    """Three of each thing in Acme, so an N+1 would show."""
    admin = personas["admin"]
    for i in range(3):
        MembershipFactory(user=UserFactory(), community=community, role=Role.MODERATOR)
        services.invitation_create(
            actor=admin, community=community, email=f"guest{i}@example.org", role=Role.VIEWER
        )
        services.api_token_create(actor=admin, community=community, user=admin, name=f"t{i}")
        extra = CommunityFactory(slug=f"extra-{i}", name=f"Extra {i}")
        MembershipFactory(user=admin, community=extra, role=Role.VIEWER)
    return personas


@pytest.mark.parametrize(
    ("path", "queries", "rows"),
    [
        # session, user, COUNT memberships, SELECT memberships JOIN community
        (f"{API}/", 4, 4),
        # session, user, membership JOIN community, COUNT, SELECT memberships JOIN user
        (f"{API}/acme/team/", 5, 7),
        # session, user, membership JOIN community, COUNT, SELECT invitations JOIN invited_by
        (f"{API}/acme/invitations/", 5, 3),
        # session, user, membership JOIN community, COUNT, SELECT tokens JOIN user
        (f"{API}/acme/tokens/", 5, 3),
        # session, user, membership JOIN community, COUNT, SELECT events (labels are frozen)
        (f"{API}/acme/audit/", 5, 6),
    ],
    ids=["my-communities", "team", "invitations", "tokens", "audit"],
)
def test_list_endpoints_run_a_fixed_number_of_queries(
    api_client, crowded, django_assert_num_queries, path, queries, rows
):
    api_client.force_login(crowded["admin"])
    with django_assert_num_queries(queries):
        response = api_client.get(path)
    assert response.status_code == 200
    assert response.json()["count"] == rows


def test_a_token_request_costs_one_query_to_authenticate(
    api_client, crowded, community, token_for, django_assert_num_queries
):
    """With a bearer token: the token JOIN user JOIN community (its last use was written
    seconds ago, so no UPDATE), then the membership, COUNT and the page."""
    bearer(api_client, token_for(crowded["admin"], community))
    api_client.get(f"{API}/acme/")  # first use writes last_used_at
    with django_assert_num_queries(4):
        assert api_client.get(f"{API}/acme/tokens/").status_code == 200


def test_guessing_tokens_is_throttled_per_address(
    api_client, community, settings, admin, token_for
):
    """Authentication runs before DRF's throttles, so refused tokens are counted on their own."""
    settings.API_TOKEN_FAILURES_PER_MINUTE = 3
    cache.clear()
    bearer(api_client, "hth_not-a-real-token")
    for _ in range(3):
        assert_error(api_client.get(f"{API}/acme/"), 401, "authentication_failed")

    assert_error(api_client.get(f"{API}/acme/"), 429, "throttled")
    # Only refusals are counted and refused: a valid token from the same address still works.
    bearer(api_client, token_for(admin, community))
    assert api_client.get(f"{API}/acme/").status_code == 200
    cache.clear()
