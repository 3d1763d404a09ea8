"""Calling the model for a claimed cell and storing the outcome (claiming is in leases.py).

The model is called with no transaction open. The result is written only if the claim
token still matches, so a late duplicate (a worker that lost its lease and was replaced)
can neither overwrite nor duplicate a result. Keys are read from the environment at call
time and scrubbed from anything stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from . import breaker, limits
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
    endpoint_id: int | None = None
    reserved_tokens: int = 0  # taken from the tokens-per-minute budget at the claim
    tokens_per_minute: int | None = None


def call_model(
    *,
    provider: str,
    base_url: str,
    model: str,
    api_key_env: str,
    messages: list[dict[str, str]],
    config: GenerationConfig,
    label: str,
) -> Completion | ProviderError:
    """Call a model once with the key from this process's environment; never raises.

    Runs with no database transaction open. ``label`` names the call in logs.
    """
    api_key = None
    try:
        validate_base_url(base_url)  # again: DNS may have changed since the save
        if api_key_env:
            api_key = os.environ.get(api_key_env)
            if not api_key:
                return FinalError(
                    f"Environment variable {api_key_env} is not set where the worker "
                    "runs, so there is no API key to send."
                )
        adapter = build_provider(provider=provider, base_url=base_url, model=model, api_key=api_key)
        return adapter.complete(messages, config)
    except ValidationError as exc:
        return FinalError(f"Base URL refused: {' '.join(exc.messages)}")
    except ProviderError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - an SDK surprise must not kill the worker
        message = scrub(f"Unexpected {type(exc).__name__}: {exc}", api_key)[:500]
        # No traceback: exception text and frames could carry request headers.
        logger.error("%s: %s", label, message)
        return RetryableError(message)


def cell_call(claim: Claim) -> Completion | ProviderError:
    """Call the model once for a claimed cell. Never raises."""
    return call_model(
        provider=claim.provider,
        base_url=claim.base_url,
        model=claim.model,
        api_key_env=claim.api_key_env,
        messages=claim.messages,
        config=claim.config,
        label=f"cell {claim.transcript_id}",
    )


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
    """Store the outcome if the claim still holds; the delay before a retry, or None.

    Does not check whether the run is complete (one query per cell saved): the caller
    does, once it runs out of cells (``claims.cell_claim_next``, ``claims.cell_process``).
    """
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
        if claim.endpoint_id is not None:
            limits.settle(
                endpoint_id=claim.endpoint_id,
                tokens_per_minute=claim.tokens_per_minute,
                reserved=claim.reserved_tokens,
                used=result.input_tokens + result.output_tokens,
            )
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
        down = None
        if claim.endpoint_id is not None:
            if result.status == 429:
                limits.honour_retry_after(
                    endpoint_id=claim.endpoint_id, now=now, retry_after=result.retry_after
                )
            # The endpoint itself is down (or rejects us): one message, no more calls.
            down = breaker.check(
                run_id=claim.run_id,
                endpoint_id=claim.endpoint_id,
                attempt=claim.attempt,
                result=result,
                now=now,
            )
            if down is not None:
                delay = None
        outcome = "retry" if delay is not None else "failed"
        log = [*claim.attempt_log, _attempt_entry(claim, outcome, result, now)]
        message = result.message[:1000]
        if down is not None:
            message = down
        elif delay is None and result.retryable:
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
    return delay


def finish_run_if_done(run_id: int) -> None:
    """Mark the run finished once no cell is unfinished (compare-and-set, once)."""
    if not Transcript.objects.filter(run_id=run_id, state__in=Transcript.UNFINISHED).exists():
        GenerationRun.objects.filter(pk=run_id, status=GenerationRun.Status.RUNNING).update(
            status=GenerationRun.Status.FINISHED, finished_at=timezone.now()
        )
