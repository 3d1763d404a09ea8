"""Parse and validate an import file (JSONL or CSV) into item records, with per-row errors.

Pure Python (no Django models). Every row is checked before anything is written; the
service in coding/services/items.py writes all records in one transaction or none. Whatever
a file holds becomes a per-row error, never a 500: NUL and lone surrogates anywhere (text,
ids, metadata keys), NaN/Infinity, a role that is not a string, an out-of-range replicate.

JSONL: one object per line. Transcript: ``{"id": "...", "messages": [{"role", "content"}],
<any metadata keys>}``. Document (benchmark audits): ``{"id", "title", "text", ...}``.
A ``metadata`` object, if present, is merged with the other top-level keys.
CSV: columns ``id`` (or ``external_id``), ``messages`` (a JSON array) or ``title``/``text``;
every other column is metadata.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from typing import Any

from alignweb.bounds import INT32_MAX, OutOfBounds, parse_int
from alignweb.text import text_problem

ROLES = {"system", "user", "assistant", "tool"}
RESERVED = {"id", "external_id", "messages", "title", "text", "kind", "metadata"}
MAX_FIELD_CHARS = 100_000
MAX_ROWS = 100_000
MAX_METADATA_KEYS = 50
MAX_KEY_CHARS = 100


@dataclass
class Record:
    row: int
    external_id: str
    kind: str  # "transcript" | "document"
    content: dict
    metadata: dict[str, Any]


@dataclass
class ParseResult:
    records: list[Record] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _check_text(value: Any, where: str, errors: list[str], row: int) -> str | None:
    if not isinstance(value, str):
        errors.append(f"Row {row}: {where} must be text.")
        return None
    problem = text_problem(value)
    if problem:
        errors.append(f"Row {row}: {where} {problem.replace('character', 'byte')}.")
        return None
    if len(value) > MAX_FIELD_CHARS:
        errors.append(
            f"Row {row}: {where} is {len(value):,} characters; the limit is {MAX_FIELD_CHARS:,}."
        )
        return None
    return value


def _check_messages(raw: Any, row: int, errors: list[str]) -> list[dict] | None:
    if raw is None:
        errors.append(f"Row {row}: missing 'messages' (a list of {{role, content}}).")
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):
            errors.append(f"Row {row}: 'messages' is not valid JSON.")
            return None
    if not isinstance(raw, list) or not raw:
        errors.append(f"Row {row}: 'messages' must be a non-empty list.")
        return None
    messages = []
    for index, message in enumerate(raw, start=1):
        if not isinstance(message, dict):
            errors.append(f"Row {row}: message {index} must be an object with role and content.")
            return None
        role = message.get("role")
        if not isinstance(role, str) or role not in ROLES:
            errors.append(
                f"Row {row}: message {index} has unknown role {str(role)[:40]!r} "
                f"(expected one of {', '.join(sorted(ROLES))})."
            )
            return None
        content = _check_text(message.get("content"), f"message {index} content", errors, row)
        if content is None:
            return None
        messages.append({"role": role, "content": content})
    return messages


def _check_metadata(data: dict, row: int, errors: list[str]) -> dict | None:
    metadata: dict[str, Any] = {}
    nested = data.get("metadata")
    if nested is not None and not isinstance(nested, dict):
        errors.append(f"Row {row}: 'metadata' must be an object.")
        return None
    merged = {**{k: v for k, v in data.items() if k not in RESERVED}, **(nested or {})}
    if len(merged) > MAX_METADATA_KEYS:
        errors.append(f"Row {row}: more than {MAX_METADATA_KEYS} metadata fields.")
        return None
    for key, value in merged.items():
        key = str(key)
        if len(key) > MAX_KEY_CHARS or text_problem(key):
            errors.append(
                f"Row {row}: metadata field names must be at most {MAX_KEY_CHARS} characters "
                "of valid text (no NUL)."
            )
            return None
        if key == "replicate":
            replicate = _check_replicate(value, row, errors)
            if replicate is False:
                return None
            metadata[key] = replicate
            continue
        if isinstance(value, float) and not math.isfinite(value):
            errors.append(f"Row {row}: metadata field {key[:40]!r} is not a finite number.")
            return None
        if value is None or isinstance(value, bool | int | float):
            metadata[key] = value
            continue
        text = _check_text(value, f"metadata field {str(key)[:40]!r}", errors, row)
        if text is None:
            if not isinstance(value, str):
                errors[-1] = f"Row {row}: metadata field {str(key)[:40]!r} must be a plain value."
            return None
        metadata[str(key)] = text
    return metadata


def _check_replicate(value: Any, row: int, errors: list[str]) -> int | None | bool:
    """The replicate number (a ConditionKey column: 0 to 2**31 - 1), None when blank, False
    after recording an error."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    try:
        return parse_int(value, low=0, high=INT32_MAX)
    except OutOfBounds:
        errors.append(f"Row {row}: replicate must be a whole number from 0 to {INT32_MAX}.")
        return False


