"""Claiming cells, and the loop a generation slot runs.

The life of a cell: ``pending -> claimed(lease) -> succeeded | retryable(not_before) |
failed``. A claim is a compare-and-set in a short transaction that holds the endpoint
row lock, so the per-endpoint concurrency limit (cells claimed with a live lease, across
all runs and workers) cannot be overshot. Slots pick the next claimable cell with
``select_for_update(skip_locked=True)``. A crashed worker's cells are reclaimed once
their lease expires; each reclaim counts as an attempt, and the attempt cap applies.

A *slot* is one unit of an endpoint's concurrency inside a run: it claims a cell, calls
the model (no transaction open), stores the outcome, and repeats. ``slot_step`` does one
round and says how long to wait before the next (or None: nothing left for this slot).
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from . import limits
from .cells import Claim, cell_call, cell_config, cell_messages, cell_record, finish_run_if_done
from .models import GenerationRun, ModelEndpoint, Transcript
from .providers.retry import RetryPolicy

State = Transcript.State
RUNNING = GenerationRun.Status.RUNNING
INLINE_WAIT = 1.0  # a slot task sleeps through waits up to this; longer ones re-enqueue it


def _wait(seconds: float) -> float:
    return max(0.05, seconds)


def claimable(now: datetime) -> Q:
    """Cells a slot may claim now (generation and judge cells share these states)."""
    return (
        Q(state=State.PENDING)
        | Q(state=State.RETRYABLE, not_before__lte=now)
        | Q(state=State.RETRYABLE, not_before__isnull=True)
        | Q(state=State.CLAIMED, lease_expires_at__lte=now)
    )


def _close(cell: Transcript, now: datetime, reason: str, log: list) -> None:
    """Fail a cell whose attempts or time budget ran out while it was not being called."""
    Transcript.objects.filter(pk=cell.pk, state=cell.state, attempts=cell.attempts).update(
        state=State.FAILED,
        last_error=reason,
        attempt_log=log,
        lease_expires_at=None,
        claim_token=None,
        finished_at=now,
    )
    finish_run_if_done(cell.run_id)


def endpoint_active_cells(endpoint_id: int, now: datetime) -> int:
    """Calls in flight on an endpoint: generation and judge cells with a live lease."""
    from .models_judge import JudgeCell

    live = {"state": State.CLAIMED, "lease_expires_at__gt": now}
    return (
        Transcript.objects.filter(endpoint_id=endpoint_id, **live).count()
        + JudgeCell.objects.filter(run__endpoint_id=endpoint_id, **live).count()
    )


def _endpoint_full(endpoint: ModelEndpoint, now: datetime) -> bool:
    return endpoint_active_cells(endpoint.pk, now) >= endpoint.max_concurrency


def _take(cell: Transcript, endpoint: ModelEndpoint, now: datetime) -> Claim | float | None:
    """Claim a selected cell (the endpoint row is locked by the caller's transaction).

    Returns the claim, seconds to wait (endpoint full, lost race), or None if the cell was
    closed instead (attempts or time used up).
    """
    policy = RetryPolicy.from_dict(cell.run.policy)
    log = list(cell.attempt_log)
    if cell.state == State.CLAIMED:  # the lease expired: the worker that held it is gone
        lost = f"Attempt {cell.attempts} lost: lease expired (worker stopped or too slow)."
        log.append({"attempt": cell.attempts, "outcome": "lost", "error": lost})
        if cell.attempts >= policy.max_attempts:
            _close(cell, now, f"{lost} Gave up after {cell.attempts} attempts.", log)
            return None
    first = cell.first_attempt_at or now
    if (now - first).total_seconds() > policy.max_total_seconds:
        _close(cell, now, f"Gave up: over the {policy.max_total_seconds:g} s time budget.", log)
        return None
    if _endpoint_full(endpoint, now):
        # Longer than a slot sleeps in place: the slot hands its worker thread back.
        return _wait(INLINE_WAIT + random.uniform(0.1, 1.0))
    messages = cell_messages(
        system_prompt=cell.scaffold.system_prompt, prompt_text=cell.prompt.text
    )
    config = cell_config(run=cell.run, endpoint=endpoint, replicate=cell.replicate)
    reserved = limits.call_tokens(messages, config.max_tokens)
    # Requests/tokens per minute and Retry-After pauses, shared by all workers.
    wait = limits.acquire(endpoint=endpoint, now=now, tokens=reserved)
    if wait:
        return _wait(wait + random.uniform(0, 0.05))
    token = uuid.uuid4()
    claimed = Transcript.objects.filter(
        pk=cell.pk, state=cell.state, attempts=cell.attempts
    ).update(
        state=State.CLAIMED,
        claim_token=token,
        lease_expires_at=now + timedelta(seconds=policy.lease_seconds),
        attempts=F("attempts") + 1,
        attempt_log=log,
        first_attempt_at=first,
    )
    if not claimed:  # another worker won the race
        return _wait(random.uniform(0.05, 0.2))
    return Claim(
        transcript_id=cell.pk,
        run_id=cell.run_id,
        token=token,
        attempt=cell.attempts + 1,
        run_seed=cell.run.seed,
        policy=policy,
        first_attempt_at=first,
        provider=endpoint.provider,
        base_url=endpoint.base_url,
        model=endpoint.model,
        api_key_env=endpoint.api_key_env,
        messages=messages,
        config=config,
        attempt_log=log,
        endpoint_id=endpoint.pk,
        reserved_tokens=reserved,
        tokens_per_minute=endpoint.tokens_per_minute,
        identity={
            "scaffold": {
                "code": cell.scaffold.code,
                "version": cell.scaffold.version,
                "sha256": cell.scaffold.sha256,
            },
            "prompt": {
                "code": cell.prompt.code,
                "version": cell.prompt.version,
                "sha256": cell.prompt.sha256,
                "specification": cell.prompt.specification,
            },
            "replicate": cell.replicate,
        },
    )


def _locked_endpoints():
    # The rate-limit state is read afresh under this lock (limits.acquire), not joined here.
    return ModelEndpoint.objects.select_for_update(of=("self",))


def _cells():
    return Transcript.objects.select_related("run", "scaffold", "prompt")


def cell_claim(*, transcript_id: int) -> Claim | float | None:
    """Claim one given cell: a ``Claim``, seconds to wait, or None (nothing to do)."""
    now = timezone.now()
    with transaction.atomic():
        cell = _cells().filter(pk=transcript_id).first()
        if (
            cell is None
            or cell.run.status != RUNNING
            or cell.state in (State.SUCCEEDED, State.FAILED)
        ):
            return None
        if cell.state == State.CLAIMED and cell.lease_expires_at > now:
            return _wait((cell.lease_expires_at - now).total_seconds() + random.uniform(0, 0.5))
        if cell.state == State.RETRYABLE and cell.not_before and cell.not_before > now:
            return _wait((cell.not_before - now).total_seconds())
        endpoint = _locked_endpoints().get(pk=cell.endpoint_id)
        return _take(cell, endpoint, now)


def cell_claim_next(*, run_id: int, endpoint_id: int) -> Claim | float | None:
    """Claim the next claimable cell of a run for one endpoint (a slot's claim)."""
    now = timezone.now()
    with transaction.atomic():
        # Lock the endpoint first (always the same order: endpoint, then cell).
        endpoint = _locked_endpoints().filter(pk=endpoint_id).first()
        if endpoint is None:
            return None
        cell = (
            _cells()
            .select_for_update(skip_locked=True, of=("self",))
            .filter(claimable(now), run_id=run_id, endpoint_id=endpoint_id)
            .order_by("id")
            .first()
        )
        if cell is not None:
            if cell.run.status != RUNNING:
                return None
            claim = _take(cell, endpoint, now)
            return 0.0 if claim is None else claim
    if not GenerationRun.objects.filter(pk=run_id, status=RUNNING).exists():
        return None
    # Nothing claimable now: wait for the earliest retry or lease expiry, or stop.
    soonest = Transcript.objects.filter(
        run_id=run_id, endpoint_id=endpoint_id, state__in=(State.RETRYABLE, State.CLAIMED)
    ).aggregate(retry=Min("not_before"), lease=Min("lease_expires_at"))
    if not Transcript.objects.filter(
        run_id=run_id, endpoint_id=endpoint_id, state__in=Transcript.UNFINISHED
    ).exists():
        finish_run_if_done(run_id)  # this endpoint is done; maybe the whole run is
        return None
    times = [t for t in (soonest["retry"], soonest["lease"]) if t is not None]
    if not times:
        return _wait(0.2)  # a pending cell was skipped (locked by another claimer)
    return _wait((min(times) - now).total_seconds() + random.uniform(0, 0.2))


def slot_step(*, run_id: int, endpoint_id: int) -> float | None:
    """One round of a slot: claim, call, store. Seconds to wait next, or None when done."""
    claim = cell_claim_next(run_id=run_id, endpoint_id=endpoint_id)
    if not isinstance(claim, Claim):
        return claim
    cell_record(claim, cell_call(claim))
    return 0.0


def slot_drive(*, run_id: int, endpoint_id: int) -> None:
    """Run a slot in this process until its endpoint's cells are done (eager mode, demo)."""
    while (wait := slot_step(run_id=run_id, endpoint_id=endpoint_id)) is not None:
        if wait:
            time.sleep(wait)


def cell_process(*, transcript_id: int) -> float | None:
    """One claim-call-store step for a given cell; seconds until it needs a look, or None."""
    claim = cell_claim(transcript_id=transcript_id)
    if not isinstance(claim, Claim):
        return claim
    delay = cell_record(claim, cell_call(claim))
    if delay is None:
        finish_run_if_done(claim.run_id)
    return delay
