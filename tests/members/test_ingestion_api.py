"""The ledger endpoints: POST/GET /activities/, GET /members/ and /members/{id}/: limits, bad
bodies, the response shape, the role matrix and pinned query counts."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.models import Activity, Member, Role
from tests.members.factories import MembershipFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def url(community, tail="activities/"):
    return f"/api/v1/communities/{community.slug}/{tail}"


def item(n, **overrides):
    base = {
        "platform": "discourse",
        "external_id": f"post-{n}",
        "kind": "post",
        "occurred_at": (T0 + timedelta(minutes=n)).isoformat(),
        "member": {"platform_user_id": f"u-{n % 7}", "email": f"u{n % 7}@example.org"},
        "content": f"hello {n}",
    }
    base.update(overrides)
    return base


@pytest.fixture
def as_manager(api_client, manager):
    api_client.force_authenticate(manager)
    return api_client


def post(client, community, body, **kwargs):
    if not isinstance(body, bytes | str):
        body = json.dumps(body)
    return client.post(
        url(community), data=body, content_type=kwargs.pop("content_type", "application/json")
    )


# --- POST: results -------------------------------------------------------------------------


def test_post_reports_created_duplicates_and_rejected(as_manager, community):
    body = {"activities": [item(1), item(2), item(1), item(3, occurred_at="2026-03-04T10:00")]}
    response = post(as_manager, community, body)
    assert response.status_code == 200
    data = response.json()
    assert (data["created"], data["duplicates"]) == (2, 1)
    assert data["rejected"][0]["index"] == 3
    assert "occurred_at" in data["rejected"][0]["errors"]
    assert set(data) == {"created", "duplicates", "rejected"}


def test_resending_the_same_request_stores_nothing_new(as_manager, community):
    body = {"activities": [item(n) for n in range(50)]}
    assert post(as_manager, community, body).json()["created"] == 50
    again = post(as_manager, community, body).json()
    assert (again["created"], again["duplicates"], again["rejected"]) == (0, 50, [])
    assert Activity.objects.count() == 50


def test_an_empty_list_is_fine(as_manager, community):
    assert post(as_manager, community, {"activities": []}).json() == {
        "created": 0,
        "duplicates": 0,
        "rejected": [],
    }


# --- POST: bad envelopes, nothing stored ---------------------------------------------------


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "errors"}
    assert body["message"]
    if code:
        assert body["code"] == code
    assert Activity.objects.count() == 0
    return body


def test_more_than_1000_items_is_refused_and_nothing_is_stored(as_manager, community):
    body = assert_error(
        post(as_manager, community, {"activities": [item(n) for n in range(1001)]}),
        413,
        "too_large",
    )
    assert "1000" in body["message"]


def test_exactly_1000_items_is_accepted(as_manager, community):
    response = post(as_manager, community, {"activities": [item(n) for n in range(1000)]})
    assert response.json()["created"] == 1000


def test_a_body_over_5_mib_is_refused(as_manager, community):
    padding = "x" * (5 * 1024 * 1024)
    body = assert_error(
        post(as_manager, community, {"activities": [item(1, content=padding)]}), 413, "too_large"
    )
    assert "5 MiB" in body["message"]


@pytest.mark.parametrize(
    "raw",
    [b"not json", b'{"activities": [', b"", b"[1, 2]", b'{"activities": {}}', b"null"],
)
def test_a_body_that_is_not_a_json_envelope_is_a_400(as_manager, community, raw):
    assert_error(post(as_manager, community, raw), 400)


def test_invalid_utf8_is_a_400_with_a_clear_message(as_manager, community):
    raw = b'{"activities": [{"platform": "discourse", "content": "\xff\xfe"}]}'
    body = assert_error(post(as_manager, community, raw), 400, "parse_error")
    assert "UTF-8" in body["message"]


def test_nan_is_not_json(as_manager, community):
    raw = b'{"activities": [{"metadata": {"x": NaN}}]}'
    assert_error(post(as_manager, community, raw), 400, "parse_error")


def test_deeply_nested_json_is_a_400_not_a_500(as_manager, community):
    raw = b'{"activities": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
    assert_error(post(as_manager, community, raw), 400)


def test_a_form_body_is_unsupported_media_type(as_manager, community):
    assert_error(as_manager.post(url(community), data={"activities": "x"}, format="multipart"), 415)


def test_nul_bytes_are_rejected_per_item(as_manager, community):
    response = post(as_manager, community, {"activities": [item(1, content="a\u0000b"), item(2)]})
    data = response.json()
    assert data["created"] == 1
    assert data["rejected"][0]["index"] == 0
    assert "NUL" in data["rejected"][0]["errors"]["content"][0]


def test_oversized_metadata_is_rejected_per_item(as_manager, community):
    data = post(
        as_manager, community, {"activities": [item(1, metadata={"blob": "x" * 9000})]}
    ).json()
    assert data["rejected"][0]["errors"]["metadata"][0].startswith("At most 8192 bytes")


def test_unknown_kind_and_missing_platform_user_id_are_field_errors(as_manager, community):
    data = post(
        as_manager,
        community,
        {"activities": [item(1, kind="upvote"), item(2, member={"username": "ada"})]},
    ).json()
    assert [r["index"] for r in data["rejected"]] == [0, 1]
    assert "kind" in data["rejected"][0]["errors"]
    assert data["rejected"][1]["errors"]["member"] == {
        "platform_user_id": ["This field is required."]
    }


# --- POST: the role matrix -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("manager", 200), ("moderator", 403), ("viewer", 403), ("outsider", 404)],
)
def test_who_may_post_activities(api_client, personas, community, role, status):
    api_client.force_authenticate(personas[role])
    response = post(api_client, community, {"activities": [item(1)]})
    assert response.status_code == status
    assert Activity.objects.count() == (1 if status == 200 else 0)


def test_anonymous_post_is_401(api_client, community):
    assert post(api_client, community, {"activities": [item(1)]}).status_code == 401


def test_a_token_acting_as_a_manager_may_post(api_client, manager, community, token_for):
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(manager, community)}")
    assert post(api_client, community, {"activities": [item(1)]}).json()["created"] == 1


def test_a_token_of_another_community_gets_404(
    api_client, admin, community, other_community, token_for
):
    MembershipFactory(user=admin, community=other_community, role=Role.ADMIN)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(admin, other_community)}")
    assert post(api_client, community, {"activities": [item(1)]}).status_code == 404
    assert api_client.get(url(community)).status_code == 404
    assert Activity.objects.count() == 0


def test_a_post_runs_a_fixed_number_of_queries(as_manager, community):
    """The request's own queries (session auth is forced) are the membership lookup plus the
    ingest: savepoint, select identities, insert members, insert identities, insert
    activities, update replied_to_member, update facts, select emails, release savepoint."""

    def count(prefix, size):
        body = {
            "activities": [
                item(n, external_id=f"{prefix}-{n}", member={"platform_user_id": f"{prefix}{n}"})
                for n in range(size)
            ]
        }
        with CaptureQueriesContext(connection) as ctx:
            assert post(as_manager, community, body).json()["created"] == size
        return len(ctx.captured_queries)

    assert count("a", 10) == count("b", 500) == 9


# --- GET /activities/ ----------------------------------------------------------------------


@pytest.fixture
def ledger(as_manager, community):
    post(
        as_manager,
        community,
        {
            "activities": [
                item(1),
                item(2, kind="reply", thread_id="post-1", parent_id="post-1"),
                item(3, kind="reaction", platform="slack"),
                item(4, occurred_at="2026-03-06T10:00:00+00:00"),
            ]
        },
    )
    return community


@pytest.mark.parametrize(
    ("role", "status"),
    [("admin", 200), ("manager", 200), ("moderator", 200), ("viewer", 403), ("outsider", 404)],
)
def test_who_may_read_the_ledger(api_client, personas, ledger, role, status):
    api_client.force_authenticate(personas[role])
    assert api_client.get(url(ledger)).status_code == status
    assert api_client.get(url(ledger, "members/")).status_code == status


def test_anonymous_get_is_401(api_client, community):
    assert api_client.get(url(community)).status_code == 401
    assert api_client.get(url(community, "members/")).status_code == 401


def test_the_ledger_lists_newest_first_with_public_ids(as_manager, ledger):
    data = as_manager.get(url(ledger)).json()
    assert [a["external_id"] for a in data["results"]] == ["post-4", "post-3", "post-2", "post-1"]
    reply = data["results"][2]
    poster = Member.objects.get(identities__platform_user_id="u-1")
    assert reply["replied_to_member"] == str(poster.public_id)
    assert reply["thread_id"] == "post-1"
    assert "id" not in reply


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("platform=slack", ["post-3"]),
        ("kind=reply", ["post-2"]),
        ("thread_id=post-1", ["post-2", "post-1"]),
        ("since=2026-03-05", ["post-4"]),
        ("until=2026-03-05", ["post-3", "post-2", "post-1"]),
    ],
)
def test_the_ledger_filters(as_manager, ledger, query, expected):
    data = as_manager.get(url(ledger) + "?" + query).json()
    assert [a["external_id"] for a in data["results"]] == expected


def test_the_ledger_filters_by_member(as_manager, ledger):
    member = Member.objects.get(identities__platform_user_id="u-2")
    data = as_manager.get(url(ledger) + f"?member={member.public_id}").json()
    assert [a["external_id"] for a in data["results"]] == ["post-2"]


def test_the_ledger_is_cursor_paginated(as_manager, ledger):
    first = as_manager.get(url(ledger) + "?page_size=3").json()
    assert len(first["results"]) == 3
    second = as_manager.get(first["next"]).json()
    assert [a["external_id"] for a in second["results"]] == ["post-1"]


def test_the_ledger_never_shows_another_community(api_client, outsider, ledger, other_community):
    api_client.force_authenticate(outsider)
    assert api_client.get(url(other_community)).json()["results"] == []


def test_listing_the_ledger_runs_a_fixed_number_of_queries(
    as_manager, ledger, django_assert_num_queries
):
    # membership, the page of activities with member and replied-to member joined
    with django_assert_num_queries(2):
        as_manager.get(url(ledger))


# --- GET /members/ -------------------------------------------------------------------------


def test_members_list_shows_identities_and_email_to_managers(as_manager, ledger):
    data = as_manager.get(url(ledger, "members/")).json()
    assert data["count"] == 4
    one = next(m for m in data["results"] if m["identities"][0]["platform_user_id"] == "u-1")
    assert one["email"] == "u1@example.org"
    assert one["joined_at"] == "2026-03-04T13:01:00+01:00"  # the community's time zone
    detail = as_manager.get(url(ledger, f"members/{one['id']}/")).json()
    assert detail == one


def test_moderators_do_not_see_member_emails(api_client, moderator, ledger):
    api_client.force_authenticate(moderator)
    data = api_client.get(url(ledger, "members/")).json()
    assert {m["email"] for m in data["results"]} == {None}


def test_members_filter_by_platform_account(as_manager, ledger):
    data = as_manager.get(url(ledger, "members/?platform=slack&platform_user_id=u-3")).json()
    assert [m["identities"][0]["platform_user_id"] for m in data["results"]] == ["u-3"]


def test_another_communitys_member_is_404(api_client, outsider, ledger):
    member = Member.objects.first()
    api_client.force_authenticate(outsider)
    response = api_client.get(f"/api/v1/communities/globex/members/{member.public_id}/")
    assert response.status_code == 404


def test_listing_members_runs_a_fixed_number_of_queries(
    as_manager, ledger, django_assert_num_queries
):
    # membership, count, page of members + relationship owners, their identities, their tags
    with django_assert_num_queries(5):
        as_manager.get(url(ledger, "members/"))


def test_the_schema_documents_the_ingest_request_and_response(api_client, admin):
    api_client.force_authenticate(admin)
    schema = api_client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    spec = json.loads(schema.content)
    operation = spec["paths"]["/api/v1/communities/{community_slug}/activities/"]["post"]
    request_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert request_ref.endswith("/ActivityBatchInRequest")
    assert set(operation["responses"]) >= {"200", "400", "413"}
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/IngestResultOut"
    )


def test_other_endpoints_answer_an_oversized_body_with_413_in_the_common_shape(
    api_client, admin, community
):
    api_client.force_authenticate(admin)
    body = json.dumps({"email": "a@b.org", "role": "viewer", "pad": "x" * (3 * 1024 * 1024)})
    response = api_client.post(
        url(community, "invitations/"), data=body, content_type="application/json"
    )
    assert response.status_code == 413
    assert set(response.json()) == {"code", "message", "errors"}
