"""Streaming CSV exports of a study, and their provenance sidecars.

Kinds (columns are fixed and documented on the lead's "Lock & export" page):

- ``long``: one row per item x dimension x coder for every *submitted* first-pass
  score: ``item, dimension, coder, value, rationale, submitted_at, rubric_version,
  reconciled_value, reconciled_method, reconciled_note``. Coders are pseudonyms ``C01``,
  ``C02``, ... numbered by account creation order among the study's coders, so they are stable
  across repeated exports of a study and no username leaves in the file.
- ``wide``: one row per item: ``item``, then the reconciled value of each dimension
  (``D1`` ... ``Dn``, empty if not reconciled), how each was decided (``D1_method`` ...
  ``Dn_method``: agreed, discussion or adjudicated) and the adjudicator's note (``D1_note``
  ... ``Dn_note``), and, only once the study is unblinded,
  ``model, scaffold, prompt, specification, replicate``.
- ``design``: the design matrix ``item, coder, position`` (coders by username: this
  is the lead's operational plan, the same table the dashboard shows).
- ``events``: the Event log ``id, at, actor, verb, target, payload`` (payload as JSON).

Every export streams ``values_list`` rows (no model instances) and yields CSV text in
chunks, so memory does not grow with the study: the wide, design and event exports
through ``.iterator(chunk_size=...)``, the long export (the big one: one row per score)
in batches of ``ITEM_BATCH`` items read in public-code order (see ``long_chunks``).
The provenance sidecar (``export_provenance``) streams the same bytes a second time,
hashing as it goes, because a streamed file's hash is only known at its end.
The event log keeps growing, so its sidecar fixes an ``upto`` event id and names the
CSV URL that reproduces exactly the hashed bytes.

Entry points used by views and the REST API: ``export_start`` (logs an Event and
returns the stream) and ``export_provenance`` (logs an Event and returns a dict).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connections, transaction
from django.db.models import CharField, F, FilteredRelation, Max, Q
from django.db.models.functions import Cast
from django.utils import timezone

from alignweb.version import code_version
from coding.selectors import design_matrix_rows

from .csvsafe import csv_chunks, csv_header, csv_text, neutralise, neutralise_text
from .models import Assignment, Dimension, Event, Item, Score, Study
from .services import condition_data_open, event_record

CHUNK = 5000
ITEM_BATCH = 500
KINDS = ("long", "wide", "design", "events")
LONG_COLUMNS = [
    "item",
    "dimension",
    "coder",
    "value",
    "rationale",
    "submitted_at",
    "rubric_version",
    "reconciled_value",
    "reconciled_method",
    "reconciled_note",
]
CONDITION_COLUMNS = ["model", "scaffold", "prompt", "specification", "replicate"]
DESIGN_COLUMNS = ["item", "coder", "position"]
EVENT_COLUMNS = ["id", "at", "actor", "verb", "target", "payload"]
NEUTRALISATION = (
    "Text cells starting with = + - @ tab or CR get a leading apostrophe; numbers such as "
    "-1 are unchanged; a text cell starting with an apostrophe followed by one of those "
    "characters or another apostrophe gets one more. Undo: drop the first character of "
    "cells starting with an apostrophe followed by = + - @ ' tab or CR."
)


class UnknownExport(ValueError):
    """Not one of KINDS."""


def conditions_visible(study: Study) -> bool:
    """Condition columns appear only after the lead has unblinded the study."""
    return study.status == Study.Status.UNBLINDED


def _dimensions(study: Study) -> list[tuple[int, str]]:
    return list(
        Dimension.objects.filter(rubric_id=study.rubric_id)
        .order_by("order", "code")
        .values_list("pk", "code")
    )


def export_columns(*, study: Study, kind: str) -> list[str]:
    """The header row of an export."""
    if kind == "long":
        return list(LONG_COLUMNS)
    if kind == "wide":
        dims = [code for _pk, code in _dimensions(study)]
        return [
            "item",
            *dims,
            *[f"{code}_method" for code in dims],
            *[f"{code}_note" for code in dims],
            *(CONDITION_COLUMNS if conditions_visible(study) else []),
        ]
    if kind == "design":
        return list(DESIGN_COLUMNS)
    if kind == "events":
        return list(EVENT_COLUMNS)
    raise UnknownExport(kind)


class _Pseudonyms(dict):
    """user id -> "C01", ...; a coder added while the export streams gets the next number."""

    def __missing__(self, user_id: int) -> str:
        self[user_id] = value = f"C{len(self) + 1:02d}"
        return value


def coder_pseudonyms(*, study: Study) -> dict[int, str]:
    """user id -> "C01", "C02", ... by account creation order among the study's coders."""
    ids = sorted(
        set(Assignment.objects.filter(item__study=study).values_list("coder_id", flat=True))
    )
    width = max(2, len(str(len(ids))))
    return _Pseudonyms({user_id: f"C{i:0{width}d}" for i, user_id in enumerate(ids, start=1)})


