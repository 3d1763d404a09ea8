"""One clear message instead of N identical failures when an endpoint, not a cell, is wrong.

Some errors say nothing about the cell and everything about the endpoint: nothing listens
at the address (connection refused, unknown host), the key is rejected (401/403) or not
set where the worker runs, the base URL is refused, or the model does not exist there
(404). While no cell of the endpoint has succeeded in this
run, such an error means every remaining cell would fail the same way after its own
retries. So the endpoint's remaining cells fail at once with one message saying what to
fix; the run page groups them under it. Connection errors need ``CONNECT_ATTEMPTS`` of
them first (a blip is not an outage); a rejected key or unknown model needs one.

"Retry failed" gives the cells a fresh start; if the endpoint is still down, the first
errors trip this again within seconds.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, Sum

from .models import ModelEndpoint, Transcript
from .providers import ProviderError

State = Transcript.State
CONNECT_ATTEMPTS = 3
CONNECTION_PREFIX = "Connection error"
UNREACHABLE = "unreachable"
MARKER = "Not attempted further"  # in every message this module writes
# Errors cells.call_model makes itself, before any request is sent.
MISSING_KEY = "Environment variable "
REFUSED_URL = "Base URL refused"


def endpoint_error(result: ProviderError) -> str | None:
    """The kind of endpoint-level failure ``result`` is, or None for a cell-level one."""
    if result.status in (401, 403):
        return "rejected key"
    if result.status == 404:
        return "unknown model"
    if result.status is None:
        if result.message.startswith(CONNECTION_PREFIX):
            return UNREACHABLE
        if not result.retryable and result.message.startswith(MISSING_KEY):
            return "missing key"
        if not result.retryable and result.message.startswith(REFUSED_URL):
            return "refused URL"
    return None


def _tripped(*, run_id: int, endpoint_id: int, kind: str, attempt: int) -> bool:
    cells = Transcript.objects.filter(run_id=run_id, endpoint_id=endpoint_id)
    if cells.filter(state=State.SUCCEEDED).exists():
        return False  # it worked before: this is about the cell (or a blip), not the endpoint
    if kind != UNREACHABLE:
        return True
    # Connection errors of other cells so far, plus this cell's attempts (this one too).
    others = cells.filter(
        Q(last_error__startswith=CONNECTION_PREFIX) | Q(last_error__contains=MARKER),
        state__in=(State.RETRYABLE, State.FAILED),
    ).aggregate(n=Sum("attempts"))["n"]
    return (others or 0) + attempt >= CONNECT_ATTEMPTS


def message(*, endpoint: ModelEndpoint, kind: str, error: str) -> str:
    if kind == UNREACHABLE:
        what = f"{endpoint.name} is unreachable"
        fix = "Check that the server is running and the base URL is right"
    elif kind in ("rejected key", "missing key"):
        what = f"{endpoint.name} has no usable API key"
        fix = f"Check the variable {endpoint.api_key_env or '(none set)'} where the worker runs"
    elif kind == "refused URL":
        what = f"{endpoint.name} cannot be called"
        fix = "Fix the base URL"
    else:
        what = f"{endpoint.name} does not serve model {endpoint.model!r}"
        fix = "Check the model name"
    if not error.endswith((".", "!", "?")):
        error += "."
    return (
        f"{what}: {error} {MARKER}: no cell of this endpoint has succeeded in this run, "
        f"so its other cells would fail the same way. {fix} (Test connection on the "
        "endpoint page), then use Retry failed."
    )


def check(
    *, run_id: int, endpoint_id: int, attempt: int, result: ProviderError, now: datetime
) -> str | None:
    """If ``result`` (attempt ``attempt`` of a cell) shows the endpoint is down for this
    run, fail the endpoint's waiting cells with one message and return it (the caller
    fails its own cell with it too)."""
    kind = endpoint_error(result)
    tripped = kind is not None and _tripped(
        run_id=run_id, endpoint_id=endpoint_id, kind=kind, attempt=attempt
    )
    if not tripped:
        return None
    endpoint = ModelEndpoint.objects.get(pk=endpoint_id)
    text = message(endpoint=endpoint, kind=kind, error=result.message.strip()[:400])
    cells = Transcript.objects.filter(run_id=run_id, endpoint_id=endpoint_id)
    # Cells in flight come back with the same error and take this path themselves.
    cells.filter(state__in=(State.PENDING, State.RETRYABLE)).update(
        state=State.FAILED, last_error=text, not_before=None, finished_at=now
    )
    # Cells that already failed the same way join the group (their attempt logs keep
    # each error as it was).
    same = (
        Q(last_error__startswith=CONNECTION_PREFIX)
        if kind == UNREACHABLE
        else Q(last_error=result.message[:1000])
    )
    cells.filter(same, state=State.FAILED).update(last_error=text)
    return text
