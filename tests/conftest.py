"""Personas and shared fixtures. Each persona is a user with one role in `community`; the
outsider is an admin of `other_community` only, so every cross-community request must 404."""

import os
import shutil
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from config.celery import app as celery_app
from members import services
from members.models import Community, Role, User
from tests.members.factories import PASSWORD, CommunityFactory, MembershipFactory, UserFactory

ROLES = [Role.ADMIN, Role.MANAGER, Role.MODERATOR, Role.VIEWER]
CHROMIUM = "/usr/bin/chromium"


def require(condition: bool, reason: str) -> None:
    """Skip with a stated reason on a bare laptop; fail in CI (HEARTH_REQUIRE_SERVICES=1),
    where PostgreSQL, Redis and Chromium must all be there."""
    if condition:
        return
    if os.environ.get("HEARTH_REQUIRE_SERVICES"):
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def eager_celery(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tasks enqueued on commit run inline, so no test drops messages into a real broker (where
    a developer's `make run` worker would take them against the wrong database). Tests marked
    `integration` publish for real, to the worker they start."""
    if request.node.get_closest_marker("integration"):
        yield
        return
    keys = ("task_always_eager", "task_eager_propagates")
    before = {key: celery_app.conf[key] for key in keys}
    celery_app.conf.update(dict.fromkeys(keys, True))
    yield
    celery_app.conf.update(before)


@pytest.fixture
def requires_postgres() -> None:
    require(connection.vendor == "postgresql", "needs PostgreSQL (set DATABASE_URL)")


@pytest.fixture
def requires_redis() -> None:
    require(bool(settings.REDIS_URL), "needs Redis (set REDIS_URL)")


@pytest.fixture
def requires_chromium() -> None:
    require(
        os.path.exists(CHROMIUM) or bool(shutil.which("chromium")),
        "needs Debian's chromium at /usr/bin/chromium",
    )


@pytest.fixture
def community(db: None) -> Community:
    return CommunityFactory(slug="acme", name="Acme Community", timezone="Europe/Amsterdam")


@pytest.fixture
def other_community(db: None) -> Community:
    return CommunityFactory(slug="globex", name="Globex Community", timezone="America/New_York")


def _persona(community: Community, role: str, email: str) -> User:
    user = UserFactory(email=email)
    MembershipFactory(user=user, community=community, role=role)
    return user


@pytest.fixture
def admin(community: Community) -> User:
    return _persona(community, Role.ADMIN, "admin@acme.test")


@pytest.fixture
def manager(community: Community) -> User:
    return _persona(community, Role.MANAGER, "manager@acme.test")


@pytest.fixture
def moderator(community: Community) -> User:
    return _persona(community, Role.MODERATOR, "moderator@acme.test")


@pytest.fixture
def viewer(community: Community) -> User:
    return _persona(community, Role.VIEWER, "exec@acme.test")


@pytest.fixture
def outsider(other_community: Community) -> User:
    return _persona(other_community, Role.ADMIN, "admin@globex.test")


@pytest.fixture
def personas(
    admin: User, manager: User, moderator: User, viewer: User, outsider: User
) -> dict[str, User]:
    return {
        "admin": admin,
        "manager": manager,
        "moderator": moderator,
        "viewer": viewer,
        "outsider": outsider,
    }


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def token_for(db: None):
    """token_for(user, community) -> raw bearer token acting as that user there."""

    def make(user: User, community: Community) -> str:
        _token, raw = services.api_token_create(
            actor=None, community=community, user=user, name="test"
        )
        return raw

    return make


__all__ = ["PASSWORD"]
