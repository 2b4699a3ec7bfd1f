"""Celery tasks of reporting: ids in, one service call, idempotent."""
