"""Export benchmark: the long CSV export of 1,000,000 submitted score rows.

Database: PostgreSQL when DATABASE_URL is set (a throwaway database
``alignweb_bench_export`` on that server, created and dropped here), else a throwaway
SQLite file under /tmp (deleted at the end). The data (62,500 items x 2 coders x 8
dimensions, every cell reconciled) is written with INSERT ... SELECT, so set-up is quick.

Measured, same run and data:
- AlignWeb: ``coding.exports.export_start(kind="long")`` streamed to the end, every
  chunk encoded to UTF-8 as the HTTP response would (values_list rows from a
  server-side cursor, no model instances, CSV written in 2,000-row chunks).
- Baseline: the naive way, ``list(queryset)`` of Score objects with select_related,
  reconciliations in a dict, ``csv.writer`` into an in-memory buffer.

Memory is the peak resident-set growth of this process during a run (Linux ``VmHWM``
after resetting it through /proc/self/clear_refs), which also counts the database
driver's buffers. The streaming path runs three times: a first pass measures memory
from a cold start and warms the database cache, the second is timed, the third reports
the tracemalloc peak of the Python heap. The baseline runs once, after them (warm cache).

Targets (issue 6): streaming >= 100,000 rows/s and peak memory growth < 100 MB.
Exits 1 if a target is missed. ``EXPORT_BENCH_ROWS`` shrinks the run for a smoke test;
``EXPORT_BENCH_BASELINE=0`` skips the (slow, ~5 GB) baseline while tuning.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import sys
import time
import tracemalloc
from pathlib import Path

import _django

N_ROWS = int(os.environ.get("EXPORT_BENCH_ROWS", "1000000"))
CODERS = 2
DB_NAME = "alignweb_bench_export"
TARGET_RATE = 100_000
TARGET_MB = 100.0
RATIONALE = 'Asks "which city?" first, then plans; checks the budget, partly.'


def _status(field: str) -> int:
    """A /proc/self/status value in bytes (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def measure(fn) -> tuple[float, float, object]:
    """(seconds, peak RSS growth in MB, result) of one call."""
    import gc

    gc.collect()
    _reset_peak()
    before = _status("VmRSS")
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    growth = max(0, _status("VmHWM") - before) / 1e6
    return elapsed, growth, result


def build(n_rows: int):
    """A study with n_rows submitted first-pass scores, all reconciled; returns it."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from coding.models import Assignment, Dimension, Item, Reconciliation, Rubric, Score, Study
    from coding.rubric_data import ALIGNMENT_RUBRIC

    rubric = Rubric.objects.get(name=ALIGNMENT_RUBRIC["name"], version=1)
    dims = Dimension.objects.filter(rubric=rubric).count()
    n_items = n_rows // (CODERS * dims)
    users = [get_user_model().objects.create(username=f"bench-{i}") for i in range(CODERS + 1)]
    study = Study.objects.create(
        name="export bench", rubric=rubric, status=Study.Status.OPEN, created_by=users[0]
    )
    Item.objects.bulk_create(
        (
            Item(study=study, public_code=f"B{i:07d}", content={"messages": []}, content_sha256="0")
            for i in range(n_items)
        ),
        batch_size=5000,
    )
    now = timezone.now()
    t_item, t_asg = Item._meta.db_table, Assignment._meta.db_table
    t_dim, t_score = Dimension._meta.db_table, Score._meta.db_table
    t_user, t_rec = get_user_model()._meta.db_table, Reconciliation._meta.db_table
    coder_ids = [u.pk for u in users[1:]]
    marks = ", ".join(["%s"] * len(coder_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {t_asg} (item_id, coder_id, position, status, submitted_at, "
            "content_sha256, scores_sha256, version) "
            f"SELECT i.id, u.id, i.id, 'submitted', %s, '', '', 1 FROM {t_item} i, {t_user} u "
            f"WHERE i.study_id = %s AND u.id IN ({marks})",
            [now, study.pk, *coder_ids],
        )
        cursor.execute(
            f"INSERT INTO {t_score} (assignment_id, dimension_id, value, rationale, "
            "rubric_version, updated_at) "
            "SELECT a.id, d.id, (a.id + d.id) %% 3, "
            "CASE WHEN a.id %% 50 = 0 THEN '=cmd|calc' ELSE %s END, 1, %s "
            f"FROM {t_asg} a JOIN {t_item} i ON i.id = a.item_id, {t_dim} d "
            "WHERE i.study_id = %s AND d.rubric_id = %s",
            [RATIONALE, now, study.pk, rubric.pk],
        )
        cursor.execute(
            f"INSERT INTO {t_rec} (item_id, dimension_id, value, method, note, decided_at) "
            "SELECT i.id, d.id, (i.id + d.id) %% 3, "
            "CASE WHEN i.id %% 4 = 0 THEN 'adjudicated' ELSE 'agreed' END, "
            "CASE WHEN i.id %% 4 = 0 THEN 'Applied the anchor text literally.' ELSE '' END, %s "
            f"FROM {t_item} i, {t_dim} d WHERE i.study_id = %s AND d.rubric_id = %s",
            [now, study.pk, rubric.pk],
        )
        # As a study's tables would be long before its export: statistics gathered, and on
        # PostgreSQL hint bits set (the first read of fresh rows otherwise writes them).
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return study, users[0]


def stream(study, lead) -> tuple[int, int]:
    from coding.exports import export_start

    started = export_start(study=study, kind="long", by=lead)
    n_bytes = lines = 0
    for chunk in started.chunks:
        n_bytes += len(chunk.encode("utf-8"))
        lines += chunk.count("\n")
    return lines - 1, n_bytes


def naive(study) -> tuple[int, int]:
    from coding.models import Reconciliation, Score

    scores = list(
        Score.objects.filter(assignment__item__study=study, assignment__status="submitted")
        .select_related("assignment__item", "assignment__coder", "dimension")
        .order_by("assignment__item__public_code", "dimension__order", "assignment__coder_id")
    )
    decisions = {
        (r.item_id, r.dimension_id): r for r in Reconciliation.objects.filter(item__study=study)
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["item", "dimension", "coder", "value", "rationale", "submitted_at",
                     "rubric_version", "reconciled_value", "reconciled_method",
                     "reconciled_note"])  # fmt: skip
    for s in scores:
        d = decisions.get((s.assignment.item_id, s.dimension_id))
        writer.writerow(
            [
                s.assignment.item.public_code,
                s.dimension.code,
                s.assignment.coder.username,
                s.value,
                s.rationale,
                s.assignment.submitted_at.isoformat(),
                s.rubric_version,
                d.value if d else "",
                d.method if d else "",
                d.note if d else "",
            ]
        )
    data = buffer.getvalue().encode("utf-8")
    return len(scores), len(data)


def drop(label: str, original_url: str, sqlite_path: str) -> None:
    from django.db import connections

    connections.close_all()
    if label == "PostgreSQL":
        import psycopg

        with psycopg.connect(original_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}"')
    elif sqlite_path:
        shutil.rmtree(Path(sqlite_path).parent, ignore_errors=True)


def main() -> int:
    original_url = os.environ.get("DATABASE_URL", "")
    label = _django.setup(DB_NAME)
    sqlite_path = os.environ["DATABASE_URL"].removeprefix("sqlite:///")
    if label != "SQLite":
        sqlite_path = ""
    try:
        return run(label)
    finally:
        drop(label, original_url, sqlite_path)


def run(label: str) -> int:
    start = time.perf_counter()
    study, lead = build(N_ROWS)
    print(f"database: {label}; {N_ROWS:,} long-format rows built in "
          f"{time.perf_counter() - start:.1f} s")  # fmt: skip

    # Pass 1 (also warms the database cache for every timed run): peak RSS growth from
    # the process's state before any export. Pass 2: time. Pass 3: Python heap peak.
    _first_s, fast_mb, _result = measure(lambda: stream(study, lead))
    fast_s, _mb, (rows, size) = measure(lambda: stream(study, lead))
    assert rows == N_ROWS, rows
    tracemalloc.start()
    stream(study, lead)
    heap_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    baseline = os.environ.get("EXPORT_BENCH_BASELINE", "1") != "0"
    if baseline:
        slow_s, slow_mb, (slow_rows, slow_size) = measure(lambda: naive(study))
        assert slow_rows == N_ROWS, slow_rows

    rate = rows / fast_s
    print(f"AlignWeb streaming: {fast_s:6.2f} s  {rate:>10,.0f} rows/s  "
          f"peak RSS growth {fast_mb:7.1f} MB (Python heap peak {heap_mb:.1f} MB)  "
          f"{size / 1e6:.0f} MB of CSV")  # fmt: skip
    if baseline:
        print(f"naive list()+csv:   {slow_s:6.2f} s  {slow_rows / slow_s:>10,.0f} rows/s  "
              f"peak RSS growth {slow_mb:7.1f} MB  {slow_size / 1e6:.0f} MB of CSV")  # fmt: skip
        print(f"ratio (naive / AlignWeb): time {slow_s / fast_s:.1f}x, "
              f"memory {slow_mb / max(fast_mb, 0.1):.0f}x")  # fmt: skip
    ok_rate, ok_mem = rate >= TARGET_RATE, fast_mb < TARGET_MB
    print(f"target >= {TARGET_RATE:,} rows/s: {'met' if ok_rate else 'NOT met'}; "
          f"target < {TARGET_MB:.0f} MB: {'met' if ok_mem else 'NOT met'}")  # fmt: skip
    return 0 if ok_rate and ok_mem else 1


if __name__ == "__main__":
    sys.exit(main())
