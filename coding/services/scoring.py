"""First-pass scoring: autosave drafts and submit (which locks the scores for good)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from coding.models import Assignment, Dimension, Score, Study

from .errors import Conflict, ServiceError
from .events import event_record
from .reconciliation import reconciliation_auto_agree_item

MAX_RATIONALE = 5000
Values = dict[str, dict[str, Any]]  # {"D1": {"value": 2, "rationale": "..."}}


def _dimensions(assignment: Assignment) -> dict[str, Dimension]:
    rubric = assignment.item.study.rubric
    return {d.code: d for d in rubric.dimensions.prefetch_related("levels")}


def _clean(assignment: Assignment, values: Values, *, complete: bool) -> dict[str, tuple]:
    """Validate shape and levels; returns {code: (dimension, value|None, rationale)}."""
    dims = _dimensions(assignment)
    cleaned: dict[str, tuple] = {}
    for code, entry in values.items():
        if code not in dims:
            raise ServiceError(f"Unknown dimension {str(code)[:20]!r}.")
        entry = entry or {}
        raw = entry.get("value")
        rationale = str(entry.get("rationale") or "")
        if "\x00" in rationale or len(rationale) > MAX_RATIONALE:
            raise ServiceError(f"{code}: rationale must be under {MAX_RATIONALE} characters.")
        value = None
        if raw not in (None, ""):
            try:
                value = int(raw)
            except (TypeError, ValueError):
                raise ServiceError(f"{code}: {str(raw)[:10]!r} is not a level.")
            allowed = {lv.value for lv in dims[code].levels.all()}
            if value not in allowed:
                raise ServiceError(f"{code}: {value} is not one of {sorted(allowed)}.")
        cleaned[code] = (dims[code], value, rationale)
    if complete:
        missing = [c for c in dims if c not in cleaned or cleaned[c][1] is None]
        if missing:
            raise ServiceError("Score every dimension before submitting: " + ", ".join(missing))
    return cleaned


def _write_scores(assignment: Assignment, cleaned: dict[str, tuple]) -> None:
    version = assignment.item.study.rubric.version
    existing = {s.dimension_id: s for s in Score.objects.filter(assignment=assignment)}
    to_create, to_update = [], []
    for dim, value, rationale in cleaned.values():
        score = existing.get(dim.pk)
        if score is None:
            to_create.append(
                Score(
                    assignment=assignment,
                    dimension=dim,
                    value=value,
                    rationale=rationale,
                    rubric_version=version,
                )
            )
        elif (score.value, score.rationale) != (value, rationale):
            score.value, score.rationale, score.rubric_version = value, rationale, version
            score.updated_at = timezone.now()
            to_update.append(score)
    Score.objects.bulk_create(to_create)
    Score.objects.bulk_update(to_update, ["value", "rationale", "rubric_version", "updated_at"])


def scores_sha256(cleaned: dict[str, tuple]) -> str:
    payload = {code: [value, rationale] for code, (_d, value, rationale) in sorted(cleaned.items())}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _claim(assignment: Assignment, expected_version: int, **changes) -> None:
    """Compare-and-set on (version, status=open); raises Conflict if someone got there first."""
    updated = Assignment.objects.filter(
        pk=assignment.pk, version=expected_version, status=Assignment.Status.OPEN
    ).update(version=F("version") + 1, **changes)
    if not updated:
        raise Conflict(
            "This item was changed in another tab or window. Reload it to see the latest "
            "saved scores; nothing was overwritten."
        )


def score_autosave(
    *, assignment: Assignment, values: Values, expected_version: int, by
) -> Assignment:
    """Save a draft (partial scores allowed). Returns the assignment at its new version."""
    if assignment.item.study.status != Study.Status.OPEN:
        raise ServiceError("This study is not open for coding.")
    cleaned = _clean(assignment, values, complete=False)
    with transaction.atomic():
        _claim(assignment, expected_version)
        _write_scores(assignment, cleaned)
    assignment.refresh_from_db()
    return assignment


def score_submit(
    *, assignment: Assignment, values: Values, expected_version: int, by
) -> Assignment:
    """Lock a coder's first-pass scores for one item. Replaying the same submit is a no-op."""
    if assignment.item.study.status != Study.Status.OPEN:
        raise ServiceError("This study is not open for coding.")
    cleaned = _clean(assignment, values, complete=True)
    digest = scores_sha256(cleaned)
    current = Assignment.objects.get(pk=assignment.pk)
    if current.status == Assignment.Status.SUBMITTED:
        if current.scores_sha256 == digest:
            return current  # double-click or replay of the same submission
        raise Conflict("This item was already submitted; submitted scores cannot change.")
    try:
        with transaction.atomic():
            _claim(
                assignment,
                expected_version,
                status=Assignment.Status.SUBMITTED,
                submitted_at=timezone.now(),
                content_sha256=assignment.item.content_sha256,
                scores_sha256=digest,
            )
            _write_scores(assignment, cleaned)
            reconciliation_auto_agree_item(item=assignment.item)
            study = assignment.item.study
            event_record(
                verb="submit",
                actor=by,
                study=study,
                target=assignment.item.public_code,
                payload={"scores_sha256": digest, "content_sha256": assignment.item.content_sha256},
            )
            transaction.on_commit(lambda: _after_submit(study.pk))
    except Conflict:
        current = Assignment.objects.get(pk=assignment.pk)
        if current.status == Assignment.Status.SUBMITTED and current.scores_sha256 == digest:
            return current
        raise
    except IntegrityError:
        raise Conflict("This item was changed elsewhere; reload it.")
    assignment.refresh_from_db()
    return assignment


def _after_submit(study_id: int) -> None:
    """Ask the analysis app to refresh agreement (debounced there); never fail a submit."""
    from django.conf import settings

    if not getattr(settings, "AGREEMENT_SNAPSHOT_ON_SUBMIT", True):
        return  # bulk loaders (the demo) compute one snapshot at the end instead
    try:
        from audit.tasks import snapshot_request
    except ImportError:
        return
    try:
        snapshot_request(study_id)
    except Exception:  # noqa: BLE001 - a broker outage must not lose a submission
        import logging

        logging.getLogger(__name__).warning("agreement snapshot not queued", exc_info=True)
