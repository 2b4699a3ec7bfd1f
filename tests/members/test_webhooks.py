"""Webhooks: each platform's signature (published vectors, valid, invalid, missing, stale), the
mapping of real payloads (tests/fixtures/, see SOURCES.md) onto the ledger, redelivery, unknown
events, limits and the delivery records."""

import hashlib
import hmac
import json
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import override_settings

from members.integrations import integration_set_secret
from members.models import Activity, Identity, Integration
from members.webhooks import MAX_BODY_BYTES, verify_sha256_header, verify_slack

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SECRET = "hook-test-secret-0123"
INSTANCE = "https://forum.example.org"


def fixture(platform: str, name: str) -> bytes:
    return (FIXTURES / platform / f"{name}.json").read_bytes()


def sha256_header(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def slack_headers(body: bytes, ts: int | None = None, secret: str = SECRET) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    base = b"v0:" + str(ts).encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": signature}


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def hooks(community, admin) -> dict[str, Integration]:
    return {
        platform: integration_set_secret(
            actor=admin, community=community, platform=platform, secret=SECRET
        )
        for platform in ("discourse", "slack", "github")
    }


def post(client, platform: str, body: bytes, headers: dict[str, str], slug: str = "acme"):
    return client.post(
        f"/hooks/{slug}/{platform}/", data=body, content_type="application/json", headers=headers
    )


def discourse(client, name: str, event: str, *, body: bytes | None = None, signature=None):
    body = fixture("discourse", name) if body is None else body
    headers = {
        "X-Discourse-Event": event,
        "X-Discourse-Instance": INSTANCE,
        "X-Discourse-Event-Signature": signature or sha256_header(body),
    }
    return post(client, "discourse", body, headers)


def github(client, name: str, *, body: bytes | None = None, signature=None):
    body = fixture("github", name) if body is None else body
    event = name.split(".")[0]  # the event name is the first part of the file name
    headers = {"X-GitHub-Event": event, "X-Hub-Signature-256": signature or sha256_header(body)}
    return post(client, "github", body, headers)


def slack(client, name: str, *, body: bytes | None = None, ts: int | None = None):
    body = fixture("slack", name) if body is None else body
    return post(client, "slack", body, slack_headers(body, ts))


def counters(integration: Integration) -> tuple[int, int, int]:
    integration.refresh_from_db()
    return (
        integration.deliveries_ok,
        integration.deliveries_rejected,
        integration.unknown_events,
    )


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "errors"}
    assert body["code"] == code
    return body


# --- published signature vectors (shared/fixtures/signature_vectors.json) ---------------------

SHA256_VECTORS = [
    # GitHub docs, "Validating webhook deliveries" (CC-BY-4.0)
    (
        "It's a Secret to Everybody",
        b"Hello, World!",
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    ),
    # octokit/webhooks-methods.js tests (MIT)
    (
        "mysecret",
        b'{"foo":"bar"}',
        "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3",
    ),
    (
        "mysecret",
        b'{\n  "foo": "bar"\n}\n',
        "sha256=e3eccac34c43c7dc1cbb905488b1b81347fcc700a7b025697a9d07862256023f",
    ),
    (
        "development",
        (
            '{\n  "foo": "Foo\\n\\u001B[34mbar: ♥♥♥♥♥♥♥♥\\nthis-is-lost\\u001B[0m\\u001B[2K"\n}\n'
        ).encode(),
        "sha256=9dacf9003316b09be07df56d86a2d0d6872e42a1e6c72c3bad9ff915a7c5603e",
    ),
    (
        "development",
        b'{\n  "foo": "\\\\u001b"\n}\n',
        "sha256=87316067e2011fae39998b18c46a14d83b3e7c3ffdd88fb2ee5afb7d11288e60",
    ),
    # Discourse core spec, emit_web_hook_event_spec.rb: the ping delivery
    (
        "my_lovely_secret_for_web_hook",
        b'{"ping":"OK"}',
        "sha256=162f107f6b5022353274eb1a7197885cfd35744d8d08e5bcea025d309386b7d6",
    ),
]
SLACK_VECTOR = {  # Slack docs, "Verifying requests from Slack"; python-slack-sdk tests (MIT)
    "secret": "8f742231b10e8888abcd99yyyzzz85a5",
    "timestamp": "1531420618",
    "body": (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
        b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook"
        b"-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39770"
        b"0885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d1"
        b"0d2c447fce8b6703c"
    ),
    "expected": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
}


