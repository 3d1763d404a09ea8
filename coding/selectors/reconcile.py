"""Reads for reconciliation: the disagreement queue and the side-by-side view of one item.

Coders are anonymised as "Coder A", "Coder B", ... The letter order is a keyed hash of
(item, coder), so it is stable for an item but differs between items: an adjudicator
cannot follow one person across items, and usernames never reach these pages.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Prefetch, Q

from coding.models import Assignment, Dimension, Disagreement, Item, Reconciliation, Score, Study
from coding.selectors import fully_coded

STATUSES = ("all", "open", "reconciled")


def _complete_item_ids(study: Study):
    """Subquery: the study's fully coded items (gold is never reconciled)."""
    return fully_coded(Item.objects.filter(study=study, gold__isnull=True)).values("pk")


@dataclass(frozen=True)
class QueueEntry:
    """One (item, dimension) whose submitted first-pass values differ."""

    item_code: str
    dimension_code: str
    dimension_name: str
    low: int
    high: int
    coders: int
    reconciled_value: int | None = None
    reconciled_method: str | None = None
    cursor: str = ""  # where the next page starts when this is the last entry of a page

    @property
    def spread(self) -> int:
        return self.high - self.low

    @property
    def reconciled(self) -> bool:
        return self.reconciled_value is not None


def _queue_rows(study: Study, dimension: str | None, min_spread: int, status: str):
    decided = Reconciliation.objects.filter(
        item_id=OuterRef("item_id"), dimension_id=OuterRef("dimension_id")
    )
    rows = Disagreement.objects.filter(study=study, high__gte=F("low") + max(1, int(min_spread)))
    if dimension:
        rows = rows.filter(dimension__code=dimension)
    if status == "open":
        rows = rows.exclude(Exists(decided))
    elif status == "reconciled":
        rows = rows.filter(Exists(decided))
    return rows.order_by("item_code", "dimension_order")


def _entries(rows) -> list[QueueEntry]:
    rows = list(
        rows.values(
            "item_id",
            "item_code",
            "dimension_id",
            "dimension_order",
            "low",
            "high",
            "coders",
            "dimension__code",
            "dimension__name",
        )
    )
    decisions = (
        {
            (item_id, dim_id): (value, method)
            for item_id, dim_id, value, method in Reconciliation.objects.filter(
                item_id__in={r["item_id"] for r in rows}
            ).values_list("item_id", "dimension_id", "value", "method")
        }
        if rows
        else {}
    )
    return [
        QueueEntry(
            item_code=r["item_code"],
            dimension_code=r["dimension__code"],
            dimension_name=r["dimension__name"],
            low=r["low"],
            high=r["high"],
            coders=r["coders"],
            reconciled_value=decisions.get((r["item_id"], r["dimension_id"]), (None, None))[0],
            reconciled_method=decisions.get((r["item_id"], r["dimension_id"]), (None, None))[1],
            cursor=f"{r['item_code']}.{r['dimension_order']}",
        )
        for r in rows
    ]


def reconcile_queue(
    *,
    study: Study,
    dimension: str | None = None,
    min_spread: int = 1,
    status: str = "all",
) -> list[QueueEntry]:
    """Every (item, dimension) of fully coded items where submitted first-pass values differ.

    Filters: ``dimension`` (a code such as "D3"), ``min_spread`` (max - min of the values,
    at least 1), ``status`` ("all", "open" = not reconciled yet, "reconciled").
    Read from the disagreement list written at each item's last submission; two queries.
    The lead's page reads it a page at a time (``reconcile_queue_page``).
    """
    return _entries(_queue_rows(study, dimension, min_spread, status))


def parse_cursor(raw: str) -> tuple[str, int] | None:
    """``"K7Q-2MX.3"`` -> ("K7Q-2MX", 3); anything malformed -> None (the first page)."""
    code, _, order = (raw or "").rpartition(".")
    if not code or len(code) > 16 or not order.isdigit() or len(order) > 6:
        return None
    return code, int(order)


def reconcile_queue_page(
    *,
    study: Study,
    dimension: str | None = None,
    min_spread: int = 1,
    status: str = "all",
    after: tuple[str, int] | None = None,
    limit: int = 100,
) -> tuple[list[QueueEntry], str | None]:
    """One page of the queue after the cursor (item code, dimension order), and the next
    page's cursor (None on the last page). Keyset on an index: the cost of a page does
    not depend on the size of the study or on how deep the page is."""
    rows = _queue_rows(study, dimension, min_spread, status)
    if after is not None:
        code, order = after
        rows = rows.filter(Q(item_code__gt=code) | Q(item_code=code, dimension_order__gt=order))
    entries = _entries(rows[: limit + 1])
    more = len(entries) > limit
    entries = entries[:limit]
    return entries, (entries[-1].cursor if more and entries else None)


def agreed_cells(study: Study) -> list[tuple[int, int, int]]:
    """(item id, dimension id, value) where every submitted first-pass value is the same,
    over the study's fully coded items (what auto-agree records)."""
    items = Item.objects.filter(pk__in=_complete_item_ids(study))
    submitted = dict(
        Assignment.objects.filter(item__in=items, status=Assignment.Status.SUBMITTED)
        .values("item_id")
        .annotate(n=Count("pk"))
        .values_list("item_id", "n")
    )
    cells = (
        Score.objects.filter(
            assignment__item__in=items,
            assignment__status=Assignment.Status.SUBMITTED,
            value__isnull=False,
        )
        .values("assignment__item_id", "dimension_id")
        .annotate(n=Count("pk"), lo=Min("value"), hi=Max("value"))
        .values_list("assignment__item_id", "dimension_id", "n", "lo", "hi")
    )
    return [
        (item_id, dim_id, lo)
        for item_id, dim_id, n, lo, hi in cells
        if lo == hi and n == submitted.get(item_id) and n >= 2
    ]


