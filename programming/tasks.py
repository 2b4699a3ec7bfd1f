"""Celery tasks of programming: ids in, one service call, idempotent."""
