"""Import benchmark: 10,000 transcripts (~1.7 KB each) through the real two-step import.

Target (issue 16, item 3): >= 2,000 items/s, i.e. 10,000 in < 5 s, on PostgreSQL, with
full validation and the scrubber. Timed: ``upload_stage`` (parse and check every row,
preview, keep the file) plus ``items_import_confirm`` (parse again, scrub, hash, write
items and sealed keys in one transaction), with DEBUG off as in production.

Baseline measured in the same run, on the same rows: a naive importer that only decodes
the JSON lines and calls ``bulk_create`` for the items and their keys (no validation, no
scrubbing, no hashing, one step): what Label Studio's 2,180 tasks/s measures.

The machine is shared, so besides wall-clock time the benchmark reads the CPU seconds of
this process and of its PostgreSQL backend (/proc, when the server is local): items per
CPU-second is what an idle machine would approach. Each variant runs ``REPEATS`` times
on a fresh study; the best run counts. Environment: IMPORT_BENCH_N, IMPORT_BENCH_REPEATS.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path

import _django

N = int(os.environ.get("IMPORT_BENCH_N", "10000"))
REPEATS = int(os.environ.get("IMPORT_BENCH_REPEATS", "2"))
TARGET = 2_000  # items per second
WORDS = [
    "plan", "budget", "travel", "city", "museum", "schedule", "verify", "source", "test",
    "constraint", "option", "assume", "clarify", "step", "detail", "context", "user", "goal",
    "risk", "check", "confidence", "answer", "draft", "revise",
]  # fmt: skip


def make_line(i: int, rng: random.Random) -> str:
    def para(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    model = ["GPT-4o", "claude-3-opus", "llama-3-70b"][i % 3]
    return json.dumps(
        {
            "id": f"t-{i:05d}",
            "model": model,
            "scaffold": f"C{i % 4 + 1}",
            "prompt": f"P{i % 15:02d}",
            "specification": "under" if i % 5 else "full",
            "replicate": 1 + i // 180,
            "messages": [
                {"role": "system", "content": "You are helpful. " + para(20)},
                {"role": "user", "content": para(40)},
                {
                    "role": "assistant",
                    "content": f"As an AI developed by OpenAI, I ({model}) suggest: "
                    + para(150)
                    + f" (id chatcmpl-{rng.getrandbits(40):x})",
                },
            ],
        }
    )


@dataclass
class Timing:
    wall: float
    cpu: float  # this process
    db_cpu: float | None  # the PostgreSQL backend serving it

    @property
    def total_cpu(self) -> float:
        return self.cpu + (self.db_cpu or 0.0)

    def __add__(self, other: Timing) -> Timing:
        db = None if self.db_cpu is None or other.db_cpu is None else self.db_cpu + other.db_cpu
        return Timing(self.wall + other.wall, self.cpu + other.cpu, db)


def _backend_cpu() -> float | None:
    """CPU seconds used so far by this connection's PostgreSQL backend (local server)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn) -> tuple[Timing, object]:
    db0 = _backend_cpu()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    out = fn()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    db1 = _backend_cpu()
    return Timing(wall, cpu, None if db0 is None or db1 is None else db1 - db0), out


def naive_import(study, raw: bytes, prefix: str) -> None:
    """Decode and bulk_create: no validation, no scrubbing, no hashing (the baseline)."""
    from django.db import transaction

    from coding.models import ConditionKey, Item

    items, keys = [], []
    for index, line in enumerate(raw.splitlines()):
        data = json.loads(line)
        code = f"{prefix}{index:x}"  # random codes would clash now and then: not the point
        items.append(
            Item(study=study, public_code=code, external_id=data["id"], content=data["messages"])
        )
        keys.append(
            ConditionKey(
                model=data["model"],
                scaffold=data["scaffold"],
                prompt=data["prompt"],
                specification=data["specification"],
                replicate=data["replicate"],
            )
        )
    with transaction.atomic():
        Item.objects.bulk_create(items, batch_size=1000)
        for item, key in zip(items, keys, strict=True):
            key.item = item
        ConditionKey.objects.bulk_create(keys, batch_size=1000)


def _row(label: str, t: Timing) -> str:
    db = "   n/a" if t.db_cpu is None else f"{t.db_cpu:6.2f}"
    return (
        f"{label:<28} {t.wall:7.2f} {t.cpu:7.2f} {db} {N / t.wall:10,.0f} {N / t.total_cpu:10,.0f}"
    )


def main() -> None:
    os.environ["DEBUG"] = "0"  # production settings: no SQL kept per query
    os.environ.setdefault("SECRET_KEY", "import-bench-" + "x" * 50)
    own_db = os.environ.get("DATABASE_URL", "").rpartition("/")[2] or "alignweb"
    label = _django.setup(f"{own_db}_bench_import")
    from django.contrib.auth import get_user_model

    from coding.models import PendingUpload, Rubric, Study
    from coding.services import study_create
    from coding.services.uploads import items_import_confirm, upload_stage

    rng = random.Random(1)
    raw = "\n".join(make_line(i, rng) for i in range(N)).encode()
    lead = get_user_model().objects.create(username="bench-lead")
    rubric = Rubric.objects.first()
    load = os.getloadavg()[0]
    print(
        f"database: {label}, DEBUG off; {N:,} items, {len(raw) / N:,.0f} bytes per row; "
        f"best of {REPEATS}; load average {load:.1f} on {os.cpu_count()} cores"
    )

    best: dict[str, Timing] = {}
    redactions = 0
    for run in range(REPEATS):
        study = study_create(name=f"bench {run}", rubric=rubric, by=lead)
        stage, upload = timed(
            lambda s=study: upload_stage(
                study=s, kind=PendingUpload.Kind.ITEMS, raw=raw, filename="b.jsonl", by=lead
            )
        )
        confirm, result = timed(lambda u=upload: items_import_confirm(upload=u, by=lead))
        assert result.created == N
        redactions = result.redactions
        naive_study = Study.objects.create(name=f"naive {run}", rubric=rubric, created_by=lead)
        naive, _ = timed(lambda s=naive_study, p=f"n{run}-": naive_import(s, raw, p))
        for name, t in (("stage", stage), ("confirm", confirm), ("naive", naive)):
            if name not in best or t.wall < best[name].wall:
                best[name] = t
    total = best["stage"] + best["confirm"]

    print(f"{'':<28} {'wall s':>7} {'cpu s':>7} {'db cpu':>6} {'items/s':>10} {'per cpu-s':>10}")
    print(_row("stage (parse, check, keep)", best["stage"]))
    print(_row("confirm (scrub, hash, write)", best["confirm"]))
    print(_row("AlignWeb import, both steps", total))
    print(_row("naive bulk_create", best["naive"]))
    print(f"redactions: {redactions:,}")
    ratio = best["naive"].wall / total.wall
    ratio_cpu = best["naive"].total_cpu / total.total_cpu
    print(
        f"ratio to the naive importer: {ratio:.2f} of its rate by wall clock, "
        f"{ratio_cpu:.2f} by CPU"
    )
    rate, rate_cpu = N / total.wall, N / total.total_cpu
    verdict = "PASS" if rate >= TARGET else "FAIL"
    print(f"target >= {TARGET:,} items/s: {verdict} by wall clock ({rate:,.0f}/s)", end="")
    print(
        f"; {'PASS' if rate_cpu >= TARGET else 'FAIL'} by CPU ({rate_cpu:,.0f}/s, app + db)"
        if total.db_cpu is not None
        else ""
    )


if __name__ == "__main__":
    main()
