"""members.privacy: the JSON export and erasure (GDPR) — every copy of a member's personal data
goes, activity rows stay so KPI history does not change, the erasure is audited without the
erased data; the profile's Privacy card, the confirmation page and the API."""

import json

import pytest
from django.db import DatabaseError, connection, transaction

from members import privacy, services_intros
from members import services_relations as svc
from members.audit import audit_record
from members.exceptions import ConflictError
from members.ingestion import activities_ingest
from members.models import (
    Activity,
    AuditEvent,
    Identity,
    Introduction,
    KeyRole,
    Member,
    MemberTag,
    MergeSuggestion,
    Note,
)
from tests.members.directory_data import activity

pytestmark = pytest.mark.django_db

NAME, USERNAME, EMAIL = "Zoë Quartermaine", "zquarter", "zoe.q@example.org"
GH_USERNAME, GH_EMAIL = "zq-codes", "zq@work.example.org"
PII = (
    NAME,
    USERNAME,
    EMAIL,
    GH_USERNAME,
    GH_EMAIL,
    "Message 1",
    "Secret plan",
    "/t/1",
    "/t/2",
    "/t/3",
)


@pytest.fixture
def member(community, manager):
    items = [
        activity(1, "u-zoe", days_ago=3, username=USERNAME, name=NAME, email=EMAIL),
        activity(2, "u-zoe", days_ago=2),
        activity(3, "gh-9", days_ago=1, platform="github", username=GH_USERNAME, email=GH_EMAIL),
        activity(4, "u-bob", days_ago=1, username="bobby", name="Bob Other"),
    ]
    items[0]["metadata"] = {"topic": "Secret plan"}
    activities_ingest(community=community, items=items, source="test")
    zoe = Member.objects.get(identities__platform_user_id="u-zoe")
    github = Identity.objects.get(platform_user_id="gh-9")
    bob = Member.objects.get(identities__platform_user_id="u-bob")
    if github.member_id != zoe.pk:  # one person on two platforms (as a merge would leave them)
        Identity.objects.filter(pk=github.pk).update(member=zoe)
        Activity.objects.filter(member_id=github.member_id).update(member=zoe)
        Member.objects.filter(pk=github.member_id).delete()
    Member.objects.filter(pk=zoe.pk).update(display_name=NAME, email=EMAIL)
    zoe.refresh_from_db()
    svc.note_create(actor=manager, member=zoe, body="Secret plan: invite Zoë to speak")
    svc.member_tag(actor=manager, member=zoe, tag_name="speaker")
    svc.member_tag(actor=manager, member=bob, tag_name="speaker")
    svc.member_set_key_role(actor=manager, member=zoe, key_role=KeyRole.CHAMPION, owner=manager)
    services_intros.introduction_create(
        actor=manager, member_a=bob, member_b=zoe, reason=f"{NAME} wants to meet other speakers"
    )
    a, b = sorted([zoe, bob], key=lambda m: m.pk)
    MergeSuggestion.objects.create(
        community=community, member_a=a, member_b=b, reason=MergeSuggestion.Reason.SAME_EMAIL
    )
    # A record about someone else that quotes her (as a merge record does): redacted too.
    audit_record(
        actor=manager,
        community=community,
        action="member.merge",
        target=bob,
        after={"merged": [NAME, EMAIL]},
    )
    return zoe


def dump(*models) -> str:
    return json.dumps([list(m.objects.values()) for m in models], default=str, ensure_ascii=False)


ALL_TABLES = (
    Member,
    Identity,
    Activity,
    Note,
    MemberTag,
    MergeSuggestion,
    Introduction,
    AuditEvent,
)


# --- export --------------------------------------------------------------------------------------


