"""Provider limits shared by every worker: requests and tokens per minute, and Retry-After.

Each endpoint may set ``requests_per_minute`` and ``tokens_per_minute``. Both are token
buckets (capacity: the per-minute limit; refilled continuously at limit/60 per second)
whose levels live in the endpoint's ``EndpointLimiter`` row, so every worker process on
every machine draws from the same budget. ``acquire`` runs inside the claim transaction,
which holds the endpoint's row lock: two claimers never spend the same budget.

Tokens are counted the way providers count them against a limit: a call reserves its
estimated input plus its maximum output (``max_tokens``) when it is claimed, and
``settle`` gives back (or takes) the difference to the usage the API reported.

A 429 with Retry-After pauses the whole endpoint for that long (``honour_retry_after``):
the provider is saying the endpoint is over its limit, not that one request is, so the
other cells wait too instead of each collecting its own 429.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F
from django.db.models.functions import Greatest, Least

from .models import EndpointLimiter, ModelEndpoint

# Reserved for the reply when a run sets no max_tokens (the Anthropic adapter's default).
DEFAULT_OUTPUT_TOKENS = 1024
# A Retry-After longer than this is treated as this (a misbehaving server must not stall
# an endpoint for a day); the cell's own retry budget still applies.
MAX_PAUSE_SECONDS = 600.0
CHARS_PER_TOKEN = 4  # OpenAI's rule of thumb for English text
MESSAGE_OVERHEAD_TOKENS = 4  # role and separators per chat message


def text_tokens(text: str) -> int:
    """Estimated tokens of a text (no tokenizer: models differ, and this only budgets)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def message_tokens(messages: list[dict[str, str]]) -> int:
    return sum(text_tokens(m.get("content", "")) + MESSAGE_OVERHEAD_TOKENS for m in messages)


def call_tokens(messages: list[dict[str, str]], max_tokens: int | None) -> int:
    """What one call reserves from a tokens-per-minute budget: input plus maximum output."""
    return message_tokens(messages) + (max_tokens or DEFAULT_OUTPUT_TOKENS)


def refill(level: float, per_minute: int, elapsed: float) -> float:
    """A bucket's level after ``elapsed`` seconds, never above a minute's worth."""
    return min(float(per_minute), level + per_minute * max(0.0, elapsed) / 60.0)


def seconds_until(level: float, cost: float, per_minute: int) -> float:
    """How long until the bucket holds ``cost`` (0 if it already does)."""
    if level >= cost:
        return 0.0
    return (cost - level) * 60.0 / per_minute


def acquire(*, endpoint: ModelEndpoint, now: datetime, tokens: int) -> float:
    """Take one request and ``tokens`` from the endpoint's budget: 0.0 when granted, else
    the seconds to wait. Call with the endpoint row locked (the claim transaction)."""
    rpm, tpm = endpoint.requests_per_minute, endpoint.tokens_per_minute
    # Read afresh, never from a join made with the lock: under READ COMMITTED a claimer that
    # waited for the endpoint's lock would otherwise see the bucket as it was before the
    # previous holder spent from it, and spend the same budget again.
    state = EndpointLimiter.objects.filter(pk=endpoint.pk).first()
    if state is not None and state.paused_until and state.paused_until > now:
        return (state.paused_until - now).total_seconds()
    if not rpm and not tpm:
        return 0.0
    if state is None:  # get_or_create: a 429 elsewhere may have just made the row
        state, _ = EndpointLimiter.objects.get_or_create(
            endpoint=endpoint,
            defaults={"requests": rpm or 0, "tokens": tpm or 0, "refilled_at": now},
        )
    elapsed = (now - state.refilled_at).total_seconds() if state.refilled_at else 3600.0
    requests = refill(state.requests, rpm, elapsed) if rpm else 0.0
    budget = refill(state.tokens, tpm, elapsed) if tpm else 0.0
    # A call bigger than the whole bucket still goes once the bucket is full.
    cost = min(tokens, tpm) if tpm else 0
    waits = []
    if rpm:
        waits.append((seconds_until(requests, 1.0, rpm), "requests"))
    if tpm:
        waits.append((seconds_until(budget, cost, tpm), "tokens"))
    wait, by = max(waits)
    row = EndpointLimiter.objects.filter(pk=endpoint.pk)
    if wait > 0:
        row.update(
            requests=requests,
            tokens=budget,
            refilled_at=now,
            throttled_until=now + timedelta(seconds=wait),
            throttled_by=by,
        )
        return wait
    row.update(
        requests=requests - 1 if rpm else 0.0,
        tokens=budget - cost,
        refilled_at=now,
        throttled_until=None,
        throttled_by="",
    )
    return 0.0