def _record_from(data: Any, row: int, errors: list[str]) -> Record | None:
    if not isinstance(data, dict):
        errors.append(f"Row {row}: expected a JSON object.")
        return None
    raw_id = data.get("id", data.get("external_id", ""))
    external_id = "" if raw_id is None else str(raw_id).strip()
    if text_problem(external_id) or len(external_id) > 200:
        errors.append(f"Row {row}: id must be at most 200 characters of valid text (no NUL).")
        return None
    if "messages" in data or "text" not in data:
        kind = "transcript"
        messages = _check_messages(data.get("messages"), row, errors)
        if messages is None:
            return None
        content: dict = {"messages": messages}
    else:
        kind = "document"
        text = _check_text(data.get("text"), "text", errors, row)
        title = _check_text(data.get("title", "") or "", "title", errors, row)
        if text is None or title is None:
            return None
        if not text.strip():
            errors.append(f"Row {row}: 'text' is empty.")
            return None
        content = {"title": title, "text": text}
    metadata = _check_metadata(data, row, errors)
    if metadata is None:
        return None
    return Record(row=row, external_id=external_id, kind=kind, content=content, metadata=metadata)


def _decode(raw: bytes, errors: list[str]) -> str | None:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        errors.append(f"Row {line}: invalid UTF-8 (byte {exc.start}); save the file as UTF-8.")
        return None


def _refuse_constant(name: str) -> None:
    """NaN and Infinity are not JSON (Python accepts them; PostgreSQL's jsonb does not)."""
    raise ValueError(f"{name} is not a JSON number")


def _parse_jsonl(text: str, result: ParseResult) -> None:
    for row, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if "\x00" in line:
            result.errors.append(f"Row {row}: contains a NUL byte.")
            continue
        try:
            data = json.loads(line, parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            result.errors.append(f"Row {row}: invalid JSON ({exc.msg} at column {exc.colno}).")
            continue
        except ValueError as exc:  # NaN/Infinity, or an integer of over 4,300 digits
            result.errors.append(f"Row {row}: invalid JSON ({str(exc)[:80]}).")
            continue
        except RecursionError:
            result.errors.append(f"Row {row}: JSON is nested too deeply.")
            continue
        record = _record_from(data, row, result.errors)
        if record is not None:
            result.records.append(record)


def _parse_csv(text: str, result: ParseResult) -> None:
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        result.errors.append(f"Row {line}: contains a NUL byte.")
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    fields = reader.fieldnames or []
    if not fields:
        result.errors.append("The CSV file has no header row.")
        return
    if not ({"messages", "text"} & set(fields)):
        result.errors.append("The CSV header needs a 'messages' column (or 'text' for documents).")
        return
    try:
        for row, data in enumerate(reader, start=2):
            if None in data:
                result.errors.append(f"Row {row}: more cells than header columns.")
                continue
            cleaned = {k: v for k, v in data.items() if v is not None and v != ""}
            record = _record_from(cleaned, row, result.errors)
            if record is not None:
                result.records.append(record)
    except csv.Error as exc:
        result.errors.append(f"Row {reader.line_num}: unreadable CSV ({exc}).")


def parse_import(raw: bytes, filename: str) -> ParseResult:
    """Parse an uploaded file; ``errors`` lists every bad row (the whole file is then refused)."""
    result = ParseResult()
    text = _decode(raw, result.errors)
    if text is None:
        return result
    if not text.strip():
        result.errors.append("The file is empty.")
        return result
    name = filename.lower()
    if name.endswith(".csv"):
        _parse_csv(text, result)
    elif name.endswith((".jsonl", ".ndjson", ".json")):
        _parse_jsonl(text, result)
    else:
        result.errors.append("Unsupported file type: upload a .jsonl or .csv file.")
        return result
    if len(result.records) + len(result.errors) > MAX_ROWS:
        result.errors.insert(0, f"Too many rows: the limit is {MAX_ROWS:,} per file.")
    seen: dict[str, int] = {}
    for record in result.records:
        if not record.external_id:
            continue
        if record.external_id in seen:
            result.errors.append(
                f"Row {record.row}: duplicate id {record.external_id[:60]!r} "
                f"(first seen in row {seen[record.external_id]})."
            )
        else:
            seen[record.external_id] = record.row
    if not result.records and not result.errors:
        result.errors.append("The file contains no items.")
    return result