def auto_agree_pending(*, study: Study) -> int:
    """Unanimous (item, dimension) cells of fully coded items without a decision yet: what
    "Run auto-agree" would add. Usually 0, since an item's last submit records its agreed
    cells. One query. (Submitted first passes score every dimension, so two or more equal
    values on a fully coded item are all of its coders' values.)"""
    decided = Reconciliation.objects.filter(
        item_id=OuterRef("assignment__item_id"), dimension_id=OuterRef("dimension_id")
    )
    return (
        Score.objects.filter(
            assignment__item__in=_complete_item_ids(study),
            assignment__status=Assignment.Status.SUBMITTED,
            value__isnull=False,
        )
        .exclude(Exists(decided))
        .values("assignment__item_id", "dimension_id")
        .annotate(n=Count("pk"), lo=Min("value"), hi=Max("value"))
        .filter(n__gte=2, lo=F("hi"))
        .count()
    )


def reconcile_next_code(*, study: Study, after: str = "") -> str | None:
    """The next item (by code, wrapping around) that still has an unreconciled disagreement."""
    rows = _queue_rows(study, None, 1, "open").values_list("item_code", flat=True)
    later = rows.filter(item_code__gt=after).first() if after else None
    return later or rows.first()


def coder_label(index: int) -> str:
    """0 -> "Coder A", 25 -> "Coder Z", 26 -> "Coder AA"."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return f"Coder {letters}"


def _anonymous_order(item_id: int, coder_id: int) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"reconcile:{item_id}:{coder_id}".encode(), hashlib.sha256).hexdigest()


@dataclass
class CoderScore:
    label: str
    value: int | None
    rationale: str


@dataclass
class DimensionPanel:
    dimension: Dimension
    scores: list[CoderScore]
    decision: Reconciliation | None

    @property
    def values(self) -> list[int]:
        return [s.value for s in self.scores if s.value is not None]

    @property
    def spread(self) -> int:
        return max(self.values) - min(self.values) if self.values else 0

    @property
    def disagreement(self) -> bool:
        return self.spread > 0


@dataclass
class ItemPanel:
    """Everything the reconciliation page shows for one item."""

    item: Item
    coder_labels: list[str]
    assigned: int
    submitted: int
    dimensions: list[DimensionPanel] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.assigned > 0 and self.assigned == self.submitted

    @property
    def open_disagreements(self) -> int:
        return sum(1 for d in self.dimensions if d.disagreement and d.decision is None)


def reconcile_item_get(*, item: Item) -> ItemPanel:
    """Side-by-side submitted scores for one item, coders anonymised; five queries."""
    assignments = list(
        Assignment.objects.filter(item=item)
        .only("pk", "coder_id", "status")
        .prefetch_related(
            Prefetch(
                "scores",
                queryset=Score.objects.only("assignment_id", "dimension_id", "value", "rationale"),
            )
        )
    )
    submitted = [a for a in assignments if a.status == Assignment.Status.SUBMITTED]
    submitted.sort(key=lambda a: _anonymous_order(item.pk, a.coder_id))
    labels = [coder_label(i) for i in range(len(submitted))]
    by_dim: dict[int, list[CoderScore]] = {}
    for label, assignment in zip(labels, submitted, strict=True):
        scores = {s.dimension_id: s for s in assignment.scores.all()}
        for dim_id, score in scores.items():
            by_dim.setdefault(dim_id, []).append(CoderScore(label, score.value, score.rationale))
    decisions = {
        r.dimension_id: r
        for r in Reconciliation.objects.filter(item=item).select_related("decided_by")
    }
    panel = ItemPanel(
        item=item, coder_labels=labels, assigned=len(assignments), submitted=len(submitted)
    )
    dimensions = Dimension.objects.filter(rubric_id=item.study.rubric_id).prefetch_related("levels")
    for dim in dimensions:
        panel.dimensions.append(
            DimensionPanel(
                dimension=dim, scores=by_dim.get(dim.pk, []), decision=decisions.get(dim.pk)
            )
        )
    return panel


def reconcile_summary(*, study: Study) -> dict[str, int]:
    """Counts for the queue header and the lock page, from the study's counters."""
    from coding.selectors import study_totals

    totals = study_totals(study=study)
    n_items = totals["items"]
    n_dims = Dimension.objects.filter(rubric_id=study.rubric_id).count()
    decided = totals["agreed"] + totals["discussion"] + totals["adjudicated"]
    return {
        "items": n_items,
        "items_complete": totals["completed"],
        "cells": n_items * n_dims,
        "decided": decided,
        "agreed": totals["agreed"],
        "discussion": totals["discussion"],
        "adjudicated": totals["adjudicated"],
        "undecided": n_items * n_dims - decided,
        # Undecided cells of fully coded items: 0 means auto-agree has nothing left to do
        # (from the counters; a positive count may be disagreements waiting for a person).
        "undecided_complete": max(0, totals["completed"] * n_dims - decided),
    }
