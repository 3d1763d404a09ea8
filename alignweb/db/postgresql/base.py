"""Django's PostgreSQL backend with integer parameters that are range-checked, never wrapped.

Why this exists: Django (psycopg 3) wraps every ``IntegerField`` value in psycopg's
``Int2``/``Int4``/``Int8`` (``DatabaseOperations.adapt_integerfield_value``) so that the
parameter carries the column's type. With ``server_side_binding`` the parameters travel in
binary, and the C dumpers of ``psycopg[binary]`` (psycopg_c/types/numeric.pyx,
``Int4BinaryDumper.cdump``: ``<int32_t>PyLong_AsLongLong(obj)``) cast the Python int to
the C type without a range check. 99999999999 goes out as its low 32 bits (1215752191),
2**40 + 5 as 5, and 2**31 as -2**31 (which then trips a ``>= 0`` check constraint: the
IntegrityError). PostgreSQL never sees the real number, so it cannot refuse it; with
client-side binding the value is sent as text and PostgreSQL does refuse it.

Two layers, both refusing with a ``DataError`` (what PostgreSQL says for a text parameter):
``DatabaseOperations.adapt_integerfield_value`` checks the value against the column's range
before wrapping it (cheap, independent of psycopg's dumper plumbing), and range-checked
binary dumpers replace psycopg's on every connection for anything else that sends an
``Int2``/``Int4``/``Int8``. Values are still range-checked at the boundary
(alignweb/bounds.py, forms, serializers, importers); this is the guarantee that a missed
check fails loudly instead of storing another number.
"""

from __future__ import annotations

import struct
from typing import Any

from django.db import DataError
from django.db.backends.postgresql import base, operations
from psycopg import errors
from psycopg.adapt import AdaptersMap, Dumper
from psycopg.pq import Format
from psycopg.types.numeric import Int2, Int4, Int8


class _CheckedIntBinaryDumper(Dumper):
    """Binary dumper for one PostgreSQL integer type that refuses what does not fit."""

    format = Format.BINARY
    type_name = ""
    low = high = 0
    pack: Any = None

    def dump(self, obj: Any) -> bytes:
        value = int(obj)
        if not self.low <= value <= self.high:
            raise errors.NumericValueOutOfRange(f"{self.type_name} out of range: {value}")
        return self.pack(value)


class Int2CheckedDumper(_CheckedIntBinaryDumper):
    oid = 21
    type_name = "smallint"
    low, high = -(2**15), 2**15 - 1
    pack = struct.Struct("!h").pack


class Int4CheckedDumper(_CheckedIntBinaryDumper):
    oid = 23
    type_name = "integer"
    low, high = -(2**31), 2**31 - 1
    pack = struct.Struct("!i").pack


class Int8CheckedDumper(_CheckedIntBinaryDumper):
    oid = 20
    type_name = "bigint"
    low, high = -(2**63), 2**63 - 1
    pack = struct.Struct("!q").pack


CHECKED_DUMPERS = ((Int2, Int2CheckedDumper), (Int4, Int4CheckedDumper), (Int8, Int8CheckedDumper))


def register_checked_int_dumpers(context: AdaptersMap) -> None:
    """Replace the binary Int2/Int4/Int8 dumpers of ``context`` with range-checked ones."""
    for wrapper, dumper in CHECKED_DUMPERS:
        context.register_dumper(wrapper, dumper)


class DatabaseOperations(operations.DatabaseOperations):
    def adapt_integerfield_value(self, value: Any, internal_type: str) -> Any:
        if value is not None and not hasattr(value, "resolve_expression"):
            low, high = self.integer_field_range(internal_type)
            if isinstance(value, int) and not (
                (low is None or low <= value) and (high is None or value <= high)
            ):
                raise DataError(f"{internal_type} out of range: {value}")
        return super().adapt_integerfield_value(value, internal_type)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        # Django shares one cached adapters template across connections: copy it, never
        # mutate it, so the change stays local to this backend.
        context = AdaptersMap(params["context"])
        register_checked_int_dumpers(context)
        params["context"] = context
        return params
