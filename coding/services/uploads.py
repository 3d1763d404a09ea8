"""Two-step uploads: stage a file (check every row, keep it with its preview), then confirm.

Items: ``upload_stage(kind="items")`` parses the file exactly as the import will and stores
it with a preview of what becomes the hidden condition; ``items_import_confirm`` imports
it. Condition keys (draft studies only): ``upload_stage(kind="key")`` checks that every row
names an item of the study; ``condition_keys_confirm`` writes the keys and logs the change
(counts per field, never the values: the Event log must not become a copy of the key).

The file is kept in the database (``PendingUpload``), never on a web process's disk, so
the confirm request may reach any process. Confirming deletes the pending row in the same
transaction as the write, so a double click cannot import a file twice.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from coding.condition_keys import KeyParse, KeyRow, parse_condition_keys
from coding.import_preview import CONDITION_NAMES, PREVIEW_ROWS, import_preview
from coding.importing import parse_import
from coding.models import ConditionKey, Event, Item, PendingUpload, Study

from .errors import Conflict, ServiceError
from .events import event_record
from .items import ImportRejected, ImportResult, items_import_file

UPLOAD_TTL = timedelta(days=1)
LOOKUP_CHUNK = 5000
KEY_FIELDS = list(CONDITION_NAMES)
DRAFT_ONLY = (
    "The condition key can be uploaded or corrected only while the study is a draft: "
    "once it opens, items are assigned by their conditions and the key is fixed."
)


def _sweep(*, study: Study, kind: str, by) -> None:
    """Forget expired uploads, and this person's earlier unconfirmed upload of the same kind."""
    PendingUpload.objects.filter(created_at__lt=timezone.now() - UPLOAD_TTL).delete()
    PendingUpload.objects.filter(study=study, kind=kind, created_by=by).delete()


def _chunks(values: list[str]):
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield values[start : start + LOOKUP_CHUNK]


