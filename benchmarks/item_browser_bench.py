"""Item browser and event log: does a page cost the same in a small and a large study?

Two studies with the same shape (10 coders, k = 2; 30 % of items coded by both, a tenth
of those with an unreconciled disagreement; the rest assigned), 500 and 20,000 items,
built with bulk inserts. For each page kind (first page, a page deep into the study,
each state filter, a code prefix, one coder's items; the event log's first and a deep
page over 100 / 40,000 events) the median of 7 runs in the large study is divided by the
small study's. Target: ratios near 1 (keyset pages on indexes; no OFFSET, no counts).
A sparse filter (disagreement) walks more of the index per page by design: its ratio is
reported, not hidden. PostgreSQL plans for two pages are printed.
"""

from __future__ import annotations

import random
import statistics
import time

import _django

RUNS = 7


def build(study_name: str, n_items: int, n_events: int, lead, coders, rubric):
    from coding.models import (
        Assignment,
        Event,
        Item,
        Membership,
        Reconciliation,
        Score,
        Study,
        new_public_code,
    )

    rng = random.Random(n_items)
    study = Study.objects.create(
        name=study_name, rubric=rubric, status=Study.Status.OPEN, created_by=lead
    )
    Membership.objects.create(study=study, user=lead, role="lead")
    Membership.objects.bulk_create([Membership(study=study, user=c, role="coder") for c in coders])
    codes: set[str] = set()
    while len(codes) < n_items:
        codes.add(new_public_code())
    content = {"messages": [{"role": "user", "content": "x"}]}
    items = Item.objects.bulk_create(
        [
            Item(study=study, public_code=code, content=content, content_sha256="0")
            for code in sorted(codes, key=lambda _c: rng.random())  # not in code order
        ],
        batch_size=2000,
    )
    dims = list(rubric.dimensions.all())
    assignments, scores, decisions = [], [], []
    for index, item in enumerate(items):
        pair = rng.sample(coders, 2)
        coded = index % 10 < 3
        for position, coder in enumerate(pair):
            assignments.append(
                Assignment(
                    item=item,
                    coder=coder,
                    position=index * 2 + position,
                    status="submitted" if coded else "open",
                    version=1 if coded else 0,
                )
            )
        if coded:
            disagree = index % 100 < 3  # a tenth of the coded items
            for d in dims:
                if not (disagree and d.code == "D1"):
                    decisions.append(
                        Reconciliation(item=item, dimension=d, value=1, method="agreed")
                    )
    Assignment.objects.bulk_create(assignments, batch_size=5000)
    for a in Assignment.objects.filter(item__study=study, status="submitted").values_list(
        "pk", "item_id", "coder_id"
    ):
        for d in dims:
            value = 2 if (d.code == "D1" and a[2] == coders[0].pk) else 1
            scores.append(Score(assignment_id=a[0], dimension=d, value=value, rubric_version=1))
    Score.objects.bulk_create(scores, batch_size=10000)
    Reconciliation.objects.bulk_create(decisions, batch_size=10000)
    Event.objects.bulk_create(
        [Event(study=study, actor=lead, verb="export", target=f"f{i}") for i in range(n_events)],
        batch_size=10000,
    )
    return study, sorted(codes)


def timed(fn) -> float:
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    label = _django.setup("alignweb_bench_items")
    from django.contrib.auth import get_user_model
    from django.db import connection

    from coding.models import Event, Rubric
    from coding.selectors.events import EventFilters, event_page
    from coding.selectors.items import ItemFilters, item_page

    users = get_user_model().objects
    lead = users.create(username="bench-lead")
    coders = [users.create(username=f"coder{i}") for i in range(10)]
    rubric = Rubric.objects.first()
    start = time.perf_counter()
    small, small_codes = build("small", 500, 100, lead, coders, rubric)
    large, large_codes = build("large", 20_000, 40_000, lead, coders, rubric)
    print(f"database: {label}; studies built in {time.perf_counter() - start:.1f} s")
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")

    def cases(study, codes):
        deep = codes[len(codes) * 3 // 4]
        last_event = Event.objects.filter(study=study).order_by("id").values_list("pk", flat=True)
        deep_event = list(last_event[:60])[-1]
        return {
            "first page": lambda: item_page(study=study, filters=ItemFilters()),
            "page 3/4 deep": lambda: item_page(study=study, filters=ItemFilters(), after=deep),
            "state=assigned": lambda: item_page(study=study, filters=ItemFilters(state="assigned")),
            "state=reconciled": lambda: item_page(
                study=study, filters=ItemFilters(state="reconciled")
            ),
            "state=disagreement": lambda: item_page(
                study=study, filters=ItemFilters(state="disagreement")
            ),
            "code prefix": lambda: item_page(study=study, filters=ItemFilters(code=codes[0][:2])),
            "one coder": lambda: item_page(study=study, filters=ItemFilters(coder_id=coders[3].pk)),
            "events first page": lambda: event_page(study=study, filters=EventFilters()),
            "events oldest page": lambda: event_page(
                study=study, filters=EventFilters(), older_than=deep_event
            ),
        }

    small_cases, large_cases = cases(small, small_codes), cases(large, large_codes)
    print(f"{'page':<22}{'500 items':>12}{'20,000 items':>15}{'ratio':>8}")
    for name in small_cases:
        a, b = timed(small_cases[name]), timed(large_cases[name])
        print(f"{name:<22}{a * 1000:>10.1f}ms{b * 1000:>13.1f}ms{b / a:>8.2f}")
    if connection.vendor == "postgresql":
        from coding.selectors.items import _filtered, without_jit

        for title, qs in (
            ("first page", _filtered(large, ItemFilters()).order_by("public_code")[:51]),
            (
                "state=assigned",
                _filtered(large, ItemFilters(state="assigned")).order_by("public_code")[:51],
            ),
        ):
            with without_jit():
                plan = qs.explain(analyze=True).split("\n")
            print(f"\nPostgreSQL plan, {title} (20,000 items), outer nodes:")
            print(
                "\n".join(
                    line
                    for line in plan
                    if line.startswith(("Limit", "  ->  Index")) or "Execution" in line
                )
            )


if __name__ == "__main__":
    main()
