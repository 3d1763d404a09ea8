"""Claiming, calling and storing one grid cell (a Transcript row).

The life of a cell: ``pending -> claimed(lease) -> succeeded | retryable(not_before) |
failed``. A claim is a compare-and-set inside a short transaction that also holds the
endpoint row lock, so the per-endpoint concurrency limit (claimed cells with a live lease)
is exact across workers. The model is called with no transaction open. The result is
written only if the claim token still matches, so a late duplicate (a worker that lost its
lease) can neither overwrite nor duplicate a result. A crashed worker's cells are reclaimed
once their lease expires; each reclaim counts as an attempt.

``cell_process`` does one step and returns how long to wait before looking at the cell
again (or None: nothing more to do); the Celery task re-enqueues itself with that
countdown, and the inline driver (eager mode, the demo) sleeps.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import GenerationRun, ModelEndpoint, Transcript
from .providers import (
    Completion,
    FinalError,
    GenerationConfig,
    ProviderError,
    RetryableError,
    build_provider,
)
from .providers.base import scrub
from .providers.retry import RetryPolicy
from .ssrf import validate_base_url

logger = logging.getLogger(__name__)
State = Transcript.State
SECRET_NAME = re.compile(r"key|token|secret|passw|authori|credential|cookie", re.IGNORECASE)
# Parameter names that contain "token" but are limits, not credentials.
NOT_SECRET = re.compile(r"^(max|min)_\w*tokens?$|^\w*tokens?_limit$|^top_k$", re.IGNORECASE)


def is_secret_name(name: object) -> bool:
    return bool(SECRET_NAME.search(str(name))) and not NOT_SECRET.match(str(name))


REDACTED = "[redacted]"


def redact(value: Any) -> Any:
    """A copy with values under secret-looking names replaced (headers, params, config)."""
    if isinstance(value, dict):
        return {k: (REDACTED if is_secret_name(k) else redact(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def cell_messages(*, system_prompt: str, prompt_text: str) -> list[dict[str, str]]:
    """What a cell sends: the scaffold's system prompt (if any) and the user prompt."""
    messages = [{"role": "system", "content": system_prompt}] if system_prompt.strip() else []
    return [*messages, {"role": "user", "content": prompt_text}]


def cell_config(*, run: GenerationRun, endpoint: ModelEndpoint, replicate: int) -> GenerationConfig:
    """Endpoint defaults overlaid by the run's config; replicate r samples with seed + r - 1."""
    merged = {**(endpoint.default_params or {})}
    merged.update({k: v for k, v in (run.config or {}).items() if v not in (None, "", [])})
    extra = {**(endpoint.default_params or {}).get("extra", {}), **merged.get("extra", {})}
    seed = merged.get("seed")
    return GenerationConfig(
        temperature=merged.get("temperature"),
        top_p=merged.get("top_p"),
        max_tokens=merged.get("max_tokens"),
        seed=None if seed is None else int(seed) + replicate - 1,
        stop=tuple(merged.get("stop") or ()),
        extra=extra,
        timeout=float(endpoint.timeout_seconds),
    )


@dataclass
class Claim:
    """Everything needed to call the model once, read while the claim was made."""

    transcript_id: int
    run_id: int
    token: uuid.UUID
    attempt: int
    run_seed: int
    policy: RetryPolicy
    first_attempt_at: datetime
    provider: str
    base_url: str
    model: str
    api_key_env: str
    messages: list[dict[str, str]]
    config: GenerationConfig
    attempt_log: list[dict[str, Any]]
    identity: dict[str, Any] = field(default_factory=dict)  # scaffold/prompt hashes


def _wait(seconds: float) -> float:
    return max(0.05, seconds)


def _fail_expired(cell: Transcript, now: datetime, reason: str) -> None:
    log = [*cell.attempt_log, {"attempt": cell.attempts, "outcome": "lost", "error": reason}]
    Transcript.objects.filter(pk=cell.pk, state=cell.state, attempts=cell.attempts).update(
        state=State.FAILED,
        last_error=reason,
        attempt_log=log,
        lease_expires_at=None,
        claim_token=None,
        finished_at=now,
    )


