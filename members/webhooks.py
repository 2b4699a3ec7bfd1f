"""POST /hooks/<community>/<platform>/: Discourse, Slack and GitHub webhooks.

Order of checks, cheapest first, so forged traffic costs as little as possible:
  1. platform known, throttle (cache counter per community and platform per minute) → 404 / 429
  2. body ≤ 1 MiB (declared length, then what is read) → 413
  3. the community has an integration for the platform → else 404 (nothing to verify against)
  4. the platform's own HMAC signature with the community's secret (constant-time compare;
     Slack's timestamp within 5 minutes either way) → 401, nothing stored, counted as rejected
  5. JSON, mapping (members.webhook_events) and activities_ingest → 400 / 422 recorded as errors

The throttle fails open: with the cache (Redis) down, deliveries are still verified and stored,
as the database is the source of truth (QUALITY.md). Platforms retry on 429 and 5xx; a
redelivery is a duplicate in the ledger."""

import hashlib
import hmac
import json
import logging
import time
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from .api_base import error_body
from .ingestion import activities_ingest
from .integrations import (
    integration_for_webhook,
    integration_record_delivery,
    integration_record_error,
    webhook_secret,
)
from .models import Integration, IntegrationPlatform
from .webhook_events import MalformedPayload, webhook_map

logger = logging.getLogger("hearth.webhooks")
security_log = logging.getLogger("hearth.security")

MAX_BODY_BYTES = 1024 * 1024
SLACK_TOLERANCE_SECONDS = 5 * 60


# --- signatures (pure functions, tested with the published vectors) --------------------------


def _matches(expected: str, provided: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), provided.encode("utf-8", "replace"))


def _hex_hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_sha256_header(secret: str, body: bytes, header: str | None) -> str | None:
    """Discourse's X-Discourse-Event-Signature and GitHub's X-Hub-Signature-256, both
    `sha256=<hex HMAC-SHA256 of the raw body>`. None when valid, else the reason."""
    if not header:
        return "missing signature header"
    if not _matches("sha256=" + _hex_hmac(secret, body), header.strip()):
        return "signature does not match"
    return None


def verify_slack(
    secret: str, body: bytes, timestamp: str | None, signature: str | None, *, now: float
) -> str | None:
    """X-Slack-Signature `v0=<hex HMAC-SHA256 of "v0:{timestamp}:{body}">` with
    X-Slack-Request-Timestamp no more than 5 minutes from `now` either way (replays)."""
    if not signature or not timestamp:
        return "missing signature or timestamp header"
    if not timestamp.isdigit():
        return "malformed timestamp"
    if abs(now - int(timestamp)) > SLACK_TOLERANCE_SECONDS:
        return "stale timestamp (more than 5 minutes from now)"
    expected = "v0=" + _hex_hmac(secret, b"v0:" + timestamp.encode() + b":" + body)
    if not _matches(expected, signature.strip()):
        return "signature does not match"
    return None


def _verify(platform: str, secret: str, request: HttpRequest, body: bytes) -> str | None:
    headers = request.headers
    if platform == IntegrationPlatform.SLACK:
        return verify_slack(
            secret,
            body,
            headers.get("X-Slack-Request-Timestamp"),
            headers.get("X-Slack-Signature"),
            now=timezone.now().timestamp(),
        )
    header = "X-Discourse-Event-Signature" if platform == "discourse" else "X-Hub-Signature-256"
    return verify_sha256_header(secret, body, headers.get(header))


# --- the view ------------------------------------------------------------------------------


def _error(status: int, code: str, message: str, errors: dict | None = None) -> JsonResponse:
    return JsonResponse(error_body(code, message, errors), status=status)


def _throttled(slug: str, platform: str) -> bool:
    key = f"hearth:hooks:{slug}:{platform}:{int(time.time() // 60)}"
    try:
        cache.add(key, 0, timeout=120)
        return cache.incr(key) > settings.HEARTH_WEBHOOK_RATE_PER_MINUTE
    except Exception:  # the cache is down: fail open, the database decides
        logger.warning("webhook throttle unavailable", exc_info=True)
        return False


def _read_body(request: HttpRequest) -> bytes | None:
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    body = request.read(MAX_BODY_BYTES + 1)
    return None if len(body) > MAX_BODY_BYTES else body


def _event_name(platform: str, request: HttpRequest) -> str:
    if platform == "discourse":
        return request.headers.get("X-Discourse-Event", "")
    if platform == "github":
        return request.headers.get("X-GitHub-Event", "")
    return ""


@method_decorator(csrf_exempt, name="dispatch")
class WebhookView(View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest, community_slug: str, platform: str) -> JsonResponse:
        if platform not in IntegrationPlatform.values:
            return _error(404, "not_found", "No such webhook.")
        if _throttled(community_slug, platform):
            return _error(429, "throttled", "Too many deliveries; retry later.")
        body = _read_body(request)
        if body is None:
            return _error(413, "too_large", "The body is larger than 1 MiB.")
        integration = integration_for_webhook(community_slug, platform)
        if integration is None:
            return _error(404, "not_found", "No such webhook.")
        secret = webhook_secret(integration)
        reason = (
            "the stored secret cannot be decrypted (the encryption key changed); set it again"
            if secret is None
            else _verify(platform, secret, request, body)
        )
        if reason is not None:
            security_log.warning(
                "webhook rejected: community=%s platform=%s reason=%s",
                community_slug,
                platform,
                reason,
            )
            integration_record_error(integration=integration, reason=reason, rejected=True)
            return _error(401, "invalid_signature", f"Signature check failed: {reason}.")
        return self._deliver(request, integration, platform, body)

    def _deliver(
        self, request: HttpRequest, integration: Integration, platform: str, body: bytes
    ) -> JsonResponse:
        now: datetime = timezone.now()
        try:
            payload = json.loads(body.decode("utf-8"))
            outcome = webhook_map(
                platform,
                event=_event_name(platform, request),
                payload=payload,
                instance=request.headers.get("X-Discourse-Instance", ""),
                now=now,
            )
        except (UnicodeDecodeError, ValueError, RecursionError, MalformedPayload) as exc:
            reason = str(exc) if isinstance(exc, MalformedPayload) else "the body is not UTF-8 JSON"
            integration_record_error(integration=integration, reason=reason)
            return _error(400, "invalid", f"Cannot read this delivery: {reason}.")
        if outcome.reply is not None:
            integration_record_delivery(integration=integration)
            return JsonResponse(outcome.reply)
        if outcome.ignored:
            integration_record_delivery(integration=integration, unknown=True)
            return JsonResponse({"ignored": True})
        result = activities_ingest(
            community=integration.community, items=outcome.items, source=f"webhook:{platform}"
        )
        if result.rejected:
            errors = result.rejected[0]["errors"]
            integration_record_error(
                integration=integration,
                reason="activity rejected: " + json.dumps(errors, ensure_ascii=False),
            )
            return _error(422, "invalid", "The delivery maps to an invalid activity.", errors)
        integration_record_delivery(integration=integration)
        return JsonResponse({"created": result.created, "duplicates": result.duplicates})
