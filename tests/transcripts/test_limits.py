"""Provider limits: requests and tokens per minute shared by all claimers, and Retry-After."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_personas
from tests.transcripts.conftest import FAST_POLICY, builtin_scaffolds, demo_prompt_set
from transcripts import limits, services
from transcripts.cells import Claim
from transcripts.claims import cell_claim_next, slot_step
from transcripts.models import EndpointLimiter, ModelEndpoint, Transcript

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process


def test_bucket_refills_continuously_up_to_a_minute_worth():
    assert limits.refill(0, 60, 1.0) == 1.0  # 60 per minute: one per second
    assert limits.refill(59.5, 60, 10.0) == 60.0  # never above the per-minute limit
    assert limits.seconds_until(0.5, 1.0, 60) == pytest.approx(0.5)
    assert limits.seconds_until(3.0, 1.0, 60) == 0.0
    # A call reserves its input estimate plus its maximum output.
    messages = [{"role": "user", "content": "x" * 400}]
    assert limits.call_tokens(messages, 50) == 100 + limits.MESSAGE_OVERHEAD_TOKENS + 50
    assert limits.call_tokens(messages, None) == 104 + limits.DEFAULT_OUTPUT_TOKENS


def fresh(endpoint: ModelEndpoint) -> ModelEndpoint:
    """The endpoint as a claim reads it: with its limiter state, in one query."""
    return ModelEndpoint.objects.select_related("limiter").get(pk=endpoint.pk)


def test_requests_per_minute(personas, make_endpoint):
    endpoint = make_endpoint(
        owner=personas.lead, base_url="http://127.0.0.1:9/v1", requests_per_minute=3
    )
    now = timezone.now()
    grants = [limits.acquire(endpoint=fresh(endpoint), now=now, tokens=10) for _ in range(4)]
    assert grants[:3] == [0.0, 0.0, 0.0]
    assert grants[3] == pytest.approx(20.0)  # one request per 20 s once the burst is spent
    state = EndpointLimiter.objects.get(pk=endpoint.pk)
    assert state.throttled_by == "requests"
    later = now + timedelta(seconds=20)
    assert limits.acquire(endpoint=fresh(endpoint), now=later, tokens=10) == 0.0


def test_tokens_per_minute_reserve_then_settle(personas, make_endpoint):
    endpoint = make_endpoint(
        owner=personas.lead, base_url="http://127.0.0.1:9/v1", tokens_per_minute=1000
    )
    now = timezone.now()
    assert limits.acquire(endpoint=fresh(endpoint), now=now, tokens=400) == 0.0
    assert limits.acquire(endpoint=fresh(endpoint), now=now, tokens=400) == 0.0
    assert limits.acquire(endpoint=fresh(endpoint), now=now, tokens=400) == pytest.approx(12.0)
    # The first call used 100 of its 400 reserved tokens: 300 come back at once.
    limits.settle(endpoint_id=endpoint.pk, tokens_per_minute=1000, reserved=400, used=100)
    assert EndpointLimiter.objects.get(pk=endpoint.pk).tokens == pytest.approx(500)
    assert limits.acquire(endpoint=fresh(endpoint), now=now, tokens=400) == 0.0
    # A call bigger than the whole budget still goes once the bucket is full.
    later = now + timedelta(minutes=2)
    assert limits.acquire(endpoint=fresh(endpoint), now=later, tokens=5000) == 0.0


def test_retry_after_pauses_the_whole_endpoint(personas, make_endpoint):
    endpoint = make_endpoint(owner=personas.lead, base_url="http://127.0.0.1:9/v1")
    now = timezone.now()
    limits.honour_retry_after(endpoint_id=endpoint.pk, now=now, retry_after=30)
    limits.honour_retry_after(endpoint_id=endpoint.pk, now=now, retry_after=5)  # shorter: kept
    assert limits.acquire(endpoint=fresh(endpoint), now=now, tokens=1) == pytest.approx(30.0)
    state = EndpointLimiter.objects.get(pk=endpoint.pk)
    assert state.rate_limited == 2 and state.last_retry_after == 5
    later = now + timedelta(seconds=31)
    assert limits.acquire(endpoint=fresh(endpoint), now=later, tokens=1) == 0.0


def _run(lead, endpoint, **kwargs):
    return services.run_create(
        by=lead,
        name="Limited",
        endpoints=[endpoint],
        scaffolds=builtin_scaffolds(),
        prompt_set=demo_prompt_set(),
        max_prompts=2,
        policy=FAST_POLICY,
        dispatch=False,
        **kwargs,
    )


def test_a_429_with_retry_after_holds_back_the_other_cells(personas, fake_server, make_endpoint):
    fake_server.configure(failure_rate=1.0, failure_kinds=("429",), retry_after=30.0)
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    run = _run(personas.lead, endpoint)
    assert slot_step(run_id=run.pk, endpoint_id=endpoint.pk) == 0.0  # one call: a 429
    assert fake_server.total_calls == 1
    # Seven cells are pending, but the endpoint is paused: no claim, a wait instead.
    wait = cell_claim_next(run_id=run.pk, endpoint_id=endpoint.pk)
    assert not isinstance(wait, Claim) and wait > 20
    assert fake_server.total_calls == 1
    page = _client_page(personas.lead, reverse("transcripts:run-progress", args=[run.pk]))
    assert 'data-limit="paused"' in page and "Retry-After 30" in page


def _client_page(user, url: str) -> str:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.get(url).content.decode()


@pytest.mark.django_db(transaction=True)
def test_requests_per_minute_hold_across_concurrent_claimers(fake_server):
    """Six claimers at once (as six worker threads or processes would): two requests per
    minute means exactly two claims, whoever makes them."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent claimers need PostgreSQL row locks")
    personas = make_personas()
    endpoint = ModelEndpoint.objects.create(
        created_by=personas.lead,
        name="limited",
        provider="openai_compatible",
        base_url=fake_server.openai_base_url,
        model="atlas-7b",
        requests_per_minute=2,
    )
    run = _run(personas.lead, endpoint)
    results, barrier = [], threading.Barrier(6)

    def claimer() -> None:
        try:
            barrier.wait()
            results.append(cell_claim_next(run_id=run.pk, endpoint_id=endpoint.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=claimer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    claims = [r for r in results if isinstance(r, Claim)]
    assert len(claims) == 2, results
    assert Transcript.objects.filter(run=run, state="claimed").count() == 2
    assert EndpointLimiter.objects.get(pk=endpoint.pk).throttled_by == "requests"
