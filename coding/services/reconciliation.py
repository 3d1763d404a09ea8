"""Reconciliation, locking and unblinding.

First-pass ``Score`` rows are never touched here: reconciliation writes only
``Reconciliation`` rows (and the Event log).

Optimistic locking without a version column: a ``Reconciliation`` row is never
updated in place. Changing a decision deletes the row the caller saw (matched by
``expected_id``) and inserts a new one, so the row id *is* the version. Two
people who both saw decision #7 cannot both replace it: the second finds #7 gone
and gets a ``Conflict``. Two people recording the first decision race on the
unique (item, dimension) constraint, and the loser gets a ``Conflict``. Every
decision, with the value it replaced, is kept in the Event log.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from coding.models import (
    Assignment,
    ConditionKey,
    Dimension,
    Event,
    GoldItem,
    Item,
    Pair,
    PairAssignment,
    Reconciliation,
    Score,
    Study,
)
from coding.selectors.reconcile import agreed_cells

from ..rubric_cache import rubric_dimensions
from .door import condition_data_open
from .errors import Conflict, ServiceError
from .events import event_record
from .tallies import disagreements_record, method_field, tally_add

Method = Reconciliation.Method
MAX_NOTE = 5000
MAX_REASON = 2000


def _complete_items(study: Study) -> Q:
    """Items whose every assignment is submitted (and that have at least one)."""
    return Q(
        pk__in=Item.objects.filter(study=study, gold__isnull=True)  # gold: services/gold.py
        .annotate(
            n=Count("assignments"),
            open_n=Count("assignments", filter=Q(assignments__status=Assignment.Status.OPEN)),
        )
        .filter(n__gt=0, open_n=0)
        .values("pk")
    )


def _auto_agree(study: Study) -> int:
    added = _record_agreed(study, None, agreed_cells(study))
    tally_add(study_id=study.pk, user_id=None, agreed=added)
    return added


def _record_agreed(study: Study, item: Item | None, cells: list[tuple[int, int, int]]) -> int:
    if not cells:
        return 0
    existing_q = Reconciliation.objects.filter(item__study=study)
    if item is not None:
        existing_q = existing_q.filter(item=item)
    existing = set(existing_q.values_list("item_id", "dimension_id"))
    new = [
        Reconciliation(item_id=i, dimension_id=d, value=v, method=Method.AGREED)
        for i, d, v in cells
        if (i, d) not in existing
    ]
    if not new:
        return 0
    # ignore_conflicts: a concurrent auto-agree or a human decision that got there first wins.
    Reconciliation.objects.bulk_create(new, batch_size=1000, ignore_conflicts=True)
    event_record(
        verb=Event.Verb.RECONCILE_AUTO,
        study=study,
        target=item.public_code if item is not None else study.name[:200],
        payload={"agreed": len(new)},
    )
    return len(new)


def reconciliation_auto_agree(*, study: Study) -> int:
    """Record "agreed" for every (item, dimension) of fully coded items where all submitted
    first-pass values are equal. Idempotent; returns how many decisions were added.
    Refused (Conflict) unless the study is open: a locked study's decisions are final."""
    with transaction.atomic():
        _require_open(study.pk)
        return _auto_agree(study)


CLOSED = "Reconciliation is closed: the study is not open."


def _require_open(study_id: int) -> None:
    """Row-lock the study while it is open: a concurrent study_lock waits for us, or wins."""
    if not Study.objects.select_for_update().filter(pk=study_id, status=Study.Status.OPEN).exists():
        raise Conflict(CLOSED)


def auto_agree_completed_item(item: Item, n_submitted: int) -> int:
    """Auto-agree for an item whose ``n_submitted`` assignments are all submitted.

    Runs inside the caller's transaction (``score_submit``, which holds the item's row
    lock and has just counted the assignments): one read of the item's scores.
    """
    if n_submitted < 2:
        return 0
    values: dict[int, list[int]] = {}
    for dim_id, value in Score.objects.filter(
        assignment__item_id=item.pk,
        assignment__status=Assignment.Status.SUBMITTED,
        value__isnull=False,
    ).values_list("dimension_id", "value"):
        values.setdefault(dim_id, []).append(value)
    cells = [
        (item.pk, dim_id, vals[0])
        for dim_id, vals in values.items()
        if len(vals) == n_submitted and len(set(vals)) == 1
    ]
    disagreements_record(item=item, values=values, dims=rubric_dimensions(item.study.rubric))
    return _record_agreed(item.study, item, cells)


