"""Blinding check: request it (a lead, logged), run it (the Celery task), and, after
unblinding only, read redaction rates by condition (logged as a key view).

The check itself is not a read of condition data in the sense of the condition-data door
(``coding.services.door``), which keeps a blinded lead away from the key: it is a
computation over the key whose output names no condition, run by the system at a lead's
request, and that request is recorded as a ``blinding_check`` Event. What a blinded lead
sees: per hidden field, the classifier's accuracy, the chance rate, a permutation p-value
and the most predictive n-grams; per field, whether redaction rates differ (exact
p-value and a warning), never which condition has which rate or which condition an
n-gram points to. The condition labels appear only after unblinding,
through ``redaction_rates_read``, which records a key view.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from coding.models import Event, Study
from coding.services import ServiceError, condition_data_open, event_record

from .blinding_check import blinding_check, plan_fields
from .models import BlindingCheck
from .selectors_blinding import blinding_inputs, items_digest
from .stats.homogeneity import rate_test

log = logging.getLogger(__name__)
STALE_AFTER = timedelta(minutes=15)  # a running check older than this lost its worker
ALPHA = 0.05


def _permutations() -> int:
    return int(getattr(settings, "BLINDING_CHECK_PERMUTATIONS", 99))


def _active(study: Study) -> BlindingCheck | None:
    recent = timezone.now() - STALE_AFTER
    return (
        BlindingCheck.objects.filter(
            study=study,
            status__in=[BlindingCheck.Status.QUEUED, BlindingCheck.Status.RUNNING],
            requested_at__gte=recent,
        )
        .order_by("-requested_at")
        .first()
    )


def blinding_check_request(*, study: Study, by) -> BlindingCheck:
    """Queue a blinding check of the study (one at a time); the read is logged."""
    with transaction.atomic():
        Study.objects.select_for_update().filter(pk=study.pk).first()
        active = _active(study)
        if active is not None:
            return active
        check = BlindingCheck.objects.create(study=study, requested_by=by)
        event_record(
            verb=Event.Verb.BLINDING_CHECK,
            actor=by,
            study=study,
            target=f"check {check.pk}",
            payload={"check": check.pk, "reads": "condition key (aggregate only)"},
        )
        transaction.on_commit(lambda: _enqueue(check.pk))
    return check


def _enqueue(check_id: int) -> None:
    from .tasks import blinding_check_task

    try:
        blinding_check_task.delay(check_id)
    except Exception:  # noqa: BLE001 - the broker is down: say so on the page
        log.exception("could not queue blinding check %s", check_id)
        BlindingCheck.objects.filter(pk=check_id, status=BlindingCheck.Status.QUEUED).update(
            status=BlindingCheck.Status.FAILED,
            error="The task queue could not be reached; try again in a minute.",
            finished_at=timezone.now(),
        )


def _claim(check_id: int) -> bool:
    """QUEUED -> RUNNING (or take over a RUNNING check whose worker died)."""
    now = timezone.now()
    fresh = BlindingCheck.objects.filter(pk=check_id, status=BlindingCheck.Status.QUEUED)
    if fresh.update(status=BlindingCheck.Status.RUNNING, started_at=now, stage="Starting"):
        return True
    lost = BlindingCheck.objects.filter(
        pk=check_id, status=BlindingCheck.Status.RUNNING, started_at__lt=now - STALE_AFTER
    )
    return bool(lost.update(started_at=now, progress=0.0, stage="Restarting"))


def _rate_tests(inputs, planned_names: list[str]) -> list[dict]:
    """Per field: does the share of items with a redaction differ between conditions?"""
    rows = []
    for name in planned_names:
        values = ["" if v is None else v for v in inputs.fields[name]]
        sizes: Counter = Counter(values)
        hits: Counter = Counter(v for v, r in zip(values, inputs.redacted, strict=True) if r)
        labels = sorted(sizes)  # the order is discarded below: only the p-value is kept
        test = rate_test([hits[v] for v in labels], [sizes[v] for v in labels])
        rows.append(
            {
                "field": name,
                "groups": test.groups,
                "p_value": test.p_value,
                "method": test.method,
                "note": test.note,
                "warn": test.p_value is not None and test.p_value < ALPHA,
            }
        )
    return rows


def blinding_check_run(*, check_id: int) -> BlindingCheck | None:
    """Run a queued check (called by the Celery task); idempotent through the claim."""
    if not _claim(check_id):
        return None
    check = BlindingCheck.objects.select_related("study").get(pk=check_id)
    last = {"progress": -1.0}

    def progress(fraction: float, stage: str) -> None:
        # A write every ~4 %: enough for the page's polling, cheap for the database.
        if fraction - last["progress"] >= 0.04 or fraction >= 1.0:
            last["progress"] = fraction
            BlindingCheck.objects.filter(pk=check_id).update(
                progress=round(fraction, 3), stage=stage[:200]
            )

    try:
        digest = items_digest(study=check.study)
        inputs = blinding_inputs(study=check.study)
        progress(0.01, "Reading items")
        result = blinding_check(
            inputs.texts,
            inputs.fields,
            inputs.groups,
            permutations=_permutations(),
            seed=check.pk,
            progress=progress,
        )
        planned, _ = plan_fields(inputs.fields, inputs.groups)
        rate_fields = [r.field for r in planned if r.skipped in ("", "prompt", "limit")]
        results = result.as_dict()
        results.update(
            grouped_by_prompt=inputs.grouped_by_prompt,
            redacted_items=sum(inputs.redacted),
            rates=_rate_tests(inputs, rate_fields),
            alpha=ALPHA,
        )
    except Exception as exc:  # noqa: BLE001 - record the failure for the page
        log.exception("blinding check %s failed", check_id)
        BlindingCheck.objects.filter(pk=check_id).update(
            status=BlindingCheck.Status.FAILED,
            error=f"The check failed ({type(exc).__name__}).",
            finished_at=timezone.now(),
        )
        return BlindingCheck.objects.get(pk=check_id)
    BlindingCheck.objects.filter(pk=check_id).update(
        status=BlindingCheck.Status.DONE,
        progress=1.0,
        stage="Done",
        results=results,
        items_digest=digest,
        finished_at=timezone.now(),
    )
    return BlindingCheck.objects.get(pk=check_id)


def redaction_rates_read(*, study: Study, by) -> dict[str, list[dict]]:
    """Redaction rate per condition with its label (unblinded studies only), read through
    the condition-data door, which records the key view."""
    if study.status != Study.Status.UNBLINDED:
        raise ServiceError("Rates by condition are sealed until the study is unblinded.")
    condition_data_open(study=study, by=by, what="redaction rates by condition")
    inputs = blinding_inputs(study=study)
    planned, _ = plan_fields(inputs.fields, inputs.groups)
    out: dict[str, list[dict]] = {}
    for result in planned:
        if result.skipped not in ("", "prompt", "limit"):
            continue
        values = ["" if v is None else v for v in inputs.fields[result.field]]
        sizes: Counter = Counter(values)
        hits: Counter = Counter(v for v, r in zip(values, inputs.redacted, strict=True) if r)
        out[result.field] = [
            {"label": label or "(none)", "n": sizes[label], "redacted": hits[label],
             "rate": hits[label] / sizes[label]}
            for label in sorted(sizes)
        ]  # fmt: skip
    return out
