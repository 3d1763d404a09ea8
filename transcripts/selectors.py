"""Reads for generation pages and the API: lists with counts, run progress, the library."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet, Sum
from django.utils import timezone

from .limits import LimitStatus, limit_status
from .models import (
    EndpointLimiter,
    GenerationRun,
    ModelEndpoint,
    Prompt,
    PromptSet,
    Scaffold,
    Transcript,
)

State = Transcript.State


def endpoint_list(*, user) -> QuerySet[ModelEndpoint]:
    return ModelEndpoint.objects.filter(created_by=user).annotate(run_count=Count("runs"))


def run_list(*, user) -> QuerySet[GenerationRun]:
    """The runs the user may reach, with cell counts (computed, never stored)."""
    from .permissions import visible_runs

    return (
        visible_runs(user)
        .select_related("prompt_set", "study")
        .annotate(
            total=Count("transcripts"),
            succeeded=Count("transcripts", filter=Q(transcripts__state=State.SUCCEEDED)),
            failed=Count("transcripts", filter=Q(transcripts__state=State.FAILED)),
        )
    )


def scaffold_list_current() -> list[Scaffold]:
    """The latest version of each scaffold code."""
    latest: dict[str, Scaffold] = {}
    for scaffold in Scaffold.objects.order_by("code", "-version"):
        latest.setdefault(scaffold.code, scaffold)
    return list(latest.values())


def prompt_set_list() -> QuerySet[PromptSet]:
    return PromptSet.objects.annotate(
        prompt_count=Count("prompts__code", distinct=True),
        under_count=Count("prompts__code", filter=Q(prompts__specification="under"), distinct=True),
    )


def prompt_list_current(prompt_set: PromptSet) -> list[Prompt]:
    """The latest version of each prompt code in a set, by code."""
    latest: dict[str, Prompt] = {}
    for prompt in Prompt.objects.filter(prompt_set=prompt_set).order_by("code", "-version"):
        latest.setdefault(prompt.code, prompt)
    return list(latest.values())


def run_outcome(*, status: str, total: int, succeeded: int, failed: int) -> str:
    """running | cancelled | failed (nothing succeeded) | partial (some failed) | succeeded."""
    if status != GenerationRun.Status.FINISHED:
        return status
    if total and not succeeded:
        return "failed"
    return "partial" if failed else "succeeded"


@dataclass
class EndpointProgress:
    name: str
    model: str
    total: int
    succeeded: int
    failed: int
    in_flight: int
    waiting: int
    limits: LimitStatus | None = None
    endpoint_id: int | None = None


@dataclass
class Progress:
    total: int
    counts: dict[str, int]
    succeeded: int
    failed: int
    unfinished: int
    percent: int
    input_tokens: int
    output_tokens: int
    cost: Decimal | None
    elapsed_seconds: float | None
    eta_seconds: float | None
    retried: int
    expired_leases: int
    endpoints: list[EndpointProgress] = field(default_factory=list)
    recent_failures: list[dict[str, Any]] = field(default_factory=list)
    outcome: str = ""
    # Failed cells grouped by (endpoint, error), and cells waiting to retry likewise: N
    # identical errors read as one line with a count.
    failure_groups: list[dict[str, Any]] = field(default_factory=list)
    retry_groups: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)  # newest first

    @property
    def stalled(self) -> bool:
        """Cells whose worker is gone: a resume (or the next task) will reclaim them."""
        return self.expired_leases > 0


def run_progress(*, run: GenerationRun) -> Progress:
    """Counts, tokens, cost, ETA and per-endpoint progress for the progress page and API."""
    now = timezone.now()
    cells = Transcript.objects.filter(run=run)
    counts = {s: 0 for s in State.values}
    counts.update(dict(cells.values_list("state").annotate(n=Count("id")).order_by()))
    total = sum(counts.values())
    succeeded, failed = counts[State.SUCCEEDED], counts[State.FAILED]
    agg = cells.aggregate(
        inp=Sum("input_tokens"),
        out=Sum("output_tokens"),
        first=Min("first_attempt_at"),
        last=Max("finished_at"),
        retried=Count("id", filter=Q(attempts__gt=1)),
        expired=Count("id", filter=Q(state=State.CLAIMED, lease_expires_at__lt=now)),
    )
    per_endpoint = list(
        cells.values("endpoint_id")
        .annotate(
            total=Count("id"),
            succeeded=Count("id", filter=Q(state=State.SUCCEEDED)),
            failed=Count("id", filter=Q(state=State.FAILED)),
            in_flight=Count("id", filter=Q(state=State.CLAIMED)),
            waiting=Count("id", filter=Q(state=State.RETRYABLE)),
            inp=Sum("input_tokens"),
            out=Sum("output_tokens"),
        )
        .order_by("endpoint_id")
    )
    endpoints = {e.pk: e for e in run.endpoints.all()}
    states = {s.pk: s for s in EndpointLimiter.objects.filter(pk__in=endpoints)}
    cost: Decimal | None = Decimal(0)
    rows = []
    for row in per_endpoint:
        endpoint = endpoints[row["endpoint_id"]]
        if endpoint.price_input_per_mtok is None or endpoint.price_output_per_mtok is None:
            cost = None
        elif cost is not None:
            cost += (
                Decimal(row["inp"] or 0) * endpoint.price_input_per_mtok
                + Decimal(row["out"] or 0) * endpoint.price_output_per_mtok
            ) / Decimal(1_000_000)
        rows.append(
            EndpointProgress(
                name=endpoint.name,
                model=endpoint.model,
                total=row["total"],
                succeeded=row["succeeded"],
                failed=row["failed"],
                in_flight=row["in_flight"],
                waiting=row["waiting"],
                limits=limit_status(endpoint, states.get(endpoint.pk), now),
                endpoint_id=endpoint.pk,
            )
        )
    done = succeeded + failed
    unfinished = total - done
    start = agg["first"]
    end = now if run.status == GenerationRun.Status.RUNNING else (run.finished_at or agg["last"])
    elapsed = (end - start).total_seconds() if start and end else None
    eta = None
    if run.status == GenerationRun.Status.RUNNING and done and elapsed and unfinished:
        eta = elapsed / done * unfinished
    failures = [
        {
            "endpoint": t.endpoint.name,
            "scaffold": t.scaffold.code,
            "prompt": t.prompt.code,
            "replicate": t.replicate,
            "error": t.last_error,
            "attempts": t.attempts,
        }
        for t in cells.filter(state=State.FAILED)
        .select_related("endpoint", "scaffold", "prompt")
        .order_by("-finished_at")[:5]
    ]
    return Progress(
        outcome=run_outcome(status=run.status, total=total, succeeded=succeeded, failed=failed),
        failure_groups=run_error_groups(run=run, state=State.FAILED),
        retry_groups=run_error_groups(run=run, state=State.RETRYABLE),
        history=_history(run),
        total=total,
        counts=counts,
        succeeded=succeeded,
        failed=failed,
        unfinished=unfinished,
        percent=int(100 * done / total) if total else 0,
        input_tokens=agg["inp"] or 0,
        output_tokens=agg["out"] or 0,
        cost=cost.quantize(Decimal("0.0001")) if cost is not None else None,
        elapsed_seconds=elapsed,
        eta_seconds=eta,
        retried=agg["retried"],
        expired_leases=agg["expired"],
        endpoints=rows,
        recent_failures=failures,
    )


def _history(run: GenerationRun) -> list[dict[str, Any]]:
    entries = []
    for entry in reversed(run.history or []):
        try:
            at = datetime.fromisoformat(entry.get("at", ""))
        except (TypeError, ValueError):
            at = None
        entries.append({**entry, "at": at})
    return entries


def run_error_groups(*, run: GenerationRun, state: str, limit: int = 8) -> list[dict]:
    """A run's cells in ``state`` grouped by endpoint and error, most frequent first."""
    rows = (
        Transcript.objects.filter(run=run, state=state)
        .exclude(last_error="")
        .values("endpoint__name", "last_error")
        .annotate(cells=Count("id"), attempts=Sum("attempts"))
        .order_by("-cells", "endpoint__name")[:limit]
    )
    return [
        {
            "endpoint": r["endpoint__name"],
            "error": r["last_error"],
            "cells": r["cells"],
            "attempts": r["attempts"] or 0,
        }
        for r in rows
    ]


def transcript_list(*, run: GenerationRun) -> QuerySet[Transcript]:
    return (
        Transcript.objects.filter(run=run)
        .select_related("endpoint", "scaffold", "prompt")
        .order_by("endpoint__name", "scaffold__code", "prompt__code", "replicate")
    )


def transcript_get(*, run: GenerationRun, transcript_id: int) -> Transcript | None:
    return transcript_list(run=run).filter(pk=transcript_id).first()
