"""Platform webhook events → activities (ACTIVITY.md items), one pure function per platform.

No queries and no I/O: `webhook_map` turns one verified delivery into an `Outcome` that the view
(members.webhooks) answers or hands to `activities_ingest`. `external_id`s are built from the
platform's own ids, so a redelivery is a duplicate, never a second activity:

Discourse  topic-{topic id}            topic_created, and post_created with post_number 1 (both
                                        are the thread's opening post: whichever arrives first
                                        is stored, the other is a duplicate, never a double count)
           post-{post id}              post_created with post_number > 1 (reply)
           user-{user id}              user_created (join)
           like-{post id}-{user id}    post_liked (reaction)
Slack      msg-{channel}-{ts}          message (thread_ts ≠ ts → reply in msg-{channel}-{thread_ts})
           reaction-{channel}-{ts}-{user}-{name}   reaction_added
           join-{channel}-{user}       member_joined_channel (a member's first join there)
GitHub     issue-{repo id}-{number}    issues opened, pull_request opened (one number space)
           issue-comment-{comment id}  issue_comment created (reply in the issue or PR)
           discussion-{discussion id}  discussion created
           discussion-comment-{id}     discussion_comment created
           star-{repo id}-{user id}    star created (reaction)

Known gap: a Discourse reply to a post other than the first names that post by number
(reply_to_post_number), not by id, so its parent is unknown: it is stored in the thread with
`metadata.reply_to_post_number` and no parent_id."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

PING = {"ok": True}


class MalformedPayload(Exception):
    """A verified delivery without the fields its event must have."""


@dataclass
class Outcome:
    items: list[dict[str, Any]] = field(default_factory=list)
    reply: dict[str, Any] | None = None  # answer this JSON, store nothing (ping, challenge)
    ignored: bool = False  # acknowledged, not mapped: counted as an unknown event


IGNORED = Outcome(ignored=True)


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _need(obj: Any, *path: str) -> Any:
    value = _get(obj, *path)
    if value is None or value == "":
        raise MalformedPayload(f"missing {'.'.join(path)}")
    if isinstance(value, bool) or not isinstance(value, int | str | float):
        raise MalformedPayload(f"{'.'.join(path)} is not a scalar")
    return value


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _epoch(value: Any, name: str) -> str:
    """Slack's "1531420618.000200" seconds → RFC 3339 UTC."""
    try:
        return datetime.fromtimestamp(float(value), tz=UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise MalformedPayload(f"{name} is not a Slack timestamp") from exc


def _join(*parts: str) -> str:
    return "\n\n".join(part for part in parts if part)


# --- Discourse -----------------------------------------------------------------------------


def _discourse_member(user_id: Any, username: Any, name: Any) -> dict[str, str]:
    return {
        "platform_user_id": str(user_id),
        "username": _text(username),
        "name": _text(name),
    }


def _discourse(event: str, payload: dict, *, instance: str, now: datetime) -> Outcome:
    base = instance.rstrip("/") if instance.startswith(("https://", "http://")) else ""
    if event == "ping":
        return Outcome(reply=PING)
    if event == "topic_created":
        topic = payload.get("topic")
        if _get(topic, "archetype") == "private_message":
            return IGNORED
        topic_id = _need(topic, "id")
        author = _get(topic, "created_by") or {}
        user_id = _get(author, "id") or _need(topic, "user_id")
        return Outcome(
            items=[
                {
                    "platform": "discourse",
                    "external_id": f"topic-{topic_id}",
                    "kind": "post",
                    "occurred_at": _need(topic, "created_at"),
                    "member": _discourse_member(
                        user_id, _get(author, "username"), _get(author, "name")
                    ),
                    "thread_id": f"topic-{topic_id}",
                    "channel": _category(_get(topic, "category_id")),
                    "url": f"{base}/t/{_text(_get(topic, 'slug')) or '-'}/{topic_id}"
                    if base
                    else "",
                    "content": _text(_get(topic, "title")),
                }
            ]
        )
    if event == "post_created":
        post = payload.get("post")
        if _get(post, "topic_archetype") == "private_message" or _get(post, "post_type") not in (
            None,
            1,
        ):
            return IGNORED  # private messages, whispers and moderator/system small actions
        topic_id = _need(post, "topic_id")
        number = _need(post, "post_number")
        first = str(number) == "1"
        reply_to = _get(post, "reply_to_post_number")
        item = {
            "platform": "discourse",
            "external_id": f"topic-{topic_id}" if first else f"post-{_need(post, 'id')}",
            "kind": "post" if first else "reply",
            "occurred_at": _need(post, "created_at"),
            "member": _discourse_member(
                _need(post, "user_id"), _get(post, "username"), _get(post, "name")
            ),
            "thread_id": f"topic-{topic_id}",
            "channel": _category(_get(post, "category_id")),
            "url": f"{base}/t/{_text(_get(post, 'topic_slug')) or '-'}/{topic_id}/{number}"
            if base
            else "",
            "content": _text(_get(post, "raw")),
        }
        if not first:
            if reply_to in (None, 1):
                item["parent_id"] = f"topic-{topic_id}"
            else:
                item["metadata"] = {"reply_to_post_number": reply_to}
        return Outcome(items=[item])
    if event == "user_created":
        user = payload.get("user")
        member = _discourse_member(
            _need(user, "id"), _get(user, "username"), _get(user, "name")
        ) | ({"email": _get(user, "email")} if isinstance(_get(user, "email"), str) else {})
        return Outcome(
            items=[
                {
                    "platform": "discourse",
                    "external_id": f"user-{_need(user, 'id')}",
                    "kind": "join",
                    "occurred_at": _get(user, "created_at") or now.isoformat(),
                    "member": member,
                }
            ]
        )
    if event == "post_liked":
        post, user = _get(payload, "like", "post"), _get(payload, "like", "user")
        post_id, topic_id = _need(post, "id"), _need(post, "topic_id")
        first = str(_get(post, "post_number")) == "1"
        return Outcome(
            items=[
                {
                    "platform": "discourse",
                    "external_id": f"like-{post_id}-{_need(user, 'id')}",
                    "kind": "reaction",
                    # A like carries no time of its own: it is delivered as it happens.
                    "occurred_at": now.isoformat(),
                    "member": _discourse_member(
                        _need(user, "id"), _get(user, "username"), _get(user, "name")
                    ),
                    "thread_id": f"topic-{topic_id}",
                    "parent_id": f"topic-{topic_id}" if first else f"post-{post_id}",
                    "channel": _category(_get(post, "category_id")),
                }
            ]
        )
    return IGNORED


def _category(category_id: Any) -> str:
    return f"category-{category_id}" if category_id is not None else ""


# --- Slack ---------------------------------------------------------------------------------


def _slack(payload: dict) -> Outcome:
    kind = payload.get("type")
    if kind == "url_verification":
        return Outcome(reply={"challenge": _text(payload.get("challenge"))})
    if kind != "event_callback":
        return IGNORED
    event = payload.get("event")
    event_type = _get(event, "type")
    team = _text(payload.get("team_id"))
    metadata = {"team_id": team} if team else {}
    if event_type == "message":
        if _get(event, "subtype") not in (None, "thread_broadcast", "file_share"):
            return IGNORED  # edits, deletions, joins, bot and system messages
        if _get(event, "channel_type") in ("im", "mpim"):
            return IGNORED  # direct messages are private conversations, not community activity
        channel, ts = _need(event, "channel"), str(_need(event, "ts"))
        thread_ts = _get(event, "thread_ts")
        is_reply = thread_ts is not None and str(thread_ts) != ts
        thread = f"msg-{channel}-{thread_ts if is_reply else ts}"
        item = {
            "platform": "slack",
            "external_id": f"msg-{channel}-{ts}",
            "kind": "reply" if is_reply else "post",
            "occurred_at": _epoch(ts, "event.ts"),
            "member": {"platform_user_id": str(_need(event, "user"))},
            "thread_id": thread,
            "channel": str(channel),
            "content": _text(_get(event, "text")),
            "metadata": metadata,
        }
        if is_reply:
            item["parent_id"] = thread
        return Outcome(items=[item])
    if event_type == "reaction_added":
        if _get(event, "item", "type") != "message":
            return IGNORED  # reactions to files and file comments
        channel, ts = _need(event, "item", "channel"), _need(event, "item", "ts")
        user, name = _need(event, "user"), _need(event, "reaction")
        return Outcome(
            items=[
                {
                    "platform": "slack",
                    "external_id": f"reaction-{channel}-{ts}-{user}-{name}",
                    "kind": "reaction",
                    "occurred_at": _epoch(
                        _get(event, "event_ts") or _need(payload, "event_time"), "event_ts"
                    ),
                    "member": {"platform_user_id": str(user)},
                    "parent_id": f"msg-{channel}-{ts}",
                    "channel": str(channel),
                    "metadata": metadata | {"reaction": str(name)},
                }
            ]
        )
    if event_type == "member_joined_channel":
        # Slack's event has no time of its own (no event_ts): the envelope's event_time.
        channel, user = _need(event, "channel"), _need(event, "user")
        moment = _get(event, "event_ts") or _need(payload, "event_time")
        return Outcome(
            items=[
                {
                    "platform": "slack",
                    "external_id": f"join-{channel}-{user}",
                    "kind": "join",
                    "occurred_at": _epoch(moment, "event_time"),
                    "member": {"platform_user_id": str(user)},
                    "channel": str(channel),
                    "metadata": metadata,
                }
            ]
        )
    return IGNORED


# --- GitHub --------------------------------------------------------------------------------


def _github_member(user: Any) -> dict[str, str]:
    return {"platform_user_id": str(_need(user, "id")), "username": _text(_get(user, "login"))}


def _github(event: str, payload: dict) -> Outcome:
    action = payload.get("action")
    if event == "ping":
        return Outcome(reply=PING)
    repo = payload.get("repository")
    channel = _text(_get(repo, "full_name"))

    def opened(thing: Any, external_id: str) -> Outcome:
        return Outcome(
            items=[
                {
                    "platform": "github",
                    "external_id": external_id,
                    "kind": "post",
                    "occurred_at": _need(thing, "created_at"),
                    "member": _github_member(_get(thing, "user")),
                    "thread_id": external_id,
                    "channel": channel,
                    "url": _text(_get(thing, "html_url")),
                    "content": _join(_text(_get(thing, "title")), _text(_get(thing, "body"))),
                }
            ]
        )

    def comment(thing: Any, external_id: str, thread: str, parent: str) -> Outcome:
        return Outcome(
            items=[
                {
                    "platform": "github",
                    "external_id": external_id,
                    "kind": "reply",
                    "occurred_at": _need(thing, "created_at"),
                    "member": _github_member(_get(thing, "user")),
                    "thread_id": thread,
                    "parent_id": parent,
                    "channel": channel,
                    "url": _text(_get(thing, "html_url")),
                    "content": _text(_get(thing, "body")),
                }
            ]
        )

    if event == "issues" and action == "opened":
        issue = payload.get("issue")
        return opened(issue, f"issue-{_need(repo, 'id')}-{_need(issue, 'number')}")
    if event == "pull_request" and action == "opened":
        pull = payload.get("pull_request")
        return opened(pull, f"issue-{_need(repo, 'id')}-{_need(pull, 'number')}")
    if event == "discussion" and action == "created":
        discussion = payload.get("discussion")
        return opened(discussion, f"discussion-{_need(discussion, 'id')}")
    if event == "issue_comment" and action == "created":
        thread = f"issue-{_need(repo, 'id')}-{_need(payload, 'issue', 'number')}"
        body = payload.get("comment")
        return comment(body, f"issue-comment-{_need(body, 'id')}", thread, thread)
    if event == "discussion_comment" and action == "created":
        thread = f"discussion-{_need(payload, 'discussion', 'id')}"
        body = payload.get("comment")
        parent = _get(body, "parent_id")
        return comment(
            body,
            f"discussion-comment-{_need(body, 'id')}",
            thread,
            f"discussion-comment-{parent}" if parent else thread,
        )
    if event == "star" and action == "created":
        sender = payload.get("sender")
        return Outcome(
            items=[
                {
                    "platform": "github",
                    "external_id": f"star-{_need(repo, 'id')}-{_need(sender, 'id')}",
                    "kind": "reaction",
                    "occurred_at": _need(payload, "starred_at"),
                    "member": _github_member(sender),
                    "channel": channel,
                    "url": _text(_get(repo, "html_url")),
                }
            ]
        )
    return IGNORED


# --- entry point ---------------------------------------------------------------------------


def webhook_map(
    platform: str, *, event: str, payload: Any, instance: str = "", now: datetime
) -> Outcome:
    """One verified delivery → what to do with it. `event` is the event header (Discourse's
    X-Discourse-Event, GitHub's X-GitHub-Event; Slack names it in the body)."""
    if not isinstance(payload, dict):
        raise MalformedPayload("the body is not a JSON object")
    if platform == "discourse":
        return _discourse(event, payload, instance=instance, now=now)
    if platform == "slack":
        return _slack(payload)
    if platform == "github":
        return _github(event, payload)
    raise ValueError(platform)
