"""Reads of moderation: reusable, tuned querysets."""