def cell_claim(*, transcript_id: int) -> Claim | float | None:
    """Claim a cell: a ``Claim``, seconds to wait before trying again, or None (done)."""
    now = timezone.now()
    with transaction.atomic():
        cell = (
            Transcript.objects.select_related("run", "endpoint", "scaffold", "prompt")
            .filter(pk=transcript_id)
            .first()
        )
        if cell is None or cell.run.status != GenerationRun.Status.RUNNING:
            return None
        if cell.state in (State.SUCCEEDED, State.FAILED):
            return None
        if cell.state == State.CLAIMED and cell.lease_expires_at > now:
            return _wait((cell.lease_expires_at - now).total_seconds() + random.uniform(0, 0.5))
        if cell.state == State.RETRYABLE and cell.not_before and cell.not_before > now:
            return _wait((cell.not_before - now).total_seconds())
        policy = RetryPolicy.from_dict(cell.run.policy)
        log = list(cell.attempt_log)
        if cell.state == State.CLAIMED:  # the lease expired: the worker that held it is gone
            lost = f"Attempt {cell.attempts} lost: lease expired (worker stopped or too slow)."
            if cell.attempts >= policy.max_attempts:
                _fail_expired(cell, now, lost + f" Gave up after {cell.attempts} attempts.")
                _finish_run_if_done(cell.run_id)
                return None
            log.append({"attempt": cell.attempts, "outcome": "lost", "error": lost})
        first = cell.first_attempt_at or now
        if (now - first).total_seconds() > policy.max_total_seconds:
            _fail_expired(cell, now, f"Gave up: over the {policy.max_total_seconds:g} s budget.")
            _finish_run_if_done(cell.run_id)
            return None
        # Serialise claims per endpoint so the concurrency count cannot be overshot.
        ModelEndpoint.objects.select_for_update().filter(pk=cell.endpoint_id).first()
        active = Transcript.objects.filter(
            endpoint_id=cell.endpoint_id, state=State.CLAIMED, lease_expires_at__gt=now
        ).count()
        if active >= cell.endpoint.max_concurrency:
            return _wait(random.uniform(0.1, 0.4))
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
        provider=cell.endpoint.provider,
        base_url=cell.endpoint.base_url,
        model=cell.endpoint.model,
        api_key_env=cell.endpoint.api_key_env,
        messages=cell_messages(
            system_prompt=cell.scaffold.system_prompt, prompt_text=cell.prompt.text
        ),
        config=cell_config(run=cell.run, endpoint=cell.endpoint, replicate=cell.replicate),
        attempt_log=log,
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


def cell_call(claim: Claim) -> Completion | ProviderError:
    """Call the model once. Runs with no database transaction open; never raises."""
    api_key = None
    try:
        validate_base_url(claim.base_url)  # again: DNS may have changed since the save
        if claim.api_key_env:
            api_key = os.environ.get(claim.api_key_env)
            if not api_key:
                return FinalError(
                    f"Environment variable {claim.api_key_env} is not set where the worker "
                    "runs, so there is no API key to send."
                )
        provider = build_provider(
            provider=claim.provider, base_url=claim.base_url, model=claim.model, api_key=api_key
        )
        return provider.complete(claim.messages, claim.config)
    except ValidationError as exc:
        return FinalError(f"Base URL refused: {' '.join(exc.messages)}")
    except ProviderError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - an SDK surprise must not kill the worker
        logger.exception("cell %s: unexpected error calling the model", claim.transcript_id)
        return RetryableError(scrub(f"Unexpected {type(exc).__name__}: {exc}", api_key)[:500])


def _attempt_entry(claim: Claim, outcome: str, result: Any, now: datetime) -> dict[str, Any]:
    entry: dict[str, Any] = {"attempt": claim.attempt, "outcome": outcome, "at": now.isoformat()}
    if isinstance(result, Completion):
        entry.update(request_id=result.request_id, latency_ms=result.latency_ms)
    else:
        entry.update(
            request_id=result.request_id,
            latency_ms=result.latency_ms,
            status=result.status,
            error=result.message[:500],
        )
    return entry


