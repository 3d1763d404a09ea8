"""Integers reach PostgreSQL as sent or are refused: never wrapped to another value.

Root cause (alignweb/db/postgresql/base.py): with server-side binding, Django wraps
IntegerField values in psycopg's Int4/Int2 and the C binary dumpers cast them to 32/16
bits, so 99999999999 was stored as 1215752191 and 2**40 + 5 as 5. On the stock backend
these tests fail: the ORM writes succeed with the wrapped value. The backend refuses in
``adapt_integerfield_value`` and in its binary dumpers; both are tested here.
"""

from __future__ import annotations

import pytest
from django.db import DataError, connection, transaction

from alignweb.db.postgresql.base import Int2CheckedDumper, Int4CheckedDumper, Int8CheckedDumper
from coding.models import ConditionKey, Dimension, Rubric
from tests.factories import ItemFactory

WRAPPING = [99_999_999_999, 2**40 + 5, 2**31, -(2**31) - 1, 2**64 + 7]


def _write_or_refuse(write) -> object:
    """The value read back after ``write()``, or the DataError class when refused."""
    try:
        with transaction.atomic():
            return write()
    except DataError:
        return DataError


@pytest.mark.parametrize("value", WRAPPING)
def test_out_of_range_integer_columns_are_refused_not_wrapped(require_postgres, value):
    assert connection.settings_dict["OPTIONS"].get("server_side_binding") is True
    item = ItemFactory()
    rubric = Rubric.objects.create(name="Wrap check")

    def replicate():
        key = ConditionKey.objects.create(item=item, replicate=value)
        return ConditionKey.objects.get(pk=key.pk).replicate

    def version():
        return Rubric.objects.get(pk=Rubric.objects.create(name="W", version=value).pk).version

    def order():
        dim = Dimension.objects.create(rubric=rubric, code="X", name="X", order=value)
        return Dimension.objects.get(pk=dim.pk).order

    for write in (replicate, version, order):
        assert _write_or_refuse(write) is DataError, (write.__name__, value)


def test_operations_refuse_out_of_range_before_psycopg_sees_the_value(require_postgres):
    ops = connection.ops
    assert ops.adapt_integerfield_value(2**31 - 1, "IntegerField") == 2**31 - 1
    for value, kind in (
        (2**31, "IntegerField"),
        (-1, "PositiveIntegerField"),
        (2**15, "SmallIntegerField"),
    ):
        with pytest.raises(DataError):
            ops.adapt_integerfield_value(value, kind)


def test_in_range_values_round_trip(require_postgres):
    item = ItemFactory()
    for value in (0, 1, 2**31 - 1):
        key = ConditionKey.objects.create(item=item, replicate=value)
        assert ConditionKey.objects.get(pk=key.pk).replicate == value
        key.delete()


@pytest.mark.parametrize(
    ("dumper", "low", "high"),
    [
        (Int2CheckedDumper, -(2**15), 2**15 - 1),
        (Int4CheckedDumper, -(2**31), 2**31 - 1),
        (Int8CheckedDumper, -(2**63), 2**63 - 1),
    ],
)
def test_checked_dumpers_write_psycopg_bytes_in_range_and_refuse_outside(dumper, low, high):
    from psycopg import errors

    d = dumper(int)
    size = {Int2CheckedDumper: 2, Int4CheckedDumper: 4, Int8CheckedDumper: 8}[dumper]
    for value in (low, -1, 0, 1, high):
        assert d.dump(value) == value.to_bytes(size, "big", signed=True)
    for value in (low - 1, high + 1, high * 2**20):
        with pytest.raises(errors.NumericValueOutOfRange):
            d.dump(value)
