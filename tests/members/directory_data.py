"""Members with identities, activity, tags and notes, through the real ingestion path and
services: the data the directory, profile and member API tests read."""

from datetime import UTC, datetime, timedelta

from members import services_relations
from members.ingestion import activities_ingest
from members.models import Community, Member, User


def activity(n: int, user: str, *, days_ago: int = 1, kind: str = "post", **member) -> dict:
    when = datetime(2026, 3, 20, 12, tzinfo=UTC) - timedelta(days=days_ago)
    return {
        "platform": member.pop("platform", "discourse"),
        "external_id": f"a-{n}",
        "kind": kind,
        "occurred_at": when.isoformat(),
        "member": {"platform_user_id": user, **member},
        "content": f"Message {n}",
        "url": f"https://forum.example.org/t/{n}",
    }


def member_named(community: Community, name: str) -> Member:
    return Member.objects.get(community=community, display_name=name)


def populate(community: Community, actor: User, *, count: int = 6) -> list[Member]:
    """`count` members: ada.. with a discourse account; the first also on github; tags on every
    second member; a note by `actor` on each."""
    items = [
        activity(
            n,
            f"u-{n}",
            days_ago=n,
            username=f"user{n}",
            name=f"Person {n}",
            email=f"person{n}@example.org",
        )
        for n in range(count)
    ]
    items.append(activity(999, "gh-0", platform="github", username="octo0", name="Person 0"))
    activities_ingest(community=community, items=items, source="test")
    members = list(Member.objects.filter(community=community).order_by("display_name"))
    for index, member in enumerate(members):
        if index % 2 == 0:
            services_relations.member_tag(actor=actor, member=member, tag_name="speaker")
            services_relations.member_tag(actor=actor, member=member, tag_name="beta")
        services_relations.note_create(actor=actor, member=member, body=f"Met {member}.")
    return members
