"""End to end with a real Celery worker on Redis and PostgreSQL.

Run locally with::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 REQUIRE_SERVICES=1 \
    .venv/bin/pytest tests/transcripts/test_worker.py -p no:cacheprovider

All live-worker tests share Redis queues, so under xdist they run in one group.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import json
import logging
import secrets
import socket
import threading
import time
from collections import Counter

import pytest
from django.db import connection

from coding.services.errors import ServiceError
from tests.conftest import redis_url
from tests.transcripts.conftest import (
    FAST_POLICY,
    builtin_scaffolds,
    demo_prompt_set,
    wait_for_run,
)
from transcripts import services
from transcripts.models import GenerationRun, ModelEndpoint, Transcript
from transcripts.providers.fake_server import FakeModelServer, FakeServerConfig
from transcripts.runcard import build_run_card, run_card_markdown
from transcripts.tasks import generation_slot, run_dispatch

pytestmark = [pytest.mark.services, pytest.mark.xdist_group("live_worker")]
State = Transcript.State


def start_run(lead, endpoints, **kwargs) -> GenerationRun:
    """Create a run outside any transaction: the dispatch goes to Redis on commit."""
    args = {
        "by": lead,
        "name": "Worker grid",
        "endpoints": endpoints,
        "scaffolds": builtin_scaffolds(),
        "prompt_set": demo_prompt_set(),
        "policy": FAST_POLICY,
    } | kwargs
    return services.run_create(**args)


def assert_complete_grid(run: GenerationRun, n: int = 180) -> None:
    cells = Transcript.objects.filter(run=run)
    assert cells.count() == n
    assert set(cells.values_list("state", flat=True)) == {State.SUCCEEDED}
    distinct = cells.values("endpoint", "scaffold", "prompt", "replicate").distinct().count()
    assert distinct == n  # 0 duplicates


def test_grid_with_injected_failures_on_a_real_worker(
    personas, live_worker, fake_server, demo_endpoints
):
    fake_server.configure(failure_rate=0.2, failure_kinds=("429", "500"), seed=11)
    endpoints = demo_endpoints(personas.lead, fake_server, max_concurrency=3)
    run = wait_for_run(start_run(personas.lead, endpoints), timeout=180)
    assert run.status == GenerationRun.Status.FINISHED
    assert_complete_grid(run)
    counts = fake_server.call_counts()
    assert len(counts) == 180
    assert max(counts.values()) == 2
    # The per-endpoint concurrency limit (3) held across the worker's 4 threads.
    assert max(fake_server.peak_in_flight().values()) <= 3
    retried = sum(1 for n in counts.values() if n == 2)
    assert 18 <= retried <= 54  # about 20% of 180
    cells = Transcript.objects.filter(run=run)
    assert cells.filter(attempts=2).count() == retried
    assert cells.filter(attempts=1).count() == 180 - retried
    for cell in cells.filter(attempts=2):
        assert [e["outcome"] for e in cell.attempt_log] == ["retry", "ok"]
        assert cell.attempt_log[0]["status"] in (429, 500)


def test_sigkill_mid_run_then_resume_on_a_new_worker(
    personas, live_worker_factory, fake_server, demo_endpoints
):
    fake_server.configure(latency=0.05)
    # The lease outlives the call timeout, so only a dead worker's cells are reclaimed.
    endpoints = demo_endpoints(personas.lead, fake_server, timeout_seconds=1.5)
    first = live_worker_factory(concurrency=4)
    run = start_run(personas.lead, endpoints, policy=FAST_POLICY | {"lease_seconds": 3})
    deadline = time.monotonic() + 30
    while Transcript.objects.filter(run=run, state=State.SUCCEEDED).count() < 40:
        assert time.monotonic() < deadline, "the first worker made no progress"
        time.sleep(0.05)
    first.kill()
    done_at_kill = Transcript.objects.filter(run=run, state=State.SUCCEEDED).count()
    assert done_at_kill < 180, "the run finished before the kill; slow the fake server down"
    live_worker_factory(concurrency=4)
    try:
        services.run_resume(run=run, by=personas.lead)
    except ServiceError:
        # On a loaded machine the new worker can take its queued cells and reclaim the
        # expired leases before resume is called; the grid must still be whole below.
        assert not Transcript.objects.filter(run=run, state__in=Transcript.UNFINISHED).exists()
    run = wait_for_run(run, timeout=180)
    assert run.status == GenerationRun.Status.FINISHED
    assert_complete_grid(run)
    counts = fake_server.call_counts()
    assert len(counts) == 180
    assert max(counts.values()) <= 2, Counter(counts.values())
    # Cells that were in flight at the kill were reclaimed after their lease expired.
    reclaimed = Transcript.objects.filter(run=run, attempts=2)
    for cell in reclaimed:
        assert cell.attempt_log[0]["outcome"] == "lost"


# -- secrets ---------------------------------------------------------------------------


@pytest.fixture
def secret_key(monkeypatch) -> str:
    """A key in the environment before the worker starts (it inherits the environment)."""
    value = "sk-alignweb-test-" + secrets.token_hex(16)
    monkeypatch.setenv("ALIGNWEB_TEST_SECRET", value)
    monkeypatch.setenv("ALIGNWEB_WRONG_KEY", "sk-wrong-" + secrets.token_hex(8))
    return value


class RedisMonitor:
    """Every command any client sends to Redis (MONITOR), kombu bodies decoded."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.commands: list[str] = []
        self._monitor = self.client.monitor()
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        try:
            for event in self._monitor.listen():
                self.commands.append(str(event.get("command", "")))
        except Exception:  # noqa: BLE001 - the connection is closed when we stop
            return

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._monitor.connection.disconnect()

    def texts(self) -> list[str]:
        """Raw commands plus decoded kombu message bodies (base64 inside a JSON envelope)."""
        out = []
        for command in self.commands:
            out.append(command)
            start = command.find("{")
            if start < 0:
                continue
            try:
                envelope = json.loads(
                    command[start:].rsplit('"', 0)[0].strip('"').replace('\\"', '"')
                )
            except ValueError:
                continue
            body = envelope.get("body") if isinstance(envelope, dict) else None
            if isinstance(body, str):
                with contextlib.suppress(ValueError):
                    out.append(base64.b64decode(body).decode("utf-8", "replace"))
        return out


