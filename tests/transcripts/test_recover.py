"""After a crash: `generation_recover` (run by `make run` before its worker starts) picks a
running run up again, without waiting for the dead worker's leases to run out."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from django.core.management import call_command

from tests.transcripts.conftest import FAST_POLICY, builtin_scaffolds, demo_prompt_set, wait_for_run
from transcripts import recovery, services
from transcripts.models import GenerationRun, Transcript

State = Transcript.State


def _run(lead, endpoints, **kwargs):
    return services.run_create(
        by=lead,
        name="Recover",
        endpoints=endpoints,
        scaffolds=builtin_scaffolds(),
        prompt_set=demo_prompt_set(),
        **kwargs,
    )


@pytest.mark.usefixtures("celery_eager")
def test_recover_reclaims_cells_of_a_dead_worker_at_once(
    personas, fake_server, demo_endpoints, django_capture_on_commit_callbacks
):
    """Eager: a cell left claimed with a long lease is called again now, counted as lost."""
    endpoints = demo_endpoints(personas.lead, fake_server)
    run = _run(personas.lead, endpoints, max_prompts=1, policy=FAST_POLICY, dispatch=False)
    stuck = Transcript.objects.filter(run=run).first()
    Transcript.objects.filter(pk=stuck.pk).update(
        state=State.CLAIMED, attempts=1, lease_expires_at=run.created_at.replace(year=2999)
    )
    with django_capture_on_commit_callbacks(execute=True):
        call_command("generation_recover", expire_leases=True)
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.FINISHED
    assert set(run.transcripts.values_list("state", flat=True)) == {State.SUCCEEDED}
    stuck.refresh_from_db()
    assert stuck.attempts == 2 and [e["outcome"] for e in stuck.attempt_log] == ["lost", "ok"]
    assert run.history[-1]["event"] == "recovered"


@pytest.mark.services
@pytest.mark.xdist_group("live_worker")
def test_killed_worker_then_recover_and_a_new_worker_finish_the_run(
    personas, live_worker_factory, fake_server, demo_endpoints
):
    """SIGKILL mid-run; leases of a minute would hold the in-flight cells back, but the
    recovery that `make run` does on start reclaims them at once: nothing lost, no cell
    called more than twice."""
    fake_server.configure(latency=0.05)
    endpoints = demo_endpoints(personas.lead, fake_server, timeout_seconds=1.5)
    first = live_worker_factory(concurrency=4)
    run = _run(personas.lead, endpoints, policy=FAST_POLICY | {"lease_seconds": 600})
    deadline = time.monotonic() + 60
    while Transcript.objects.filter(run=run, state=State.SUCCEEDED).count() < 40:
        assert time.monotonic() < deadline, "the first worker made no progress"
        time.sleep(0.05)
    first.kill()
    in_flight = Transcript.objects.filter(run=run, state=State.CLAIMED).count()
    assert Transcript.objects.filter(run=run, state=State.SUCCEEDED).count() < 180
    recovery.runs_recover(expire_leases=True)
    live_worker_factory(concurrency=4)
    run = wait_for_run(run, timeout=120)  # far less than the 600 s lease
    assert run.status == GenerationRun.Status.FINISHED
    cells = Transcript.objects.filter(run=run)
    assert cells.count() == 180 and set(cells.values_list("state", flat=True)) == {State.SUCCEEDED}
    counts = fake_server.call_counts()
    assert len(counts) == 180 and max(counts.values()) <= 2, Counter(counts.values())
    lost = cells.filter(attempts=2)
    assert lost.count() == in_flight
    assert all(cell.attempt_log[0]["outcome"] == "lost" for cell in lost)
