"""Follow-up work after activities are stored, registered by the apps above members.

members cannot import moderation or reporting (ARCHITECTURE.md), so they register here instead,
typically in their AppConfig.ready():

    from members import ingestion_hooks
    ingestion_hooks.register(autorules_on_ingest)

After an ingest commits, members.tasks.ingest_followup (ingest queue) calls every registered hook
with keyword arguments only:

    hook(*, community_id: int, activity_ids: list[int], days: list[str], source: str) -> None

`days` are the community's local days (ISO dates) the new activities fall on. Hooks must be
idempotent: a task can run twice (acks_late redelivery, a retry, a periodic sweep)."""

import logging
from collections.abc import Callable
from typing import Protocol

logger = logging.getLogger(__name__)


class IngestHook(Protocol):
    def __call__(
        self, *, community_id: int, activity_ids: list[int], days: list[str], source: str
    ) -> None: ...


_hooks: list[IngestHook] = []


def register(hook: IngestHook) -> IngestHook:
    """Register a hook (once; registering the same callable again is a no-op). Usable as a
    decorator."""
    if hook not in _hooks:
        _hooks.append(hook)
    return hook


def unregister(hook: IngestHook) -> None:
    if hook in _hooks:
        _hooks.remove(hook)


def registered() -> tuple[IngestHook, ...]:
    return tuple(_hooks)


def run(*, community_id: int, activity_ids: list[int], days: list[str], source: str) -> int:
    """Call every hook. One failing hook does not keep the others from running; the first failure
    is re-raised once all have run, so the task is reported as failed. Returns how many ran."""
    first_error: Exception | None = None
    for hook in registered():
        try:
            hook(community_id=community_id, activity_ids=activity_ids, days=days, source=source)
        except Exception as exc:
            logger.exception("ingest hook %s failed for community %s", _name(hook), community_id)
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return len(_hooks)


def _name(hook: Callable[..., object]) -> str:
    return f"{getattr(hook, '__module__', '?')}.{getattr(hook, '__qualname__', repr(hook))}"
