from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from members import services
from members.exceptions import ApplicationError
from members.models import User


class Command(BaseCommand):
    help = "Create a community; --owner (an existing user's email) becomes its admin."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--timezone", required=True, help="IANA name, e.g. Europe/Berlin")
        parser.add_argument("--owner", help="Email of an existing user")

    def handle(
        self, *args: Any, slug: str, name: str, timezone: str, owner: str | None, **options: Any
    ) -> None:
        owner_user = None
        if owner:
            owner_user = User.objects.filter(email__iexact=owner).first()
            if owner_user is None:
                raise CommandError(f"No user with email {owner}.")
        try:
            community = services.community_create(
                slug=slug, name=name, timezone_name=timezone, owner=owner_user
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(f"Created community '{community.slug}'."))
