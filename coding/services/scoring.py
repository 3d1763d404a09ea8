"""First-pass scoring: autosave drafts and submit (which locks the scores for good)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from coding import hooks
from coding.models import Assignment, Dimension, Event, Item, Score, Study
from coding.rubric_cache import rubric_dimensions

from .errors import Conflict, ServiceError
from .events import event_record
from .gold import assignment_released, gold_after_submit
from .reconciliation import auto_agree_completed_item
from .tallies import tally_add

MAX_RATIONALE = 5000
Values = dict[str, dict[str, Any]]  # {"D1": {"value": 2, "rationale": "..."}}


def _dimensions(assignment: Assignment) -> dict[str, Dimension]:
    return {d.code: d for d in rubric_dimensions(assignment.item.study.rubric)}


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
    """Insert or overwrite the given dimensions' scores in one statement (an upsert)."""
    version = assignment.item.study.rubric.version
    Score.objects.bulk_create(
        [
            Score(
                assignment=assignment,
                dimension=dim,
                value=value,
                rationale=rationale,
                rubric_version=version,
            )
            for dim, value, rationale in cleaned.values()
        ],
        update_conflicts=True,
        unique_fields=["assignment", "dimension"],
        update_fields=["value", "rationale", "rubric_version", "updated_at"],
    )


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
    _require_released(assignment)
    cleaned = _clean(assignment, values, complete=False)
    with transaction.atomic():
        _claim(assignment, expected_version)
        _write_scores(assignment, cleaned)
    assignment.version = expected_version + 1  # what _claim wrote
    return assignment


def _require_released(assignment: Assignment) -> None:
    if not assignment_released(assignment):
        raise ServiceError("This item is released after you pass the qualification round.")


def _replayed(assignment: Assignment, digest: str) -> bool:
    """True for a replay of the submission already stored; Conflict for any other change."""
    if assignment.status != Assignment.Status.SUBMITTED:
        return False
    if assignment.scores_sha256 == digest:
        return True  # double-click or replay of the same submission
    raise Conflict("This item was already submitted; submitted scores cannot change.")


def score_submit(
    *, assignment: Assignment, values: Values, expected_version: int, by
) -> Assignment:
    """Lock a coder's first-pass scores for one item. Replaying the same submit is a no-op.

    ``assignment`` must be freshly read (the caller's request just fetched it); the
    compare-and-set in ``_claim`` guards against anything that changed since.
    """
    if assignment.item.study.status != Study.Status.OPEN:
        raise ServiceError("This study is not open for coding.")
    _require_released(assignment)
    cleaned = _clean(assignment, values, complete=True)
    digest = scores_sha256(cleaned)
    if _replayed(assignment, digest):
        return assignment
    item = assignment.item
    submitted_at = timezone.now()
    try:
        with transaction.atomic():
            _claim(
                assignment,
                expected_version,
                status=Assignment.Status.SUBMITTED,
                submitted_at=submitted_at,
                content_sha256=item.content_sha256,
                scores_sha256=digest,
            )
            _write_scores(assignment, cleaned)
            if gold_after_submit(assignment):  # gold never auto-agrees (services/gold.py)
                tally_add(study_id=item.study_id, user_id=assignment.coder_id, submitted=1)
            else:
                _auto_agree_if_complete(item, assignment.coder_id)
            event_record(
                verb=Event.Verb.SUBMIT,
                actor=by,
                study=item.study,
                target=item.public_code,
                payload={"scores_sha256": digest, "content_sha256": item.content_sha256},
            )
            study_id = item.study_id
            transaction.on_commit(lambda: _after_submit(study_id))
    except Conflict:
        current = Assignment.objects.filter(pk=assignment.pk).first()
        if current is None:  # the lead removed this coder and moved the item meanwhile
            raise Conflict("This item is no longer assigned to you; nothing was saved.")
        if _replayed(current, digest):
            return current
        raise
    except IntegrityError:
        raise Conflict("This item was changed elsewhere; reload it.")
    assignment.version = expected_version + 1
    assignment.status = Assignment.Status.SUBMITTED
    assignment.submitted_at = submitted_at
    assignment.content_sha256 = item.content_sha256
    assignment.scores_sha256 = digest
    return assignment


def _auto_agree_if_complete(item: Item, coder_id: int) -> None:
    """Record "agreed" decisions (and the disagreements) once the item's last open
    assignment is submitted, and count the submission.

    The item row is locked first, so of two coders submitting an item's last two
    assignments at the same moment the second waits for the first to commit and then
    sees both submissions (without the lock each would see the other still open and
    neither would auto-agree).
    """
    list(Item.objects.select_for_update().filter(pk=item.pk).values_list("pk"))
    statuses = list(Assignment.objects.filter(item_id=item.pk).values_list("status", flat=True))
    completed = agreed = 0
    if Assignment.Status.OPEN not in statuses:
        completed = 1
        agreed = auto_agree_completed_item(item, len(statuses))
    # The lead pages' counters (coding.models_tally), on this coder's own row.
    tally_add(
        study_id=item.study_id, user_id=coder_id, submitted=1, completed=completed, agreed=agreed
    )


def _after_submit(study_id: int) -> None:
    """Tell the apps that listen (audit refreshes agreement); never fail a submit."""
    hooks.submitted(study_id)