def _existing_ids(study: Study, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(ids):
        found |= set(
            Item.objects.filter(study=study, external_id__in=chunk).values_list(
                "external_id", flat=True
            )
        )
    return found


def _match_keys(study: Study, rows: list[KeyRow]) -> tuple[dict[int, int], list[str]]:
    """Row number -> item id for every key row, and the rows that match no item."""
    lookups: dict[str, dict[str, int]] = {"id": {}, "item": {}}
    for kind, column in (("id", "external_id"), ("item", "public_code")):
        refs = sorted({r.ref for r in rows if r.ref_kind == kind})
        for chunk in _chunks(refs):
            lookups[kind].update(
                Item.objects.filter(study=study, **{f"{column}__in": chunk}).values_list(
                    column, "pk"
                )
            )
    matched: dict[int, int] = {}
    first_row: dict[int, int] = {}
    errors: list[str] = []
    for r in rows:
        item_id = lookups[r.ref_kind].get(r.ref)
        if item_id is None:
            errors.append(f"Row {r.row}: no item with {r.ref_kind} {r.ref[:60]!r} in this study.")
        elif item_id in first_row:
            errors.append(f"Row {r.row}: the same item as row {first_row[item_id]}.")
        else:
            first_row[item_id] = r.row
            matched[r.row] = item_id
    return matched, errors


def _key_preview(study: Study, parsed: KeyParse) -> dict[str, Any]:
    sets: Counter = Counter()
    clears: Counter = Counter()
    metadata: Counter = Counter()
    for r in parsed.rows:
        for name, value in r.fields.items():
            (clears if value in ("", None) else sets)[name] += 1
        for name in r.metadata:
            metadata[name] += 1
    return {
        "n_rows": len(parsed.rows),
        "n_items": Item.objects.filter(study=study).count(),
        "fields": [
            {"name": name, "sets": sets[name], "clears": clears[name]}
            for name in KEY_FIELDS
            if name in sets or name in clears
        ],
        "kept": [name for name in KEY_FIELDS if name not in sets and name not in clears],
        "metadata": sorted(metadata),
        "rows": [
            {
                "row": r.row,
                "ref": f"{r.ref_kind} {r.ref}",
                **{name: r.fields.get(name, "(kept)") for name in KEY_FIELDS},
                "metadata": ", ".join(sorted(r.metadata)),
            }
            for r in parsed.rows[:PREVIEW_ROWS]
        ],
    }


def _require_draft(study: Study) -> None:
    if study.status != Study.Status.DRAFT:
        raise ServiceError(DRAFT_ONLY)


def upload_stage(*, study: Study, kind: str, raw: bytes, filename: str, by) -> PendingUpload:
    """Check an uploaded file and keep it with its preview; nothing else is written.

    Raises ``ImportRejected`` (errors in row order) when any row is bad.
    """
    filename = (filename or "upload")[:200]
    if kind == PendingUpload.Kind.ITEMS:
        if study.status not in (Study.Status.DRAFT, Study.Status.OPEN):
            raise ServiceError("Items can only be added to a draft or open study.")
        parsed = parse_import(raw, filename)
        if parsed.errors:
            raise ImportRejected(parsed.errors)
        clashes = _existing_ids(study, [r.external_id for r in parsed.records if r.external_id])
        if clashes:
            raise ImportRejected(
                [
                    f"Row {r.row}: duplicate id {r.external_id[:60]!r} (already in this study)."
                    for r in parsed.records
                    if r.external_id in clashes
                ]
            )
        summary = import_preview(parsed.records)
    elif kind == PendingUpload.Kind.KEY:
        _require_draft(study)
        keys = parse_condition_keys(raw, filename)
        if keys.errors:
            raise ImportRejected(keys.errors)
        _matched, errors = _match_keys(study, keys.rows)
        if errors:
            raise ImportRejected(errors)
        summary = _key_preview(study, keys)
    else:
        raise ServiceError("Unknown upload kind.")
    with transaction.atomic():
        _sweep(study=study, kind=kind, by=by)
        return PendingUpload.objects.create(
            study=study,
            kind=kind,
            filename=filename,
            raw=raw,
            sha256=hashlib.sha256(raw).hexdigest(),
            summary=summary,
            created_by=by,
        )


def _claim(upload: PendingUpload) -> None:
    """Delete the pending row (inside the caller's transaction): the second click loses."""
    deleted, _ = PendingUpload.objects.filter(pk=upload.pk).delete()
    if not deleted:
        raise Conflict("This upload was already confirmed or discarded. Upload the file again.")


def upload_discard(*, upload: PendingUpload) -> None:
    """Drop a staged upload without writing anything."""
    PendingUpload.objects.filter(pk=upload.pk).delete()


def items_import_confirm(*, upload: PendingUpload, by) -> ImportResult:
    """Import a staged items file (all rows or none), exactly as previewed."""
    if upload.kind != PendingUpload.Kind.ITEMS:
        raise ServiceError("This upload is not an items file.")
    with transaction.atomic():
        _claim(upload)
        return items_import_file(
            study=upload.study, raw=bytes(upload.raw), filename=upload.filename, by=by
        )


def _apply(key: ConditionKey, row: KeyRow, changed: Counter) -> bool:
    """Set one key's fields from a row; True if anything changed."""
    dirty = False
    for name, value in row.fields.items():
        if getattr(key, name) != value:
            setattr(key, name, value)
            changed[name] += 1
            dirty = True
    if row.metadata:
        merged = dict(key.metadata or {})
        for name, value in row.metadata.items():
            if value in ("", None):
                merged.pop(name, None)
            else:
                merged[name] = value
        if merged != (key.metadata or {}):
            key.metadata = merged
            changed["metadata"] += 1
            dirty = True
    return dirty


def condition_keys_confirm(*, upload: PendingUpload, by) -> dict[str, Any]:
    """Write a staged condition key file to the items' keys (draft studies only; logged).

    Returns the counts that were logged: rows, keys created, fields changed.
    """
    if upload.kind != PendingUpload.Kind.KEY:
        raise ServiceError("This upload is not a condition key file.")
    study = upload.study
    with transaction.atomic():
        # Row-lock the study: study_open waits for this write, or it already won.
        if (
            not Study.objects.select_for_update()
            .filter(pk=study.pk, status=Study.Status.DRAFT)
            .exists()
        ):
            raise ServiceError(DRAFT_ONLY)
        _claim(upload)
        parsed = parse_condition_keys(bytes(upload.raw), upload.filename)
        if parsed.errors:
            raise ImportRejected(parsed.errors)
        matched, errors = _match_keys(study, parsed.rows)
        if errors:
            raise ImportRejected(errors)
        item_ids = sorted(matched.values())
        keys: dict[int, ConditionKey] = {}
        for start in range(0, len(item_ids), LOOKUP_CHUNK):
            chunk = item_ids[start : start + LOOKUP_CHUNK]
            keys.update((k.item_id, k) for k in ConditionKey.objects.filter(item_id__in=chunk))
        changed: Counter = Counter()
        updated, created = [], []
        for row in parsed.rows:
            item_id = matched[row.row]
            key = keys.get(item_id)
            if key is None:
                key = ConditionKey(item_id=item_id, metadata={})
                _apply(key, row, changed)
                created.append(key)
            elif _apply(key, row, changed):
                updated.append(key)
        if updated:
            ConditionKey.objects.bulk_update(
                updated, [*KEY_FIELDS, "metadata"], batch_size=LOOKUP_CHUNK
            )
        if created:
            ConditionKey.objects.bulk_create(created, batch_size=LOOKUP_CHUNK)
        payload = {
            "file": upload.filename,
            "sha256": upload.sha256,
            "rows": len(parsed.rows),
            "keys_changed": len(updated),
            "keys_created": len(created),
            "fields_changed": dict(sorted(changed.items())),
        }
        event_record(
            verb=Event.Verb.KEY_UPDATE,
            actor=by,
            study=study,
            target=upload.filename,
            payload=payload,
        )
    return payload
