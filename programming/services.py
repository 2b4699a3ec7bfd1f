"""Writes of programming: one keyword-only service per action, each in its own transaction with its
audit row.
"""
