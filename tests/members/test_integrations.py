"""Integrations: the secret is stored encrypted and audited without itself, the delivery records
keep counts without lost updates and a bounded error list, the page and the API show each
platform without ever returning a secret."""

import hashlib
import hmac
import json

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import override_settings

from members import crypto
from members.exceptions import ApplicationError
from members.integrations import (
    integration_record_delivery,
    integration_record_error,
    integration_set_secret,
    integrations_of,
    webhook_secret,
)
from members.models import AuditEvent, Integration

pytestmark = pytest.mark.django_db

SECRET = "s3cret-for-the-hooks"


@pytest.fixture
def admin_client(client, admin):
    client.force_login(admin)
    return client


def set_secret(admin, community, platform="github", secret=SECRET) -> Integration:
    return integration_set_secret(
        actor=admin, community=community, platform=platform, secret=secret
    )


# --- the secret ---------------------------------------------------------------------------------


def test_the_secret_is_stored_encrypted_never_in_clear(admin, community):
    integration = set_secret(admin, community)

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Integration._meta.db_table}")  # noqa: S608
        raw_row = repr(cursor.fetchall())
    assert SECRET not in raw_row
    assert integration.secret_encrypted != SECRET
    assert webhook_secret(integration) == SECRET


def test_setting_a_secret_is_audited_without_the_secret(admin, community):
    set_secret(admin, community)
    set_secret(admin, community, secret="another-secret-value")

    events = list(AuditEvent.objects.filter(action="integration.secret_set").order_by("id"))
    assert len(events) == 2
    assert events[0].before == {"platform": "github", "configured": False}
    assert events[1].before == {"platform": "github", "configured": True}
    assert events[1].after["secret"] == "secret changed"
    for event in events:
        dumped = json.dumps([event.before, event.after, event.target_label])
        assert SECRET not in dumped
        assert "another-secret-value" not in dumped
    assert Integration.objects.count() == 1  # replaced, not added


@pytest.mark.parametrize(
    ("platform", "secret", "field"),
    [
        ("github", "short", "secret"),
        ("github", "   \t    ", "secret"),
        ("github", "x" * 513, "secret"),
        ("github", "nul\x00in-the-secret", "secret"),
        ("discord", SECRET, "platform"),
    ],
)
def test_invalid_secrets_and_platforms_are_refused(admin, community, platform, secret, field):
    with pytest.raises(ApplicationError) as error:
        set_secret(admin, community, platform=platform, secret=secret)
    assert error.value.field == field
    assert not Integration.objects.exists()
    assert not AuditEvent.objects.filter(action="integration.secret_set").exists()


def test_a_dedicated_key_still_opens_secrets_stored_under_the_secret_key(admin, community):
    integration = set_secret(admin, community)
    with override_settings(HEARTH_ENCRYPTION_KEY=Fernet.generate_key().decode()):
        assert webhook_secret(integration) == SECRET
        newer = set_secret(admin, community, secret="set-under-the-new-key")
    assert webhook_secret(newer) is None  # the dedicated key is gone: unreadable, not a crash


def test_a_changed_secret_key_makes_the_webhook_refuse_and_say_why(client, admin, community):
    set_secret(admin, community)
    body = b'{"zen": "Keep it logically awesome."}'
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    with override_settings(SECRET_KEY="a-different-secret-key-" + "x" * 40):
        response = client.post(
            "/hooks/acme/github/",
            data=body,
            content_type="application/json",
            headers={"X-GitHub-Event": "ping", "X-Hub-Signature-256": signature},
        )
    assert response.status_code == 401
    assert "set it again" in Integration.objects.get().last_errors[0]["reason"]


def test_crypto_round_trip_and_garbage():
    assert crypto.decrypt(crypto.encrypt("ünïcode secret")) == "ünïcode secret"
    assert crypto.decrypt("not-a-token") is None
    assert crypto.decrypt("é") is None


# --- delivery records ---------------------------------------------------------------------------


def test_counters_are_incremented_in_the_database_so_stale_copies_lose_nothing(admin, community):
    stale_a = set_secret(admin, community)
    stale_b = Integration.objects.get(pk=stale_a.pk)

    integration_record_delivery(integration=stale_a)
    integration_record_delivery(integration=stale_b)
    integration_record_delivery(integration=stale_a, unknown=True)
    integration_record_error(integration=stale_b, reason="bad", rejected=True)
    integration_record_error(integration=stale_a, reason="unreadable")

    fresh = Integration.objects.get(pk=stale_a.pk)
    assert (fresh.deliveries_ok, fresh.unknown_events, fresh.deliveries_rejected) == (2, 1, 1)
    assert [e["reason"] for e in fresh.last_errors] == ["unreadable", "bad"]


def test_only_the_last_ten_errors_are_kept_newest_first(admin, community):
    integration = set_secret(admin, community)
    for n in range(13):
        integration_record_error(integration=integration, reason=f"error {n}", rejected=True)

    integration.refresh_from_db()
    assert [e["reason"] for e in integration.last_errors] == [
        f"error {n}" for n in range(12, 2, -1)
    ]
    assert integration.deliveries_rejected == 13


