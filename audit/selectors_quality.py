"""Reads for coder quality: each coder's submitted scores with their reference values.

Gold references are the gold version recorded at submission (``GoldAssignment.version``);
reconciled references are the final values of ordinary items. Leads only: these rows
name coders, so they never reach a coder's page or response.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coding.models import Assignment, Reconciliation, Score, Study


@dataclass
class Submission:
    """One submitted assignment: the coder's values and the reference to compare with."""

    coder: str
    item: str
    order: tuple  # (submitted_at, assignment id): submission order within the coder
    values: dict[str, int] = field(default_factory=dict)
    gold: dict[str, int] | None = None
    reconciled: dict[str, int] = field(default_factory=dict)


def submissions_with_references(*, study: Study) -> dict[str, list[Submission]]:
    """Per coder username, their submissions in submission order (two queries)."""
    rows = (
        Score.objects.filter(
            assignment__item__study=study,
            assignment__status=Assignment.Status.SUBMITTED,
            value__isnull=False,
        )
        .order_by("assignment__submitted_at", "assignment_id")
        .values_list(
            "assignment_id",
            "assignment__coder__username",
            "assignment__item_id",
            "assignment__item__public_code",
            "assignment__submitted_at",
            "dimension__code",
            "value",
            "assignment__item__gold__item_id",
            "assignment__gold_role__version__expected",
        )
    )
    reconciled: dict[int, dict[str, int]] = {}
    for item_id, code, value in Reconciliation.objects.filter(
        item__study=study, item__gold__isnull=True
    ).values_list("item_id", "dimension__code", "value"):
        reconciled.setdefault(item_id, {})[code] = value
    by_assignment: dict[int, Submission] = {}
    for aid, coder, item_id, code, at, dim, value, gold_item, expected in rows:
        sub = by_assignment.get(aid)
        if sub is None:
            sub = by_assignment[aid] = Submission(
                coder=coder,
                item=code,
                order=(at, aid),
                gold=dict(expected) if gold_item is not None and expected else None,
                reconciled={} if gold_item is not None else reconciled.get(item_id, {}),
            )
        sub.values[dim] = value
    out: dict[str, list[Submission]] = {}
    for sub in sorted(by_assignment.values(), key=lambda s: s.order):
        out.setdefault(sub.coder, []).append(sub)
    return dict(sorted(out.items()))
