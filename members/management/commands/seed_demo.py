"""Seed the demo community, its four staff logins and, the first time, a few months of member
activity, once. Running it again keeps what is there (and anything people did in the demo
since). Deterministic for a given --seed (activity is placed relative to the current time)."""

import random
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from members import services, services_relations
from members.ingestion import MAX_ITEMS, activities_ingest
from members.ledger import KeyRole, Member, MergeSuggestion
from members.management.demo_activity import activity_make
from members.models import Community, Role, TeamMembership, User

DEMO_NOTES = [
    "Met at the spring meetup. Keen to give a talk on self-hosting; follow up in May.",
    "Answers most newcomer questions in #help. Thank publicly in the next newsletter.",
    "Asked about the beta programme. Added to the beta tester list.",
    "Runs the Berlin user group. Introduce to the events team.",
    "Reported two bugs with clear reproductions; a candidate for the contributor call.",
    "Prefers email over DMs.",
]
DEMO_PASSWORD = "hearth-demo"  # noqa: S105 - documented demo credential, seeding only
DEMO_STAFF = [
    ("admin@demo.hearth", "Ada Admin", Role.ADMIN),
    ("manager@demo.hearth", "Maya Manager", Role.MANAGER),
    ("moderator@demo.hearth", "Moe Moderator", Role.MODERATOR),
    ("exec@demo.hearth", "Eve Executive", Role.VIEWER),
]


class Command(BaseCommand):
    help = "Create the demo community, its demo staff logins and demo activity (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--community", default="demo", help="Slug of the demo community.")
        parser.add_argument("--seed", type=int, default=1, help="Seed for generated data.")
        parser.add_argument(
            "--members", type=int, default=120, help="Members to generate (first run only)."
        )
        parser.add_argument(
            "--days", type=int, default=90, help="Days of activity up to now (first run only)."
        )

    @transaction.atomic
    def handle(
        self, *args: Any, community: str, seed: int, members: int, days: int, **options: Any
    ) -> None:
        if members < 0 or days < 1:
            raise CommandError("--members must be at least 0 and --days at least 1.")
        # Demo data is not security-sensitive; a seeded PRNG makes it repeatable.
        self.rng = random.Random(seed)  # noqa: S311
        existing = Community.objects.filter(slug=community).first()
        if existing is None:
            existing = services.community_create(
                slug=community, name="Demo Community", timezone_name="Europe/Amsterdam"
            )
            self.stdout.write(f"Created community '{community}'.")
        else:
            self.stdout.write(f"Community '{community}' exists; keeping its data.")
        for email, name, role in DEMO_STAFF:
            user = User.objects.filter(email=email).first() or services.user_create(
                email=email, password=DEMO_PASSWORD, name=name
            )
            if not TeamMembership.objects.filter(user=user, community=existing).exists():
                services.membership_add(actor=None, community=existing, user=user, role=role)
        if members and not Member.objects.filter(community=existing).exists():
            self._seed_activity(existing, members=members, days=days)
            self._seed_relations(existing)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo logins (password {DEMO_PASSWORD}): "
                + ", ".join(email for email, _, _ in DEMO_STAFF)
            )
        )

    def _seed_activity(self, community: Community, *, members: int, days: int) -> None:
        """Through the real ingestion path, in bulk-API-sized batches."""
        items = activity_make(
            self.rng, members=members, days=days, now=timezone.now(), tz=community.tzinfo
        )
        created = 0
        for start in range(0, len(items), MAX_ITEMS):
            result = activities_ingest(
                community=community, items=items[start : start + MAX_ITEMS], source="seed_demo"
            )
            if result.rejected:  # a generator bug, not bad input: fail loudly, store nothing
                raise CommandError(f"Generated activity was rejected: {result.rejected[:3]}")
            created += result.created
        self.stdout.write(
            f"Seeded {Member.objects.filter(community=community).count()} members, "
            f"{created} activities over {days} days, "
            f"{MergeSuggestion.objects.filter(community=community).count()} merge suggestions."
        )

    def _seed_relations(self, community: Community) -> None:
        """Tags, a few key members looked after by the demo manager, and notes, through the
        services (so the audit log shows them too)."""
        manager = User.objects.get(email=DEMO_STAFF[1][0])
        admin = User.objects.get(email=DEMO_STAFF[0][0])
        people = list(
            Member.objects.filter(community=community, bot=False, staff=False).order_by(
                F("last_active_at").desc(nulls_last=True), "id"
            )
        )
        colors = {
            "speaker": "accent",
            "beta tester": "info",
            "mentor": "ok",
            "needs follow-up": "warn",
        }
        for name, color in colors.items():
            services_relations.tag_create(
                actor=manager, community=community, name=name, color=color
            )
        for member in people[:40]:
            for name in self.rng.sample(sorted(colors), k=self.rng.choice([0, 1, 1, 2])):
                services_relations.member_tag(actor=manager, member=member, tag_name=name)
        for index, member in enumerate(people[:8]):
            services_relations.member_set_key_role(
                actor=manager,
                member=member,
                key_role=KeyRole.CHAMPION if index % 3 else KeyRole.INFLUENCER,
                owner=manager if index % 2 else admin,
            )
        for member, body in zip(people[:6], DEMO_NOTES, strict=False):
            services_relations.note_create(actor=manager, member=member, body=body)
