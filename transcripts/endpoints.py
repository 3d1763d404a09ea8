"""Endpoint writes after creation: limits and prices, and "Test connection".

Creating an endpoint is in services.py. The connection test runs on a worker, because
the worker's environment holds the API keys and its network is the one generation uses;
the page asks for it and shows the result when it is stored.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from coding.services import ServiceError

from .cells import call_model
from .models import ModelEndpoint
from .providers import Completion, GenerationConfig
from .tasks import endpoint_check

CHECK_MAX_TOKENS = 5
CHECK_TIMEOUT_SECONDS = 20.0
# A check nobody picked up within this long is reported as "no worker answered".
CHECK_STALE_AFTER = timedelta(seconds=30)
MAX_REQUESTS_PER_MINUTE = 1_000_000
MAX_TOKENS_PER_MINUTE = 1_000_000_000


def _limit(value: int | None, maximum: int, what: str) -> int | None:
    if value in (None, ""):
        return None
    value = int(value)
    if not 1 <= value <= maximum:
        raise ServiceError(f"{what} must be between 1 and {maximum:,} (or empty for no limit).")
    return value


def endpoint_update(
    *,
    endpoint: ModelEndpoint,
    by,
    max_concurrency: int,
    timeout_seconds: float,
    requests_per_minute: int | None = None,
    tokens_per_minute: int | None = None,
    price_input_per_mtok: Decimal | None = None,
    price_output_per_mtok: Decimal | None = None,
) -> ModelEndpoint:
    """Change an endpoint's operating limits and prices (its identity stays: runs use it)."""
    if endpoint.created_by_id != by.pk:
        raise ServiceError("You can only change your own endpoints.")
    if not 1 <= max_concurrency <= 256:
        raise ServiceError("Concurrency must be between 1 and 256.")
    if not 0.1 <= timeout_seconds <= 3600:
        raise ServiceError("The timeout must be between 0.1 and 3600 seconds.")
    for price in (price_input_per_mtok, price_output_per_mtok):
        if price is not None and not 0 <= price <= Decimal("100000"):
            raise ServiceError("Prices must be between 0 and 100000 USD per 1M tokens.")
    fields = {
        "max_concurrency": max_concurrency,
        "timeout_seconds": timeout_seconds,
        "requests_per_minute": _limit(
            requests_per_minute, MAX_REQUESTS_PER_MINUTE, "Requests per minute"
        ),
        "tokens_per_minute": _limit(tokens_per_minute, MAX_TOKENS_PER_MINUTE, "Tokens per minute"),
        "price_input_per_mtok": price_input_per_mtok,
        "price_output_per_mtok": price_output_per_mtok,
    }
    ModelEndpoint.objects.filter(pk=endpoint.pk).update(**fields)
    endpoint.refresh_from_db()
    return endpoint


def endpoint_check_request(*, endpoint: ModelEndpoint, by) -> ModelEndpoint:
    """Ask a worker to test the endpoint; the result replaces the previous one."""
    if endpoint.created_by_id != by.pk:
        raise ServiceError("You can only test your own endpoints.")
    now = timezone.now()
    with transaction.atomic():
        ModelEndpoint.objects.filter(pk=endpoint.pk).update(
            check_requested_at=now, checked_at=None, check_ok=None, check_message=""
        )
        endpoint_id = endpoint.pk
        transaction.on_commit(lambda: endpoint_check.delay(endpoint_id))
    endpoint.refresh_from_db()
    return endpoint


def endpoint_check_perform(*, endpoint_id: int) -> None:
    """Send one tiny request and store the outcome in plain words (runs on a worker)."""
    endpoint = ModelEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        return
    requested = endpoint.check_requested_at
    result = call_model(
        provider=endpoint.provider,
        base_url=endpoint.base_url,
        model=endpoint.model,
        api_key_env=endpoint.api_key_env,
        messages=[{"role": "user", "content": "Reply with the word OK."}],
        config=GenerationConfig(
            max_tokens=CHECK_MAX_TOKENS,
            timeout=min(float(endpoint.timeout_seconds), CHECK_TIMEOUT_SECONDS),
        ),
        label=f"endpoint {endpoint_id} check",
    )
    if isinstance(result, Completion):
        ok = True
        text = (
            f"Connected: {endpoint.model} answered in {result.latency_ms} ms "
            f"(served as {result.served_model or 'unknown'})."
        )
    else:
        ok = False
        status = (
            f"HTTP {result.status}: "
            if result.status and str(result.status) not in (result.message)
            else ""
        )
        text = f"{status}{result.message}"
    # Only the check that was asked for last writes (a newer request supersedes this one).
    ModelEndpoint.objects.filter(pk=endpoint_id, check_requested_at=requested).update(
        checked_at=timezone.now(), check_ok=ok, check_message=text[:1000]
    )


def check_state(endpoint: ModelEndpoint) -> str:
    """none | waiting | stale (no worker answered) | ok | failed: what the page shows."""
    if endpoint.check_ok is True:
        return "ok"
    if endpoint.check_ok is False:
        return "failed"
    if endpoint.check_requested_at is None:
        return "none"
    if timezone.now() - endpoint.check_requested_at > CHECK_STALE_AFTER:
        return "stale"
    return "waiting"
