"""Writes to what the team records about members: tags, notes, key roles and relationship
owners, saved directory segments, and directory exports. Each service owns its transaction and
writes its audit row. (A module of its own so members.services stays under ~500 lines.)

Audit rows never copy a note's text: erasure must be able to reach every copy of what a member
said or what was said about them, and the note row is the only one."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .audit import audit_record
from .exceptions import ApplicationError, ConflictError, NotAllowed
from .ledger import KeyRole, Member
from .models import Community, TeamMembership, User
from .relations import NOTE_BODY_MAX, TAG_NAME_MAX, MemberTag, Note, SavedSegment, Tag, TagColor

# --- tags --------------------------------------------------------------------------------------


def _tag_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise ApplicationError(_("A tag needs a name."), field="name")
    if len(name) > TAG_NAME_MAX:
        raise ApplicationError(
            _("A tag name has at most %(n)d characters.") % {"n": TAG_NAME_MAX}, field="name"
        )
    return name


@transaction.atomic
def tag_create(*, actor: User, community: Community, name: str, color: str = TagColor.GREY) -> Tag:
    name = _tag_name(name)
    if color not in TagColor.values:
        raise ApplicationError(_("Choose one of the tag colours."), field="color")
    if Tag.objects.filter(community=community, name__iexact=name).exists():
        raise ConflictError(_("A tag with this name already exists."), field="name")
    try:
        with transaction.atomic():
            tag = Tag.objects.create(community=community, name=name, color=color)
    except IntegrityError as exc:  # a concurrent create of the same name won
        raise ConflictError(_("A tag with this name already exists."), field="name") from exc
    audit_record(
        actor=actor,
        community=community,
        action="tag.create",
        target=tag,
        after={"name": name, "color": color},
    )
    return tag


def _tag_for_name(*, actor: User, community: Community, name: str) -> Tag:
    name = _tag_name(name)
    tag = Tag.objects.filter(community=community, name__iexact=name).first()
    if tag is None:
        try:
            tag = tag_create(actor=actor, community=community, name=name)
        except ConflictError:  # created meanwhile by someone else
            tag = Tag.objects.get(community=community, name__iexact=name)
    return tag


@transaction.atomic
def member_tag(*, actor: User, member: Member, tag_name: str) -> Tag:
    """Put a tag on a member, creating the tag if the community has none of that name.
    Tagging twice is a no-op (and writes no second audit row)."""
    tag = _tag_for_name(actor=actor, community=member.community, name=tag_name)
    _link, created = MemberTag.objects.get_or_create(member=member, tag=tag)
    if created:
        audit_record(
            actor=actor,
            community=member.community,
            action="member.tag",
            target=member,
            after={"tag": tag.name},
        )
    return tag


@transaction.atomic
def members_tag_bulk(
    *, actor: User, community: Community, member_ids: list[int], tag_name: str
) -> int:
    """Tag many members of one community at once (the directory selection); one audit row.
    Returns how many members newly got the tag."""
    tag = _tag_for_name(actor=actor, community=community, name=tag_name)
    ids = set(
        Member.objects.filter(community=community, pk__in=member_ids).values_list("pk", flat=True)
    )
    already = set(
        MemberTag.objects.filter(tag=tag, member_id__in=ids).values_list("member_id", flat=True)
    )
    new = sorted(ids - already)
    MemberTag.objects.bulk_create([MemberTag(member_id=pk, tag=tag) for pk in new])
    audit_record(
        actor=actor,
        community=community,
        action="member.tag_bulk",
        target=tag,
        after={"tag": tag.name, "members": len(new)},
    )
    return len(new)


@transaction.atomic
def member_untag(*, actor: User, member: Member, tag: Tag) -> None:
    if tag.community_id != member.community_id:
        raise ApplicationError(_("No such tag in this community."), field="tag")
    deleted, _by_model = MemberTag.objects.filter(member=member, tag=tag).delete()
    if deleted:
        audit_record(
            actor=actor,
            community=member.community,
            action="member.untag",
            target=member,
            before={"tag": tag.name},
        )


# --- notes -------------------------------------------------------------------------------------


def _note_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise ApplicationError(_("Write something in the note."), field="body")
    if len(body) > NOTE_BODY_MAX:
        raise ApplicationError(
            _("A note has at most %(n)d characters.") % {"n": NOTE_BODY_MAX}, field="body"
        )
    if "\x00" in body:
        raise ApplicationError(_("The note contains a NUL character."), field="body")
    return body


@transaction.atomic
def note_create(*, actor: User, member: Member, body: str) -> Note:
    note = Note.objects.create(
        community_id=member.community_id, member=member, author=actor, body=_note_body(body)
    )
    audit_record(
        actor=actor,
        community=member.community,
        action="note.create",
        target=note,
        after={"member": str(member.public_id)},
    )
    return note


def _lock_own_note(*, actor: User, note: Note) -> Note:
    locked = Note.objects.select_for_update().filter(pk=note.pk).first()
    if locked is None:
        raise ConflictError(_("This note was deleted."))
    if locked.author_id != actor.pk:
        raise NotAllowed(_("Only the author of a note may change it."))
    return locked


@transaction.atomic
def note_update(*, actor: User, note: Note, body: str) -> Note:
    body = _note_body(body)
    locked = _lock_own_note(actor=actor, note=note)
    locked.body = body
    locked.save(update_fields=["body", "updated_at"])
    audit_record(
        actor=actor,
        community=note.member.community,
        action="note.update",
        target=locked,
        after={"member": str(note.member.public_id)},
    )
    return locked


@transaction.atomic
def note_delete(*, actor: User, note: Note) -> None:
    locked = _lock_own_note(actor=actor, note=note)
    audit_record(
        actor=actor,
        community=note.member.community,
        action="note.delete",
        target=locked,
        before={"member": str(note.member.public_id)},
    )
    locked.delete()


# --- key members -------------------------------------------------------------------------------


@transaction.atomic
def member_set_key_role(
    *, actor: User, member: Member, key_role: str, owner: User | None
) -> Member:
    """Mark (or unmark) a champion or influencer and name the teammate who looks after them.
    The owner must be on this community's team; an ordinary member has no owner."""
    if key_role not in KeyRole.values:
        raise ApplicationError(_("Choose champion, influencer or none."), field="key_role")
    if key_role == KeyRole.NONE and owner is not None:
        raise ApplicationError(
            _("Only key members have a relationship owner."), field="relationship_owner"
        )
    if (
        owner is not None
        and not TeamMembership.objects.filter(community_id=member.community_id, user=owner).exists()
    ):
        raise ApplicationError(
            _("The relationship owner must be on this community's team."),
            field="relationship_owner",
        )
    before = {
        "key_role": member.key_role,
        "relationship_owner": member.relationship_owner.email
        if member.relationship_owner
        else None,
    }
    member.key_role = key_role
    member.relationship_owner = owner
    member.save(update_fields=["key_role", "relationship_owner", "updated_at"])
    after = {"key_role": key_role, "relationship_owner": owner.email if owner else None}
    if after != before:
        audit_record(
            actor=actor,
            community=member.community,
            action="member.key_role",
            target=member,
            before=before,
            after=after,
        )
    return member


