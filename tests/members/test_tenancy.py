import pytest
from django.core.exceptions import ImproperlyConfigured

from members.api_base import CommunityViewSet
from members.permissions import CAPABILITIES, Capability, role_can
from members.views_base import CommunityView

pytestmark = pytest.mark.django_db


def test_capability_table_matches_the_architecture():
    assert CAPABILITIES["admin"] == frozenset(Capability)
    assert Capability.ADMINISTER not in CAPABILITIES["manager"]
    assert role_can("moderator", Capability.MODERATE)
    assert role_can("moderator", Capability.MEMBERS_NOTES)
    assert not role_can("moderator", Capability.MEMBERS_EDIT)
    assert not role_can("moderator", Capability.MEMBERS_PII)
    assert not role_can("moderator", Capability.PROGRAMMING_EDIT)
    assert role_can("viewer", Capability.DASHBOARDS)
    assert not role_can("viewer", Capability.MEMBERS_READ)
    assert not role_can(None, Capability.DASHBOARDS)


def test_a_community_view_cannot_override_dispatch():
    with pytest.raises(TypeError):
        type(
            "Sneaky",
            (CommunityView,),
            {"read_capability": Capability.DASHBOARDS, "dispatch": lambda self, request: None},
        )


def test_a_community_view_must_name_its_capability():
    with pytest.raises(ImproperlyConfigured):
        type("Careless", (CommunityView,), {})


@pytest.mark.parametrize("method", ["initial", "get_queryset", "check_permissions"])
def test_a_community_viewset_cannot_override_its_scoping(method):
    with pytest.raises(TypeError):
        type(
            "Sneaky",
            (CommunityViewSet,),
            {"read_capability": Capability.DASHBOARDS, method: lambda self, *a, **k: None},
        )


def test_stranger_gets_404_not_403(client, outsider, community):
    client.force_login(outsider)
    assert client.get(f"/c/{community.slug}/").status_code == 404


def test_home_page_per_role(client, personas, community):
    for role in ("admin", "manager", "moderator", "viewer"):
        client.force_login(personas[role])
        response = client.get(f"/c/{community.slug}/")
        assert response.status_code == 200
        assert f"members/home_{role}.html" in [t.name for t in response.templates]