def test_export_has_every_section_and_is_audited_without_the_data(manager, member):
    data = privacy.member_export(actor=manager, member=member)

    assert set(data) == {
        "member",
        "identities",
        "activities",
        "notes",
        "tags",
        "merge_suggestions",
        "introductions",
        "audit_events",
    }
    assert data["member"]["email"] == EMAIL
    assert data["member"]["relationship_owner"] == manager.email
    assert {i["username"] for i in data["identities"]} == {USERNAME, GH_USERNAME}
    assert len(data["activities"]) == 3
    assert data["activities"][0]["metadata"] == {"topic": "Secret plan"}
    assert data["notes"][0]["author"] == manager.email
    assert data["notes"][0]["body"].startswith("Secret plan")
    assert data["tags"] == ["speaker"]
    assert data["merge_suggestions"][0]["reason"] == "same_email"
    assert data["introductions"][0]["reason"].endswith("wants to meet other speakers")
    assert {e["action"] for e in data["audit_events"]} >= {"member.tag", "member.key_role"}
    json.dumps(data)  # JSON-ready as it is

    event = AuditEvent.objects.order_by("-id").first()
    assert event.action == "member.export"
    assert event.after["activities"] == 3
    assert "Secret plan" not in json.dumps(event.after)
    assert EMAIL not in json.dumps(event.after)


# --- erasure -------------------------------------------------------------------------------------


def test_erase_removes_every_copy_of_the_personal_data(manager, member):
    privacy.member_erase(actor=manager, member=member, reason="Asked by email")

    everything = dump(*ALL_TABLES).lower()
    for value in PII:
        assert value.lower() not in everything, value
    assert "u-zoe" not in everything  # the platform id is replaced by a token
    member.refresh_from_db()
    assert (member.display_name, member.email, member.key_role) == ("Erased member", None, "")
    assert member.relationship_owner is None and member.erased_at is not None
    assert not Note.objects.filter(member=member).exists()
    assert not MemberTag.objects.filter(member=member).exists()
    assert not MergeSuggestion.objects.exists()
    assert Introduction.objects.get().reason == ""  # the intro stays, its free text goes
    assert set(
        Identity.objects.filter(member=member).values_list("platform_user_id", flat=True)
    ) == {
        privacy.erased_token("discourse", "u-zoe"),
        privacy.erased_token("github", "gh-9"),
    }


def test_erase_keeps_kpi_history_and_other_members(manager, member):
    def history():
        return list(Activity.objects.order_by("id").values_list("member_id", "kind", "occurred_at"))

    before, bob_before = history(), Member.objects.get(display_name="Bob Other")
    privacy.member_erase(actor=manager, member=member)

    assert history() == before
    assert Activity.objects.filter(member=member).count() == 3
    bob = Member.objects.get(pk=bob_before.pk)
    assert bob.display_name == "Bob Other"
    assert Identity.objects.get(member=bob).username == "bobby"
    assert Activity.objects.get(member=bob).content == "Message 4"
    assert MemberTag.objects.filter(member=bob).count() == 1


def test_the_erase_audit_row_has_counts_and_the_reason_but_no_personal_data(manager, member):
    privacy.member_erase(actor=manager, member=member, reason="GDPR request")

    event = AuditEvent.objects.get(action="member.erase")
    assert event.target_label == "Erased member"
    assert event.after == {
        "member": str(member.public_id),
        "identities": 2,
        "activities": 3,
        "notes": 1,
        "tags": 1,
        "merge_suggestions": 1,
        "introductions": 1,
        "audit_events_redacted": event.after["audit_events_redacted"],
        "reason": "GDPR request",
    }
    assert event.after["audit_events_redacted"] == 3  # tag, key role, the merge record
    # Rows about the member stay, redacted; nothing is deleted from the log.
    redacted = AuditEvent.objects.filter(target_id=str(member.public_id)).exclude(pk=event.pk)
    assert redacted.exists()
    assert set(redacted.values_list("target_label", "before", "after")) == {
        ("Erased member", None, None)
    }


def test_erasing_twice_is_a_conflict(manager, member):
    privacy.member_erase(actor=manager, member=member)
    count = AuditEvent.objects.count()
    with pytest.raises(ConflictError):
        privacy.member_erase(actor=manager, member=member)
    assert AuditEvent.objects.count() == count


def test_reingesting_the_same_platform_user_makes_a_new_member_not_the_erased_one(
    community, manager, member
):
    privacy.member_erase(actor=manager, member=member)
    activities_ingest(
        community=community, items=[activity(9, "u-zoe", username=USERNAME)], source="test"
    )
    member.refresh_from_db()
    assert member.display_name == "Erased member"
    assert Activity.objects.filter(member=member).count() == 3
    assert Identity.objects.get(platform_user_id="u-zoe").member_id != member.pk


