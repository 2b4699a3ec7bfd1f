"""Validation of bulk-API items: pure Python, no queries. One item → a CleanActivity or the
field errors the API reports for it (ACTIVITY.md)."""

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _

from ..ledger import (
    CONTENT_MAX,
    EXTERNAL_ID_MAX,
    METADATA_MAX_BYTES,
    PLATFORM_MAX,
    ActivityKind,
)

MAX_ITEMS = 1000
FUTURE_TOLERANCE = timedelta(days=1)
_PLATFORM_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,%d})$" % (PLATFORM_MAX - 1))  # noqa: UP031
_RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?$"
)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
Errors = dict[str, Any]
_KINDS = frozenset(ActivityKind.values)  # ActivityKind.values builds a list on every access
_REPLY, _POST = ActivityKind.REPLY.value, ActivityKind.POST.value


@dataclass(frozen=True)
class MemberRef:
    platform_user_id: str
    username: str
    email: str
    name: str


@dataclass(frozen=True)
class CleanActivity:
    platform: str
    external_id: str
    kind: str
    occurred_at: datetime
    member: MemberRef
    thread_id: str
    parent_id: str
    channel: str
    url: str
    content: str
    metadata: dict[str, Any]
    # `metadata` as validation encoded it (compact JSON, no NaN): stored as it is, not encoded
    # a second time by JSONField.
    metadata_json: str = field(default="{}", compare=False, repr=False)


# --- validation (pure Python: no queries) ---------------------------------------------------


class _Invalid(Exception):
    pass


def _text(raw: dict, name: str, errors: Errors, *, max_length: int, required: bool = False) -> str:
    """A string field: ids may also arrive as JSON integers. No NUL, no lone surrogates
    (PostgreSQL cannot store either), at most max_length characters."""
    value = raw.get(name)
    # The common case, checked in O(1) but the NUL scan (ASCII has no surrogates); anything
    # else takes the full path below.
    if type(value) is str and value and value.isascii() and len(value) <= max_length:  # noqa: SIM102
        if "\x00" not in value:
            return value
    if value is None or value == "":
        if required:
            errors[name] = [_("This field is required.")]
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        errors[name] = [_("Must be a string.")]
        return ""
    problem = _text_problem(value)
    if problem:
        errors[name] = [problem]
        return ""
    if len(value) > max_length:
        errors[name] = [
            _("At most %(max)d characters (this one has %(n)d).")
            % {"max": max_length, "n": len(value)}
        ]
        return ""
    return value


