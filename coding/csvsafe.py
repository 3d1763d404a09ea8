"""Spreadsheet-safe, streaming CSV.

Formula injection: a cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage
return is prefixed with a single quote (``'``), the convention OWASP recommends and
spreadsheets hide on display. Cells that parse as numbers (``-1``, ``+2.5``, ``-3e4``)
are left unchanged so numeric columns round-trip through pandas, R and Excel.
Output is UTF-8 with standard quoting (commas, quotes, newlines).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from typing import Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise(value: Any) -> Any:
    """Make one cell safe for spreadsheets (see module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    text = str(value)
    if text.startswith(_TRIGGERS) and not _NUMBER.match(text):
        return "'" + text
    return text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """Yield CSV text line by line (constant memory) with every cell neutralised."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow([neutralise(h) for h in header])
    for row in rows:
        yield writer.writerow([neutralise(v) for v in row])