def _provenance(claim: Claim, completion: Completion, log: list[dict], now: datetime) -> dict:
    request_ids = [e["request_id"] for e in log if e.get("request_id")]
    return {
        "request": {
            "provider": claim.provider,
            "base_url": claim.base_url,
            "model": claim.model,
            "api_key_env": claim.api_key_env,  # the variable's name, never its value
            "params": redact(claim.config.as_dict()),
            "messages_sha256": hashlib.sha256(
                json.dumps(claim.messages, sort_keys=True).encode()
            ).hexdigest(),
            "sent_in_extra_body": list(completion.extra_body),
            "not_supported_by_api": list(completion.ignored_params),
        },
        "served_model": completion.served_model,
        "response_id": completion.response_id,
        "request_ids": request_ids,
        "finish_reason": completion.finish_reason,
        "usage": completion.usage,
        "latency_ms": completion.latency_ms,
        "sdk": completion.sdk,
        "attempts": claim.attempt,
        "first_attempt_at": claim.first_attempt_at.isoformat(),
        "finished_at": now.isoformat(),
        **claim.identity,
    }


def cell_record(claim: Claim, result: Completion | ProviderError) -> float | None:
    """Store the outcome if the claim still holds; the delay before a retry, or None."""
    now = timezone.now()
    current = Transcript.objects.filter(
        pk=claim.transcript_id, claim_token=claim.token, state=State.CLAIMED
    )
    if isinstance(result, Completion):
        log = [*claim.attempt_log, _attempt_entry(claim, "ok", result, now)]
        stored = current.update(
            state=State.SUCCEEDED,
            messages=[*claim.messages, {"role": "assistant", "content": result.text}],
            response_text=result.text,
            provenance=_provenance(claim, result, log, now),
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            latency_ms=result.latency_ms,
            attempt_log=log,
            last_error="",
            lease_expires_at=None,
            claim_token=None,
            not_before=None,
            finished_at=now,
        )
        delay = None
    else:
        elapsed = (now - claim.first_attempt_at).total_seconds()
        delay = None
        if result.retryable:
            delay = claim.policy.decide(
                attempt=claim.attempt,
                elapsed=elapsed,
                retry_after=result.retry_after,
                jitter_key=f"{claim.run_seed}:{claim.transcript_id}:{claim.attempt}",
            )
        outcome = "retry" if delay is not None else "failed"
        log = [*claim.attempt_log, _attempt_entry(claim, outcome, result, now)]
        message = result.message[:1000]
        if delay is None and result.retryable:
            message += f" (gave up after {claim.attempt} attempt(s))"
        stored = current.update(
            state=State.RETRYABLE if delay is not None else State.FAILED,
            not_before=now + timedelta(seconds=delay) if delay is not None else None,
            last_error=message,
            attempt_log=log,
            lease_expires_at=None,
            claim_token=None,
            finished_at=None if delay is not None else now,
        )
        logger.info(
            "cell %s attempt %s: %s (%s)", claim.transcript_id, claim.attempt, outcome, message
        )
    if not stored:
        # Our lease expired and someone else reclaimed the cell: their result counts.
        logger.warning(
            "cell %s attempt %s: late result discarded", claim.transcript_id, claim.attempt
        )
        return None
    if delay is None:
        _finish_run_if_done(claim.run_id)
    return delay


def _finish_run_if_done(run_id: int) -> None:
    if not Transcript.objects.filter(run_id=run_id, state__in=Transcript.UNFINISHED).exists():
        GenerationRun.objects.filter(pk=run_id, status=GenerationRun.Status.RUNNING).update(
            status=GenerationRun.Status.FINISHED, finished_at=timezone.now()
        )


def cell_process(*, transcript_id: int) -> float | None:
    """One step for a cell; seconds until it should be looked at again, or None."""
    claim = cell_claim(transcript_id=transcript_id)
    if not isinstance(claim, Claim):
        return claim
    return cell_record(claim, cell_call(claim))


def cell_drive(*, transcript_id: int) -> None:
    """Run a cell to a final state in this process (eager mode and the demo)."""
    while (delay := cell_process(transcript_id=transcript_id)) is not None:
        time.sleep(delay)