@pytest.mark.parametrize(("secret", "body", "expected"), SHA256_VECTORS)
def test_sha256_signatures_match_the_published_vectors(secret, body, expected):
    assert verify_sha256_header(secret, body, expected) is None
    assert verify_sha256_header(secret + "x", body, expected) == "signature does not match"
    assert verify_sha256_header(secret, body + b" ", expected) == "signature does not match"
    assert verify_sha256_header(secret, body, None) == "missing signature header"


def test_the_legacy_sha1_header_is_not_accepted():
    legacy = "sha1=d03207e4b030cf234e3447bac4d93add4c6643d8"  # octokit's sha1 vector
    assert verify_sha256_header("mysecret", b'{"foo":"bar"}', legacy) is not None


def test_slack_signature_matches_the_published_vector_with_its_own_clock():
    v = SLACK_VECTOR
    ts = int(v["timestamp"])
    assert verify_slack(v["secret"], v["body"], v["timestamp"], v["expected"], now=ts) is None
    assert verify_slack(v["secret"], v["body"], v["timestamp"], v["expected"], now=ts + 300) is None
    assert "stale" in verify_slack(
        v["secret"], v["body"], v["timestamp"], v["expected"], now=ts + 301
    )
    assert "stale" in verify_slack(
        v["secret"], v["body"], v["timestamp"], v["expected"], now=ts - 301
    )
    assert verify_slack("wrong", v["body"], v["timestamp"], v["expected"], now=ts) is not None
    assert verify_slack(v["secret"], v["body"], None, v["expected"], now=ts) is not None
    assert verify_slack(v["secret"], v["body"], "12a", v["expected"], now=ts) is not None


# --- refused deliveries store nothing ----------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},
        {"X-Hub-Signature-256": "sha1=d03207e4b030cf234e3447bac4d93add4c6643d8"},
        {"X-Hub-Signature-256": "sha256=é"},
    ],
    ids=["missing", "wrong", "sha1", "non-ascii"],
)
def test_github_bad_or_missing_signature_is_401_and_stores_nothing(client, hooks, headers):
    body = fixture("github", "issues.opened")
    response = post(client, "github", body, {"X-GitHub-Event": "issues", **headers})

    assert_error(response, 401, "invalid_signature")
    assert not Activity.objects.exists()
    assert not Identity.objects.exists()
    assert counters(hooks["github"]) == (0, 1, 0)
    assert hooks["github"].last_error_at is not None
    assert "signature" in hooks["github"].last_errors[0]["reason"]


def test_discourse_signature_made_with_another_secret_is_401(client, hooks):
    body = fixture("discourse", "topic_created")
    response = discourse(
        client, "topic_created", "topic_created", signature=sha256_header(body, "other-secret")
    )
    assert_error(response, 401, "invalid_signature")
    assert not Activity.objects.exists()
    assert counters(hooks["discourse"]) == (0, 1, 0)


def test_slack_bad_signature_is_401(client, hooks):
    body = fixture("slack", "message")
    headers = slack_headers(body, secret="not-the-secret")
    assert_error(post(client, "slack", body, headers), 401, "invalid_signature")
    assert not Activity.objects.exists()


@pytest.mark.parametrize("skew", [-301, 301, -3600])
def test_slack_timestamp_more_than_five_minutes_away_is_401(client, hooks, skew):
    response = slack(client, "message", ts=int(time.time()) + skew)
    body = assert_error(response, 401, "invalid_signature")
    assert "stale" in body["message"]
    assert not Activity.objects.exists()
    assert counters(hooks["slack"]) == (0, 1, 0)


def test_slack_timestamp_within_five_minutes_is_accepted(client, hooks):
    assert slack(client, "message", ts=int(time.time()) - 290).status_code == 200


def test_unknown_community_platform_or_unconfigured_integration_is_404(client, community):
    body = fixture("github", "ping")
    headers = {"X-GitHub-Event": "ping", "X-Hub-Signature-256": sha256_header(body)}
    assert_error(post(client, "github", body, headers, slug="nope"), 404, "not_found")
    assert_error(post(client, "github", body, headers), 404, "not_found")  # no secret set
    assert_error(post(client, "discord", body, headers), 404, "not_found")


