"""Bulk inserts through PostgreSQL's COPY, with ``bulk_create`` on other databases.

Django's ``bulk_create`` on PostgreSQL sends each batch as one ``INSERT ... SELECT * FROM
UNNEST(...)`` whose array parameters psycopg builds and escapes in Python: for 10,000
imported transcripts that alone took longer than validating and scrubbing them. COPY
streams the rows with psycopg's C dumpers instead.

Primary keys are reserved from the table's sequence first (``reserve_ids``), so rows of
another table can point at them in the same transaction, and the callers' model
instances end up exactly as ``bulk_create`` leaves them (pk set, saved). COPY runs in the
caller's transaction: an error (a unique clash, a bad value) rolls everything back, and
reaches the caller as Django's ``IntegrityError``/``DataError``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection, models

BATCH = 1000  # bulk_create batches elsewhere


def copy_supported() -> bool:
    return connection.vendor == "postgresql"


def reserve_ids(model: type[models.Model], n: int) -> list[int]:
    """``n`` fresh primary keys from ``model``'s sequence (PostgreSQL only)."""
    if n <= 0:
        return []
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, n],
        )
        return [row[0] for row in cursor.fetchall()]


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def copy_rows(
    model: type[models.Model], objs: Sequence[models.Model], raw: dict[str, list[str]] | None = None
) -> None:
    """COPY ``objs`` (pk already set) into ``model``'s table; every concrete column.

    ``raw``: JSON columns already serialised by the caller (attname -> one text per
    object), so a canonical serialisation made for a hash is not made twice.
    """
    raw = raw or {}
    fields = list(model._meta.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    # pre_save gives what save() would store: auto_now_add timestamps, for instance.
    computed = {
        f.attname
        for f in fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    }

    def value(field: models.Field, obj: models.Model) -> Any:
        name = field.attname
        got = field.pre_save(obj, True) if name in computed else getattr(obj, name)
        return _json(got) if name in json_fields else got

    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        for index, obj in enumerate(objs):
            if obj.pk is None:
                raise ValueError("copy_rows needs primary keys: call reserve_ids first")
            copy.write_row(
                [raw[f.attname][index] if f.attname in raw else value(f, obj) for f in fields]
            )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def bulk_insert(
    model: type[models.Model], objs: Sequence[models.Model], raw: dict[str, list[str]] | None = None
) -> None:
    """Insert ``objs`` (in the caller's transaction): COPY on PostgreSQL, else bulk_create.

    ``raw``: see ``copy_rows``; it must serialise the same values the objects hold (other
    databases use the objects' own values)."""
    if not objs:
        return
    if copy_supported():
        for obj, pk in zip(objs, reserve_ids(model, len(objs)), strict=True):
            obj.pk = pk
        copy_rows(model, objs, raw)
    else:
        model.objects.bulk_create(objs, batch_size=BATCH)
