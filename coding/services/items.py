"""Item import: validate every row, scrub, then write all items and keys or none."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction

from alignweb.bulk import bulk_insert
from coding.import_preview import errors_in_row_order
from coding.importing import Record, parse_import
from coding.models import ConditionKey, Event, Item, Study, new_public_code

from .errors import ServiceError
from .events import event_record
from .scrub_rules import study_scrubber
from .tallies import tally_add

KEY_FIELDS = ("model", "scaffold", "prompt", "specification", "replicate")


class ImportRejected(ServiceError):
    """The file had bad rows; nothing was written. ``errors`` lists them by row."""

    def __init__(self, errors: list[str]):
        # Checks run in passes (rows, repeated ids, clashes with the study): list them in
        # the order a lead fixes the file, top to bottom.
        self.errors = errors_in_row_order(errors)
        super().__init__(f"Import refused: {len(errors)} problem(s); nothing was imported.")


@dataclass
class ImportResult:
    created: int
    redactions: int
    redactions_by_rule: dict[str, int] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)


def canonical_json(content: dict) -> str:
    """The content as canonical JSON: what its hash is taken of (and what COPY stores)."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def content_sha256(content: dict, canonical: str | None = None) -> str:
    """Stable hash of what coders see (canonical JSON)."""
    if canonical is None:
        canonical = canonical_json(content)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _scrub_content(record: Record, scrubber) -> tuple[dict, Counter]:
    found: Counter = Counter()
    if record.kind == "document":
        # Benchmark descriptions are public documents: nothing to hide.
        return record.content, found
    messages = []
    for message in record.content["messages"]:
        if message["role"] == "system":
            continue  # the system prompt reveals the scaffold: never shown to coders
        text, counts = scrubber.scrub(message["content"])
        found.update(counts)
        messages.append({"role": message["role"], "content": text})
    return {"messages": messages}, found


def _key_from(metadata: dict) -> ConditionKey:
    replicate = metadata.get("replicate")
    try:
        replicate = int(replicate) if replicate not in (None, "") else None
    except (TypeError, ValueError):
        replicate = None
    return ConditionKey(
        model=str(metadata.get("model", "") or "")[:200],
        scaffold=str(metadata.get("scaffold", "") or "")[:100],
        prompt=str(metadata.get("prompt", metadata.get("prompt_id", "")) or "")[:200],
        specification=str(metadata.get("specification", "") or "")[:20],
        replicate=replicate,
        metadata={k: v for k, v in metadata.items() if k not in KEY_FIELDS},
    )


def _unique_codes(n: int) -> list[str]:
    codes: set[str] = set()
    while len(codes) < n:
        batch = {new_public_code() for _ in range(n - len(codes))}
        clashing = Item.objects.filter(public_code__in=batch)
        taken = set(clashing.values_list("public_code", flat=True))
        codes |= batch - taken
    return list(codes)


def items_import_records(
    *, study: Study, records: list[Record], by, source: str = "", hidden_texts: list[str] = ()
) -> ImportResult:
    """Write parsed records as blinded items with sealed keys, atomically.

    ``hidden_texts`` (e.g. scaffold texts) join the records' system prompts as text whose
    verbatim echoes are redacted."""
    if study.status not in (Study.Status.DRAFT, Study.Status.OPEN):
        raise ServiceError("Items can only be added to a draft or open study.")
    ids = [r.external_id for r in records if r.external_id]
    clashes = set(
        Item.objects.filter(study=study, external_id__in=ids).values_list("external_id", flat=True)
    )
    if clashes:
        raise ImportRejected(
            [
                f"Row {r.row}: duplicate id {r.external_id[:60]!r} (already in this study)."
                for r in records
                if r.external_id in clashes
            ]
        )
    scrubber = study_scrubber(study=study, records=records, hidden_texts=hidden_texts)
    codes = _unique_codes(len(records))
    items, keys, texts = [], [], []
    for record, code in zip(records, codes, strict=True):
        content, found = _scrub_content(record, scrubber)
        text = canonical_json(content)
        texts.append(text)
        items.append(
            Item(
                study_id=study.pk,
                public_code=code,
                kind=record.kind,
                external_id=record.external_id,
                content=content,
                content_sha256=content_sha256(content, text),
                redaction_count=sum(found.values()),
                redactions=dict(found),
            )
        )
        keys.append(_key_from(record.metadata))
    with transaction.atomic():
        bulk_insert(Item, items, raw={"content": texts})
        for item, key in zip(items, keys, strict=True):
            key.item_id = item.pk  # (the descriptor, key.item = item, costs 5x more)
        bulk_insert(ConditionKey, keys)
        total = sum(scrubber.counts.values())
        tally_add(
            study_id=study.pk,
            user_id=getattr(by, "pk", None),
            items=len(items),
            redactions=sum(i.redaction_count for i in items),
        )
        event_record(
            verb=Event.Verb.IMPORT,
            actor=by,
            study=study,
            target=source[:200],
            payload={"items": len(items), "redactions": total, "by_rule": dict(scrubber.counts)},
        )
        if study.status == Study.Status.OPEN:
            from .studies import assignments_extend

            assignments_extend(study=study, by=by)
    return ImportResult(
        created=len(items),
        redactions=total,
        redactions_by_rule=dict(scrubber.counts),
        items=items,
    )


def items_import_file(*, study: Study, raw: bytes, filename: str, by) -> ImportResult:
    """Parse, validate and import an uploaded JSONL/CSV file; all rows or none."""
    parsed = parse_import(raw, filename)
    if parsed.errors:
        raise ImportRejected(parsed.errors)
    return items_import_records(study=study, records=parsed.records, by=by, source=filename)


def items_import(
    *, study: Study, records: list[dict], by, source: str = "", hidden_texts: list[str] = ()
) -> ImportResult:
    """Import already-structured records (used by generation runs): same checks as files."""
    # ASCII escapes: a lone surrogate or NaN in a record reaches the parser as a row error
    # (ensure_ascii=False would raise UnicodeEncodeError on the encode below).
    lines = "\n".join(json.dumps(r) for r in records)
    parsed = parse_import(lines.encode("utf-8"), "records.jsonl")
    if parsed.errors:
        raise ImportRejected(parsed.errors)
    return items_import_records(
        study=study, records=parsed.records, by=by, source=source, hidden_texts=hidden_texts
    )