def database_text() -> str:
    """Every row of every table, as text."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - introspected names
            chunks.append(repr(cursor.fetchall()))
    return "\n".join(chunks)


def test_secret_key_never_leaves_the_environment_and_bad_endpoints_fail_cleanly(
    secret_key, live_worker_factory, personas, make_endpoint, caplog
):
    """Keyed endpoints succeed; wrong key, unknown model and refused connection fail their
    cells with clear errors without blocking the others; the key appears nowhere."""
    caplog.set_level(logging.DEBUG)
    worker = live_worker_factory()
    log_offset = worker.log_path.stat().st_size if worker.log_path.exists() else 0
    monitor = RedisMonitor(redis_url())
    published = []

    from celery.signals import before_task_publish

    def capture(body=None, headers=None, routing_key=None, **kwargs):
        published.append(repr((body, headers, routing_key)))

    before_task_publish.connect(capture)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    config = FakeServerConfig(
        api_key=secret_key, failure_rate=0.3, failure_kinds=("429", "500"), retry_after=0.05
    )
    try:
        with FakeModelServer(config) as server:
            keyed = "ALIGNWEB_TEST_SECRET"
            good = [
                make_endpoint(owner=personas.lead, server=server, api_key_env=keyed),
                make_endpoint(
                    owner=personas.lead,
                    server=server,
                    model="borealis-70b",
                    provider=ModelEndpoint.Provider.ANTHROPIC,
                    api_key_env=keyed,
                ),
            ]
            bad = {
                "wrong key": make_endpoint(
                    owner=personas.lead,
                    server=server,
                    name="wrong key",
                    model="cirrus-mini",
                    api_key_env="ALIGNWEB_WRONG_KEY",
                ),
                "unknown model": make_endpoint(
                    owner=personas.lead,
                    server=server,
                    name="unknown model",
                    model="gpt-unknown",
                    api_key_env=keyed,
                ),
                "refused": make_endpoint(
                    owner=personas.lead,
                    name="refused",
                    base_url=f"http://127.0.0.1:{closed}/v1",
                    api_key_env=keyed,
                ),
            }
            run = start_run(
                personas.lead,
                [*bad.values(), *good],
                max_prompts=3,
                policy=FAST_POLICY | {"max_attempts": 3},
            )
            run = wait_for_run(run, timeout=180)
            # The key did reach the model server (it rejects anything else).
            assert any(
                r.headers.get("authorization", "").endswith(secret_key) for r in server.requests()
            )
        by_endpoint = Counter(run.transcripts.values_list("endpoint__name", "state"))
        for endpoint in good:
            assert by_endpoint[(endpoint.name, State.SUCCEEDED)] == 12
        for name in bad:
            assert by_endpoint[(name, State.FAILED)] == 12, by_endpoint
        # One message per bad endpoint; its cells stop after the first errors (those already
        # in flight on the worker's 4 threads finish) instead of each retrying on its own.
        failed = run.transcripts.filter(state=State.FAILED)
        errors = {
            name: set(failed.filter(endpoint__name=name).values_list("last_error", flat=True))
            for name in bad
        }
        assert all(len(messages) == 1 for messages in errors.values()), errors
        assert "Authentication failed (401)" in errors["wrong key"].pop()
        assert "Not found (404)" in errors["unknown model"].pop()
        assert "is unreachable: Connection error" in errors["refused"].pop()
        for name in ("wrong key", "unknown model"):
            attempts = list(failed.filter(endpoint__name=name).values_list("attempts", flat=True))
            assert max(attempts) == 1 and sum(attempts) <= 4, (name, attempts)
        refused = list(failed.filter(endpoint__name="refused").values_list("attempts", flat=True))
        assert sum(refused) <= 3 + 4, refused  # three errors trip it, plus calls in flight
        services.run_to_study(run=run, by=personas.lead, name="Secret check")
    finally:
        before_task_publish.disconnect(capture)
        monitor.stop()

    card = build_run_card(run)
    places = {
        "database": database_text(),
        "published task messages": "\n".join(published),
        "redis traffic": "\n".join(monitor.texts()),
        "test-process logs": caplog.text,
        "worker log": worker.log_path.read_bytes()[log_offset:].decode("utf-8", "replace"),
        "run card (JSON)": json.dumps(card),
        "run card (Markdown)": run_card_markdown(card),
    }
    assert published and monitor.commands, "nothing was captured"
    # The worker's own messages (slots re-enqueued during retries) went through the monitor.
    assert any("transcripts.generation_slot" in c for c in monitor.commands)
    assert "ALIGNWEB_TEST_SECRET" in places["database"]  # the variable's NAME is stored
    for where, text in places.items():
        assert secret_key not in text, f"the key leaked into the {where}"
        assert base64.b64encode(secret_key.encode()).decode()[:20] not in text, where


def test_tasks_take_ids_only():
    assert list(inspect.signature(generation_slot.run).parameters) == ["run_id", "endpoint_id"]
    assert list(inspect.signature(run_dispatch.run).parameters) == ["run_id"]
