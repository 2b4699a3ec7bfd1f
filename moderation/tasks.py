"""Celery tasks of moderation: ids in, one service call, idempotent."""
