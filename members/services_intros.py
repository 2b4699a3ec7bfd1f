"""Writes for introductions and key-member care: introduce two members, move an introduction
along its statuses, hand all of one teammate's key members to another, and set how many days
of silence put a key member on the "gone quiet" list. Each service owns its transaction and
writes its audit row. (A module of its own so services_relations stays small.)

Audit rows never copy an introduction's reason: like a note's text it is about members, and
erasure must reach every copy of it."""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import audit_record
from .exceptions import ApplicationError, ConflictError
from .intros import INTRO_REASON_MAX, INTRO_TRANSITIONS, Introduction, IntroductionStatus
from .ledger import Member
from .models import Community, TeamMembership, User
from .relations import Note

QUIET_DAYS_MIN, QUIET_DAYS_MAX = 1, 365

# The timestamp each status sets when it is reached.
_STATUS_TIME = {
    IntroductionStatus.MADE: "made_at",
    IntroductionStatus.CONNECTED: "connected_at",
    IntroductionStatus.DECLINED: "declined_at",
}

# --- introductions -----------------------------------------------------------------------------


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ApplicationError(_("Say why these two should meet."), field="reason")
    if len(reason) > INTRO_REASON_MAX:
        raise ApplicationError(
            _("A reason has at most %(n)d characters.") % {"n": INTRO_REASON_MAX}, field="reason"
        )
    if "\x00" in reason:
        raise ApplicationError(_("The reason contains a NUL character."), field="reason")
    return reason


@transaction.atomic
def introduction_create(
    *, actor: User, member_a: Member, member_b: Member, reason: str
) -> Introduction:
    """Propose introducing member A to member B. Both must be of one community, two different
    people, and not already in an open (proposed or made) introduction with each other."""
    if member_a.community_id != member_b.community_id:
        raise ApplicationError(_("Both members must be in this community."), field="member_b")
    if member_a.pk == member_b.pk:
        raise ApplicationError(_("Introduce a member to someone else."), field="member_b")
    reason = _reason(reason)
    pair = Q(member_a=member_a, member_b=member_b) | Q(member_a=member_b, member_b=member_a)
    open_statuses = (IntroductionStatus.PROPOSED, IntroductionStatus.MADE)
    if Introduction.objects.filter(pair, status__in=open_statuses).exists():
        raise ConflictError(_("These two already have an open introduction."), field="member_b")
    intro = Introduction.objects.create(
        community_id=member_a.community_id,
        member_a=member_a,
        member_b=member_b,
        reason=reason,
        introduced_by=actor,
    )
    audit_record(
        actor=actor,
        community=member_a.community,
        action="introduction.create",
        target=intro,
        after={"member_a": str(member_a.public_id), "member_b": str(member_b.public_id)},
    )
    return intro


@transaction.atomic
def introduction_set_status(
    *, actor: User, introduction: Introduction, status: str
) -> Introduction:
    """Move an introduction on: proposed → made → connected, or declined while still open.

    The move is checked against the status the caller saw (`introduction.status`) and applied
    with `UPDATE … WHERE status = <that status>`: if someone moved it meanwhile, no row changes
    and the caller gets a ConflictError instead of silently overwriting their move."""
    if status not in IntroductionStatus.values:
        raise ApplicationError(_("Choose one of the introduction statuses."), field="status")
    seen = introduction.status
    if status not in INTRO_TRANSITIONS[seen]:
        raise ApplicationError(
            _("An introduction cannot go from %(a)s to %(b)s.")
            % {"a": IntroductionStatus(seen).label, "b": IntroductionStatus(status).label},
            field="status",
        )
    now = timezone.now()
    time_field = _STATUS_TIME[IntroductionStatus(status)]
    changed = Introduction.objects.filter(pk=introduction.pk, status=seen).update(
        status=status, **{time_field: now}
    )
    if not changed:
        raise ConflictError(_("Someone changed this introduction meanwhile; reload and retry."))
    introduction.status = status
    setattr(introduction, time_field, now)
    audit_record(
        actor=actor,
        community=introduction.community,
        action="introduction.status",
        target=introduction,
        before={"status": seen},
        after={"status": status},
    )
    return introduction


# --- key members -------------------------------------------------------------------------------


@transaction.atomic
def key_members_reassign(
    *, actor: User, community: Community, from_user: User, to_user: User
) -> list[Member]:
    """Hand every key member `from_user` looks after to `to_user`, in one step: one
    set-based UPDATE of the owner, one bulk insert of a handover note on each member (so the
    member's history says who looked after them before), one audit row with the count and the
    members' ids. Returns the members handed over (their ids and names; the owner in memory is
    the new one). `from_user` may have left the team; `to_user` must be on it."""
    if from_user.pk == to_user.pk:
        raise ApplicationError(_("Choose two different teammates."), field="to_user")
    if not TeamMembership.objects.filter(community=community, user=to_user).exists():
        raise ApplicationError(
            _("The new relationship owner must be on this community's team."), field="to_user"
        )
    # Locked, so a concurrent key-role edit of one of them waits for the handover.
    members = list(
        Member.objects.select_for_update()
        .filter(community=community, relationship_owner=from_user)
        .only("pk", "public_id", "display_name", "community_id")
        .order_by("pk")
    )
    if not members:
        raise ApplicationError(
            _("That teammate looks after no key members here."), field="from_user"
        )
    ids = [m.pk for m in members]
    now = timezone.now()
    Member.objects.filter(pk__in=ids).update(relationship_owner=to_user, updated_at=now)
    body = _("Relationship handed over from %(a)s to %(b)s.") % {
        "a": from_user.display_name,
        "b": to_user.display_name,
    }
    Note.objects.bulk_create(
        [
            Note(community=community, member_id=pk, author=actor, body=body, created_at=now)
            for pk in ids
        ]
    )
    audit_record(
        actor=actor,
        community=community,
        action="key_members.handover",
        target=community,
        before={"relationship_owner": from_user.email},
        after={
            "relationship_owner": to_user.email,
            "count": len(members),
            "members": [str(m.public_id) for m in members],
        },
    )
    for m in members:
        m.relationship_owner = to_user
    return members


@transaction.atomic
def community_set_quiet_days(*, actor: User, community: Community, days: int) -> Community:
    """How many days without activity put a key member on the "gone quiet" list."""
    if not QUIET_DAYS_MIN <= days <= QUIET_DAYS_MAX:
        raise ApplicationError(
            _("Choose between %(a)d and %(b)d days.") % {"a": QUIET_DAYS_MIN, "b": QUIET_DAYS_MAX},
            field="quiet_after_days",
        )
    before = community.quiet_after_days
    if before == days:
        return community
    community.quiet_after_days = days
    community.save(update_fields=["quiet_after_days", "updated_at"])
    audit_record(
        actor=actor,
        community=community,
        action="community.quiet_days",
        target=community,
        before={"quiet_after_days": before},
        after={"quiet_after_days": days},
    )
    return community
