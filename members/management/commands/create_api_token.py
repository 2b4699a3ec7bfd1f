from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from members import services
from members.exceptions import ApplicationError
from members.models import Community, User


class Command(BaseCommand):
    help = "Create an API token that acts as USER in COMMUNITY; prints the secret once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--community", required=True)
        parser.add_argument("--user", required=True, help="Email of a teammate")
        parser.add_argument("--name", default="CLI token")

    def handle(self, *args: Any, community: str, user: str, name: str, **options: Any) -> None:
        target = Community.objects.filter(slug=community).first()
        owner = User.objects.filter(email__iexact=user).first()
        if target is None:
            raise CommandError(f"No community '{community}'.")
        if owner is None:
            raise CommandError(f"No user with email {user}.")
        try:
            _token, raw = services.api_token_create(
                actor=None, community=target, user=owner, name=name
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(raw)
