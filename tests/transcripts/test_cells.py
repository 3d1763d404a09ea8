"""Claiming, calling and storing cells in-process (eager), on any database."""

from __future__ import annotations

import socket
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from tests.transcripts.conftest import FAST_POLICY, builtin_scaffolds, demo_prompt_set
from transcripts import breaker, services
from transcripts.cells import Claim, cell_call, cell_record
from transcripts.claims import cell_claim, cell_claim_next, cell_process
from transcripts.models import GenerationRun, Transcript

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process

State = Transcript.State


def make_run(lead, endpoints, *, max_prompts=None, policy=None, capture=None, **kwargs):
    """Create a run; with ``capture`` the on-commit dispatch runs (eagerly, in-process)."""
    args = {
        "by": lead,
        "name": "Cells",
        "endpoints": endpoints,
        "scaffolds": builtin_scaffolds(),
        "prompt_set": demo_prompt_set(),
        "policy": FAST_POLICY | (policy or {}),
        "max_prompts": max_prompts,
        **kwargs,
    }
    if capture is None:
        return services.run_create(**args)
    with capture(execute=True):
        return services.run_create(**args)


def test_eager_grid_with_injected_failures_completes(
    personas, fake_server, demo_endpoints, django_capture_on_commit_callbacks
):
    fake_server.configure(failure_rate=0.2, failure_kinds=("429", "500"), seed=5)
    endpoints = demo_endpoints(personas.lead, fake_server)
    run = make_run(personas.lead, endpoints, capture=django_capture_on_commit_callbacks)
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.FINISHED
    cells = Transcript.objects.filter(run=run)
    assert cells.count() == 180
    assert set(cells.values_list("state", flat=True)) == {State.SUCCEEDED}
    counts = fake_server.call_counts()
    assert len(counts) == 180 and max(counts.values()) == 2
    retried = cells.filter(attempts=2)
    assert retried.count() == sum(1 for n in counts.values() if n == 2) > 0
    cell = retried.first()
    assert [e["outcome"] for e in cell.attempt_log] == ["retry", "ok"]
    assert cell.attempt_log[0]["status"] in (429, 500)
    assert len(cell.provenance["request_ids"]) == 2  # one per attempt, the failed one too
    assert cell.attempt_log[0]["request_id"] == cell.provenance["request_ids"][0]
    assert cell.provenance["attempts"] == 2


def test_provenance_records_the_call(personas, fake_server, make_endpoint):
    endpoint = make_endpoint(owner=personas.lead, server=fake_server, model="cirrus-mini")
    run = make_run(
        personas.lead,
        [endpoint],
        max_prompts=1,
        config={"temperature": 0.2, "seed": 100, "extra": {"top_k": 3}},
    )
    cell = run.transcripts.get(scaffold__code="C2")
    assert cell_process(transcript_id=cell.pk) is None
    cell.refresh_from_db()
    p = cell.provenance
    assert cell.state == State.SUCCEEDED
    assert p["served_model"] == "cirrus-mini-0613"
    assert p["request"]["params"]["temperature"] == 0.2
    assert p["request"]["params"]["seed"] == 100
    assert p["request"]["params"]["max_tokens"] is None  # a limit, not a redacted secret
    assert p["request"]["params"]["extra"] == {"top_k": 3}
    assert p["request"]["sent_in_extra_body"] == ["top_k"]
    assert p["scaffold"]["code"] == "C2" and len(p["scaffold"]["sha256"]) == 64
    assert p["prompt"] == {
        "code": "P01",
        "version": 1,
        "sha256": cell.prompt.sha256,
        "specification": "under",
    }
    assert p["finish_reason"] == "stop" and p["usage"]["output_tokens"] > 0
    assert p["sdk"].startswith("openai ")
    assert cell.messages[0]["role"] == "system" and cell.messages[-1]["role"] == "assistant"
    assert cell.input_tokens > 0 and cell.latency_ms is not None


def test_replicates_get_distinct_seeds(personas, fake_server, make_endpoint):
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    run = make_run(personas.lead, [endpoint], max_prompts=1, replicates=2, config={"seed": 7})
    for cell in run.transcripts.filter(scaffold__code="C1"):
        cell_process(transcript_id=cell.pk)
    seeds = sorted(r.body["seed"] for r in fake_server.requests())
    assert seeds == [7, 8]


