"""Claiming, calling and storing the cells of a judge run (one cell = one item).

The same machinery as generation cells (``claims.py``, ``cells.py``): a claim is a
compare-and-set under the endpoint's row lock, counting the endpoint's concurrency across
generation and judge cells alike and spending from its shared rate limits
(``limits.acquire``); the model is called with no transaction open through
``cells.call_model`` (the provider adapters); the outcome is stored only while the claim
token still holds. Provider failures retry under the run's ``RetryPolicy``.

What is new is the reply check (``judge_prompt.parse_reply``): malformed output is retried
up to ``format_attempts`` times, each retry telling the model what was wrong, and then
the cell fails with the reason; out-of-range values are rejected per dimension.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone

from coding.models import Dimension

from . import breaker, limits
from .cells import call_model, redact
from .claims import INLINE_WAIT, claimable, endpoint_active_cells
from .judge_prompt import RubricDimension, RubricLevel, parse_reply, repair_messages
from .models import ModelEndpoint
from .models_judge import JudgeCell, JudgeRun, JudgeScore
from .providers import Completion, GenerationConfig, ProviderError
from .providers.retry import RetryPolicy

State = JudgeCell.State
RUNNING = JudgeRun.Status.RUNNING
DEFAULT_FORMAT_ATTEMPTS = 3


def rubric_dimensions(rubric_id: int) -> list[RubricDimension]:
    """The rubric as the judge sees it: definitions and every level's anchor."""
    dims = Dimension.objects.filter(rubric_id=rubric_id).prefetch_related("levels")
    return [
        RubricDimension(
            d.code,
            d.name,
            d.definition,
            tuple(RubricLevel(lv.value, lv.label, lv.anchor) for lv in d.levels.all()),
        )
        for d in dims.order_by("order", "code")
    ]


def judge_config(run: JudgeRun, endpoint: ModelEndpoint) -> GenerationConfig:
    merged = {**(endpoint.default_params or {}), **(run.config or {})}
    return GenerationConfig(
        temperature=merged.get("temperature"),
        max_tokens=merged.get("max_tokens"),
        seed=merged.get("seed"),
        extra=dict((endpoint.default_params or {}).get("extra", {})),
        timeout=float(endpoint.timeout_seconds),
    )


@dataclass
class JudgeClaim:
    cell_id: int
    run_id: int
    token: uuid.UUID
    attempt: int
    run_seed: int
    policy: RetryPolicy
    format_attempts: int
    first_attempt_at: datetime
    endpoint_id: int
    provider: str
    base_url: str
    model: str
    api_key_env: str
    messages: list[dict[str, str]]
    config: GenerationConfig
    attempt_log: list[dict[str, Any]]
    rubric_id: int
    reserved_tokens: int = 0
    tokens_per_minute: int | None = None
    malformed: int = 0  # malformed replies so far
    extra: dict[str, Any] = field(default_factory=dict)


def _fail(cell: JudgeCell, now: datetime, reason: str, log: list) -> None:
    JudgeCell.objects.filter(pk=cell.pk, state=cell.state, attempts=cell.attempts).update(
        state=State.FAILED,
        last_error=reason,
        attempt_log=log,
        lease_expires_at=None,
        claim_token=None,
        finished_at=now,
    )


def _take(cell: JudgeCell, endpoint: ModelEndpoint, now: datetime) -> JudgeClaim | float | None:
    run = cell.run
    policy = RetryPolicy.from_dict(run.policy)
    log = list(cell.attempt_log)
    if cell.state == State.CLAIMED:
        lost = f"Attempt {cell.attempts} lost: lease expired (worker stopped or too slow)."
        log.append({"attempt": cell.attempts, "outcome": "lost", "error": lost})
        if cell.attempts >= policy.max_attempts:
            _fail(cell, now, f"{lost} Gave up after {cell.attempts} attempts.", log)
            return None
    first = cell.first_attempt_at or now
    if (now - first).total_seconds() > policy.max_total_seconds:
        _fail(cell, now, f"Gave up: over the {policy.max_total_seconds:g} s time budget.", log)
        return None
    if endpoint_active_cells(endpoint.pk, now) >= endpoint.max_concurrency:
        return max(0.05, INLINE_WAIT + random.uniform(0.1, 1.0))
    from .judge_prompt import judge_messages

    messages = judge_messages(system=run.instructions, content=cell.item.content)
    bad = [e for e in log if e.get("outcome") == "malformed"]
    if bad and bad[-1].get("reply"):
        messages = repair_messages(messages, reply=bad[-1]["reply"], problem=bad[-1]["error"])
    config = judge_config(run, endpoint)
    reserved = limits.call_tokens(messages, config.max_tokens)
    wait = limits.acquire(endpoint=endpoint, now=now, tokens=reserved)
    if wait:
        return max(0.05, wait + random.uniform(0, 0.05))
    token = uuid.uuid4()
    claimed = JudgeCell.objects.filter(pk=cell.pk, state=cell.state, attempts=cell.attempts).update(
        state=State.CLAIMED,
        claim_token=token,
        lease_expires_at=now + timedelta(seconds=policy.lease_seconds),
        attempts=F("attempts") + 1,
        attempt_log=log,
        first_attempt_at=first,
    )
    if not claimed:
        return random.uniform(0.05, 0.2)
    return JudgeClaim(
        cell_id=cell.pk,
        run_id=run.pk,
        token=token,
        attempt=cell.attempts + 1,
        run_seed=run.seed,
        policy=policy,
        format_attempts=int(run.policy.get("format_attempts", DEFAULT_FORMAT_ATTEMPTS)),
        first_attempt_at=first,
        endpoint_id=endpoint.pk,
        provider=endpoint.provider,
        base_url=endpoint.base_url,
        model=endpoint.model,
        api_key_env=endpoint.api_key_env,
        messages=messages,
        config=config,
        attempt_log=log,
        rubric_id=run.rubric_id,
        reserved_tokens=reserved,
        tokens_per_minute=endpoint.tokens_per_minute,
        malformed=len(bad),
    )


