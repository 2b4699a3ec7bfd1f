"""The permission matrix: every URL of the project by every kind of caller.

One table (`COMMUNITY_ENDPOINTS`) lists each community page and API endpoint with the capability
it needs; the tests derive who may use it from members.permissions.CAPABILITIES. Callers:
anonymous (HTML → login redirect, API → 401), each role of `community` (allowed or 403), an
outsider who is admin of another community (404, never 403), and an admin reaching for another
community's object through their own community's URL (404). API endpoints are run with a session
and with a bearer token, since a token must act with exactly its user's role.

`test_every_url_is_in_the_matrix` walks the URLconf, so a new URL or method fails until it is
added here."""

import json
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from members import merging, services, services_intros, services_relations
from members.ingestion import activities_ingest
from members.models import (
    AuditEvent,
    Community,
    KeyRole,
    Member,
    MergeSuggestion,
    Role,
    User,
)
from members.permissions import Capability, role_can
from tests.members.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = [Role.ADMIN, Role.MANAGER, Role.MODERATOR, Role.VIEWER]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Endpoint:
    """One method on one URL. `path` is a template: {c} is the community slug, {teammate},
    {invitation} and {token} the public ids of objects in that community (see `objects`)."""

    method: str
    path: str
    capability: Capability
    ok: int  # the status a role holding the capability gets
    data: dict[str, object] = field(default_factory=dict)
    audited: bool = True  # a staff action; ingestion by integrations is not one

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def is_api(self) -> bool:
        return self.path.startswith("/api/")


A = Capability.ADMINISTER
READ, PII = Capability.MEMBERS_READ, Capability.MEMBERS_PII
NOTES, EDIT = Capability.MEMBERS_NOTES, Capability.MEMBERS_EDIT
M = "/c/{c}/members/{member}"
API_M = "/api/v1/communities/{c}/members/{member}"
ACTIVITY = {
    "platform": "discourse",
    "external_id": "post-1",
    "kind": "post",
    "occurred_at": "2026-03-04T17:05:11+01:00",
    "member": {"platform_user_id": "u-1", "username": "ada"},
}


def _activity(user_id: str, username: str) -> dict[str, object]:
    return {
        **ACTIVITY,
        "external_id": f"post-{user_id}",
        "member": {"platform_user_id": user_id, "username": username},
    }