def _validate_decision(item: Item, dimension: Dimension, value: int, method: str, note: str):
    if dimension.rubric_id != item.study.rubric_id:
        raise ServiceError("That dimension is not part of this study's rubric.")
    if method not in Method.values:
        raise ServiceError(f"Unknown method {str(method)[:20]!r}.")
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise ServiceError(f"{dimension.code}: {str(value)[:10]!r} is not a level.")
    allowed = set(dimension.levels.values_list("value", flat=True))
    if value not in allowed:
        raise ServiceError(f"{dimension.code}: {value} is not one of {sorted(allowed)}.")
    if "\x00" in note or len(note) > MAX_NOTE:
        raise ServiceError(f"{dimension.code}: the note must be under {MAX_NOTE} characters.")
    if method == Method.ADJUDICATED and not note:
        # An adjudicated value overrules at least one coder: the reason is part of the record
        # (it goes into the exports), so it cannot be left out by a stray Ctrl+Enter.
        raise ServiceError(
            f"{dimension.code}: a note is required when the method is adjudicated "
            "(say why this value)."
        )
    if Assignment.objects.filter(item=item, status=Assignment.Status.OPEN).exists():
        raise ServiceError(
            "This item is still being coded; reconcile it once every coder has submitted."
        )
    if GoldItem.objects.filter(item=item).exists():
        raise ServiceError("Gold items are compared with their expected scores, not reconciled.")
    return value


def reconciliation_decide(
    *,
    item: Item,
    dimension: Dimension,
    value: int,
    method: str,
    note: str = "",
    by,
    expected_id: int | None = None,
) -> Reconciliation:
    """Record the final value for one (item, dimension).

    ``expected_id`` is the id of the decision the caller saw (None if they saw none).
    If the current decision differs from what the caller saw, nothing is written and
    ``Conflict`` is raised. See the module docstring for why ids act as versions.
    Re-sending the decision the caller saw, unchanged, writes nothing and returns it.
    """
    note = (note or "").strip()
    if expected_id is not None:  # ids act as versions: this row is exactly what they saw
        seen = Reconciliation.objects.filter(pk=expected_id, item=item, dimension=dimension)
        current = seen.first()
        if current and (str(current.value), current.method, current.note) == (
            str(value).strip(),
            method,
            note,
        ):
            return current  # unchanged: nothing to record (nor to re-validate)
    value = _validate_decision(item, dimension, value, method, note)
    target = f"{item.public_code}/{dimension.code}"
    with transaction.atomic():
        _require_open(item.study_id)
        previous = None
        change = {method_field(method): 1}
        if expected_id is not None:
            previous = (
                Reconciliation.objects.filter(pk=expected_id, item=item, dimension=dimension)
                .values("value", "method", "note", "decided_by__username")
                .first()
            )
            deleted, _ = Reconciliation.objects.filter(
                pk=expected_id, item=item, dimension=dimension
            ).delete()
            if not deleted or previous is None:
                raise Conflict(
                    f"{target} was decided or changed by someone else after you loaded the "
                    "page. Reload to see the current decision; nothing was overwritten."
                )
        try:
            with transaction.atomic():
                decision = Reconciliation.objects.create(
                    item=item,
                    dimension=dimension,
                    value=value,
                    method=method,
                    note=note,
                    decided_by=by,
                )
        except IntegrityError:
            raise Conflict(
                f"{target} already has a decision recorded by someone else. Reload to see it; "
                "nothing was overwritten."
            )
        if previous is not None:
            field = method_field(previous["method"])
            change[field] = change.get(field, 0) - 1
        tally_add(study_id=item.study_id, user_id=getattr(by, "pk", None), **change)
        event_record(
            verb=Event.Verb.RECONCILE,
            actor=by,
            study=item.study,
            target=target,
            payload={
                "value": value,
                "method": method,
                "note": note,
                "replaces": previous,
            },
        )
    return decision