def test_other_apps_reach_erasure_and_export_through_the_registry(manager, member):
    seen = []

    def erase_reports(*, member):
        seen.append(member.display_name)
        return 2

    privacy.register_eraser("reports", erase_reports)
    privacy.register_exporter("reports", lambda *, member: [{"id": 1}])
    try:
        assert privacy.member_export(actor=manager, member=member)["reports"] == [{"id": 1}]
        privacy.member_erase(actor=manager, member=member)
    finally:
        privacy.unregister("reports")
    assert seen == ["Erased member"]
    assert AuditEvent.objects.get(action="member.erase").after["reports"] == 2


# --- PostgreSQL: the append-only trigger -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_postgres_erasure_redacts_through_the_trigger_and_nothing_else_may(
    requires_postgres, manager, member
):
    with transaction.atomic():
        privacy.member_erase(actor=manager, member=member)
        # Redaction is switched off again at once, even inside the same transaction.
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute("UPDATE members_auditevent SET target_label = 'x'")

    assert not AuditEvent.objects.filter(target_label=NAME).exists()
    assert NAME not in dump(AuditEvent)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE members_auditevent SET target_label = 'x'")


# --- pages ---------------------------------------------------------------------------------------


def page(member, suffix=""):
    return f"/c/{member.community.slug}/members/{member.public_id}/{suffix}"


def test_the_profile_privacy_card_follows_the_role(client, manager, moderator, member):
    client.force_login(manager)
    body = client.get(page(member)).content.decode()
    assert page(member, "export.json") in body and page(member, "erase/") in body
    client.force_login(moderator)
    body = client.get(page(member)).content.decode()
    assert page(member, "export.json") not in body and page(member, "erase/") not in body


def test_the_json_download(client, manager, member):
    client.force_login(manager)
    response = client.get(page(member, "export.json"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert json.loads(response.content)["member"]["display_name"] == NAME
    assert AuditEvent.objects.filter(action="member.export").count() == 1


def test_the_confirmation_page_says_what_goes_in_a_fixed_number_of_queries(
    client, manager, member, django_assert_num_queries
):
    client.force_login(manager)
    # 1 session, 2 user, 3 membership + community, 4 member with its counts, 5 navigation.
    with django_assert_num_queries(5):
        response = client.get(page(member, "erase/"))
    body = response.content.decode()
    assert "cannot be undone" in body
    assert "3 activities" in body and "2 accounts" in body and "1 note," in body


def test_erasing_needs_the_confirmation_then_leaves_an_erased_profile(client, manager, member):
    client.force_login(manager)
    response = client.post(page(member, "erase/"), {"reason": "asked"})
    assert response.status_code == 400
    member.refresh_from_db()
    assert member.erased_at is None

    response = client.post(page(member, "erase/"), {"confirm": "on", "reason": "asked"})
    assert response.status_code == 302
    body = client.get(page(member)).content.decode()
    assert "Erased" in body
    for value in PII:
        assert value not in body, value
    assert page(member, "erase/") not in body
    # A second POST (another tab) is refused with a message, not an error page.
    response = client.post(page(member, "erase/"), {"confirm": "on"}, follow=True)
    assert "already been erased" in response.content.decode()


# --- API -----------------------------------------------------------------------------------------


def api(member, suffix):
    return f"/api/v1/communities/{member.community.slug}/members/{member.public_id}/{suffix}/"


def test_api_export_and_erase(api_client, manager, member):
    api_client.force_login(manager)
    response = api_client.get(api(member, "export"))
    assert response.status_code == 200
    assert response.json()["member"]["email"] == EMAIL

    response = api_client.post(api(member, "erase"), {"reason": "asked"}, format="json")
    assert response.status_code == 200
    assert response.json()["display_name"] == "Erased member"
    assert response.json()["erased_at"]

    response = api_client.post(api(member, "erase"), {}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


def test_the_schema_documents_export_and_erase(api_client, manager):
    api_client.force_login(manager)
    schema = api_client.get("/api/schema/?format=json").json()
    base = "/api/v1/communities/{community_slug}/members/{member_id}"
    export = schema["paths"][f"{base}/export/"]["get"]["responses"]["200"]
    assert export["content"]["application/json"]["schema"]["$ref"].endswith("/MemberExportOut")
    erase = schema["paths"][f"{base}/erase/"]["post"]
    assert "MemberEraseIn" in erase["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "409" in erase["responses"]
