"""Text that PostgreSQL can store: no NUL characters and no lone UTF-16 surrogates.

PostgreSQL's text and jsonb types refuse U+0000, and a lone surrogate (``"\\ud800"`` in
JSON, which Python's json module decodes into a str) cannot be encoded as UTF-8 at all:
either reaches the database as a 500. Every boundary that decodes client JSON or reads raw
parameters checks with ``text_problem`` first.
"""

from __future__ import annotations

import math
from typing import Any


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or None when it can."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (invalid Unicode)"
    return None


def first_unstorable(data: Any) -> str | None:
    """Why parsed JSON cannot be stored, or None: a string (object key or value) with a
    NUL or lone surrogate, or a number that overflowed to infinity (``1e400`` parses as
    ``inf``, which jsonb refuses). Iterative: the JSON parser bounds the nesting depth."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return f"A string {problem}."
        elif isinstance(item, float) and not math.isfinite(item):
            return "A number is out of range (not finite)."
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
