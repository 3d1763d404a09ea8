"""Parse a condition key file (CSV or JSONL) that sets or corrects items' sealed keys.

Pure Python (no Django); ``coding.services.keys`` matches the rows to the study's items and
writes them. One row per item, found by ``id`` (the id given at import; ``external_id``
works too) or by ``item`` (the public code). The other columns:

- ``model``, ``scaffold``, ``prompt`` (or ``prompt_id``), ``specification`` (``full`` or
  ``under``), ``replicate`` (a whole number) set those fields of the key;
- any other column sets that hidden metadata field of the key.

A column the file leaves out keeps its current value; an empty cell (or JSON null) clears
the field. Every row is checked before anything is written, and errors come in row order.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from alignweb.bounds import INT32_MAX, OutOfBounds, parse_int
from alignweb.text import text_problem

from .import_preview import SPECIFICATIONS, errors_in_row_order

MAX_ROWS = 100_000
MAX_TEXT = 10_000
MAX_METADATA_KEYS = 50
# Field -> longest value the ConditionKey column holds.
FIELDS = {"model": 200, "scaffold": 100, "prompt": 200, "specification": 20, "replicate": 0}
REFERENCE = {"id", "external_id", "item"}
IGNORED = {"messages", "title", "text", "kind", "metadata"}


@dataclass
class KeyRow:
    row: int
    ref_kind: str  # "id" (external id) | "item" (public code)
    ref: str
    fields: dict[str, Any] = field(default_factory=dict)  # condition fields to set
    metadata: dict[str, Any] = field(default_factory=dict)  # hidden metadata to set
    valid: bool = True  # False: a value was refused (the row still counts for repeats)


@dataclass
class KeyParse:
    rows: list[KeyRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)


def _value(name: str, raw: Any, row: int, errors: list[str]) -> tuple[bool, Any]:
    """(ok, cleaned value) of one cell; '' and None clear the field."""
    if raw is None or raw == "":
        return True, None if name == "replicate" else ""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        errors.append(f"Row {row}: {name} must be a plain value.")
        return False, None
    text = str(raw).strip()
    problem = text_problem(text)
    if problem:
        errors.append(f"Row {row}: {name} {problem}.")
        return False, None
    if name == "replicate":
        # The same bounds as the item import (a PostgreSQL integer column).
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        try:
            return True, parse_int(raw, low=0, high=INT32_MAX)
        except OutOfBounds:
            errors.append(f"Row {row}: replicate must be a whole number from 0 to {INT32_MAX}.")
            return False, None
    if name == "specification":
        spec = text.lower()
        if spec not in SPECIFICATIONS:
            errors.append(
                f"Row {row}: specification {text[:20]!r} must be "
                f"{' or '.join(SPECIFICATIONS)} (or empty)."
            )
            return False, None
        return True, spec
    limit = FIELDS.get(name, MAX_TEXT)
    if len(text) > limit:
        errors.append(
            f"Row {row}: {name[:40]} is {len(text):,} characters; the limit is {limit:,}."
        )
        return False, None
    return True, text


def _key_row(data: Any, row: int, errors: list[str]) -> KeyRow | None:
    """The row if its reference is readable (check ``valid``), else None."""
    if not isinstance(data, dict):
        errors.append(f"Row {row}: expected an object with an id or item column.")
        return None
    refs = [(k, data[k]) for k in ("id", "external_id", "item") if data.get(k) not in (None, "")]
    if len(refs) != 1:
        errors.append(
            f"Row {row}: give exactly one of id (the id used at import) or item (the item code)."
        )
        return None
    ref_name, ref_value = refs[0]
    ref = str(ref_value).strip()
    if not ref or len(ref) > 200 or "\x00" in ref:
        errors.append(f"Row {row}: {ref_name} must be 1 to 200 characters.")
        return None
    result = KeyRow(row=row, ref_kind="item" if ref_name == "item" else "id", ref=ref)
    extra = {k: v for k, v in data.items() if k not in REFERENCE | IGNORED | set(FIELDS)}
    if len(extra) > MAX_METADATA_KEYS:
        errors.append(f"Row {row}: more than {MAX_METADATA_KEYS} metadata fields.")
        return None
    ok = True
    for name in FIELDS:
        source = name
        if name == "prompt" and "prompt" not in data and "prompt_id" in data:
            source = "prompt_id"
        if source in data:
            good, value = _value(name, data[source], row, errors)
            ok = ok and good
            result.fields[name] = value
    for name, raw in extra.items():
        if name == "prompt_id":
            continue
        good, value = _value(str(name)[:100], raw, row, errors)
        ok = ok and good
        result.metadata[str(name)[:100]] = value
    result.valid = ok
    return result


def _add(result: KeyParse, key_row: KeyRow | None) -> None:
    if key_row is not None:
        result.rows.append(key_row)


def _parse_csv(text: str, result: KeyParse) -> None:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    result.columns = list(reader.fieldnames or [])
    if not result.columns:
        result.errors.append("The CSV file has no header row.")
        return
    if not REFERENCE & set(result.columns):
        result.errors.append("The CSV header needs an 'id' column (or 'item' for item codes).")
        return
    try:
        for row, data in enumerate(reader, start=2):
            if None in data:
                result.errors.append(f"Row {row}: more cells than header columns.")
                continue
            _add(result, _key_row(data, row, result.errors))
    except csv.Error as exc:
        result.errors.append(f"Row {reader.line_num}: unreadable CSV ({exc}).")


def _parse_jsonl(text: str, result: KeyParse) -> None:
    columns: dict[str, None] = {}
    for row, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            result.errors.append(f"Row {row}: invalid JSON.")
            continue
        if isinstance(data, dict):
            columns.update(dict.fromkeys(str(k) for k in data))
        _add(result, _key_row(data, row, result.errors))
    result.columns = list(columns)


def parse_condition_keys(raw: bytes, filename: str) -> KeyParse:
    """Parse a key file; ``errors`` (in row order) lists every bad row, including repeats."""
    result = KeyParse()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        result.errors.append(f"Row {line}: invalid UTF-8 (byte {exc.start}); save as UTF-8.")
        return result
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        result.errors.append(f"Row {line}: contains a NUL byte.")
        return result
    name = filename.lower()
    if name.endswith(".csv"):
        _parse_csv(text, result)
    elif name.endswith((".jsonl", ".ndjson", ".json")):
        _parse_jsonl(text, result)
    else:
        result.errors.append("Unsupported file type: upload a .csv or .jsonl file.")
        return result
    if len(result.rows) + len(result.errors) > MAX_ROWS:
        result.errors.insert(0, f"Too many rows: the limit is {MAX_ROWS:,} per file.")
    seen: dict[tuple[str, str], int] = {}
    for key_row in result.rows:
        ref = (key_row.ref_kind, key_row.ref)
        if ref in seen:
            result.errors.append(
                f"Row {key_row.row}: {key_row.ref_kind} {key_row.ref[:60]!r} appears twice "
                f"(first in row {seen[ref]})."
            )
        else:
            seen[ref] = key_row.row
    result.rows = [r for r in result.rows if r.valid]
    if not result.rows and not result.errors:
        result.errors.append("The file contains no rows.")
    result.errors = errors_in_row_order(result.errors)
    return result