COMMUNITY_ENDPOINTS = [
    # HTML pages under /c/<slug>/
    Endpoint("GET", "/c/{c}/", Capability.DASHBOARDS, 200),
    Endpoint("GET", "/c/{c}/team/", A, 200),
    Endpoint("POST", "/c/{c}/team/", A, 302, {"email": "new@acme.test", "role": "viewer"}),
    Endpoint("POST", "/c/{c}/team/{teammate}/role/", A, 302, {"role": "moderator"}),
    Endpoint("POST", "/c/{c}/team/{teammate}/remove/", A, 302),
    Endpoint("POST", "/c/{c}/invitations/{invitation}/revoke/", A, 302),
    Endpoint("POST", "/c/{c}/invitations/{invitation}/resend/", A, 302),
    Endpoint("GET", "/c/{c}/tokens/", A, 200),
    Endpoint("POST", "/c/{c}/tokens/", A, 200, {"name": "CI", "user": "{teammate}"}),
    Endpoint("POST", "/c/{c}/tokens/{token}/revoke/", A, 302),
    Endpoint("GET", "/c/{c}/integrations/", A, 200),
    Endpoint(
        "POST", "/c/{c}/integrations/", A, 302, {"platform": "github", "secret": "hook-secret-1"}
    ),
    Endpoint("GET", "/c/{c}/settings/", A, 200),
    Endpoint("POST", "/c/{c}/settings/", A, 302, {"name": "Acme", "timezone": "Europe/Paris"}),
    Endpoint("GET", "/c/{c}/audit/", A, 200),
    Endpoint("GET", "/c/{c}/audit/export.csv", A, 200),
    Endpoint("GET", "/c/{c}/members/", READ, 200),
    Endpoint("GET", "/c/{c}/members/export.csv", PII, 200),
    Endpoint("POST", "/c/{c}/members/bulk-tag/", EDIT, 302, {"member": "{member}", "tag": "vip"}),
    Endpoint("POST", "/c/{c}/members/segments/", READ, 302, {"name": "Mine", "query": "q=ada"}),
    Endpoint("POST", "/c/{c}/members/segments/{segment}/delete/", READ, 302),
    Endpoint("GET", M + "/", READ, 200),
    Endpoint("POST", M + "/notes/", NOTES, 302, {"body": "Met at the meetup."}),
    Endpoint("POST", M + "/notes/{note}/edit/", NOTES, 302, {"body": "Edited."}),
    Endpoint("POST", M + "/notes/{note}/delete/", NOTES, 302),
    Endpoint("POST", M + "/tags/", EDIT, 302, {"tag": "vip"}),
    Endpoint("POST", M + "/tags/{tag}/remove/", EDIT, 302),
    Endpoint("POST", M + "/key/", EDIT, 302, {"key_role": "champion"}),
    Endpoint("GET", "/c/{c}/members/merges/", EDIT, 200),
    Endpoint("POST", "/c/{c}/members/merges/suggestions/{suggestion}/accept/", EDIT, 302),
    Endpoint("POST", "/c/{c}/members/merges/suggestions/{suggestion}/reject/", EDIT, 302),
    Endpoint("POST", "/c/{c}/members/merges/{merge}/undo/", EDIT, 302),
    Endpoint("GET", M + "/merge/", EDIT, 200),
    Endpoint("POST", M + "/merge/", EDIT, 302, {"member": "{mergeable}"}),
    Endpoint("GET", M + "/export.json", PII, 200),
    Endpoint("GET", M + "/erase/", EDIT, 200),
    Endpoint("POST", M + "/erase/", EDIT, 302, {"confirm": "on", "reason": "Asked by email"}),
    # Introductions and key members (members.views_intros)
    Endpoint("GET", "/c/{c}/members/introductions/", READ, 200),
    Endpoint(
        "POST", M + "/introductions/", EDIT, 302, {"member_b": "{member2}", "reason": "Both FOSS"}
    ),
    Endpoint("POST", "/c/{c}/members/introductions/{intro}/status/", EDIT, 302, {"status": "made"}),
    Endpoint("GET", "/c/{c}/members/key/", READ, 200),
    Endpoint("POST", "/c/{c}/members/key/quiet-days/", EDIT, 302, {"quiet_after_days": 14}),
    Endpoint(
        "POST",
        "/c/{c}/members/key/handover/",
        EDIT,
        302,
        {"from_user": "{owner}", "to_user": "{teammate}", "confirm": "1"},
    ),
    # API under /api/v1/communities/<slug>/
    Endpoint("GET", "/api/v1/communities/{c}/", Capability.DASHBOARDS, 200),
    Endpoint("PATCH", "/api/v1/communities/{c}/", A, 200, {"name": "Acme Renamed"}),
    Endpoint("GET", "/api/v1/communities/{c}/team/", A, 200),
    Endpoint("GET", "/api/v1/communities/{c}/team/{teammate}/", A, 200),
    Endpoint("PATCH", "/api/v1/communities/{c}/team/{teammate}/", A, 200, {"role": "moderator"}),
    Endpoint("DELETE", "/api/v1/communities/{c}/team/{teammate}/", A, 204),
    Endpoint("GET", "/api/v1/communities/{c}/invitations/", A, 200),
    Endpoint(
        "POST",
        "/api/v1/communities/{c}/invitations/",
        A,
        201,
        {"email": "new@acme.test", "role": "viewer"},
    ),
    Endpoint("GET", "/api/v1/communities/{c}/invitations/{invitation}/", A, 200),
    Endpoint("POST", "/api/v1/communities/{c}/invitations/{invitation}/revoke/", A, 200),
    Endpoint("POST", "/api/v1/communities/{c}/invitations/{invitation}/resend/", A, 200),
    Endpoint("GET", "/api/v1/communities/{c}/tokens/", A, 200),
    Endpoint("POST", "/api/v1/communities/{c}/tokens/", A, 201, {"name": "CI"}),
    Endpoint("GET", "/api/v1/communities/{c}/tokens/{token}/", A, 200),
    Endpoint("POST", "/api/v1/communities/{c}/tokens/{token}/revoke/", A, 200),
    Endpoint("GET", "/api/v1/communities/{c}/audit/", A, 200),
    Endpoint("GET", "/api/v1/communities/{c}/activities/", Capability.MEMBERS_READ, 200),
    Endpoint(
        "POST",
        "/api/v1/communities/{c}/activities/",
        Capability.MEMBERS_EDIT,
        200,
        {"activities": [ACTIVITY]},
        audited=False,
    ),
    Endpoint("GET", "/api/v1/communities/{c}/members/", Capability.MEMBERS_READ, 200),
    Endpoint("GET", "/api/v1/communities/{c}/integrations/", A, 200),
    Endpoint(
        "PUT",
        "/api/v1/communities/{c}/integrations/discourse/",
        A,
        200,
        {"secret": "hook-secret-1"},
    ),
    Endpoint("GET", "/api/v1/communities/{c}/members/{member}/", Capability.MEMBERS_READ, 200),
    Endpoint(
        "PATCH",
        API_M + "/",
        EDIT,
        200,
        {"key_role": "influencer", "relationship_owner": "{teammate}"},
    ),
    Endpoint("POST", API_M + "/tags/", EDIT, 200, {"tag": "vip"}),
    Endpoint("DELETE", API_M + "/tags/", EDIT, 200, {"tag": "seeded"}),
    Endpoint("GET", API_M + "/notes/", READ, 200),
    Endpoint("POST", API_M + "/notes/", NOTES, 201, {"body": "Met at the meetup."}),
    Endpoint("PATCH", "/api/v1/communities/{c}/notes/{note}/", NOTES, 200, {"body": "Edited."}),
    Endpoint("DELETE", "/api/v1/communities/{c}/notes/{note}/", NOTES, 204),
    Endpoint("GET", "/api/v1/communities/{c}/tags/", READ, 200),
    Endpoint("GET", API_M + "/export/", PII, 200),
    Endpoint("POST", API_M + "/erase/", EDIT, 200, {"reason": "Asked by email"}),
    Endpoint("POST", "/api/v1/communities/{c}/tags/", EDIT, 201, {"name": "new tag"}),
    Endpoint("GET", "/api/v1/communities/{c}/merge-suggestions/", EDIT, 200),
    Endpoint("POST", "/api/v1/communities/{c}/merge-suggestions/{suggestion}/accept/", EDIT, 201),
    Endpoint("POST", "/api/v1/communities/{c}/merge-suggestions/{suggestion}/reject/", EDIT, 200),
    Endpoint("POST", API_M + "/merge/", EDIT, 201, {"member": "{mergeable}"}),
    Endpoint("GET", "/api/v1/communities/{c}/merges/", EDIT, 200),
    Endpoint("POST", "/api/v1/communities/{c}/merges/{merge}/undo/", EDIT, 200),
    Endpoint("GET", "/api/v1/communities/{c}/introductions/", READ, 200),
    Endpoint(
        "POST",
        "/api/v1/communities/{c}/introductions/",
        EDIT,
        201,
        {"member_a": "{member}", "member_b": "{member2}", "reason": "Both FOSS"},
    ),
    Endpoint(
        "POST",
        "/api/v1/communities/{c}/introductions/{intro}/status/",
        EDIT,
        200,
        {"status": "made"},
    ),
    Endpoint("GET", "/api/v1/communities/{c}/key-members/", READ, 200),
    Endpoint(
        "POST",
        "/api/v1/communities/{c}/key-members/handover/",
        EDIT,
        200,
        {"from_user": "{owner}", "to_user": "{teammate}"},
    ),
]

