"""members.merging: merging moves exactly the merged member's rows and is audited; an undo moves
back exactly those; suggestions are accepted or rejected (and a rejected pair is never raised
again); two simultaneous merges of one pair cannot both succeed (PostgreSQL)."""

import pytest

from members import merging, services_intros
from members import services_relations as rel
from members.exceptions import ApplicationError, ConflictError
from members.ingestion import activities_ingest
from members.models import (
    Activity,
    AuditEvent,
    Identity,
    KeyRole,
    Member,
    MemberMerge,
    MemberTag,
    MergeSuggestion,
    Note,
)
from tests.members.directory_data import activity
from tests.members.test_services import race

pytestmark = pytest.mark.django_db


def ingest(community, items):
    activities_ingest(community=community, items=items, source="test")


@pytest.fixture
def pair(community, manager):
    """Ada (discourse, 2 posts, one reply to her by Cy, a note, tags vip + speaker) and Ada on
    slack (same email, 1 post, a note, tag vip, a champion): a suggestion is raised."""
    ingest(
        community,
        [
            activity(1, "u-1", days_ago=10, username="ada", email="ada@example.org"),
            activity(2, "u-1", days_ago=5, username="ada"),
        ],
    )
    ingest(
        community,
        [activity(3, "U1", days_ago=2, platform="slack", username="ada", email="ada@example.org")],
    )
    ingest(
        community,
        [
            {
                **activity(4, "u-9", platform="slack", username="cy"),
                "kind": "reply",
                "parent_id": "a-3",
                "thread_id": "a-3",
            }
        ],
    )
    first = Member.objects.get(identities__platform_user_id="u-1")
    second = Member.objects.get(identities__platform_user_id="U1")
    for member in (first, second):
        rel.note_create(actor=manager, member=member, body=f"About {member.pk}")
        rel.member_tag(actor=manager, member=member, tag_name="vip")
    rel.member_tag(actor=manager, member=second, tag_name="speaker")
    rel.member_set_key_role(actor=manager, member=second, key_role=KeyRole.CHAMPION, owner=manager)
    return first, second


def state(*members: Member) -> dict:
    """What each member has: ids of identities, activity, replies to them, notes and tags."""
    return {
        m.pk: {
            "identities": sorted(Identity.objects.filter(member=m).values_list("pk", flat=True)),
            "activities": sorted(Activity.objects.filter(member=m).values_list("pk", flat=True)),
            "replies": sorted(
                Activity.objects.filter(replied_to_member=m).values_list("pk", flat=True)
            ),
            "notes": sorted(Note.objects.filter(member=m).values_list("pk", flat=True)),
            "tags": sorted(MemberTag.objects.filter(member=m).values_list("tag_id", flat=True)),
            "row": Member.objects.values(
                "joined_at",
                "first_contribution_at",
                "last_active_at",
                "key_role",
                "relationship_owner",
                "merged_into",
            ).get(pk=m.pk),
        }
        for m in members
    }


def test_the_same_email_raised_a_pending_suggestion(pair):
    suggestion = MergeSuggestion.objects.get()
    assert suggestion.status == "pending"
    assert suggestion.public_id


def test_merge_moves_every_row_widens_dates_and_is_audited(pair, manager, community):
    survivor, merged = pair
    before = state(survivor, merged)

    merge = merging.member_merge(
        actor=manager, community=community, survivor=survivor, merged=merged
    )

    after = state(survivor, merged)
    gone = before[merged.pk]
    assert after[merged.pk]["identities"] == after[merged.pk]["activities"] == []
    assert after[merged.pk]["notes"] == after[merged.pk]["tags"] == []
    assert after[merged.pk]["replies"] == []
    assert len(gone["replies"]) == 1
    for kind in ("identities", "activities", "notes", "replies"):
        assert after[survivor.pk][kind] == sorted(before[survivor.pk][kind] + gone[kind])
    assert after[survivor.pk]["tags"] == sorted(set(before[survivor.pk]["tags"] + gone["tags"]))
    row = after[survivor.pk]["row"]
    assert row["joined_at"] == before[survivor.pk]["row"]["joined_at"]  # 10 days ago, the earlier
    assert row["last_active_at"] == gone["row"]["last_active_at"]  # 2 days ago, the later
    assert (row["key_role"], row["relationship_owner"]) == ("champion", manager.pk)
    assert after[merged.pk]["row"]["merged_into"] == survivor.pk
    assert merge.snapshot["activities"] == gone["activities"]
    assert MergeSuggestion.objects.get().status == "accepted"
    event = AuditEvent.objects.get(action="member.merge")
    assert event.after["survivor"] == str(survivor.public_id)
    assert event.after["activities"] == len(gone["activities"])
    assert "ada" not in event.target_label.lower()


