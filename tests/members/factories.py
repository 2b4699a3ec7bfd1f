import factory

from members import services
from members.models import Community, Role, TeamMembership, User

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    name = factory.Faker("name")

    @classmethod
    def _create(cls, model_class: type[User], *args: object, **kwargs: object) -> User:
        return services.user_create(
            email=kwargs["email"], password=PASSWORD, name=kwargs.get("name", "")
        )


class CommunityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Community
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"community-{n}")
    name = factory.Sequence(lambda n: f"Community {n}")
    timezone = "Europe/Amsterdam"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    user = factory.SubFactory(UserFactory)
    community = factory.SubFactory(CommunityFactory)
    role = Role.MANAGER
