"""Import benchmark: 10,000 transcripts (~1.5 KB each) via the real import service.

Target (issue 4): under 5 s on SQLite and on PostgreSQL, validation and redaction included.
Baseline measured in the same run: a naive importer that validates the same rows and
creates each Item and ConditionKey with one ORM call per row (2,000 rows, scaled
linearly to 10,000; the output says so).
"""

from __future__ import annotations

import json
import random
import time

import _django

N = 10_000
BASELINE_N = 2_000
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


def main() -> None:
    label = _django.setup("alignweb_bench_import")
    from django.contrib.auth import get_user_model

    from coding.importing import parse_import
    from coding.models import ConditionKey, Item, Rubric, Study
    from coding.services import items_import_file, study_create
    from coding.services.items import content_sha256

    rng = random.Random(1)
    raw = "\n".join(make_line(i, rng) for i in range(N)).encode()
    lead = get_user_model().objects.create(username="bench-lead")
    rubric = Rubric.objects.first()
    print(f"database: {label}; {N:,} items, {len(raw) / N:,.0f} bytes per row on average")

    study = study_create(name="bench", rubric=rubric, by=lead)
    start = time.perf_counter()
    result = items_import_file(study=study, raw=raw, filename="bench.jsonl", by=lead)
    fast = time.perf_counter() - start
    assert result.created == N

    naive_study = Study.objects.create(name="naive", rubric=rubric, created_by=lead)
    lines = raw.split(b"\n")[:BASELINE_N]
    start = time.perf_counter()
    parsed = parse_import(b"\n".join(lines), "naive.jsonl")
    for record in parsed.records:
        item = Item.objects.create(
            study=naive_study,
            external_id=record.external_id,
            content=record.content,
            content_sha256=content_sha256(record.content),
        )
        ConditionKey.objects.create(item=item, model=str(record.metadata.get("model", "")))
    naive = (time.perf_counter() - start) * N / BASELINE_N

    rate = N / fast
    red = result.redactions
    print(f"AlignWeb import:   {fast:6.2f} s  ({rate:,.0f} items/s, {red:,} redactions)")
    scale = N // BASELINE_N
    print(f"naive per-row ORM: {naive:6.2f} s  (measured on {BASELINE_N:,} rows, scaled x{scale})")
    print(f"ratio (naive / AlignWeb): {naive / fast:.1f}x")
    print(f"target < 5 s: {'met' if fast < 5 else 'NOT met'}")


if __name__ == "__main__":
    main()