def test_get_is_405(client, hooks):
    assert client.get("/hooks/acme/github/").status_code == 405


def test_a_body_over_one_mib_is_413_and_stores_nothing(client, hooks):
    body = b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    response = github(client, "issues.opened", body=body)
    assert_error(response, 413, "too_large")
    assert not Activity.objects.exists()
    assert counters(hooks["github"]) == (0, 0, 0)


def test_a_signed_body_that_is_not_json_is_400_and_recorded(client, hooks):
    response = github(client, "issues.opened", body=b"\xff\xfe not json")
    assert_error(response, 400, "invalid")
    assert counters(hooks["github"]) == (0, 0, 0)
    assert "JSON" in hooks["github"].last_errors[0]["reason"]


def test_a_payload_missing_its_fields_is_400_and_recorded(client, hooks):
    response = github(client, "issues.opened", body=b'{"action": "opened", "issue": {}}')
    assert_error(response, 400, "invalid")
    assert "missing" in Integration.objects.get(platform="github").last_errors[0]["reason"]


def test_a_payload_whose_activity_is_rejected_is_422_with_the_errors(client, hooks):
    payload = json.loads(fixture("github", "issues.opened"))
    payload["issue"]["created_at"] = "2019-05-15T15:20:18"  # naive: ingestion refuses it
    response = github(client, "issues.opened", body=json.dumps(payload).encode())

    body = assert_error(response, 422, "invalid")
    assert "occurred_at" in body["errors"]
    assert not Activity.objects.exists()
    integration = hooks["github"]
    assert counters(integration) == (0, 0, 0)
    assert integration.last_errors[0]["reason"].startswith("activity rejected")


@override_settings(HEARTH_WEBHOOK_RATE_PER_MINUTE=2)
def test_deliveries_over_the_rate_are_429(client, hooks):
    assert github(client, "ping").status_code == 200
    assert github(client, "ping").status_code == 200
    assert_error(github(client, "ping"), 429, "throttled")
    assert discourse(client, "ping", "ping").status_code == 200  # counted per platform


# --- Discourse --------------------------------------------------------------------------------


def test_discourse_ping_is_acknowledged(client, hooks):
    response = discourse(client, "ping", "ping")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert counters(hooks["discourse"]) == (1, 0, 0)
    assert not Activity.objects.exists()


def test_discourse_topic_created_is_a_post(client, hooks):
    response = discourse(client, "topic_created", "topic_created")

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "duplicates": 0}
    activity = Activity.objects.select_related("member").get()
    assert (activity.platform, activity.external_id, activity.kind) == (
        "discourse",
        "topic-412",
        "post",
    )
    assert activity.thread_id == "topic-412"
    assert activity.channel == "category-5"
    assert activity.url == f"{INSTANCE}/t/wifi-drops-after-suspend-on-the-t14/412"
    assert activity.content == "Wifi drops after suspend on the T14"
    assert activity.occurred_at.isoformat().startswith("2025-09-02T14:03:11")
    identity = Identity.objects.get(member=activity.member)
    assert (identity.platform_user_id, identity.username, identity.name) == (
        "77",
        "grace_h",
        "Grace Hopper",
    )
    assert counters(hooks["discourse"]) == (1, 0, 0)
    assert hooks["discourse"].last_delivery_at is not None


def test_discourse_first_post_and_reply_thread_together(client, hooks):
    first = discourse(client, "post_created.topic_first_post", "post_created")
    reply = discourse(client, "post_created.reply", "post_created")

    assert first.json() == {"created": 1, "duplicates": 0}
    assert reply.json() == {"created": 1, "duplicates": 0}
    opening = Activity.objects.get(external_id="topic-11")
    answer = Activity.objects.get(external_id="post-15")
    assert (opening.kind, opening.thread_id) == ("post", "topic-11")
    assert (answer.kind, answer.thread_id, answer.parent_id) == ("reply", "topic-11", "topic-11")
    assert answer.replied_to_member_id == opening.member_id  # Anillc answering Anillc
    assert (
        answer.url
        == f"{INSTANCE}/t/{'welcome-to-discourse-thanks-for-starting-a-new-conversation'}/11/2"
    )
    assert "thanks for contributing" in answer.content


