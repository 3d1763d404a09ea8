"""A model co-coder run end to end on a real Celery worker (Redis, PostgreSQL)."""

from __future__ import annotations

import time

import pytest

from tests.transcripts.judge_setup import open_study_with_items
from transcripts import judge_services
from transcripts.models import JudgeCell, JudgeRun

pytestmark = [pytest.mark.services, pytest.mark.xdist_group("live_worker")]


def test_judge_run_on_a_real_worker_respects_concurrency_and_retries(
    personas, live_worker, fake_server, make_endpoint
):
    fake_server.configure(
        latency=0.05,
        failure_rate=0.2,
        failure_kinds=("429", "500"),
        judge_output="malformed",
        judge_bad_rate=0.3,
        judge_bad_attempts=1,
        seed=3,
    )
    study = open_study_with_items(personas, n_items=20, submit=False)
    endpoint = make_endpoint(owner=personas.lead, server=fake_server, max_concurrency=2)
    # Outside any transaction: the dispatch goes to Redis on commit.
    run = judge_services.judge_run_create(
        study=study,
        endpoint=endpoint,
        by=personas.lead,
        policy={"base_delay": 0.02, "max_delay": 0.2, "lease_seconds": 10},
    )
    deadline = time.monotonic() + 120
    while JudgeRun.objects.get(pk=run.pk).status == JudgeRun.Status.RUNNING:
        assert time.monotonic() < deadline, "the worker did not finish the judge run"
        time.sleep(0.1)
    cells = JudgeCell.objects.filter(run=run)
    assert set(cells.values_list("state", flat=True)) == {JudgeCell.State.SUCCEEDED}
    outcomes = {o for c in cells for o in (e["outcome"] for e in c.attempt_log)}
    assert {"ok", "retry", "malformed"} <= outcomes
    assert max(fake_server.peak_in_flight().values()) <= 2