def judge_claim_next(*, run_id: int) -> JudgeClaim | float | None:
    """Claim the run's next claimable cell: a claim, seconds to wait, or None (done)."""
    now = timezone.now()
    with transaction.atomic():
        run = JudgeRun.objects.filter(pk=run_id).only("endpoint_id", "status").first()
        if run is None or run.status != RUNNING:
            return None
        endpoint = (
            ModelEndpoint.objects.select_for_update(of=("self",)).filter(pk=run.endpoint_id).first()
        )
        cell = (
            JudgeCell.objects.select_related("run", "item")
            .select_for_update(skip_locked=True, of=("self",))
            .filter(claimable(now), run_id=run_id)
            .order_by("id")
            .first()
        )
        if cell is not None and endpoint is not None:
            claim = _take(cell, endpoint, now)
            return 0.0 if claim is None else claim
    unfinished = JudgeCell.objects.filter(run_id=run_id, state__in=JudgeCell.UNFINISHED)
    if not unfinished.exists():
        judge_finish_if_done(run_id)
        return None
    soonest = unfinished.aggregate(retry=Min("not_before"), lease=Min("lease_expires_at"))
    times = [t for t in soonest.values() if t is not None]
    if not times:
        return 0.2  # a pending cell was skipped (locked by another claimer)
    return max(0.05, (min(times) - now).total_seconds() + random.uniform(0, 0.2))


def judge_call(claim: JudgeClaim) -> Completion | ProviderError:
    return call_model(
        provider=claim.provider,
        base_url=claim.base_url,
        model=claim.model,
        api_key_env=claim.api_key_env,
        messages=claim.messages,
        config=claim.config,
        label=f"judge cell {claim.cell_id}",
    )


def _entry(claim: JudgeClaim, outcome: str, result: Any, now: datetime, **more) -> dict:
    entry = {
        "attempt": claim.attempt,
        "outcome": outcome,
        "at": now.isoformat(),
        "request_id": result.request_id,
        "latency_ms": result.latency_ms,
    }
    if isinstance(result, ProviderError):
        entry.update(status=result.status, error=result.message[:500])
    return {**entry, **more}


def _provenance(claim: JudgeClaim, completion: Completion, log: list, now: datetime) -> dict:
    from .judge_prompt import messages_sha256

    return {
        "provider": claim.provider,
        "model": claim.model,
        "served_model": completion.served_model,
        "params": redact(claim.config.as_dict()),
        "temperature": claim.config.temperature,
        "messages_sha256": messages_sha256(claim.messages),
        "response_id": completion.response_id,
        "request_ids": [e["request_id"] for e in log if e.get("request_id")],
        "finish_reason": completion.finish_reason,
        "usage": completion.usage,
        "latency_ms": completion.latency_ms,
        "sdk": completion.sdk,
        "attempts": claim.attempt,
        "finished_at": now.isoformat(),
    }


def _retry_or_fail(claim: JudgeClaim, now: datetime, retry_after: float | None) -> float | None:
    elapsed = (now - claim.first_attempt_at).total_seconds()
    return claim.policy.decide(
        attempt=claim.attempt,
        elapsed=elapsed,
        retry_after=retry_after,
        jitter_key=f"judge:{claim.run_seed}:{claim.cell_id}:{claim.attempt}",
    )


def _store_scores(cell_id: int, rubric_id: int, parsed) -> None:
    dims = dict(Dimension.objects.filter(rubric_id=rubric_id).values_list("code", "pk"))
    JudgeScore.objects.bulk_create(
        [
            JudgeScore(
                cell_id=cell_id,
                dimension_id=dims[code],
                value=score.value,
                rationale=score.rationale,
                rejected=score.rejected,
            )
            for code, score in parsed.scores.items()
        ],
        ignore_conflicts=True,
    )