# A method the URL does not handle: 405 for a teammate (after the login and team checks).
WRONG_METHODS = [
    ("POST", "/c/{c}/audit/"),
    ("POST", "/c/{c}/"),
    ("GET", "/c/{c}/team/{teammate}/role/"),
    ("GET", "/c/{c}/team/{teammate}/remove/"),
    ("GET", "/c/{c}/invitations/{invitation}/revoke/"),
    ("GET", "/c/{c}/invitations/{invitation}/resend/"),
    ("GET", "/c/{c}/tokens/{token}/revoke/"),
    ("GET", "/api/v1/communities/{c}/invitations/{invitation}/revoke/"),
    ("GET", "/api/v1/communities/{c}/invitations/{invitation}/resend/"),
    ("GET", "/api/v1/communities/{c}/tokens/{token}/revoke/"),
    ("PUT", "/api/v1/communities/{c}/"),
    ("DELETE", "/api/v1/communities/{c}/"),
    ("POST", "/api/v1/communities/{c}/team/"),
    ("PUT", "/api/v1/communities/{c}/team/{teammate}/"),
    ("DELETE", "/api/v1/communities/{c}/invitations/{invitation}/"),
    ("DELETE", "/api/v1/communities/{c}/tokens/{token}/"),
    ("POST", "/api/v1/communities/{c}/audit/"),
    ("POST", "/api/v1/communities/{c}/members/"),
    ("DELETE", "/api/v1/communities/{c}/members/{member}/"),
    ("POST", "/api/v1/communities/{c}/integrations/"),
    ("GET", "/api/v1/communities/{c}/integrations/discourse/"),
    ("DELETE", "/api/v1/communities/{c}/integrations/discourse/"),
    ("POST", "/c/{c}/members/"),
    ("GET", "/c/{c}/members/bulk-tag/"),
    ("GET", "/c/{c}/members/segments/"),
    ("GET", "/c/{c}/members/segments/{segment}/delete/"),
    ("POST", M + "/"),
    ("GET", M + "/notes/"),
    ("GET", M + "/notes/{note}/edit/"),
    ("GET", M + "/notes/{note}/delete/"),
    ("GET", M + "/tags/"),
    ("GET", M + "/tags/{tag}/remove/"),
    ("GET", M + "/key/"),
    ("PUT", API_M + "/"),
    ("GET", API_M + "/tags/"),
    ("GET", "/api/v1/communities/{c}/notes/{note}/"),
    ("PUT", "/api/v1/communities/{c}/notes/{note}/"),
    ("POST", "/c/{c}/members/merges/"),
    ("GET", "/c/{c}/members/merges/suggestions/{suggestion}/accept/"),
    ("GET", "/c/{c}/members/merges/suggestions/{suggestion}/reject/"),
    ("GET", "/c/{c}/members/merges/{merge}/undo/"),
    ("POST", "/api/v1/communities/{c}/merge-suggestions/"),
    ("GET", "/api/v1/communities/{c}/merge-suggestions/{suggestion}/accept/"),
    ("GET", "/api/v1/communities/{c}/merges/{merge}/undo/"),
    ("POST", "/api/v1/communities/{c}/merges/"),
    ("GET", API_M + "/merge/"),
    ("POST", M + "/export.json"),
    ("POST", API_M + "/export/"),
    ("GET", API_M + "/erase/"),
    ("POST", "/c/{c}/members/introductions/"),
    ("GET", M + "/introductions/"),
    ("GET", "/c/{c}/members/introductions/{intro}/status/"),
    ("POST", "/c/{c}/members/key/"),
    ("GET", "/c/{c}/members/key/quiet-days/"),
    ("GET", "/c/{c}/members/key/handover/"),
    ("GET", "/api/v1/communities/{c}/introductions/{intro}/status/"),
    ("POST", "/api/v1/communities/{c}/key-members/"),
    ("GET", "/api/v1/communities/{c}/key-members/handover/"),
]

