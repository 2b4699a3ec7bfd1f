"""Reads of reporting: reusable, tuned querysets."""