def _text_problem(value: str) -> str | None:
    if "\x00" in value:
        return _("Must not contain NUL (\\u0000) characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _("Must be valid Unicode (it contains an unpaired surrogate).")
    return None


def _occurred_at(raw: dict, errors: Errors, now: datetime) -> datetime | None:
    value = raw.get("occurred_at")
    if value in (None, ""):
        errors["occurred_at"] = [_("This field is required.")]
        return None
    match = _RFC3339_RE.match(value) if isinstance(value, str) else None
    if match is None:
        errors["occurred_at"] = [
            _("Must be an RFC 3339 date-time such as 2026-03-04T17:05:11+01:00.")
        ]
        return None
    if not match.group("offset"):
        errors["occurred_at"] = [
            _("Needs a UTC offset (such as +01:00 or Z); naive times are ambiguous.")
        ]
        return None
    try:
        moment = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        errors["occurred_at"] = [_("Not a valid date-time.")]
        return None
    if moment > now + FUTURE_TOLERANCE:
        errors["occurred_at"] = [_("Is more than one day in the future.")]
        return None
    return moment


def _member(raw: dict, errors: Errors) -> MemberRef | None:
    value = raw.get("member")
    if not isinstance(value, dict):
        errors["member"] = (
            {"platform_user_id": [_("This field is required.")]}
            if value is None
            else [_("Must be an object with at least platform_user_id.")]
        )
        return None
    member_errors: Errors = {}
    ref = MemberRef(
        platform_user_id=_text(
            value, "platform_user_id", member_errors, max_length=EXTERNAL_ID_MAX, required=True
        ),
        username=_text(value, "username", member_errors, max_length=255),
        email=_text(value, "email", member_errors, max_length=254).strip().lower(),
        name=_text(value, "name", member_errors, max_length=255).strip(),
    )
    if ref.email and not _EMAIL_RE.match(ref.email):
        member_errors["email"] = [_("Enter a valid email address.")]
    if member_errors:
        errors["member"] = member_errors
        return None
    return ref


def _metadata(raw: dict, errors: Errors) -> tuple[dict[str, Any], str]:
    """(the metadata, its JSON text)."""
    value = raw.get("metadata")
    if value is None:
        return {}, "{}"
    if not isinstance(value, dict):
        errors["metadata"] = [_("Must be a JSON object.")]
        return {}, "{}"
    try:
        encoded = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        errors["metadata"] = [_("Must be plain JSON (no NaN or Infinity).")]
        return {}, "{}"
    if encoded.isascii() and "\\u0000" not in encoded:
        size = len(encoded)  # no NUL, no surrogate, one byte per character
    else:
        problem = _text_problem(encoded) if "\\u0000" not in encoded else _text_problem("\x00")
        if problem:
            errors["metadata"] = [problem]
            return {}, "{}"
        size = len(encoded.encode("utf-8"))
    if size > METADATA_MAX_BYTES:
        errors["metadata"] = [
            _("At most %(max)d bytes as JSON (this one has %(n)d).")
            % {"max": METADATA_MAX_BYTES, "n": size}
        ]
        return {}, "{}"
    return value, encoded


def activity_validate(raw: Any, *, now: datetime) -> tuple[CleanActivity | None, Errors]:
    """One item of the bulk API → (clean activity, {}) or (None, field errors). Unknown fields
    are ignored, so integrations can send more than Hearth reads."""
    if not isinstance(raw, dict):
        return None, {"non_field_errors": [_("Each activity must be a JSON object.")]}
    errors: Errors = {}
    platform = _text(raw, "platform", errors, max_length=PLATFORM_MAX, required=True)
    if platform and not _PLATFORM_RE.match(platform):
        errors["platform"] = [
            _("Must be a lowercase slug: letters a-z, digits, '-' or '_', 1-32 characters.")
        ]
    external_id = _text(raw, "external_id", errors, max_length=EXTERNAL_ID_MAX, required=True)
    kind = raw.get("kind")
    if type(kind) is not str or kind not in _KINDS:
        errors["kind"] = [
            _("Must be one of: %(kinds)s.") % {"kinds": ", ".join(ActivityKind.values)}
        ]
    occurred_at = _occurred_at(raw, errors, now)
    member = _member(raw, errors)
    thread_id = _text(raw, "thread_id", errors, max_length=EXTERNAL_ID_MAX)
    if kind == _REPLY and not thread_id and "thread_id" not in errors:
        errors["thread_id"] = [_("Required for a reply.")]
    parent_id = _text(raw, "parent_id", errors, max_length=EXTERNAL_ID_MAX)
    channel = _text(raw, "channel", errors, max_length=255)
    url = _text(raw, "url", errors, max_length=2048)
    content = _text(raw, "content", errors, max_length=10**7)[:CONTENT_MAX]
    metadata, metadata_json = _metadata(raw, errors)
    if errors or member is None or occurred_at is None:
        return None, errors
    return (
        CleanActivity(
            platform=platform,
            external_id=external_id,
            kind=kind,
            occurred_at=occurred_at,
            member=member,
            thread_id=thread_id or (external_id if kind == _POST else ""),
            parent_id=parent_id,
            channel=channel,
            url=url,
            content=content,
            metadata=metadata,
            metadata_json=metadata_json,
        ),
        {},
    )
