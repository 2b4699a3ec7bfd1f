"""Reads of programming: reusable, tuned querysets."""