def test_unmerge_restores_exactly_what_was_there(pair, manager, community):
    survivor, merged = pair
    before = state(survivor, merged)
    merge = merging.member_merge(
        actor=manager, community=community, survivor=survivor, merged=merged
    )

    merging.member_unmerge(actor=manager, merge=merge)

    assert state(survivor, merged) == before
    merge.refresh_from_db()
    assert (merge.undone_at is not None, merge.undone_by) == (True, manager)
    assert AuditEvent.objects.filter(action="member.unmerge").count() == 1
    with pytest.raises(ConflictError):
        merging.member_unmerge(actor=manager, merge=merge)
    assert AuditEvent.objects.filter(action="member.unmerge").count() == 1


def test_activity_arriving_after_a_merge_goes_to_the_survivor_and_stays(pair, manager, community):
    survivor, merged = pair
    merge = merging.member_merge(
        actor=manager, community=community, survivor=survivor, merged=merged
    )
    ingest(community, [activity(9, "U1", days_ago=0, platform="slack")])
    late = Activity.objects.get(external_id="a-9")
    assert late.member_id == survivor.pk
    merging.member_unmerge(actor=manager, merge=merge)
    late.refresh_from_db()
    assert late.member_id == survivor.pk
    survivor.refresh_from_db()
    assert survivor.last_active_at == late.occurred_at


def test_a_member_merged_already_cannot_be_merged_again(pair, manager, community):
    survivor, merged = pair
    merging.member_merge(actor=manager, community=community, survivor=survivor, merged=merged)
    with pytest.raises(ConflictError):
        merging.member_merge(actor=manager, community=community, survivor=survivor, merged=merged)
    with pytest.raises(ConflictError):
        merging.member_merge(actor=manager, community=community, survivor=merged, merged=survivor)
    assert MemberMerge.objects.count() == 1


def test_merging_with_itself_or_across_communities_is_refused(
    pair, manager, community, other_community
):
    survivor, _merged = pair
    with pytest.raises(ApplicationError):
        merging.member_merge(actor=manager, community=community, survivor=survivor, merged=survivor)
    ingest(other_community, [activity(1, "u-1")])
    foreign = Member.objects.get(community=other_community)
    with pytest.raises(ApplicationError):
        merging.member_merge(actor=manager, community=community, survivor=survivor, merged=foreign)
    assert not AuditEvent.objects.filter(action="member.merge").exists()


def test_undo_is_refused_while_the_survivor_is_merged_into_someone_else(pair, manager, community):
    survivor, merged = pair
    third = Member.objects.get(identities__platform_user_id="u-9")
    first = merging.member_merge(
        actor=manager, community=community, survivor=survivor, merged=merged
    )
    second = merging.member_merge(
        actor=manager, community=community, survivor=third, merged=survivor
    )
    with pytest.raises(ConflictError):
        merging.member_unmerge(actor=manager, merge=first)
    merging.member_unmerge(actor=manager, merge=second)
    merging.member_unmerge(actor=manager, merge=first)
    assert Identity.objects.filter(member=merged).count() == 1


