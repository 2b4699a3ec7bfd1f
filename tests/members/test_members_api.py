"""The member API's directory filters, key roles, tags and notes (roles and outsiders are in the
permission matrix; here: behaviour, shapes and errors)."""

import json

import pytest

from members import services_relations as svc
from members.models import AuditEvent, Note
from tests.members.directory_data import populate

pytestmark = pytest.mark.django_db

API = "/api/v1/communities/acme"


@pytest.fixture
def members(community, manager):
    return populate(community, manager)


def as_user(api_client, user):
    api_client.force_login(user)
    return api_client


def send(client, method: str, url: str, body: object):
    return client.generic(method, url, json.dumps(body), content_type="application/json")


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["display_name"] for m in response.json()["results"]]


def test_member_list_takes_the_directory_filters(api_client, manager, admin, members):
    client = as_user(api_client, manager)
    tag = members[0].tags.get(name="speaker")
    svc.member_set_key_role(actor=manager, member=members[1], key_role="champion", owner=admin)
    assert listed(client.get(f"{API}/members/?q=user4")) == ["Person 4"]
    assert len(listed(client.get(f"{API}/members/?tag={tag.public_id}"))) == 4
    assert listed(client.get(f"{API}/members/?key_role=champion")) == [members[1].display_name]
    by_name = listed(client.get(f"{API}/members/?sort=name"))
    assert by_name == sorted(by_name)
    body = client.get(f"{API}/members/{members[1].public_id}/").json()
    assert body["key_role"] == "champion"
    assert body["relationship_owner"]["email"] == admin.email
    assert [
        t["name"] for t in client.get(f"{API}/members/{members[0].public_id}/").json()["tags"]
    ] == [
        "beta",
        "speaker",
    ]


def test_email_search_needs_the_personal_data_capability(api_client, moderator, manager, members):
    assert listed(as_user(api_client, manager).get(f"{API}/members/?q=person2@")) == ["Person 2"]
    api_client.logout()
    response = as_user(api_client, moderator).get(f"{API}/members/?q=person2@")
    assert listed(response) == []


def test_a_bad_filter_is_a_400_with_field_errors(api_client, manager, members):
    response = as_user(api_client, manager).get(f"{API}/members/?joined_after=soon&sort=random")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"joined_after", "sort"}


def test_patch_sets_the_key_role_and_refuses_an_owner_off_the_team(
    api_client, manager, outsider, members
):
    client = as_user(api_client, manager)
    url = f"{API}/members/{members[0].public_id}/"
    ok = send(
        client, "PATCH", url, {"key_role": "champion", "relationship_owner": str(manager.public_id)}
    )
    assert ok.status_code == 200
    assert ok.json()["key_role"] == "champion"
    bad = send(
        client,
        "PATCH",
        url,
        {"key_role": "champion", "relationship_owner": str(outsider.public_id)},
    )
    assert bad.status_code == 400
    assert "relationship_owner" in bad.json()["errors"]
    assert send(client, "PATCH", url, {"key_role": "king"}).status_code == 400
    cleared = send(client, "PATCH", url, {"key_role": ""})
    assert cleared.json()["key_role"] == ""
    assert cleared.json()["relationship_owner"] is None


def test_member_tags_are_added_and_removed_by_name(api_client, manager, members):
    client = as_user(api_client, manager)
    url = f"{API}/members/{members[1].public_id}/tags/"
    added = send(client, "POST", url, {"tag": "Mentor"})
    assert [t["name"] for t in added.json()["tags"]] == ["Mentor"]
    removed = send(client, "DELETE", url, {"tag": "mentor"})
    assert removed.json()["tags"] == []
    unknown = send(client, "DELETE", url, {"tag": "nope"})
    assert unknown.status_code == 400
    assert "tag" in unknown.json()["errors"]


def test_tags_list_and_create_with_a_conflict_on_the_same_name(api_client, manager, members):
    client = as_user(api_client, manager)
    assert [t["name"] for t in client.get(f"{API}/tags/").json()["results"]] == ["beta", "speaker"]
    created = send(client, "POST", f"{API}/tags/", {"name": "Mentor", "color": "ok"})
    assert created.status_code == 201
    assert created.json()["color"] == "ok"
    assert send(client, "POST", f"{API}/tags/", {"name": "MENTOR"}).status_code == 409
    assert send(client, "POST", f"{API}/tags/", {"name": "x", "color": "pink"}).status_code == 400


def test_notes_listed_created_and_changed_by_their_author_only(
    api_client, manager, moderator, members
):
    member = members[0]
    client = as_user(api_client, moderator)
    url = f"{API}/members/{member.public_id}/notes/"
    created = send(client, "POST", url, {"body": "Seen in #help."})
    assert created.status_code == 201
    note = created.json()
    assert note["author"]["email"] == moderator.email
    assert note["member"] == str(member.public_id)
    bodies = [n["body"] for n in client.get(url).json()["results"]]
    assert bodies[0] == "Seen in #help." and len(bodies) == 2
    theirs = Note.objects.get(member=member, author=manager)
    forbidden = send(client, "PATCH", f"{API}/notes/{theirs.public_id}/", {"body": "mine"})
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "permission_denied"
    assert client.delete(f"{API}/notes/{theirs.public_id}/").status_code == 403
    edited = send(client, "PATCH", f"{API}/notes/{note['id']}/", {"body": "Seen twice."})
    assert edited.json()["body"] == "Seen twice."
    assert send(client, "POST", url, {"body": ""}).status_code == 400
    assert client.delete(f"{API}/notes/{note['id']}/").status_code == 204
    assert AuditEvent.objects.filter(action__startswith="note.", actor=moderator).count() == 3


def test_notes_list_query_budget(api_client, manager, members, django_assert_num_queries):
    member = members[0]
    for n in range(10):
        svc.note_create(actor=manager, member=member, body=f"n{n}")
    client = as_user(api_client, manager)
    # 1 session, 2 user, 3 membership + community, 4 the member, 5 count, 6 notes + authors
    with django_assert_num_queries(6):
        assert client.get(f"{API}/members/{member.public_id}/notes/").status_code == 200


def test_the_schema_documents_notes_tags_and_key_roles(api_client, admin):
    api_client.force_authenticate(admin)
    spec = api_client.get("/api/schema/?format=json").json()
    paths = spec["paths"]
    prefix = "/api/v1/communities/{community_slug}"
    notes = paths[prefix + "/members/{member_id}/notes/"]["post"]
    assert notes["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/NoteInRequest"
    )
    assert set(paths[prefix + "/notes/{public_id}/"]) >= {"patch", "delete"}
    assert set(paths[prefix + "/members/{public_id}/tags/"]) >= {"post", "delete"}
    patch = paths[prefix + "/members/{public_id}/"]["patch"]
    assert patch["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/PatchedMemberKeyRoleInRequest"
    )
    member_params = {p["name"] for p in paths[prefix + "/members/"]["get"]["parameters"]}
    assert member_params >= {"q", "tag", "key_role", "joined_after", "active_before", "sort"}