def test_second_claim_waits_for_the_lease(personas, fake_server, make_endpoint):
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    cell = make_run(personas.lead, [endpoint], max_prompts=1).transcripts.first()
    claim = cell_claim(transcript_id=cell.pk)
    assert isinstance(claim, Claim) and claim.attempt == 1
    again = cell_claim(transcript_id=cell.pk)
    assert isinstance(again, float) and 0 < again <= FAST_POLICY["lease_seconds"] + 1


def test_late_duplicate_result_is_discarded(personas, fake_server, make_endpoint):
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    cell = make_run(personas.lead, [endpoint], max_prompts=1).transcripts.first()
    slow = cell_claim(transcript_id=cell.pk)
    # The slow worker's lease runs out; another worker reclaims and finishes the cell.
    Transcript.objects.filter(pk=cell.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    fast = cell_claim(transcript_id=cell.pk)
    assert isinstance(fast, Claim) and fast.attempt == 2
    assert cell_record(fast, cell_call(fast)) is None
    cell.refresh_from_db()
    stored = (cell.response_text, cell.provenance["response_id"])
    # The first worker's result arrives late: it must not overwrite or duplicate.
    assert cell_record(slow, cell_call(slow)) is None
    cell.refresh_from_db()
    assert (cell.response_text, cell.provenance["response_id"]) == stored
    assert cell.state == State.SUCCEEDED and cell.attempts == 2
    assert [e["outcome"] for e in cell.attempt_log] == ["lost", "ok"]
    assert Transcript.objects.filter(run=cell.run).count() == 4


def test_expired_lease_at_attempt_cap_fails(personas, fake_server, make_endpoint):
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    cell = make_run(personas.lead, [endpoint], max_prompts=1).transcripts.first()
    Transcript.objects.filter(pk=cell.pk).update(
        state=State.CLAIMED,
        attempts=FAST_POLICY["max_attempts"],
        lease_expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert cell_claim(transcript_id=cell.pk) is None
    cell.refresh_from_db()
    assert cell.state == State.FAILED and "lease expired" in cell.last_error


def test_per_endpoint_concurrency_limit(personas, fake_server, make_endpoint):
    narrow = make_endpoint(owner=personas.lead, server=fake_server, max_concurrency=1)
    wide = make_endpoint(owner=personas.lead, server=fake_server, model="cirrus-mini")
    run = make_run(personas.lead, [narrow, wide], max_prompts=1)
    a, b = run.transcripts.filter(endpoint=narrow)[:2]
    other = run.transcripts.filter(endpoint=wide).first()
    assert isinstance(cell_claim(transcript_id=a.pk), Claim)
    assert isinstance(cell_claim(transcript_id=b.pk), float)  # narrow endpoint is full
    assert isinstance(cell_claim(transcript_id=other.pk), Claim)
    Transcript.objects.filter(pk=a.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert isinstance(cell_claim(transcript_id=b.pk), Claim)  # expired leases do not count


def test_retryable_waits_then_fails_at_the_attempt_cap(personas, fake_server, make_endpoint):
    fake_server.configure(failure_rate=1.0, failure_kinds=("500",), fail_attempts=99)
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    cell = make_run(personas.lead, [endpoint], max_prompts=1).transcripts.first()
    delay = cell_process(transcript_id=cell.pk)
    cell.refresh_from_db()
    assert cell.state == State.RETRYABLE and delay is not None
    assert cell.not_before > timezone.now() - timedelta(seconds=1)
    Transcript.objects.filter(pk=cell.pk).update(not_before=timezone.now() + timedelta(seconds=5))
    assert isinstance(cell_claim(transcript_id=cell.pk), float)  # not before not_before
    Transcript.objects.filter(pk=cell.pk).update(not_before=timezone.now())
    for _ in range(10):
        if cell_process(transcript_id=cell.pk) is None:
            break
        Transcript.objects.filter(pk=cell.pk).update(not_before=timezone.now())
    cell.refresh_from_db()
    assert cell.state == State.FAILED
    assert cell.attempts == FAST_POLICY["max_attempts"]
    assert "Server error (500)" in cell.last_error and "gave up after 4" in cell.last_error


def test_cancelled_run_claims_nothing(personas, fake_server, make_endpoint):
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    run = make_run(personas.lead, [endpoint], max_prompts=1)
    services.run_cancel(run=run, by=personas.lead)
    assert cell_process(transcript_id=run.transcripts.first().pk) is None
    assert fake_server.total_calls == 0


def test_bad_endpoints_fail_clearly_and_do_not_block_others(
    personas, make_endpoint, monkeypatch, django_capture_on_commit_callbacks
):
    from transcripts.providers.fake_server import FakeModelServer, FakeServerConfig

    monkeypatch.setenv("GOOD_KEY", "sk-good-0001")
    monkeypatch.setenv("WRONG_KEY", "sk-wrong-0002")
    monkeypatch.delenv("UNSET_KEY", raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with FakeModelServer(FakeServerConfig(api_key="sk-good-0001")) as server:
        good = make_endpoint(owner=personas.lead, server=server, api_key_env="GOOD_KEY")
        bad = [
            make_endpoint(
                owner=personas.lead,
                name="refused",
                base_url=f"http://127.0.0.1:{closed}/v1",
                timeout_seconds=1,
            ),
            make_endpoint(
                owner=personas.lead, server=server, model="gpt-nope", api_key_env="GOOD_KEY"
            ),
            make_endpoint(
                owner=personas.lead,
                server=server,
                model="cirrus-mini",
                name="wrong key",
                api_key_env="WRONG_KEY",
            ),
            make_endpoint(
                owner=personas.lead,
                server=server,
                model="cirrus-mini",
                name="unset key",
                api_key_env="UNSET_KEY",
            ),
        ]
        run = make_run(
            personas.lead,
            [*bad, good],
            max_prompts=1,
            policy={"max_attempts": 2, "base_delay": 0.01},
            capture=django_capture_on_commit_callbacks,
        )
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.FINISHED
    states = Counter(run.transcripts.values_list("endpoint__name", "state"))
    assert states[(good.name, State.SUCCEEDED)] == 4
    for endpoint in bad:
        assert states[(endpoint.name, State.FAILED)] == 4, states
    # One message per bad endpoint (not four slightly different ones), saying what to fix.
    errors = {}
    for t in run.transcripts.filter(state=State.FAILED).select_related("endpoint"):
        errors.setdefault(t.endpoint.name, set()).add(t.last_error)
    assert all(len(messages) == 1 for messages in errors.values()), errors
    errors = {name: messages.pop() for name, messages in errors.items()}
    assert "is unreachable: Connection error" in errors["refused"]
    assert "Not found (404)" in errors[bad[1].name] and "gpt-nope" in errors[bad[1].name]
    assert "Authentication failed (401)" in errors["wrong key"]
    assert "UNSET_KEY is not set" in errors["unset key"]
    assert all("Retry failed" in message for message in errors.values())
    assert "sk-wrong-0002" not in str(errors)
    calls = dict(
        run.transcripts.values_list("endpoint__name").annotate(n=Sum("attempts")).order_by()
    )
    # A rejected key or unknown model is called once, not once per cell; a refused
    # connection three times (a blip is not an outage), then its other cells stop.
    assert calls["wrong key"] == calls[bad[1].name] == calls["unset key"] == 1
    assert calls["refused"] == breaker.CONNECT_ATTEMPTS


def test_the_model_is_called_outside_any_transaction(
    personas, fake_server, make_endpoint, monkeypatch, transactional_db
):
    from django.db import connection

    from tests.transcripts.conftest import builtin_scaffolds as scaffolds
    from transcripts.claims import slot_drive
    from transcripts.providers.openai_provider import OpenAIProvider

    seen = []
    real = OpenAIProvider.complete

    def spy(self, messages, config):
        seen.append(connection.in_atomic_block)
        return real(self, messages, config)

    monkeypatch.setattr(OpenAIProvider, "complete", spy)
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    run = services.run_create(
        by=personas.lead,
        name="tx",
        endpoints=[endpoint],
        scaffolds=scaffolds(),
        prompt_set=demo_prompt_set(),
        max_prompts=1,
        dispatch=False,
    )
    slot_drive(run_id=run.pk, endpoint_id=endpoint.pk)
    assert seen == [False] * 4


def test_slot_claims_the_next_cell_and_stops_when_done(personas, fake_server, make_endpoint):
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    run = make_run(personas.lead, [endpoint], max_prompts=1)
    claimed = set()
    while isinstance(claim := cell_claim_next(run_id=run.pk, endpoint_id=endpoint.pk), Claim):
        claimed.add(claim.transcript_id)
        cell_record(claim, cell_call(claim))
    assert claim is None and len(claimed) == 4
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.FINISHED
