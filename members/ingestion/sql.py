"""INSERT … ON CONFLICT DO NOTHING RETURNING, on PostgreSQL and SQLite."""

import sqlite3
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

# Fields whose database value is the Python value itself when it already has the plain type:
# validation hands over str/int/bool/None, so Field.get_db_prep_save (a dozen calls through the
# connection proxy per value: half the Python time of a 1,000-row INSERT) is skipped for them.
_PLAIN_FIELDS = {
    models.AutoField,
    models.BigAutoField,
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.BooleanField,
    models.CharField,
    models.TextField,
    models.EmailField,
    models.URLField,
    models.SlugField,
}
_PLAIN_TYPES = {int, str, bool, type(None)}


class EncodedJson(str):
    """JSON text already encoded (and checked) by validation, for a JSONField column: sent as
    the string it is. On PostgreSQL that is the very literal Django's Json adapter would send
    after encoding the dict again; on SQLite JSONField stores the text."""


def _preparer(field: models.Field, conn: Any) -> Callable[[Any], Any]:
    """value → database parameter, exactly as field.get_db_prep_save(value, conn), with a fast
    path for values that need no conversion."""
    full = partial(field.get_db_prep_save, connection=conn)
    target = field.target_field if isinstance(field, models.ForeignKey) else field
    if type(field) is models.JSONField:
        return lambda value: str(value) if type(value) is EncodedJson else full(value)
    if type(target) in _PLAIN_FIELDS:
        return lambda value: value if type(value) in _PLAIN_TYPES else full(value)
    if type(field) is models.DateTimeField and conn.vendor == "postgresql":
        # PostgreSQL's adapt_datetimefield_value returns an aware datetime unchanged.
        return lambda value: (
            value if type(value) is datetime and value.tzinfo is not None else full(value)
        )
    return full


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
    conn = connections[DEFAULT_DB_ALIAS]  # the real connection, not the per-context proxy
    preparers = [(f.name, _preparer(f, conn)) for f in fields]
    out: list[tuple] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            batch = rows[start : start + per_statement]
            params = [prep(row[name]) for row in batch for name, prep in preparers]
            values = ", ".join([placeholder] * len(batch))
            cursor.execute(
                f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES {values}{suffix}",  # noqa: S608
                params,
            )
            out.extend(cursor.fetchall())
    return out
