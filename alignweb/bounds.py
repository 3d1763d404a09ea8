"""Integers at the boundary: one parser for every number a user sends outside a form or
serializer field (query parameters, raw POST keys, import files), and the column ranges.

``int()`` alone is not a boundary check: it accepts 5,000-digit strings (and raises a
ValueError past Python's 4,300-digit limit), Unicode digits and values no column can hold.
Every such number goes through ``parse_int`` with explicit bounds, and the API and HTML
wrappers below turn a refusal into a 400 that names the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.core.exceptions import BadRequest

# Column ranges (PostgreSQL smallint / integer / bigint; Django's Positive* add >= 0).
INT16_MAX = 2**15 - 1
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
POSITIVE_SMALL = (0, INT16_MAX)
POSITIVE_INT = (0, INT32_MAX)
INT32 = (-(2**31), INT32_MAX)
INT64 = (-(2**63), INT64_MAX)
# Database ids (BigAutoField) and ids a client echoes back, such as ``upto`` or ``expected_id``.
ID = (1, INT64_MAX)
# Random seeds: a study's assignment seed, a run's seed (replicate r adds r - 1, so it
# stays far from the bigint edge).
SEED_MAX = 2**62
# A generation request's max_tokens.
MAX_TOKENS = 200_000

# ASCII digits only, with an optional sign: 19 digits hold any bigint, so a longer string
# is refused before int() spends time on it.
_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")


class OutOfBounds(ValueError):
    """The value is not a whole number in the allowed range; the message says which."""


def parse_int(raw: object, *, low: int, high: int) -> int:
    """The integer ``raw`` denotes if it lies in ``[low, high]``, else ``OutOfBounds``.

    Accepts an ``int`` (not a ``bool``) or a string of ASCII digits with an optional sign.
    """
    if isinstance(raw, bool):
        raise OutOfBounds("Expected a whole number.")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        value = int(raw.strip())
    else:
        raise OutOfBounds("Expected a whole number.")
    if not low <= value <= high:
        raise OutOfBounds(f"Expected a whole number from {low} to {high}.")
    return value


def param_int(
    params: Mapping[str, str], name: str, *, low: int, high: int, default: int | None = None
) -> int | None:
    """A bounded integer parameter (absent or empty: ``default``); ``BadRequest`` (400) when
    malformed or out of range. For HTML views; the API uses ``query_int``."""
    raw = params.get(name, "")
    if raw == "":
        return default
    try:
        return parse_int(raw, low=low, high=high)
    except OutOfBounds as exc:
        raise BadRequest(f"{name}: {exc}")


def query_int(request, name: str, *, low: int, high: int, default: int | None = None) -> int | None:
    """A bounded integer query parameter of a DRF request; a 400 naming it when refused."""
    from rest_framework.exceptions import ValidationError

    raw = request.query_params.get(name, "")
    if raw == "":
        return default
    try:
        return parse_int(raw, low=low, high=high)
    except OutOfBounds as exc:
        raise ValidationError({name: [str(exc)]})