# URLs outside any community, with what an anonymous caller gets.
SITE_ENDPOINTS = [
    ("GET", "/", "login"),
    ("GET", "/healthz", (200, 503)),  # public; 503 when the broker is not reachable
    ("GET", "/invitations/not-a-real-token/", 410),  # public: the link in the email
    ("POST", "/invitations/not-a-real-token/", 410),
    ("GET", "/api/v1/communities/", 401),
    # Webhooks: public, authenticated by the platform's signature; no such community → 404.
    ("POST", "/hooks/acme/discourse/", 404),
    # Public today: QUALITY.md names no exception for them (see the foundation review).
    ("GET", "/api/schema/", 200),
    ("GET", "/api/docs/", 200),
]
# Not ours: allauth and Django's admin guard their own pages.
THIRD_PARTY_PREFIXES = ("accounts/", "admin/")
COMMUNITY_PREFIXES = ("c/<slug:community_slug>/", "api/v1/communities/<slug:community_slug>/")


# --- fixtures and helpers ------------------------------------------------------------------------


def _objects_in(community: Community, admin: User) -> dict[str, str]:
    """A teammate, a pending invitation and an active token in `community`: the objects the
    URLs name. The teammate is nobody's persona, so removing them touches no caller."""
    teammate = UserFactory(email=f"teammate@{community.slug}.test")
    MembershipFactory(user=teammate, community=community, role=Role.MANAGER)
    invitation, _raw = services.invitation_create(
        actor=admin, community=community, email=f"invited@{community.slug}.test", role=Role.VIEWER
    )
    token, _raw = services.api_token_create(
        actor=admin, community=community, user=teammate, name="integration"
    )
    activities_ingest(community=community, items=[ACTIVITY], source="test")
    member = _member(community)
    tag = services_relations.member_tag(actor=admin, member=member, tag_name="seeded")
    # A key member the admin looks after (handover), and two more members with an open
    # introduction between them (its status endpoint); `member` → `member2` is free to propose.
    services_relations.member_set_key_role(
        actor=admin, member=member, key_role=KeyRole.CHAMPION, owner=admin
    )
    activities_ingest(
        community=community, items=[_activity("u-2", "bob"), _activity("u-3", "cy")], source="test"
    )
    member2, member3 = (
        Member.objects.filter(community=community).exclude(pk=member.pk).order_by("pk")
    )
    intro = services_intros.introduction_create(
        actor=admin, member_a=member2, member_b=member3, reason="Both run meetups."
    )
    return {
        "member": str(member.public_id),
        **_merge_objects(admin, community),
        "c": community.slug,
        "teammate": str(teammate.public_id),
        "invitation": str(invitation.public_id),
        "token": str(token.public_id),
        "tag": str(tag.public_id),
        "member2": str(member2.public_id),
        "intro": str(intro.public_id),
        "owner": str(admin.public_id),
        **_owned_by(admin, community),
    }