def test_accept_merges_into_the_more_active_member(pair, manager):
    first, second = pair  # second was active 2 days ago, first 5
    merge = merging.merge_suggestion_accept(actor=manager, suggestion=MergeSuggestion.objects.get())
    assert (merge.survivor, merge.merged) == (second, first)
    assert MergeSuggestion.objects.get().status == "accepted"


def test_accept_into_a_chosen_member_and_only_one_of_the_pair(pair, manager, community):
    first, second = pair
    suggestion = MergeSuggestion.objects.get()
    third = Member.objects.get(identities__platform_user_id="u-9")
    with pytest.raises(ApplicationError):
        merging.merge_suggestion_accept(actor=manager, suggestion=suggestion, survivor=third)
    merge = merging.merge_suggestion_accept(actor=manager, suggestion=suggestion, survivor=first)
    assert (merge.survivor, merge.merged) == (first, second)
    with pytest.raises(ConflictError):
        merging.merge_suggestion_accept(actor=manager, suggestion=suggestion)


def test_reject_is_audited_decides_once_and_is_never_raised_again(pair, manager, community):
    suggestion = MergeSuggestion.objects.get()
    merging.merge_suggestion_reject(actor=manager, suggestion=suggestion)
    assert MergeSuggestion.objects.get().status == "rejected"
    assert AuditEvent.objects.filter(action="merge_suggestion.reject").count() == 1
    with pytest.raises(ConflictError):
        merging.merge_suggestion_reject(actor=manager, suggestion=suggestion)
    # Re-ingest both accounts, and a third account with the same email on each member's side.
    ingest(
        community,
        [
            activity(1, "u-1", days_ago=10, username="ada", email="ada@example.org"),
            activity(3, "U1", platform="slack", username="ada", email="ada@example.org"),
            activity(5, "g-1", platform="github", email="ada@example.org"),
        ],
    )
    statuses = dict(
        MergeSuggestion.objects.values_list("member_b__identities__platform_user_id", "status")
    )
    assert MergeSuggestion.objects.filter(status="rejected").count() == 1
    assert "rejected" in statuses.values()
    assert MergeSuggestion.objects.count() == 3  # the new github member with each of the two


# --- the race (PostgreSQL: real concurrent transactions) ------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("direction", ["same", "opposite"])
def test_two_simultaneous_merges_of_one_pair_only_one_wins(
    requires_postgres, pair, manager, community, direction
):
    first, second = pair
    other = (first, second) if direction == "same" else (second, first)

    winner, loser = race(
        lambda: merging.member_merge(
            actor=manager, community=community, survivor=first, merged=second
        ),
        lambda: merging.member_merge(
            actor=manager, community=community, survivor=other[0], merged=other[1]
        ),
    )

    assert winner.error is None
    assert isinstance(loser.error, ConflictError)
    assert MemberMerge.objects.count() == 1
    assert AuditEvent.objects.filter(action="member.merge").count() == 1
    assert Member.objects.filter(merged_into__isnull=False).count() == 1


def test_introductions_move_with_the_merge_and_back_on_undo(pair, manager, community):
    first, second = pair
    cy = Member.objects.get(identities__platform_user_id="u-9")
    intro = services_intros.introduction_create(
        actor=manager, member_a=cy, member_b=second, reason="Both organise meetups."
    )

    merge = merging.member_merge(actor=manager, community=community, survivor=first, merged=second)
    intro.refresh_from_db()
    assert (intro.member_a_id, intro.member_b_id) == (cy.pk, first.pk)

    merging.member_unmerge(actor=manager, merge=merge)
    intro.refresh_from_db()
    assert (intro.member_a_id, intro.member_b_id) == (cy.pk, second.pk)


def test_two_members_introduced_to_each_other_are_not_merged(pair, manager, community):
    first, second = pair
    services_intros.introduction_create(
        actor=manager, member_a=first, member_b=second, reason="Same person?"
    )
    with pytest.raises(ConflictError):
        merging.member_merge(actor=manager, community=community, survivor=first, merged=second)
    assert Member.objects.get(pk=second.pk).merged_into_id is None
