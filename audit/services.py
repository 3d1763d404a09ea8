"""All writes of the audit app: agreement snapshots, the benchmark registry, benchmark-audit
studies, claim statements, and the logged read of the sealed key for analyses."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from coding.models import Event, Rubric, Study
from coding.rubric_data import ALIGNMENT_RUBRIC
from coding.services import (
    ServiceError,
    condition_data_open,
    event_record,
    items_import,
    study_create,
)

from . import selectors, tasks
from .agreement_results import VERSION, build_results
from .models import AgreementSnapshot, Benchmark, ClaimStatement
from .registry import benchmark_create, benchmark_update  # noqa: F401 - the registry's writes

N_BOOT = 1000
# Agreement on a closed study is final: its refresh is queued without the debounce delay.
FINAL_STATUSES = (Study.Status.LOCKED, Study.Status.UNBLINDED)

log = logging.getLogger(__name__)


def _needs_conditions(study: Study) -> bool:
    return study.status == Study.Status.UNBLINDED


def snapshot_is_fresh(
    *, study: Study, snapshot: AgreementSnapshot | None, n_submitted: int
) -> bool:
    """Whether ``snapshot`` already covers every submission (and conditions, once unblinded)."""
    if snapshot is None or snapshot.n_submitted != n_submitted:
        return False
    results = snapshot.results or {}
    if results.get("version") != VERSION:
        return False
    return not _needs_conditions(study) or results.get("conditions") is not None


def snapshot_compute(*, study: Study, by=None) -> dict[str, Any]:
    """Agreement results for the study's first-pass scores (no write except the key log).

    After unblinding, agreement per condition needs the sealed key: that read is logged.
    """
    dims = [(d.code, d.name, d.categories) for d in selectors.dimension_list(study=study)]
    ratings = selectors.first_pass_ratings(study=study)
    conditions = None
    if _needs_conditions(study):
        condition_data_open(
            study=study,
            by=by,
            what="condition per item",
            reason="agreement",
            target=study.name,
            detail={"scope": "condition per item"},
        )
        conditions = selectors.condition_labels_with_keys(study=study)
    return build_results(dims, ratings, conditions=conditions, n_boot=N_BOOT, seed=study.seed)


def snapshot_refresh(*, study: Study, by=None) -> AgreementSnapshot | None:
    """The latest snapshot, recomputed and written first if it is stale. Idempotent.

    None when nothing has been submitted yet. A recompute with the same submission count
    (e.g. conditions added after unblinding) updates the latest snapshot in place, so the
    history keeps one point per state of the data.
    """
    n_submitted = selectors.submitted_count(study=study)
    latest = selectors.snapshot_latest(study=study)
    if snapshot_is_fresh(study=study, snapshot=latest, n_submitted=n_submitted):
        return latest
    if n_submitted == 0:
        return None
    results = snapshot_compute(study=study, by=by)
    # Drift flags ride along (the worker reads every submission once here), so the study
    # page shows them from the latest snapshot instead of reading every score per visit.
    from .quality import drift_flags

    results["drift_flags"] = drift_flags(study)
    with transaction.atomic():
        # Serialise writers per study; a concurrent refresh may have written it meanwhile.
        Study.objects.select_for_update().filter(pk=study.pk).first()
        latest = selectors.snapshot_latest(study=study)
        if snapshot_is_fresh(study=study, snapshot=latest, n_submitted=n_submitted):
            return latest
        if latest is not None and latest.n_submitted == n_submitted:
            AgreementSnapshot.objects.filter(pk=latest.pk).update(results=results)
            latest.results = results
            return latest
        return AgreementSnapshot.objects.create(
            study=study, n_submitted=n_submitted, results=results
        )


@dataclass(frozen=True)
class SnapshotState:
    """What the agreement pages show: the snapshot and how far behind the data it is."""

    snapshot: AgreementSnapshot | None
    n_submitted: int  # submitted assignments now
    refresh_queued: bool = False  # a worker refresh is queued (or already was)
    fresh: bool = True  # the snapshot covers every submission (and conditions once unblinded)

    @property
    def n_behind(self) -> int:
        """Submissions made since the snapshot (0 when it covers every one)."""
        covered = self.snapshot.n_submitted if self.snapshot is not None else 0
        return max(0, self.n_submitted - covered)

    @property
    def computing(self) -> bool:
        """Nothing to show yet, but there is something to compute: the worker is on it."""
        return self.snapshot is None and self.n_submitted > 0

    @property
    def updating(self) -> bool:
        """A snapshot is shown and a newer one is wanted (queued, or could not be queued)."""
        return self.snapshot is not None and not self.fresh


def snapshot_current(*, study: Study, by=None, recompute: bool = False) -> SnapshotState:
    """The snapshot for the agreement pages; never computed inside the request.

    When the latest snapshot is missing or behind the data (or lacks the conditions of an
    unblinded study), a worker refresh is requested (debounced, see ``audit.tasks``) and
    the latest usable one is returned as it is, with how far behind it is. It is queued
    without the debounce delay when there is nothing to show yet, when the study is
    locked or unblinded (final numbers), or when the lead asks (``recompute``).
    """
    n_submitted = selectors.submitted_count(study=study)
    snapshot = selectors.snapshot_latest(study=study)
    if snapshot is not None and (snapshot.results or {}).get("version") != VERSION:
        snapshot = None  # computed by an older release: shape unknown to the pages
    fresh = snapshot_is_fresh(study=study, snapshot=snapshot, n_submitted=n_submitted)
    queued = False
    if n_submitted and (recompute or not fresh):
        urgent = recompute or snapshot is None or study.status in FINAL_STATUSES
        queued = _refresh_request(study, urgent=urgent, by=by)
        # Read again: an eager (worker-less) setup has just written a new one.
        latest = selectors.snapshot_latest(study=study)
        if latest is not None and (latest.results or {}).get("version") == VERSION:
            snapshot = latest
        fresh = snapshot_is_fresh(study=study, snapshot=snapshot, n_submitted=n_submitted)
    if snapshot is not None:  # it may count a submission made since the count above
        n_submitted = max(n_submitted, snapshot.n_submitted)
    return SnapshotState(snapshot, n_submitted, refresh_queued=queued and not fresh, fresh=fresh)


def _refresh_request(study: Study, *, urgent: bool, by=None) -> bool:
    """Ask the worker for a snapshot (debounced); whether one is queued. Never raises."""
    try:
        tasks.snapshot_request(study.pk, urgent=urgent, by_id=getattr(by, "pk", None))
    except Exception:  # noqa: BLE001 - a broker outage must not break the page
        log.warning("agreement snapshot not queued for study %s", study.pk, exc_info=True)
        return False
    return not tasks.publishing_paused()


def _document_text(benchmark: Benchmark) -> str:
    parts = [benchmark.description.strip()]
    source = " ".join(part for part in (benchmark.citation.strip(), benchmark.url.strip()) if part)
    if source:
        parts.append(f"Source: {source}")
    return "\n\n".join(p for p in parts if p)


def benchmark_audit_study_create(
    *,
    name: str,
    benchmarks: list[Benchmark],
    by,
    rubric: Rubric | None = None,
    coders_per_item: int = 2,
    seed: int | None = None,
) -> Study:
    """A draft study whose items are the benchmarks' descriptions (kind "document").

    Coded and reconciled like transcripts; the audit matrix reads its reconciled values.
    Each item's external id is ``benchmark-<pk>`` so the matrix can show registry facts.
    """
    if not benchmarks:
        raise ServiceError("Pick at least one benchmark.")
    missing = sorted(b.name for b in benchmarks if not b.description.strip())
    if missing:
        raise ServiceError(
            "These benchmarks have no description for coders yet: " + ", ".join(missing)
        )
    if rubric is None:
        rubric = Rubric.objects.filter(name=ALIGNMENT_RUBRIC["name"], version=1).first()
        if rubric is None:
            raise ServiceError("The D1-D8 rubric is missing; run the migrations.")
    records = [
        {
            "id": f"{selectors.BENCHMARK_PREFIX}{b.pk}",
            "title": b.name,
            "text": _document_text(b),
            "metadata": {"benchmark_id": b.pk, "year": b.year, "claim_level": b.claim_level},
        }
        for b in sorted(benchmarks, key=lambda b: b.name.lower())
    ]
    with transaction.atomic():
        study = study_create(
            name=name,
            rubric=rubric,
            by=by,
            coders_per_item=coders_per_item,
            seed=seed,
            description=f"Benchmark audit of {len(records)} benchmarks on {rubric}.",
        )
        items_import(study=study, records=records, by=by, source="benchmark registry")
        event_record(
            verb=Event.Verb.BENCHMARK_AUDIT_CREATE,
            actor=by,
            study=study,
            target=study.name[:200],
            payload={"benchmarks": [b.name for b in benchmarks]},
        )
    return study


def analysis_rows_read(*, study: Study, by, purpose: str) -> list[dict[str, Any]]:
    """Reconciled values with their conditions, for analyses after unblinding; logged."""
    if study.status != Study.Status.UNBLINDED:
        raise ServiceError("Condition-based analyses are available after unblinding.")
    condition_data_open(
        study=study,
        by=by,
        what="conditions of reconciled values",
        reason="analysis",
        target=study.name,
        detail={"purpose": purpose},
    )
    return selectors.reconciled_rows_with_keys(study=study)


def key_metadata_read(*, study: Study, by, purpose: str) -> list[dict[str, Any]]:
    """Per-item model, scaffold and key metadata, after unblinding; logged."""
    if study.status != Study.Status.UNBLINDED:
        raise ServiceError("The condition key is sealed until the study is unblinded.")
    condition_data_open(
        study=study,
        by=by,
        what="condition key metadata",
        reason="analysis",
        target=study.name,
        detail={"purpose": purpose},
    )
    return selectors.key_metadata_with_keys(study=study)


def claim_statement_update(
    *,
    study: Study,
    by,
    deployment_context: str,
    claim: str = "",
    claim_level: str = "",
    model_evidence: str = "",
    benchmarks: list[Benchmark] | None = None,
) -> ClaimStatement:
    """Save the lead's claim and the study's deployment context C, in one transaction."""
    if claim_level and claim_level not in Benchmark.ClaimLevel.values:
        raise ServiceError(f"Unknown claim level {claim_level!r}.")
    with transaction.atomic():
        Study.objects.filter(pk=study.pk).update(deployment_context=deployment_context.strip())
        study.deployment_context = deployment_context.strip()
        statement, _ = ClaimStatement.objects.update_or_create(
            study=study,
            defaults={
                "claim": claim.strip(),
                "claim_level": claim_level,
                "model_evidence": model_evidence.strip(),
                "updated_by": by,
            },
        )
        statement.benchmarks.set(benchmarks or [])
        event_record(
            verb=Event.Verb.CLAIM_EDIT,
            actor=by,
            study=study,
            target=study.name[:200],
            payload={"claim_level": claim_level, "context_set": bool(study.deployment_context)},
        )
    return statement
