"""Seed the demo community and its four staff logins, once. Running it again keeps what is
there (and anything people did in the demo since). Deterministic for a given --seed."""

import random
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from members import services
from members.models import Community, Role, TeamMembership, User

DEMO_PASSWORD = "hearth-demo"  # noqa: S105 - documented demo credential, seeding only
DEMO_STAFF = [
    ("admin@demo.hearth", "Ada Admin", Role.ADMIN),
    ("manager@demo.hearth", "Maya Manager", Role.MANAGER),
    ("moderator@demo.hearth", "Moe Moderator", Role.MODERATOR),
    ("exec@demo.hearth", "Eve Executive", Role.VIEWER),
]


class Command(BaseCommand):
    help = "Create the demo community and its demo staff logins (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--community", default="demo", help="Slug of the demo community.")
        parser.add_argument("--seed", type=int, default=1, help="Seed for generated data.")

    @transaction.atomic
    def handle(self, *args: Any, community: str, seed: int, **options: Any) -> None:
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
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo logins (password {DEMO_PASSWORD}): "
                + ", ".join(email for email, _, _ in DEMO_STAFF)
            )
        )