def test_discourse_topic_created_and_its_first_post_count_once(client, hooks):
    """Both events describe the opening post: whichever comes second is a duplicate."""
    discourse(client, "post_created.topic_first_post", "post_created")
    topic = {
        "topic": {
            "id": 11,
            "title": "Welcome to Discourse",
            "slug": "welcome",
            "created_at": "2023-01-15T19:29:25.700Z",
            "archetype": "regular",
            "user_id": 1,
            "created_by": {"id": 1, "username": "Anillc", "name": "Anillc"},
        }
    }
    response = discourse(client, "", "topic_created", body=json.dumps(topic).encode())

    assert response.json() == {"created": 0, "duplicates": 1}
    assert Activity.objects.count() == 1


def test_discourse_like_is_a_reaction_to_the_post(client, hooks):
    response = discourse(client, "post_liked", "post_liked")

    assert response.status_code == 200, response.content
    like = Activity.objects.get()
    assert (like.external_id, like.kind) == ("like-9031-77", "reaction")
    assert (like.thread_id, like.parent_id) == ("topic-412", "post-9031")
    assert Identity.objects.get(member=like.member).username == "grace_h"  # the liker


def test_discourse_user_created_is_a_join_with_the_email(client, hooks):
    discourse(client, "user_created", "user_created")

    join = Activity.objects.select_related("member").get()
    assert (join.external_id, join.kind) == ("user-79", "join")
    assert join.member.email == "katherine@example.org"
    assert join.member.joined_at == join.occurred_at


def test_discourse_unknown_events_are_acknowledged_and_counted(client, hooks):
    body = b'{"topic":{"id":412}}'
    response = discourse(client, "", "topic_edited", body=body)

    assert response.status_code == 200
    assert response.json() == {"ignored": True}
    assert counters(hooks["discourse"]) == (0, 0, 1)
    assert not Activity.objects.exists()


def test_discourse_whispers_and_private_messages_are_ignored(client, hooks):
    post_ = json.loads(fixture("discourse", "post_created.reply"))
    post_["post"]["post_type"] = 4
    assert discourse(client, "", "post_created", body=json.dumps(post_).encode()).json() == {
        "ignored": True
    }
    post_["post"]["post_type"] = 1
    post_["post"]["topic_archetype"] = "private_message"
    assert discourse(client, "", "post_created", body=json.dumps(post_).encode()).json() == {
        "ignored": True
    }
    assert not Activity.objects.exists()


# --- GitHub -----------------------------------------------------------------------------------

REPO = 186853002  # Codertocat/Hello-World in the octokit examples


@pytest.mark.parametrize(
    ("name", "external_id", "kind", "thread_id", "parent_id"),
    [
        ("issues.opened", f"issue-{REPO}-1", "post", f"issue-{REPO}-1", ""),
        ("pull_request.opened", f"issue-{REPO}-2", "post", f"issue-{REPO}-2", ""),
        ("discussion.created", "discussion-3299614", "post", "discussion-3299614", ""),
        (
            "issue_comment.created",
            "issue-comment-492700400",
            "reply",
            f"issue-{REPO}-1",
            f"issue-{REPO}-1",
        ),
        (
            "discussion_comment.created",
            "discussion-comment-1117905",
            "reply",
            "discussion-3299614",
            "discussion-3299614",
        ),
        ("star.created", f"star-{REPO}-21031067", "reaction", "", ""),
    ],
)
def test_github_events_map_onto_the_ledger(
    client, hooks, name, external_id, kind, thread_id, parent_id
):
    response = github(client, name)

    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "duplicates": 0}
    activity = Activity.objects.get()
    assert (activity.platform, activity.external_id, activity.kind) == ("github", external_id, kind)
    assert (activity.thread_id, activity.parent_id) == (thread_id, parent_id)
    assert activity.channel == "Codertocat/Hello-World"
    identity = Identity.objects.get(member=activity.member)
    assert (identity.platform_user_id, identity.username) == ("21031067", "Codertocat")


