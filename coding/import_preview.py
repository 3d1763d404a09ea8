"""What an import file will become, shown to the lead before anything is written.

Pure Python (no Django): takes the records ``coding.importing.parse_import`` produced and
returns plain, JSON-ready dicts (the preview is stored with the pending upload). The
column roles mirror ``coding.services.items``: ``CONDITION_COLUMNS`` become the sealed
condition key, every other metadata column is hidden metadata in the same key, and only
the messages (system messages removed, names scrubbed) or a document's title and text
reach coders.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

# (column, what it means); documented on the import page and used by the analyses.
CONDITION_COLUMNS: list[tuple[str, str]] = [
    (
        "model",
        "Which model produced the transcript. Its spellings are also scrubbed from the text.",
    ),
    ("scaffold", "The scaffold (system prompt) condition, e.g. C1-C4: compared by the analyses."),
    ("prompt", "Which prompt was asked (a code such as P07; prompt_id is accepted too)."),
    (
        "specification",
        "full or under: whether the prompt states the task completely. Scaffold efficacy needs it.",
    ),
    ("replicate", "Replicate number (a whole number) when a cell was generated more than once."),
]
CONDITION_NAMES = [name for name, _ in CONDITION_COLUMNS]
SPECIFICATIONS = ("full", "under")
PREVIEW_ROWS = 10
SHOWN = {"messages", "title", "text"}
ID_COLUMNS = {"id", "external_id"}
# Metadata keys whose values are also scrubbed from the text (see coding.services.items).
SCRUBBED = {"model", "endpoint", "provider", "vendor", "model_id", "served_model"}
_ROW = re.compile(r"^Row (\d+)\b")


def errors_in_row_order(errors: Iterable[str]) -> list[str]:
    """File-level messages first, then per-row messages by row number (stable otherwise).

    Checks run in passes (rows, then duplicate ids across rows, then clashes with the
    study), so their messages arrive out of order; a lead fixes a file top to bottom.
    """

    def key(pair: tuple[int, str]) -> tuple[int, int, int]:
        index, message = pair
        match = _ROW.match(message)
        return (1, int(match.group(1)), index) if match else (0, 0, index)

    return [message for _i, message in sorted(enumerate(errors), key=key)]


def condition_values(metadata: dict[str, Any]) -> dict[str, Any]:
    """The condition key fields of one row, as ``coding.services.items`` stores them."""
    prompt = metadata.get("prompt", metadata.get("prompt_id", ""))
    return {
        "model": _text(metadata.get("model")),
        "scaffold": _text(metadata.get("scaffold")),
        "prompt": _text(prompt),
        "specification": _text(metadata.get("specification")),
        "replicate": metadata.get("replicate"),
    }


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _rows_text(rows: Sequence[int], limit: int = 8) -> str:
    shown = ", ".join(str(r) for r in rows[:limit])
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return f"row{'s' if len(rows) > 1 else ''} {shown}{more}"


def _column_role(name: str) -> tuple[str, str]:
    if name in ID_COLUMNS:
        return "id", "Item id: matches rows later (condition key corrections); never shown."
    if name == "messages":
        return "shown", "Shown to coders: system messages removed, model and vendor names scrubbed."
    if name in ("title", "text"):
        return "shown", "Shown to coders (benchmark documents)."
    if name in CONDITION_NAMES or name == "prompt_id":
        target = "prompt" if name == "prompt_id" else name
        note = " Also scrubbed from the text." if name in SCRUBBED else ""
        return "condition", f"Hidden condition: the key's {target} field.{note}"
    note = " Its values are also scrubbed from the text." if name.lower() in SCRUBBED else ""
    return "hidden", f"Hidden metadata, kept in the sealed key (not used by analyses).{note}"


def import_preview(records: Sequence[Any]) -> dict[str, Any]:
    """Summary of parsed records: columns and their roles, condition coverage, warnings and
    the first ``PREVIEW_ROWS`` rows. ``records`` are ``coding.importing.Record`` objects."""
    kinds = Counter(r.kind for r in records)
    present: Counter = Counter()
    order: list[str] = []

    def seen(name: str) -> None:
        if name not in present:
            order.append(name)
        present[name] += 1

    bad_spec: dict[str, list[int]] = {}
    no_id: list[int] = []
    for record in records:
        if record.external_id:
            seen("id")
        else:
            no_id.append(record.row)
        for name in ("messages",) if record.kind == "transcript" else ("title", "text"):
            seen(name)
        for key, value in record.metadata.items():
            if value is not None and value != "":
                seen(key)
        values = condition_values(record.metadata)
        spec = values["specification"].strip().lower()
        if spec and spec not in SPECIFICATIONS:
            bad_spec.setdefault(values["specification"][:20], []).append(record.row)

    transcripts = kinds.get("transcript", 0)
    coverage = {}
    for name in CONDITION_NAMES:
        filled = present.get(name, 0) + (present.get("prompt_id", 0) if name == "prompt" else 0)
        coverage[name] = min(filled, len(records))
    warnings = _warnings(transcripts, coverage, bad_spec, no_id)
    columns = []
    for name in order:
        role, text = _column_role(name)
        columns.append({"name": name, "role": role, "text": text, "rows": present[name]})
    rank = {"id": 0, "shown": 1, "condition": 2, "hidden": 3}
    columns.sort(key=lambda c: rank[c["role"]])
    return {
        "n_rows": len(records),
        "kinds": dict(kinds),
        "columns": columns,
        "coverage": coverage,
        "warnings": warnings,
        "rows": [_preview_row(r) for r in records[:PREVIEW_ROWS]],
    }


def _warnings(
    transcripts: int,
    coverage: dict[str, int],
    bad_spec: dict[str, list[int]],
    no_id: list[int],
) -> list[str]:
    warnings = []
    if transcripts:
        for name, needed_by in (
            ("model", "alignment profiles, scaffold efficacy and the claim report's scope"),
            ("scaffold", "alignment profiles and scaffold efficacy"),
            ("specification", "scaffold efficacy (values full or under)"),
        ):
            if coverage[name] == 0:
                warnings.append(f"No {name} column: {needed_by} will not run.")
            elif coverage[name] < transcripts:
                warnings.append(
                    f"{transcripts - coverage[name]} of {transcripts} transcripts have no "
                    f"{name}: {needed_by} will leave them out."
                )
    for value, rows in bad_spec.items():
        warnings.append(
            f"Specification {value!r} ({_rows_text(rows)}) is neither full nor under: "
            "scaffold efficacy will leave these rows out."
        )
    if no_id:
        warnings.append(
            f"No id in {_rows_text(no_id)}: their condition key cannot be corrected by id later."
        )
    return warnings


def _preview_row(record: Any) -> dict[str, Any]:
    values = condition_values(record.metadata)
    if record.kind == "transcript":
        messages = record.content["messages"]
        shown = [m for m in messages if m["role"] != "system"]
        users = sum(1 for m in shown if m["role"] == "user")
        excerpt = next((m["content"] for m in shown if m["role"] == "user"), "")
        what = f"{len(shown)} messages, {users} user turn{'s' if users != 1 else ''}"
    else:
        excerpt = record.content.get("title") or record.content.get("text", "")
        what = "document"
    hidden = sorted(
        k
        for k in record.metadata
        if k not in CONDITION_NAMES and k != "prompt_id" and record.metadata[k] not in (None, "")
    )
    shown_values = {k: ("" if v is None else str(v)) for k, v in values.items()}
    return {
        "row": record.row,
        "id": record.external_id,
        "kind": record.kind,
        "what": what,
        "excerpt": excerpt[:120],
        **shown_values,
        "hidden": hidden,
    }
