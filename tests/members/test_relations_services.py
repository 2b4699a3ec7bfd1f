"""members.services_relations: tags, notes (own only), key roles, segments, exports; each write
leaves its audit row and no note text in the audit log."""

import pytest

from members import services_relations as svc
from members.exceptions import ApplicationError, ConflictError, NotAllowed
from members.ingestion import activities_ingest
from members.models import AuditEvent, KeyRole, Member, MemberTag, Note, SavedSegment, Tag
from tests.members.directory_data import activity
from tests.members.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(community):
    activities_ingest(
        community=community, items=[activity(1, "u-1", username="ada", name="Ada")], source="t"
    )
    return Member.objects.get(community=community)


def actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_tag_create_is_audited_and_names_are_unique_case_insensitively(manager, community):
    tag = svc.tag_create(actor=manager, community=community, name="  Beta   tester ", color="info")
    assert (tag.name, tag.color) == ("Beta tester", "info")
    assert actions() == ["tag.create"]
    with pytest.raises(ConflictError):
        svc.tag_create(actor=manager, community=community, name="beta TESTER")
    with pytest.raises(ApplicationError):
        svc.tag_create(actor=manager, community=community, name="x", color="purple")
    with pytest.raises(ApplicationError):
        svc.tag_create(actor=manager, community=community, name="   ")


def test_member_tag_creates_the_tag_once_and_tagging_twice_is_a_no_op(manager, member):
    svc.member_tag(actor=manager, member=member, tag_name="speaker")
    svc.member_tag(actor=manager, member=member, tag_name="Speaker")
    assert Tag.objects.count() == 1
    assert MemberTag.objects.count() == 1
    assert actions() == ["tag.create", "member.tag"]


def test_member_untag_is_audited_only_when_the_tag_was_there(manager, member):
    tag = svc.member_tag(actor=manager, member=member, tag_name="speaker")
    svc.member_untag(actor=manager, member=member, tag=tag)
    svc.member_untag(actor=manager, member=member, tag=tag)
    assert actions() == ["tag.create", "member.tag", "member.untag"]
    assert not MemberTag.objects.exists()


def test_a_tag_of_another_community_cannot_be_removed_through_this_member(
    manager, outsider, other_community, member
):
    foreign = svc.tag_create(actor=outsider, community=other_community, name="x")
    with pytest.raises(ApplicationError):
        svc.member_untag(actor=manager, member=member, tag=foreign)


def test_bulk_tag_tags_only_this_communitys_members_once(manager, community, member):
    other = Member.objects.create(community=community, display_name="Bob")
    assert (
        svc.members_tag_bulk(
            actor=manager, community=community, member_ids=[member.pk, other.pk], tag_name="vip"
        )
        == 2
    )
    assert (
        svc.members_tag_bulk(
            actor=manager, community=community, member_ids=[member.pk, 999999], tag_name="vip"
        )
        == 0
    )
    assert MemberTag.objects.count() == 2
    assert actions().count("member.tag_bulk") == 2


def test_notes_are_created_edited_and_deleted_by_their_author_only(manager, moderator, member):
    note = svc.note_create(actor=manager, member=member, body="  Met at the meetup. ")
    assert note.body == "Met at the meetup."
    with pytest.raises(NotAllowed):
        svc.note_update(actor=moderator, note=note, body="Mine now")
    with pytest.raises(NotAllowed):
        svc.note_delete(actor=moderator, note=note)
    svc.note_update(actor=manager, note=note, body="Met twice.")
    assert Note.objects.get().body == "Met twice."
    svc.note_delete(actor=manager, note=note)
    assert not Note.objects.exists()
    assert actions() == ["note.create", "note.update", "note.delete"]
    # The audit log never copies what a note says (erasure must reach every copy).
    assert "Met" not in str(list(AuditEvent.objects.values("before", "after", "target_label")))


@pytest.mark.parametrize("body", ["", "   ", "x" * 10_001, "a\x00b"])
def test_a_note_must_have_sensible_text(manager, member, body):
    with pytest.raises(ApplicationError):
        svc.note_create(actor=manager, member=member, body=body)
    assert not AuditEvent.objects.exists()


def test_key_role_with_an_owner_on_the_team_is_audited_with_before_and_after(
    manager, admin, member
):
    svc.member_set_key_role(actor=manager, member=member, key_role="champion", owner=admin)
    member.refresh_from_db()
    assert (member.key_role, member.relationship_owner) == (KeyRole.CHAMPION, admin)
    event = AuditEvent.objects.get(action="member.key_role")
    assert event.before == {"key_role": "", "relationship_owner": None}
    assert event.after == {"key_role": "champion", "relationship_owner": admin.email}
    # Saving the same again changes nothing and records nothing.
    svc.member_set_key_role(actor=manager, member=member, key_role="champion", owner=admin)
    assert AuditEvent.objects.filter(action="member.key_role").count() == 1


def test_the_relationship_owner_must_be_a_teammate_and_only_key_members_have_one(
    manager, outsider, member
):
    with pytest.raises(ApplicationError) as exc:
        svc.member_set_key_role(actor=manager, member=member, key_role="champion", owner=outsider)
    assert exc.value.field == "relationship_owner"
    with pytest.raises(ApplicationError):
        svc.member_set_key_role(actor=manager, member=member, key_role="", owner=manager)
    with pytest.raises(ApplicationError):
        svc.member_set_key_role(actor=manager, member=member, key_role="boss", owner=None)
    assert not AuditEvent.objects.exists()


def test_segments_are_saved_by_name_replaced_and_deleted_by_their_owner(manager, community):
    svc.segment_save(actor=manager, community=community, name="Quiet", query="active_before=x")
    segment = svc.segment_save(actor=manager, community=community, name="Quiet", query="q=a")
    assert SavedSegment.objects.get().query == "q=a"
    colleague = UserFactory()
    MembershipFactory(user=colleague, community=community)
    with pytest.raises(NotAllowed):
        svc.segment_delete(actor=colleague, segment=segment)
    svc.segment_delete(actor=manager, segment=segment)
    assert not SavedSegment.objects.exists()
    assert actions() == ["segment.save", "segment.save", "segment.delete"]
    with pytest.raises(ApplicationError):
        svc.segment_save(actor=manager, community=community, name=" ", query="")


def test_member_export_is_audited_with_its_filters(manager, community):
    svc.member_directory_export(actor=manager, community=community, filters={"q": "ada"})
    assert AuditEvent.objects.get().after == {"filters": {"q": "ada"}}
