"""Spreadsheet-safe, streaming CSV.

Formula injection: a text cell that starts with ``=``, ``+``, ``-``, ``@``, tab or carriage
return is prefixed with a single quote (``'``), the convention OWASP recommends and
spreadsheets hide on display. Cells that parse as numbers (``-1``, ``+2.5``, ``-3e4``)
are left unchanged so numeric columns round-trip through pandas, R and Excel; integer
and float cells are never touched.

The escape is reversible: a text cell that already starts with ``'`` followed by one of
those characters (or by another ``'``) gets one more ``'``. ``unneutralise`` undoes it:
drop the first character of a cell that starts with ``'`` followed by ``= + - @ ' \\t \\r``.
Output is UTF-8 (no byte-order mark) with standard quoting of commas, quotes and newlines,
and ``\\n`` line endings.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED_NEXT = frozenset("=+-@\t\r'")
_FIRST = frozenset("=+-@\t\r'")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def neutralise_text(text: str) -> str:
    """The safe form of one text cell (fast path: most cells start with a letter)."""
    if not text or text[0] not in _FIRST:
        return text
    if text[0] == "'":
        return "'" + text if len(text) > 1 and text[1] in _ESCAPED_NEXT else text
    if _NUMBER.match(text):
        return text
    return "'" + text


def neutralise(value: Any) -> Any:
    """Make one cell safe for spreadsheets (see module docstring)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    return neutralise_text(str(value))


def unneutralise(cell: str) -> str:
    """Inverse of ``neutralise_text``: the original text of an exported text cell."""
    if len(cell) > 1 and cell[0] == "'" and cell[1] in _ESCAPED_NEXT:
        return cell[1:]
    return cell


def csv_field(text: str) -> str:
    """One text cell (already neutralised) quoted exactly as ``csv.QUOTE_MINIMAL`` does:
    fields with a quote, comma, CR or LF are wrapped in quotes, inner quotes doubled."""
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return '"' + text + '"'
    return text


def csv_text(text: str) -> str:
    """``csv_field(neutralise_text(text))`` in one call, for per-row hot loops."""
    if text and text[0] in _FIRST:
        text = neutralise_text(text)
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return '"' + text + '"'
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


def csv_chunks(
    header: Iterable[str],
    rows: Iterable[Iterable[Any]],
    *,
    prepared: bool = False,
    rows_per_chunk: int = 2000,
) -> Iterator[str]:
    """Yield CSV text in chunks of ``rows_per_chunk`` rows (constant memory, few writes).

    With ``prepared=True`` the caller has already passed every text cell through
    ``neutralise_text`` and every other cell is a number, None (written empty) or a
    string known to be safe; otherwise every cell goes through ``neutralise``.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralise(h) for h in header])
    batch: list = []
    for row in rows:
        batch.append(row if prepared else [neutralise(v) for v in row])
        if len(batch) >= rows_per_chunk:
            writer.writerows(batch)
            batch.clear()
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    writer.writerows(batch)
    tail = buffer.getvalue()
    if tail:
        yield tail


def csv_header(header: Iterable[str]) -> str:
    """The header line, neutralised and quoted like ``csv_lines``."""
    head = io.StringIO()
    csv.writer(head, lineterminator="\n").writerow([neutralise(h) for h in header])
    return head.getvalue()
