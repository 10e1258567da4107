"""One database helper the apps share: many rows updated, each its own way, in one statement.

The ORM's `bulk_update` builds a CASE expression per field and row, and compiling it cost the
worker more than running it (bench/, profile of the processing burst). This writes the same
UPDATE from a list of rows joined on the primary key; it runs on PostgreSQL and SQLite
(3.33 or later).
"""

import json
from datetime import datetime

from django.db import connection

# PostgreSQL must be told the type of a parameter column that may hold only NULLs.
_PG_TYPES = {"int": "bigint", "text": "text", "timestamp": "timestamptz", "json": "jsonb"}


def update_rows(model, *, columns, rows, assignments):
    """UPDATE `model`'s table from `rows`: tuples of (primary key, *values of `columns`).

    `columns` maps each value's name to its type ("int", "text", "timestamp", "json");
    `assignments` is the SET clause, where `v.<name>` is the row's value and
    `<table>.<column>` the current one. Returns the number of rows updated."""
    if not rows:
        return 0
    table = connection.ops.quote_name(model._meta.db_table)
    names = ["id", *columns]
    types = ["int", *columns.values()]
    postgres = connection.vendor == "postgresql"
    placeholders = ", ".join(f"%s::{_PG_TYPES[t]}" if postgres else "%s" for t in types)
    values = ", ".join(f"({placeholders})" for _ in rows)
    params = [_adapt(value, t) for row in rows for value, t in zip(row, types, strict=True)]
    sql = (
        f"WITH v ({', '.join(names)}) AS (VALUES {values}) "  # noqa: S608 (names are ours)
        f"UPDATE {table} SET {assignments.format(table=table)} FROM v WHERE {table}.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _adapt(value, type_):
    if value is None:
        return None
    if type_ == "timestamp" and isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if type_ == "json":
        return json.dumps(value)
    return value