def settle(*, endpoint_id: int, tokens_per_minute: int | None, reserved: int, used: int) -> None:
    """After a call: return unused reserved tokens (or take the overrun) from the bucket."""
    if not tokens_per_minute or reserved == used:
        return
    # One statement: no lock needed, and the level stays within [-limit, limit].
    level = Least(F("tokens") + (reserved - used), float(tokens_per_minute))
    EndpointLimiter.objects.filter(pk=endpoint_id).update(
        tokens=Greatest(level, -float(tokens_per_minute))
    )


def honour_retry_after(*, endpoint_id: int, now: datetime, retry_after: float | None) -> None:
    """A 429: count it and, if the provider said how long, pause the whole endpoint."""
    EndpointLimiter.objects.get_or_create(endpoint_id=endpoint_id)
    row = EndpointLimiter.objects.filter(pk=endpoint_id)
    row.update(rate_limited=F("rate_limited") + 1)
    if retry_after is None:
        return
    seconds = min(max(0.0, retry_after), MAX_PAUSE_SECONDS)
    until = now + timedelta(seconds=seconds)
    row.update(last_retry_after=seconds)
    # Only ever extend a pause (another worker may have set a longer one).
    row.filter(paused_until__isnull=True).update(paused_until=until)
    row.filter(paused_until__lt=until).update(paused_until=until)


@dataclass(frozen=True)
class LimitStatus:
    """One endpoint's limits as the run page shows them."""

    requests_per_minute: int | None
    tokens_per_minute: int | None
    requests_left: int | None
    tokens_left: int | None
    paused_for: float | None  # seconds of Retry-After pause left
    throttled_for: float | None  # seconds until our own bucket allows the next call
    throttled_by: str
    rate_limited: int  # 429 answers from this endpoint (all runs)
    last_retry_after: float | None

    @property
    def limited(self) -> bool:
        return bool(self.requests_per_minute or self.tokens_per_minute)


def limit_status(endpoint: ModelEndpoint, state: EndpointLimiter | None, now: datetime):
    """The endpoint's limits and how much of them is left now (read only)."""
    rpm, tpm = endpoint.requests_per_minute, endpoint.tokens_per_minute
    elapsed = (now - state.refilled_at).total_seconds() if state and state.refilled_at else 3600.0
    requests = tokens = None
    if rpm:
        requests = int(refill(state.requests if state else rpm, rpm, elapsed))
    if tpm:
        tokens = int(refill(state.tokens if state else tpm, tpm, elapsed))

    def left(until: datetime | None) -> float | None:
        if until is None or until <= now:
            return None
        return (until - now).total_seconds()

    return LimitStatus(
        requests_per_minute=rpm,
        tokens_per_minute=tpm,
        requests_left=max(0, requests) if requests is not None else None,
        tokens_left=max(0, tokens) if tokens is not None else None,
        paused_for=left(state.paused_until) if state else None,
        throttled_for=left(state.throttled_until) if state else None,
        throttled_by=state.throttled_by if state else "",
        rate_limited=state.rate_limited if state else 0,
        last_retry_after=state.last_retry_after if state else None,
    )