def test_error_reasons_are_bounded(admin, community):
    integration = set_secret(admin, community)
    integration_record_error(integration=integration, reason="x" * 5000)
    integration.refresh_from_db()
    assert len(integration.last_errors[0]["reason"]) == 300


def test_integrations_of_lists_every_platform_in_one_query(
    admin, community, django_assert_num_queries
):
    set_secret(admin, community, platform="slack")
    with django_assert_num_queries(1):
        cards = integrations_of(community)
    assert [(c.platform, c.configured) for c in cards] == [
        ("discourse", False),
        ("slack", True),
        ("github", False),
    ]
    assert cards[1].webhook_url == "http://127.0.0.1:8000/hooks/acme/slack/"


# --- the page -----------------------------------------------------------------------------------


@override_settings(SITE_URL="https://hearth.example.org")
def test_the_page_shows_urls_status_counts_and_escaped_errors(admin_client, admin, community):
    integration = set_secret(admin, community)
    integration_record_delivery(integration=integration)
    integration_record_error(integration=integration, reason="<script>alert(1)</script>")

    response = admin_client.get("/c/acme/integrations/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "https://hearth.example.org/hooks/acme/discourse/" in html
    assert "https://hearth.example.org/hooks/acme/github/" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert SECRET not in html
    assert 'type="password"' in html
    for platform in ("discourse", "slack", "github"):  # three forms, no duplicate ids
        assert html.count(f'id="{platform}-secret"') == 1
    assert response["Cache-Control"].startswith("max-age=0")
    assert 'href="/c/acme/integrations/"' in html  # in the Administration navigation


def test_integrations_page_query_budget(admin_client, admin, community, django_assert_num_queries):
    for platform in ("discourse", "slack", "github"):
        integration = set_secret(admin, community, platform=platform)
        integration_record_error(integration=integration, reason="bad", rejected=True)
    # 1 session, 2 user, 3 membership + community, 4 integrations, 5 navigation.
    with django_assert_num_queries(5):
        assert admin_client.get("/c/acme/integrations/").status_code == 200


def test_the_page_sets_a_secret_and_never_shows_it_again(admin_client, community):
    response = admin_client.post(
        "/c/acme/integrations/", {"platform": "slack", "secret": SECRET}, follow=True
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert SECRET not in html
    assert "Replace secret" in html
    assert webhook_secret(Integration.objects.get(platform="slack")) == SECRET


def test_the_page_shows_form_errors_for_a_short_secret(admin_client, community):
    response = admin_client.post("/c/acme/integrations/", {"platform": "slack", "secret": "abc"})

    assert response.status_code == 400
    html = response.content.decode()
    slack_card = html[html.index('id="slack-h"') : html.index('id="github-h"')]
    assert "at least 8 characters" in slack_card  # the error is on the card it came from
    assert 'value="abc"' not in html  # a password input is never re-filled
    assert not Integration.objects.exists()


def test_managers_cannot_open_the_page(client, manager):
    client.force_login(manager)
    assert client.get("/c/acme/integrations/").status_code == 403


# --- the API ------------------------------------------------------------------------------------


def test_api_lists_every_platform_without_secrets(api_client, admin, community):
    set_secret(admin, community, platform="discourse")
    api_client.force_login(admin)

    response = api_client.get("/api/v1/communities/acme/integrations/")

    assert response.status_code == 200
    body = response.json()
    assert [entry["platform"] for entry in body] == ["discourse", "slack", "github"]
    assert body[0]["configured"] is True
    assert body[0]["webhook_url"].endswith("/hooks/acme/discourse/")
    assert body[1]["configured"] is False
    assert SECRET not in response.content.decode()
    assert all("secret" not in entry for entry in body)


def test_api_put_sets_the_secret(api_client, admin, community):
    api_client.force_login(admin)

    response = api_client.put(
        "/api/v1/communities/acme/integrations/github/", {"secret": SECRET}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["configured"] is True
    assert SECRET not in response.content.decode()
    assert webhook_secret(Integration.objects.get(platform="github")) == SECRET
    assert AuditEvent.objects.filter(action="integration.secret_set").count() == 1


def test_api_put_bad_input(api_client, admin, community):
    api_client.force_login(admin)
    url = "/api/v1/communities/acme/integrations/github/"

    short = api_client.put(url, {"secret": "abc"}, format="json")
    missing = api_client.put(url, {}, format="json")
    unknown = api_client.put(
        "/api/v1/communities/acme/integrations/discord/", {"secret": SECRET}, format="json"
    )

    assert short.status_code == 400
    assert "secret" in short.json()["errors"]
    assert missing.status_code == 400
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"
    assert not Integration.objects.exists()


def test_the_schema_documents_the_integrations_endpoints(client):
    schema = client.get("/api/schema/", headers={"Accept": "application/vnd.oai.openapi+json"})
    text = schema.content.decode()
    assert "/api/v1/communities/{community_slug}/integrations/" in text
    assert "IntegrationOut" in text
    assert "IntegrationSecretIn" in text