def _iso(value: dt.datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def item_batches(*, study: Study, size: int = ITEM_BATCH) -> Iterator[list[int]]:
    """Item ids of a study in public-code order, ``size`` at a time (one streamed query)."""
    batch: list[int] = []
    ids = (
        # Gold items are checks on coders, not study data (coding/services/gold.py).
        Item.objects.filter(study=study, gold__isnull=True)
        .order_by("public_code")
        .values_list("pk", flat=True)
        .iterator(chunk_size=CHUNK)
    )
    for pk in ids:
        batch.append(pk)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def fetch_raw(queryset) -> list[tuple]:
    """Rows of a bounded ``values_list`` queryset without Django's per-row converters."""
    sql, params = queryset.query.sql_with_params()
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    # A batch is a few thousand rows: starting parallel workers costs more than they save
    # (the 1M-row benchmark runs twice as fast without them).
    with transaction.atomic(using=queryset.db), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(sql, params)
        return cursor.fetchall()


def _stamp(value: str | None) -> str:
    """ISO 8601 (``2026-05-23T10:00:00.123456+00:00``) from a timestamp read as text:
    SQLite stores naive UTC text, PostgreSQL prints ``...+00`` in the UTC session."""
    if not value:
        return ""
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat()


class _Counter:
    """Counts the rows flowing through a generator."""

    def __init__(self) -> None:
        self.n = 0

    def wrap(self, rows):
        for row in rows:
            self.n += 1
            yield row


def long_chunks(*, study: Study, counter: _Counter | None = None) -> Iterator[str]:
    """CSV text of the long export after the header, one chunk per batch of items;
    cells neutralised and quoted as ``csv.writer`` would (see csvsafe).

    Scores are read ``ITEM_BATCH`` items at a time (about 16 rows per item with k = 2 and
    8 dimensions): each query sorts a few thousand rows instead of the whole study, and
    memory stays flat. Only the item ids stream through one long-lived cursor.
    """
    pseudonyms = coder_pseudonyms(study=study)
    # Timestamps are read as text and formatted once per item: the drivers' per-row
    # timestamp converters cost more than everything else in this loop.
    submitted_at = Cast("assignment__submitted_at", output_field=CharField())
    queryset = (
        Score.objects.filter(assignment__status=Assignment.Status.SUBMITTED)
        .annotate(
            at=submitted_at,
            decision=FilteredRelation(
                "assignment__item__reconciliations",
                condition=Q(assignment__item__reconciliations__dimension=F("dimension")),
            ),
        )
        .order_by(
            "assignment__item__public_code",
            "dimension__order",
            "dimension__code",
            "assignment__coder_id",
        )
        .values_list(
            "assignment__item__public_code",
            "dimension__code",
            "assignment__coder_id",
            "value",
            "rationale",
            "at",
            "rubric_version",
            "decision__value",
            "decision__method",
            "decision__note",
        )
    )
    cell = csv_text
    stamp = _stamp
    dim_cache: dict[str, str] = {}
    stamps: dict = {}  # per item: one entry per coder
    last_code, code_text = None, ""
    # Hot loop (one iteration per row): format the line here instead of csv.writer, and
    # format what repeats within an item (code, timestamps) once per item.
    for ids in item_batches(study=study):
        lines: list[str] = []
        append = lines.append
        for (
            code,
            dim,
            coder_id,
            value,
            rationale,
            at,
            version,
            r_value,
            r_method,
            r_note,
        ) in fetch_raw(queryset.filter(assignment__item_id__in=ids)):
            if code != last_code:
                last_code, code_text = code, cell(code)
                stamps.clear()
            dim_text = dim_cache.get(dim)
            if dim_text is None:
                dim_text = dim_cache[dim] = cell(dim)
            at_text = stamps.get(at)
            if at_text is None:
                at_text = stamps[at] = stamp(at)
            append(
                f"{code_text},{dim_text},{pseudonyms[coder_id]},"
                f"{'' if value is None else value},{cell(rationale)},"
                f"{at_text},{version},{'' if r_value is None else r_value},{r_method or ''},"
                f"{cell(r_note) if r_note else ''}\n"
            )
        if counter is not None:
            counter.n += len(lines)
        if lines:
            yield "".join(lines)


def wide_rows(*, study: Study) -> Iterator[tuple]:
    """Rows of the wide export: one per item, reconciled values, how each was decided and
    the note, then conditions if unblinded. (item, dimension) is unique in Reconciliation,
    so each ``Max`` below reads the one decision of its cell."""
    dims = _dimensions(study)
    aggregates = {}
    for field in ("value", "method", "note"):
        for i, (pk, _code) in enumerate(dims):
            aggregates[f"{field}{i}"] = Max(
                f"reconciliations__{field}", filter=Q(reconciliations__dimension_id=pk)
            )
    n_dims = len(dims)
    keys = ["public_code"]
    if conditions_visible(study):
        keys += [f"condition_key__{c}" for c in CONDITION_COLUMNS]
    queryset = (
        Item.objects.filter(study=study, gold__isnull=True)
        .values(*keys)
        .annotate(**aggregates)
        .order_by("public_code")
        .values_list(*keys, *aggregates)
    )
    n_keys = len(keys)
    for row in queryset.iterator(chunk_size=CHUNK):
        conditions = [neutralise(v) for v in row[1:n_keys]]
        values = row[n_keys : n_keys + n_dims]
        methods = row[n_keys + n_dims : n_keys + 2 * n_dims]
        notes = [neutralise_text(v) if v else "" for v in row[n_keys + 2 * n_dims :]]
        yield (neutralise_text(row[0]), *values, *(m or "" for m in methods), *notes, *conditions)


def event_rows(*, study: Study, upto: int | None = None) -> Iterator[tuple]:
    """Rows of the Event log, oldest first; ``upto`` fixes the last event id included."""
    queryset = Event.objects.filter(study=study)
    if upto is not None:
        queryset = queryset.filter(pk__lte=upto)
    for pk, at, actor, verb, target, payload in (
        queryset.order_by("pk")
        .values_list("pk", "at", "actor__username", "verb", "target", "payload")
        .iterator(chunk_size=CHUNK)
    ):
        details = json.dumps(payload, sort_keys=True, ensure_ascii=False)
        yield pk, _iso(at), actor or "", verb, target, details


def _build(study: Study, kind: str, upto: int | None, counter: _Counter | None = None):
    """CSV chunks of one export (the one place that maps kinds to rows); pass a
    ``_Counter`` to count the data rows as they stream."""
    header = export_columns(study=study, kind=kind)
    if kind == "long":
        return itertools.chain([csv_header(header)], long_chunks(study=study, counter=counter))
    if kind == "wide":
        rows = wide_rows(study=study)
    elif kind == "design":
        rows = design_matrix_rows(study=study)
    else:
        rows = event_rows(study=study, upto=upto)
    if counter is not None:
        rows = counter.wrap(rows)
    return csv_chunks(header, rows, prepared=kind == "wide")


def export_csv(*, study: Study, kind: str, upto: int | None = None) -> Iterator[str]:
    """The CSV text of one export as a stream of chunks (no Event: see export_start)."""
    return _build(study, kind, upto)


def export_filename(*, study: Study, kind: str) -> str:
    blinded = "-unblinded" if kind == "wide" and conditions_visible(study) else ""
    return f"study-{study.pk}-{kind}{blinded}.csv"


@dataclass
class CsvExport:
    """A started export: stream ``chunks`` into a StreamingHttpResponse."""

    kind: str
    filename: str
    columns: list[str]
    chunks: Iterator[str]
    upto: int | None = None
    content_type: str = "text/csv; charset=utf-8"


def _check(kind: str) -> None:
    if kind not in KINDS:
        raise UnknownExport(kind)


def export_start(*, study: Study, kind: str, by, upto: int | None = None) -> CsvExport:
    """Log the export in the Event log and return its stream. Callers check the lead role."""
    _check(kind)
    if kind == "wide" and conditions_visible(study):
        # The condition columns are key data: through the one logged door.
        condition_data_open(study=study, by=by, what="wide export with conditions", reason="export")
    event_record(
        verb=Event.Verb.EXPORT,
        actor=by,
        study=study,
        target=kind,
        payload={"kind": kind, "conditions": kind == "wide" and conditions_visible(study)}
        | ({"upto": upto} if upto is not None else {}),
    )
    return CsvExport(
        kind=kind,
        filename=export_filename(study=study, kind=kind),
        columns=export_columns(study=study, kind=kind),
        chunks=export_csv(study=study, kind=kind, upto=upto),
        upto=upto,
    )


def _digest(study: Study, kind: str, upto: int | None) -> tuple[str, int, int]:
    """(sha256, bytes, data rows) of the CSV exactly as ``export_csv`` streams it."""
    counter = _Counter()
    chunks = _build(study, kind, upto, counter)
    digest, size = hashlib.sha256(), 0
    for chunk in chunks:
        data = chunk.encode("utf-8")
        digest.update(data)
        size += len(data)
    return digest.hexdigest(), size, counter.n


def export_provenance(
    *, study: Study, kind: str, by, csv_url: str = "", upto: int | None = None
) -> dict:
    """The provenance sidecar of one export (logged). Recomputes the CSV to hash it.

    For ``events`` the sidecar covers events up to ``upto`` (default: the newest,
    including this request's own log entry); fetch ``csv_url`` with that ``upto`` to get
    the hashed bytes. Other exports are reproducible while the study does not change,
    which is guaranteed once it is locked (``stable`` says so).
    """
    _check(kind)
    if kind == "wide" and conditions_visible(study):
        # The condition columns are key data: through the one logged door.
        condition_data_open(study=study, by=by, what="wide export with conditions", reason="export")
    event_record(
        verb=Event.Verb.EXPORT,
        actor=by,
        study=study,
        target=f"{kind}.provenance",
        payload={"kind": kind, "file": "provenance"},
    )
    if kind == "events" and upto is None:
        upto = Event.objects.filter(study=study).aggregate(m=Max("pk"))["m"]
    sha256, size, rows = _digest(study, kind, upto)
    return {
        "study": {"id": study.pk, "name": study.name, "status": study.status},
        "rubric": {"name": study.rubric.name, "version": study.rubric.version},
        "export": kind,
        "file": export_filename(study=study, kind=kind),
        "csv_url": csv_url + (f"?upto={upto}" if kind == "events" and upto else ""),
        "columns": export_columns(study=study, kind=kind),
        "conditions_included": kind == "wide" and conditions_visible(study),
        "coders": "pseudonyms C01.. (account order)" if kind == "long" else None,
        "exported_at": timezone.now().isoformat(),
        "exported_by": getattr(by, "username", None),
        "code_version": code_version().commit,
        "rows": rows,
        "bytes": size,
        "sha256": sha256,
        "encoding": "utf-8, no BOM, RFC 4180 quoting, \\n line endings",
        "formula_neutralisation": NEUTRALISATION,
        "upto_event_id": upto if kind == "events" else None,
        "stable": kind == "events" or study.status in (Study.Status.LOCKED, Study.Status.UNBLINDED),
    }
