"""INSERT … ON CONFLICT DO NOTHING RETURNING, on PostgreSQL and SQLite."""

import sqlite3
from typing import Any

from django.db import connection, models


def _max_params() -> int:
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return 65535


def insert_returning(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    returning: tuple[str, ...],
    conflict: tuple[str, ...] | None = None,
) -> list[tuple]:
    """Insert `rows` (field name → Python value, the same names in every row) in as few
    statements as the backend's parameter limit allows (one for ≤ 1,000 activities); with
    `conflict`, rows that would violate that unique constraint are skipped. Returns the
    `returning` columns of the inserted rows only, as the database gives them."""
    if not rows:
        return []
    meta = model._meta
    qn = connection.ops.quote_name
    fields = [meta.get_field(name) for name in rows[0]]
    columns = ", ".join(qn(f.column) for f in fields)
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    suffix = ""
    if conflict:
        suffix = " ON CONFLICT (%s) DO NOTHING" % ", ".join(  # noqa: UP031
            qn(meta.get_field(name).column) for name in conflict
        )
    suffix += " RETURNING " + ", ".join(qn(meta.get_field(name).column) for name in returning)
    per_statement = max(1, _max_params() // len(fields))
    out: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            params = [f.get_db_prep_save(row[f.name], connection) for row in batch for f in fields]
            values = ", ".join([placeholder] * len(batch))
            cursor.execute(
                f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES {values}{suffix}",  # noqa: S608
                params,
            )
            out.extend(cursor.fetchall())
    return out