def _member(community: Community) -> Member:
    return Member.objects.get(community=community, identities__platform_user_id="u-1")


def _merge_objects(admin: User, community: Community) -> dict[str, str]:
    """A member to merge into `member`, a pending merge suggestion (two members with one email)
    and a merge that can be undone."""

    def account(user_id: str, **member: str) -> dict:
        return {
            **ACTIVITY,
            "external_id": f"post-{user_id}",
            "member": {"platform_user_id": user_id, **member},
        }

    activities_ingest(
        community=community,
        items=[
            account("m-2"),
            account("m-3", email="same@example.org"),
            account("m-4", email="same@example.org"),
            account("m-5"),
            account("m-6"),
        ],
        source="test",
    )
    by_account = {
        m.identities.get().platform_user_id: m
        for m in Member.objects.filter(
            community=community, identities__platform_user_id__startswith="m-"
        )
    }
    merge = merging.member_merge(
        actor=admin, community=community, survivor=by_account["m-5"], merged=by_account["m-6"]
    )
    return {
        "mergeable": str(by_account["m-2"].public_id),
        "suggestion": str(MergeSuggestion.objects.get(community=community).public_id),
        "merge": str(merge.public_id),
    }


def _owned_by(user: User, community: Community) -> dict[str, str]:
    """A note and a saved segment of `user`'s: only their owner may change them, so each role
    reaches for its own."""
    member = _member(community)
    note = services_relations.note_create(actor=user, member=member, body="A note.")
    segment = services_relations.segment_save(
        actor=user, community=community, name=f"Segment of {user.email}", query="q=ada"
    )
    return {"note": str(note.public_id), "segment": str(segment.public_id)}


@pytest.fixture
def objects(personas, community, other_community) -> dict[str, dict[str, str]]:
    return {
        "own": _objects_in(community, personas["admin"]),
        "other": _objects_in(other_community, personas["outsider"]),
    }


class Caller:
    """Sends one request as whoever `sign_in` made it: HTML through Django's client, the API
    through DRF's, with a session or a bearer token of `community`."""

    def __init__(self, client, api_client, token_for) -> None:
        self.client, self.api_client, self.token_for = client, api_client, token_for

    def sign_in(self, user: User, community: Community | None = None, auth: str = "session"):
        self.client.force_login(user)
        if auth == "session":
            self.api_client.force_login(user)
        else:
            raw = self.token_for(user, community)
            self.api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return self

    def request(self, method: str, path: str, ids: dict[str, str], data=None):
        url = path.format(**ids)
        body = {
            key: value.format(**ids) if isinstance(value, str) else value
            for key, value in (data or {}).items()
        }
        if url.startswith("/api/"):
            if method not in UNSAFE:
                return self.api_client.generic(method, url)
            return self.api_client.generic(
                method, url, json.dumps(body), content_type="application/json"
            )
        if method not in UNSAFE:
            return self.client.generic(method, url)
        return self.client.generic(
            method, url, urlencode(body), content_type="application/x-www-form-urlencoded"
        )


