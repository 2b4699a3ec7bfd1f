"""Member merges in the browser and the API: the inbox (query count pinned), accept, reject and
undo, "Merge with…" from a profile, the banner on a merged member's page, merged members out of
the directory and the member list, and the API's shapes and conflicts."""

import pytest

from members import merging
from members.ingestion import activities_ingest
from members.models import AuditEvent, Member, MemberMerge, MergeSuggestion
from tests.members.directory_data import activity

pytestmark = pytest.mark.django_db

INBOX = "/c/acme/members/merges/"
API = "/api/v1/communities/acme"


def suggest(community, n: int) -> tuple[Member, Member]:
    """Two members with one email (a pending suggestion), the second more recently active."""
    email = f"p{n}@example.org"
    activities_ingest(
        community=community,
        items=[
            activity(
                10 * n, f"d-{n}", days_ago=9, username=f"ada{n}", name=f"Ada {n}", email=email
            ),
            activity(
                10 * n + 1,
                f"s-{n}",
                days_ago=1,
                platform="slack",
                username=f"ada{n}",
                name=f"Ada S{n}",
                email=email,
            ),
        ],
        source="test",
    )
    return (
        Member.objects.get(identities__platform_user_id=f"d-{n}"),
        Member.objects.get(identities__platform_user_id=f"s-{n}"),
    )


@pytest.mark.parametrize("count", [2, 9])
def test_inbox_shows_pairs_side_by_side_in_a_fixed_number_of_queries(
    client, manager, community, count, django_assert_num_queries
):
    pairs = [suggest(community, n) for n in range(count)]
    merging.member_merge(
        actor=manager, community=community, survivor=pairs[0][1], merged=pairs[0][0]
    )
    client.force_login(manager)
    # 1 session, 2 user, 3 membership + community, 4 count, 5 page of suggestions + members,
    # 6 both sides with counts, 7 their identities, 8 recent merges + members + actors,
    # 9 navigation.
    with django_assert_num_queries(9):
        response = client.get(INBOX)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('name="survivor"') == count - 1  # the merged pair left the inbox
    assert "Undo" in page


