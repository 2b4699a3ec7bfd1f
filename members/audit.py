"""Writing the audit log. Services call `audit_record` inside their own transaction; the request's
IP reaches it through a context variable set by AuditContextMiddleware, so services need no
request object."""

import contextvars
from typing import Any

from django.db import models

from .models import AuditEvent, Community, User

request_ip: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_ip", default=None)


def target_ref(target: models.Model) -> tuple[str, str]:
    """The (type, id) an audit row names: the public id where the model has one."""
    meta = target._meta
    ident = getattr(target, "public_id", None) or getattr(target, "slug", None) or target.pk
    return f"{meta.app_label}.{meta.model_name}", str(ident)


def audit_record(
    *,
    actor: User | None,
    community: Community | None,
    action: str,
    target: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    target_type, target_id = target_ref(target)
    return AuditEvent.objects.create(
        community=community,
        actor=actor,
        actor_label=actor.email if actor else "",
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=str(target)[:255],
        before=before,
        after=after,
        ip=request_ip.get(),
    )