# --- saved segments and exports ----------------------------------------------------------------


@transaction.atomic
def segment_save(*, actor: User, community: Community, name: str, query: str) -> SavedSegment:
    """Save the directory's current filters under a name; the same name again replaces them."""
    name = " ".join(name.split())
    if not name:
        raise ApplicationError(_("A segment needs a name."), field="name")
    if len(name) > 100:
        raise ApplicationError(_("A segment name has at most 100 characters."), field="name")
    if len(query) > 2000:
        raise ApplicationError(_("These filters are too long to save."), field="query")
    segment, created = SavedSegment.objects.update_or_create(
        community=community, owner=actor, name=name, defaults={"query": query}
    )
    audit_record(
        actor=actor,
        community=community,
        action="segment.save",
        target=segment,
        after={"name": name, "query": query, "created": created},
    )
    return segment


@transaction.atomic
def segment_delete(*, actor: User, segment: SavedSegment) -> None:
    if segment.owner_id != actor.pk:
        raise NotAllowed(_("Only the owner of a segment may delete it."))
    audit_record(
        actor=actor,
        community=segment.community,
        action="segment.delete",
        target=segment,
        before={"name": segment.name, "query": segment.query},
    )
    segment.delete()


@transaction.atomic
def member_directory_export(*, actor: User, community: Community, filters: dict[str, str]) -> None:
    """Exports of members' personal data are recorded: who took a copy, with which filters."""
    audit_record(
        actor=actor,
        community=community,
        action="member.export",
        target=community,
        after={"filters": filters},
    )