def test_accept_from_the_inbox_merges_into_the_chosen_member(client, manager, community):
    first, second = suggest(community, 1)
    suggestion = MergeSuggestion.objects.get()
    client.force_login(manager)
    response = client.post(
        f"{INBOX}suggestions/{suggestion.public_id}/accept/", {"survivor": str(first.public_id)}
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.merged_into == first
    # Accepting again: a message, no second merge.
    client.post(f"{INBOX}suggestions/{suggestion.public_id}/accept/")
    assert MemberMerge.objects.count() == 1


def test_reject_and_undo_from_the_inbox(client, manager, community):
    first, second = suggest(community, 1)
    client.force_login(manager)
    client.post(f"{INBOX}suggestions/{MergeSuggestion.objects.get().public_id}/reject/")
    assert MergeSuggestion.objects.get().status == "rejected"
    merge = merging.member_merge(actor=manager, community=community, survivor=first, merged=second)
    assert client.post(f"{INBOX}{merge.public_id}/undo/").status_code == 302
    second.refresh_from_db()
    assert second.merged_into is None
    assert client.post(f"{INBOX}{merge.public_id}/undo/").status_code == 302  # a message
    assert AuditEvent.objects.filter(action="member.unmerge").count() == 1


def test_merge_with_from_a_profile_search_confirm_merge_and_banner(client, manager, community):
    first, second = suggest(community, 1)
    client.force_login(manager)
    profile = f"/c/acme/members/{first.public_id}/"
    assert f"/c/acme/members/{first.public_id}/merge/" in client.get(profile).content.decode()
    search = client.get(f"{profile}merge/", {"q": "ada1"}).content.decode()
    assert f"?member={second.public_id}" in search
    assert f"?member={first.public_id}" not in search  # not itself
    confirm = client.get(f"{profile}merge/", {"member": str(second.public_id)}).content.decode()
    assert "csrfmiddlewaretoken" in confirm and str(second.public_id) in confirm
    response = client.post(f"{profile}merge/", {"member": str(second.public_id)})
    assert response.status_code == 302
    second.refresh_from_db()
    assert second.merged_into == first
    banner = client.get(f"/c/acme/members/{second.public_id}/").content.decode()
    assert 'id="merged-banner"' in banner and profile in banner
    directory = client.get("/c/acme/members/").content.decode()
    assert str(second.public_id) not in directory and str(first.public_id) in directory


def test_a_merged_member_cannot_be_the_survivor_of_a_manual_merge(client, manager, community):
    first, second = suggest(community, 1)
    merging.member_merge(actor=manager, community=community, survivor=first, merged=second)
    client.force_login(manager)
    assert client.get(f"/c/acme/members/{second.public_id}/merge/").status_code == 404


def test_inbox_is_not_in_the_navigation_of_a_moderator(client, moderator, manager):
    client.force_login(manager)
    assert INBOX in client.get("/c/acme/").content.decode()
    client.force_login(moderator)
    assert INBOX not in client.get("/c/acme/").content.decode()


# --- API -------------------------------------------------------------------------------------


def test_api_lists_suggestions_and_accepts_with_the_default_survivor(
    api_client, manager, community
):
    first, second = suggest(community, 1)
    api_client.force_login(manager)
    body = api_client.get(f"{API}/merge-suggestions/").json()
    assert [s["member_a"]["id"] for s in body["results"]] == [str(first.public_id)]
    suggestion = body["results"][0]["id"]
    response = api_client.post(f"{API}/merge-suggestions/{suggestion}/accept/", {}, format="json")
    assert response.status_code == 201
    out = response.json()
    assert (out["survivor"]["id"], out["merged"]["id"]) == (
        str(second.public_id),
        str(first.public_id),
    )
    assert out["moved"]["identities"] == 1 and out["undone_at"] is None
    again = api_client.post(f"{API}/merge-suggestions/{suggestion}/accept/", {}, format="json")
    assert again.status_code == 404  # no longer pending


def test_api_merge_into_and_undo_and_conflicts(api_client, manager, community):
    first, second = suggest(community, 1)
    api_client.force_login(manager)
    url = f"{API}/members/{first.public_id}/merge/"
    response = api_client.post(url, {"member": str(second.public_id)}, format="json")
    assert response.status_code == 201
    merge_id = response.json()["id"]
    conflict = api_client.post(url, {"member": str(second.public_id)}, format="json")
    assert conflict.status_code == 409 and conflict.json()["code"] == "conflict"
    listed = api_client.get(f"{API}/members/").json()["results"]
    assert [m["id"] for m in listed] == [str(first.public_id)]
    assert api_client.post(f"{API}/merges/{merge_id}/undo/").status_code == 200
    assert api_client.post(f"{API}/merges/{merge_id}/undo/").status_code == 409
    assert api_client.get(f"{API}/merges/").json()["results"][0]["undone_at"]


def test_api_merge_validates_the_member(api_client, manager, community, other_community):
    first, _second = suggest(community, 1)
    activities_ingest(community=other_community, items=[activity(1, "x")], source="test")
    foreign = Member.objects.get(community=other_community)
    api_client.force_login(manager)
    url = f"{API}/members/{first.public_id}/merge/"
    assert api_client.post(url, {}, format="json").status_code == 400
    response = api_client.post(url, {"member": str(foreign.public_id)}, format="json")
    assert response.status_code == 400 and "member" in response.json()["errors"]
    response = api_client.post(url, {"member": str(first.public_id)}, format="json")
    assert response.status_code == 400


def test_api_reject(api_client, manager, community):
    suggest(community, 1)
    api_client.force_login(manager)
    suggestion = MergeSuggestion.objects.get().public_id
    response = api_client.post(f"{API}/merge-suggestions/{suggestion}/reject/")
    assert response.status_code == 200 and response.json()["status"] == "rejected"
    assert api_client.get(f"{API}/merge-suggestions/").json()["results"] == []
