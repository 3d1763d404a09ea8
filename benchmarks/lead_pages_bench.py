"""Lead pages at 100x the study size: does each page cost the same (within 2x)?

Two studies of the same shape, 200 and 20,000 items: 10 coders, k = 2 coders per item,
half the items coded by both (half the assignments submitted), one coded item in ten
disagreeing on D1 and left unreconciled, the other coded cells recorded as agreed; one
"submit" event per submission. Built with bulk inserts (then the study counters are
rebuilt, as the migration does for existing studies) and an agreement snapshot written
by the task, as the worker would. Each lead page is fetched through the Django test
client (full request: middleware, view, template) ``RUNS`` times after a warm-up; the
median in the large study is divided by the small study's. Target: ratio <= 2 per page.

    DATABASE_URL=postgres://... python benchmarks/lead_pages_bench.py [--small 200 --large 20000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time

import _django

RUNS = 9
TARGET = 2.0


def build(name: str, n_items: int, lead, coders, rubric):
    from audit.tasks import agreement_snapshot
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
        name=name, rubric=rubric, status=Study.Status.OPEN, created_by=lead
    )
    Membership.objects.create(study=study, user=lead, role="lead")
    Membership.objects.bulk_create([Membership(study=study, user=c, role="coder") for c in coders])
    codes: set[str] = set()
    while len(codes) < n_items:
        codes.add(new_public_code())
    content = {"messages": [{"role": "user", "content": "x"}]}
    items = Item.objects.bulk_create(
        [
            Item(study=study, public_code=c, content=content, content_sha256="0")
            for c in sorted(codes, key=lambda _c: rng.random())
        ],
        batch_size=5000,
    )
    dims = list(rubric.dimensions.all())
    assignments, decisions, disagreeing = [], [], set()
    for index, item in enumerate(items):
        coded = index % 2 == 0
        for position, coder in enumerate(rng.sample(coders, 2)):
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
            if index % 20 == 0:
                disagreeing.add(item.pk)
            for d in dims:
                if not (item.pk in disagreeing and d.code == "D1"):
                    decisions.append(
                        Reconciliation(item=item, dimension=d, value=1, method="agreed")
                    )
    Assignment.objects.bulk_create(assignments, batch_size=10000)
    scores, events, first = [], [], set()
    for pk, item_id, coder_id in Assignment.objects.filter(
        item__study=study, status="submitted"
    ).values_list("pk", "item_id", "coder_id"):
        high = item_id in disagreeing and item_id not in first
        first.add(item_id)
        for d in dims:
            value = 2 if (high and d.code == "D1") else 1
            scores.append(Score(assignment_id=pk, dimension=d, value=value, rubric_version=1))
        events.append(Event(study=study, actor_id=coder_id, verb="submit", target=str(item_id)))
    Score.objects.bulk_create(scores, batch_size=10000)
    Reconciliation.objects.bulk_create(decisions, batch_size=10000)
    Event.objects.bulk_create(events, batch_size=10000)
    try:
        from coding.services import tally_rebuild
    except ImportError:  # before the counters existed (for "before" figures)
        pass
    else:
        tally_rebuild(study=study)
    agreement_snapshot(study.pk)
    return study


def timed(client, url: str) -> float:
    response = client.get(url)  # warm-up (and a check)
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        client.get(url)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--large", type=int, default=20_000)
    args = parser.parse_args()
    label = _django.setup("leadpages_bench")
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment
    from django.urls import reverse

    from coding import hooks
    from coding.models import Rubric

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    users = get_user_model().objects
    lead = users.create(username="bench-lead", is_staff=False)
    coders = [users.create(username=f"coder{i}") for i in range(10)]
    rubric = Rubric.objects.first()
    start = time.perf_counter()
    with hooks.submissions_quiet():  # one snapshot per study, computed in build()
        small = build("small", args.small, lead, coders, rubric)
        large = build("large", args.large, lead, coders, rubric)
    print(f"database: {label}; studies built in {time.perf_counter() - start:.1f} s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    client = Client()
    client.force_login(lead)
    pages = {
        "study overview": "coding:study-detail",
        "agreement": "audit:agreement",
        "reconciliation queue": "coding:reconcile-queue",
        "event log": "coding:study-events",
        "item browser": "coding:item-list",
    }
    failed = 0
    print(f"{'page':<22}{args.small:>10,} items{args.large:>12,} items{'ratio':>8}  verdict")
    for title, name in pages.items():
        a = timed(client, reverse(name, args=[small.pk]))
        b = timed(client, reverse(name, args=[large.pk]))
        ok = b / a <= TARGET
        failed += not ok
        print(
            f"{title:<22}{a * 1000:>13.1f} ms{b * 1000:>15.1f} ms{b / a:>8.2f}"
            f"  {'PASS' if ok else 'FAIL'} (<= {TARGET:g}x)"
        )
    print("all pages within target" if not failed else f"{failed} page(s) over target")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