def _lock_blockers(study: Study) -> dict[str, int]:
    if study.kind == Study.Kind.PAIRWISE:
        # Pairwise choices are not reconciled: the study is ready when every pair is judged.
        open_pairs = (
            PairAssignment.objects.filter(pair__study=study, status=PairAssignment.Status.OPEN)
            .values("pair_id")
            .distinct()
            .count()
        )
        return {
            "items": Pair.objects.filter(study=study).count(),
            "items_incomplete": open_pairs,
            "cells_unreconciled": 0,
        }
    items = Item.objects.filter(study=study)
    n_items = items.count()
    complete = items.filter(_complete_items(study)).count()
    n_dims = Dimension.objects.filter(rubric_id=study.rubric_id).count()
    decided = Reconciliation.objects.filter(item__study=study).count()
    return {
        "items": n_items,
        "items_incomplete": n_items - complete,
        "cells_unreconciled": n_items * n_dims - decided,
    }


def study_lock(*, study: Study, by, override: bool = False, reason: str = "") -> Study:
    """Open -> locked. Requires every item fully submitted and every (item, dimension)
    reconciled, unless ``override`` is set with a reason (both logged)."""
    reason = (reason or "").strip()
    if override and not reason:
        raise ServiceError("Give a reason for locking with unreconciled or uncoded items.")
    if len(reason) > MAX_REASON or "\x00" in reason:
        raise ServiceError(f"The reason must be under {MAX_REASON} characters.")
    with transaction.atomic():
        if study.status == Study.Status.OPEN:
            _auto_agree(study)
        blockers = _lock_blockers(study)
        blocked = blockers["items_incomplete"] or blockers["cells_unreconciled"]
        if blocked and not override:
            raise ServiceError(
                f"Not ready to lock: {blockers['items_incomplete']} item(s) still being coded "
                f"and {blockers['cells_unreconciled']} item x dimension cell(s) unreconciled. "
                "Finish them, or lock with an override and a reason."
            )
        updated = Study.objects.filter(pk=study.pk, status=Study.Status.OPEN).update(
            status=Study.Status.LOCKED
        )
        if not updated:
            raise Conflict("Only an open study can be locked; it was changed elsewhere. Reload.")
        event_record(
            verb=Event.Verb.STUDY_LOCK,
            actor=by,
            study=study,
            target=study.name[:200],
            payload={"override": bool(override and blocked), "reason": reason, **blockers},
        )
    study.refresh_from_db()
    return study


def study_unblind(*, study: Study, by, reason: str) -> Study:
    """Locked -> unblinded: the condition key becomes readable by leads. Reason required."""
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("Say why you are unblinding (it is kept in the Event log).")
    if len(reason) > MAX_REASON or "\x00" in reason:
        raise ServiceError(f"The reason must be under {MAX_REASON} characters.")
    with transaction.atomic():
        updated = Study.objects.filter(pk=study.pk, status=Study.Status.LOCKED).update(
            status=Study.Status.UNBLINDED
        )
        if not updated:
            raise Conflict("Only a locked study can be unblinded; it was changed elsewhere.")
        event_record(
            verb=Event.Verb.UNBLIND,
            actor=by,
            study=study,
            target=study.name[:200],
            payload={"reason": reason},
        )
    study.refresh_from_db()
    return study


def condition_keys_read(*, study: Study, by, codes: list[str], reason: str = "") -> dict:
    """Sealed keys of several items (a key table page), through the logged door; one
    key view per call. Returns {public code: ConditionKey | None}."""
    condition_data_open(
        study=study,
        by=by,
        what="condition key",
        reason=reason,
        target=f"{len(codes)} items",
        detail={"items": sorted(codes)},
    )
    keys = {
        key.item.public_code: key
        for key in ConditionKey.objects.filter(
            item__study=study, item__public_code__in=codes
        ).select_related("item")
    }
    return {code: keys.get(code) for code in codes}