def test_github_comment_answers_the_issue_author(client, hooks):
    github(client, "issues.opened")
    github(client, "issue_comment.created")

    issue = Activity.objects.get(kind="post")
    comment = Activity.objects.get(kind="reply")
    assert comment.replied_to_member_id == issue.member_id
    assert issue.content.startswith("Spelling error in the README file")
    assert issue.url == "https://github.com/Codertocat/Hello-World/issues/1"


def test_github_ping_and_unknown_actions(client, hooks):
    ping = github(client, "ping")
    labeled = github(client, "issues.labeled")

    assert ping.json() == {"ok": True}
    assert labeled.json() == {"ignored": True}
    assert counters(hooks["github"]) == (1, 0, 1)
    assert not Activity.objects.exists()


def test_github_redelivery_is_stored_once(client, hooks):
    first = github(client, "issues.opened")
    again = github(client, "issues.opened")

    assert first.json() == {"created": 1, "duplicates": 0}
    assert again.json() == {"created": 0, "duplicates": 1}
    assert Activity.objects.count() == 1
    assert counters(hooks["github"]) == (2, 0, 0)


# --- Slack ------------------------------------------------------------------------------------


def test_slack_url_verification_echoes_the_challenge(client, hooks):
    response = slack(client, "url_verification")

    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert not Activity.objects.exists()


def test_slack_message_is_a_post(client, hooks):
    assert slack(client, "message").json() == {"created": 1, "duplicates": 0}

    message = Activity.objects.get()
    assert (message.external_id, message.kind) == ("msg-C06NRA6JLER-1719209506.817929", "post")
    assert message.thread_id == message.external_id
    assert message.channel == "C06NRA6JLER"
    assert message.content == "Hello, this is a normal text message"
    assert message.occurred_at.timestamp() == pytest.approx(1719209506.817929)
    assert Identity.objects.get(member=message.member).platform_user_id == "U06NU4E26M9"


def test_slack_thread_reply_is_a_reply_in_the_parents_thread(client, hooks):
    slack(client, "message.thread_reply")

    reply = Activity.objects.get()
    assert reply.kind == "reply"
    assert reply.external_id == "msg-C111-1726133700.887259"
    assert reply.thread_id == reply.parent_id == "msg-C111-1726133698.626339"


def test_slack_reaction_and_join(client, hooks):
    slack(client, "reaction_added")
    slack(client, "member_joined_channel")

    reaction = Activity.objects.get(kind="reaction")
    assert reaction.external_id == "reaction-C111-1599529504.000400-W111-heart_eyes"
    assert reaction.parent_id == "msg-C111-1599529504.000400"
    join = Activity.objects.get(kind="join")
    assert join.external_id == "join-C111-U999"
    assert join.occurred_at.timestamp() == 1599616881  # the envelope's event_time


def test_slack_redelivery_is_stored_once_and_unknown_events_are_counted(client, hooks):
    slack(client, "message")
    assert slack(client, "message").json() == {"created": 0, "duplicates": 1}
    assert slack(client, "app_mention").json() == {"ignored": True}

    assert Activity.objects.count() == 1
    assert counters(hooks["slack"]) == (2, 0, 1)


def test_slack_edits_and_direct_messages_are_ignored(client, hooks):
    payload = json.loads(fixture("slack", "message"))
    payload["event"]["subtype"] = "message_changed"
    assert slack(client, "", body=json.dumps(payload).encode()).json() == {"ignored": True}
    del payload["event"]["subtype"]
    payload["event"]["channel_type"] = "im"
    assert slack(client, "", body=json.dumps(payload).encode()).json() == {"ignored": True}
    assert not Activity.objects.exists()


# --- what a delivery costs ----------------------------------------------------------------------


def test_a_delivery_of_a_known_member_runs_a_fixed_number_of_queries(
    client, hooks, django_assert_num_queries
):
    github(client, "issues.opened")  # creates the member
    cache.clear()
    # 1 integration + community, then activities_ingest for a known identity: 2 identities,
    # 3 SAVEPOINT, 4 INSERT activity, 5 UPDATE replied_to (backfill), 6 member facts,
    # 7 RELEASE; 8 the counter UPDATE.
    with django_assert_num_queries(8):
        assert github(client, "star.created").status_code == 200