@pytest.fixture
def caller(client, api_client, token_for) -> Caller:
    return Caller(client, api_client, token_for)


def assert_error_shape(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == code
    assert body["message"]
    assert isinstance(body["errors"], dict)


OBJECT_NAMES = (
    "teammate",
    "invitation",
    "token",
    "member",
    "note",
    "tag",
    "segment",
    "mergeable",
    "suggestion",
    "merge",
    "intro",
)


def _needs_object(endpoint_path: str) -> bool:
    return any(f"{{{name}}}" in endpoint_path for name in (*OBJECT_NAMES,))


def _ids(endpoints) -> list[str]:
    return [str(e) for e in endpoints]


# --- the URLconf and the matrix agree ------------------------------------------------------------


def _routes(patterns, prefix: str = ""):
    """(route, url name, callback) of every URL pattern, with its full route string."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name, pattern.callback


def _methods(callback) -> set[str]:
    """The methods a view answers (besides HEAD and OPTIONS, which follow GET)."""
    if actions := getattr(callback, "actions", None):  # a DRF viewset bound to a route
        methods = set(actions)
    elif view_class := getattr(callback, "view_class", None) or getattr(callback, "cls", None):
        methods = {m for m in view_class.http_method_names if hasattr(view_class, m)}
    else:  # a function view answers whatever it is sent; GET is what it is for
        methods = {"get"}
    return {m.upper() for m in methods} - {"HEAD", "OPTIONS"}


def _resolved(method: str, path: str) -> tuple[str, str]:
    dummy = {"c": "acme", **dict.fromkeys(OBJECT_NAMES, _UUID)}
    return resolve(path.format(**dummy)).url_name, method


_UUID = "00000000-0000-4000-8000-000000000000"


def test_every_url_is_in_the_matrix():
    """Community URLs must be in COMMUNITY_ENDPOINTS (role, outsider and object checks), the
    rest in SITE_ENDPOINTS; a URL or method added without a row here fails."""
    community_urls: set[tuple[str, str]] = set()
    site_urls: set[tuple[str, str]] = set()
    for route, name, callback in _routes(get_resolver().url_patterns):
        if route.startswith(THIRD_PARTY_PREFIXES):
            continue
        found = community_urls if route.startswith(COMMUNITY_PREFIXES) else site_urls
        found |= {(name, method) for method in _methods(callback)}
    community_matrix = {_resolved(e.method, e.path) for e in COMMUNITY_ENDPOINTS}
    site_matrix = {_resolved(method, path) for method, path, _anonymous in SITE_ENDPOINTS}
    assert community_urls - community_matrix == set(), "add these to COMMUNITY_ENDPOINTS"
    assert site_urls - site_matrix == set(), "add these to SITE_ENDPOINTS"
    assert community_matrix - community_urls == set(), "the matrix names URLs that are gone"
    assert site_matrix - site_urls == set(), "the matrix names URLs that are gone"


def test_wrong_methods_really_are_unhandled():
    handled = {_resolved(e.method, e.path) for e in COMMUNITY_ENDPOINTS}
    for method, path in WRONG_METHODS:
        assert _resolved(method, path) not in handled, f"{method} {path} is handled"


# --- anonymous -----------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", COMMUNITY_ENDPOINTS, ids=_ids(COMMUNITY_ENDPOINTS))
def test_anonymous_is_sent_to_login_or_gets_401(endpoint, caller, objects):
    before = AuditEvent.objects.count()
    response = caller.request(endpoint.method, endpoint.path, objects["own"], endpoint.data)
    if endpoint.is_api:
        assert_error_shape(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == "Bearer"
    else:
        url = endpoint.path.format(**objects["own"])
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={quote(url)}"
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    SITE_ENDPOINTS,
    ids=[f"{method} {path}" for method, path, _e in SITE_ENDPOINTS],
)
def test_site_wide_urls_for_anonymous(method, path, expected, caller):
    response = caller.request(method, path, {})
    if expected == "login":
        assert response.status_code == 302
        assert response["Location"] == f"/accounts/login/?next={quote(path)}"
    elif expected == 401:
        assert_error_shape(response, 401, "not_authenticated")
    elif isinstance(expected, tuple):
        assert response.status_code in expected
    else:
        assert response.status_code == expected


# --- each role of the community ------------------------------------------------------------------


def _auths(endpoint: Endpoint) -> tuple[str, ...]:
    return ("session", "token") if endpoint.is_api else ("session",)


def _case_id(endpoint: Endpoint, *parts: str) -> str:
    return "-".join([str(endpoint), *parts])


ROLE_CASES = [
    pytest.param(
        endpoint, role, auth, id=_case_id(endpoint, role, *([auth] if endpoint.is_api else []))
    )
    for endpoint in COMMUNITY_ENDPOINTS
    for role in ROLES
    for auth in _auths(endpoint)
]


@pytest.mark.parametrize(("endpoint", "role", "auth"), ROLE_CASES)
def test_each_role_gets_what_the_capability_table_allows(
    endpoint, role, auth, caller, personas, community, objects
):
    caller.sign_in(personas[role], community, auth)
    ids = {**objects["own"], **_owned_by(personas[role], community)}
    before = AuditEvent.objects.count()
    response = caller.request(endpoint.method, endpoint.path, ids, endpoint.data)
    if role_can(role, endpoint.capability):
        assert response.status_code == endpoint.ok, response.content[:500]
        if endpoint.method in UNSAFE and endpoint.audited:
            assert AuditEvent.objects.count() > before, "a write that left no audit row"
    else:
        if endpoint.is_api:
            assert_error_shape(response, 403, "permission_denied")
        else:
            assert response.status_code == 403
        assert AuditEvent.objects.count() == before


# --- outsiders and other communities' objects ----------------------------------------------------

OUTSIDER_CASES = [
    pytest.param(endpoint, auth, id=_case_id(endpoint, *([auth] if endpoint.is_api else [])))
    for endpoint in COMMUNITY_ENDPOINTS
    for auth in _auths(endpoint)
]


def assert_not_found(response, is_api: bool) -> None:
    if is_api:
        assert_error_shape(response, 404, "not_found")
    else:
        assert response.status_code == 404


@pytest.mark.parametrize(("endpoint", "auth"), OUTSIDER_CASES)
def test_outsider_gets_404_never_403(endpoint, auth, caller, personas, other_community, objects):
    """The outsider is an admin — of another community; their token is that community's."""
    caller.sign_in(personas["outsider"], other_community, auth)
    before = AuditEvent.objects.count()
    response = caller.request(endpoint.method, endpoint.path, objects["own"], endpoint.data)
    assert_not_found(response, endpoint.is_api)
    assert AuditEvent.objects.count() == before


OBJECT_ENDPOINTS = [e for e in COMMUNITY_ENDPOINTS if _needs_object(e.path)]


@pytest.mark.parametrize("endpoint", OBJECT_ENDPOINTS, ids=_ids(OBJECT_ENDPOINTS))
def test_another_communitys_object_is_404_even_for_an_admin(endpoint, caller, personas, objects):
    """Acme's admin names a Globex object in an Acme URL: the lookup is scoped, so 404."""
    caller.sign_in(personas["admin"])
    before = AuditEvent.objects.count()
    ids = {**objects["other"], "c": objects["own"]["c"]}
    response = caller.request(endpoint.method, endpoint.path, ids, endpoint.data)
    assert_not_found(response, endpoint.is_api)
    assert AuditEvent.objects.count() == before


# --- methods a URL does not handle ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"), WRONG_METHODS, ids=[f"{m} {p}" for m, p in WRONG_METHODS]
)
@pytest.mark.parametrize("who", ["admin", "outsider"])
def test_a_method_the_url_does_not_handle_is_405_for_teammates_and_404_for_outsiders(
    method, path, who, caller, personas, objects
):
    caller.sign_in(personas[who])
    before = AuditEvent.objects.count()
    response = caller.request(method, path, objects["own"])
    if who == "outsider":
        assert_not_found(response, path.startswith("/api/"))
    elif path.startswith("/api/"):
        assert_error_shape(response, 405, "method_not_allowed")
    else:
        assert response.status_code == 405
    assert AuditEvent.objects.count() == before
