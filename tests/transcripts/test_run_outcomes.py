"""Honest outcomes: a run where nothing succeeded is failed (red), a retried run keeps its
first failures visible, and an unreachable endpoint gives one message, not one per cell."""

from __future__ import annotations

import socket

import pytest
from django.urls import reverse

from tests.transcripts.conftest import FAST_POLICY, builtin_scaffolds, demo_prompt_set
from transcripts import breaker, selectors, services
from transcripts.models import GenerationRun, ModelEndpoint, Transcript

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process

State = Transcript.State


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def failed_run(personas, make_endpoint, closed_port, django_capture_on_commit_callbacks):
    """12 cells against a port where nothing listens."""
    endpoint = make_endpoint(
        owner=personas.lead, name="Nobody home", base_url=f"http://127.0.0.1:{closed_port}/v1"
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_create(
            by=personas.lead,
            name="Doomed",
            endpoints=[endpoint],
            scaffolds=builtin_scaffolds()[:3],
            prompt_set=demo_prompt_set(),
            max_prompts=4,
            policy=FAST_POLICY,
        )
    run.refresh_from_db()
    return run


def test_unreachable_endpoint_fails_early_with_one_message(failed_run):
    assert failed_run.status == GenerationRun.Status.FINISHED
    cells = Transcript.objects.filter(run=failed_run)
    assert cells.count() == 12 and set(cells.values_list("state", flat=True)) == {State.FAILED}
    # Three connection errors, then the other cells were not called at all.
    assert sum(cells.values_list("attempts", flat=True)) == breaker.CONNECT_ATTEMPTS
    progress = selectors.run_progress(run=failed_run)
    assert progress.outcome == "failed"
    [group] = progress.failure_groups
    assert group["cells"] == 12 and group["endpoint"] == "Nobody home"
    assert "Nobody home is unreachable: Connection error" in group["error"]
    assert "Retry failed" in group["error"]


def test_failed_run_is_shown_failed_in_red(personas, failed_run, login):
    client = login(personas.lead)
    page = client.get(reverse("transcripts:run-detail", args=[failed_run.pk])).content.decode()
    assert 'data-outcome="failed"' in page and "outcome-failed" in page
    assert "Why this run failed" in page and page.count("data-failure-group") == 1
    assert "Create blinded study" not in page  # nothing to code
    listing = client.get(reverse("transcripts:run-list")).content.decode()
    assert 'data-outcome="failed"' in listing and ">Failed<" in listing


def test_retried_run_keeps_its_first_failures_visible(
    personas, failed_run, fake_server, login, django_capture_on_commit_callbacks
):
    # The server is up now (the endpoint is pointed at it), and the lead retries.
    ModelEndpoint.objects.filter(runs=failed_run).update(base_url=fake_server.openai_base_url)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.run_retry_failed(run=failed_run, by=personas.lead) == 12
    failed_run.refresh_from_db()
    progress = selectors.run_progress(run=failed_run)
    assert progress.outcome == "succeeded" and progress.succeeded == 12
    [retry] = [h for h in progress.history if h["event"] == "retried"]
    assert retry["cells"] == 12 and retry["by"] == "lead"
    assert "is unreachable" in retry["failures"][0]["error"]
    # Each cell that was called before still has that attempt in its log.
    logs = [c.attempt_log for c in Transcript.objects.filter(run=failed_run)]
    before = [entry for log in logs for entry in log[:-1]]
    assert len(before) == breaker.CONNECT_ATTEMPTS  # the calls made before the retry
    assert all(entry["error"].startswith("Connection error") for entry in before)
    assert all(log[-1]["outcome"] == "ok" for log in logs)
    page = login(personas.lead).get(reverse("transcripts:run-detail", args=[failed_run.pk]))
    html = page.content.decode()
    assert "Retried 12 failed cells" in html and "Nobody home is unreachable" in html