def judge_record(claim: JudgeClaim, result: Completion | ProviderError) -> float | None:
    """Store the outcome if the claim still holds; the delay before a retry, or None."""
    now = timezone.now()
    current = JudgeCell.objects.filter(
        pk=claim.cell_id, claim_token=claim.token, state=State.CLAIMED
    )
    release = {"lease_expires_at": None, "claim_token": None}
    if isinstance(result, Completion):
        limits.settle(
            endpoint_id=claim.endpoint_id,
            tokens_per_minute=claim.tokens_per_minute,
            reserved=claim.reserved_tokens,
            used=result.input_tokens + result.output_tokens,
        )
        parsed = parse_reply(result.text, rubric_dimensions(claim.rubric_id))
        if parsed.malformed:
            tries = claim.malformed + 1
            delay = None
            if tries < claim.format_attempts:
                delay = _retry_or_fail(claim, now, None)
            entry = _entry(claim, "malformed", result, now, error=parsed.error)
            entry["reply"] = result.text[:4000]
            log = [*claim.attempt_log, entry]
            reason = parsed.error
            if delay is None:
                replies = "reply" if tries == 1 else "replies"
                reason = f"{parsed.error} Gave up after {tries} malformed {replies}."
            stored = current.update(
                state=State.RETRYABLE if delay is not None else State.FAILED,
                not_before=now + timedelta(seconds=delay) if delay is not None else None,
                last_error=reason,
                attempt_log=log,
                response_text=result.text[:20000],
                finished_at=None if delay is not None else now,
                **release,
            )
            return delay if stored else None
        log = [*claim.attempt_log, _entry(claim, "ok", result, now)]
        rejected = parsed.rejected
        with transaction.atomic():
            stored = current.update(
                state=State.SUCCEEDED,
                response_text=result.text[:20000],
                provenance=_provenance(claim, result, log, now) | {"notes": list(parsed.notes)},
                input_tokens=result.input_tokens,
                output_tokens=result.output_tokens,
                attempt_log=log,
                last_error="; ".join(f"{c}: {why}" for c, why in rejected.items()),
                not_before=None,
                finished_at=now,
                **release,
            )
            if stored:
                _store_scores(claim.cell_id, claim.rubric_id, parsed)
        if stored:
            from .judge_inclusion import judge_inclusion_sync_cell

            judge_inclusion_sync_cell(cell_id=claim.cell_id)
        return None
    delay = _retry_or_fail(claim, now, result.retry_after) if result.retryable else None
    if result.status == 429:
        limits.honour_retry_after(
            endpoint_id=claim.endpoint_id, now=now, retry_after=result.retry_after
        )
    message = result.message[:1000]
    kind = breaker.endpoint_error(result)
    down = (
        kind is not None
        and not JudgeCell.objects.filter(run_id=claim.run_id, state=State.SUCCEEDED).exists()
    )
    if down and kind != breaker.UNREACHABLE or (down and delay is None):
        # The endpoint, not this item, is wrong: one message, no more calls for this run.
        endpoint = ModelEndpoint.objects.get(pk=claim.endpoint_id)
        message = breaker.message(endpoint=endpoint, kind=kind, error=result.message.strip()[:400])
        delay = None
        JudgeCell.objects.filter(
            run_id=claim.run_id, state__in=(State.PENDING, State.RETRYABLE)
        ).update(state=State.FAILED, last_error=message, not_before=None, finished_at=now)
    elif delay is None and result.retryable:
        message += f" (gave up after {claim.attempt} attempt(s))"
    outcome = "retry" if delay is not None else "failed"
    log = [*claim.attempt_log, _entry(claim, outcome, result, now)]
    stored = current.update(
        state=State.RETRYABLE if delay is not None else State.FAILED,
        not_before=now + timedelta(seconds=delay) if delay is not None else None,
        last_error=message,
        attempt_log=log,
        finished_at=None if delay is not None else now,
        **release,
    )
    return delay if stored else None


def judge_finish_if_done(run_id: int) -> None:
    if not JudgeCell.objects.filter(run_id=run_id, state__in=JudgeCell.UNFINISHED).exists():
        JudgeRun.objects.filter(pk=run_id, status=RUNNING).update(
            status=JudgeRun.Status.FINISHED, finished_at=timezone.now()
        )


def judge_step(*, run_id: int) -> float | None:
    """One round of a judge slot: claim, call, store. Seconds to wait next, or None."""
    claim = judge_claim_next(run_id=run_id)
    if not isinstance(claim, JudgeClaim):
        return claim
    judge_record(claim, judge_call(claim))
    return 0.0


def judge_drive(*, run_id: int) -> None:
    """Run a judge slot in this process until the run is done (eager mode, the demo)."""
    import time

    while (wait := judge_step(run_id=run_id)) is not None:
        if wait:
            time.sleep(wait)
