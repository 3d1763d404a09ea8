"""Progress on the home page's study cards, in a few grouped queries whatever the count.

Each role sees what its work needs and nothing more: a coder only their own items (a
coder's pages never change when someone else submits), adjudicators and leads the study's
items fully coded and the item x dimension cells decided, leads also the submissions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q

from coding.models import Assignment, Dimension, Item, Membership, PairAssignment, Reconciliation
from coding.selectors import fully_coded


def _percent(done: int, total: int) -> int:
    return round(100 * done / total) if total else 0


def _coder_cards(user, study_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = (
        Assignment.objects.filter(coder=user, item__study_id__in=study_ids)
        .values("item__study_id")
        .annotate(total=Count("pk"), done=Count("pk", filter=Q(status=Assignment.Status.SUBMITTED)))
        .values_list("item__study_id", "done", "total")
    )
    # A pairwise study's work is pairs (a study has items or pairs assigned, never both).
    pair_rows = (
        PairAssignment.objects.filter(coder=user, pair__study_id__in=study_ids)
        .values("pair__study_id")
        .annotate(
            total=Count("pk"), done=Count("pk", filter=Q(status=PairAssignment.Status.SUBMITTED))
        )
        .values_list("pair__study_id", "done", "total")
    )
    cards = {pk: {"done": 0, "total": 0} for pk in study_ids}
    for pk, done, total in [*rows, *pair_rows]:
        cards[pk] = {"done": cards[pk]["done"] + done, "total": cards[pk]["total"] + total}
    for card in cards.values():
        card["percent"] = _percent(card["done"], card["total"])
        card["text"] = (
            f"{card['done']} of {card['total']} of your items coded"
            if card["total"]
            else "No items assigned to you yet"
        )
    return cards


def _study_cards(studies: list, with_submissions: bool) -> dict[int, dict[str, Any]]:
    ids = [s.pk for s in studies]
    items = dict(
        Item.objects.filter(study_id__in=ids)
        .values("study_id")
        .annotate(n=Count("pk"))
        .values_list("study_id", "n")
    )
    complete_ids = fully_coded(Item.objects.filter(study_id__in=ids)).values("pk")
    complete = dict(
        Item.objects.filter(pk__in=complete_ids)
        .values("study_id")
        .annotate(c=Count("pk"))
        .values_list("study_id", "c")
    )
    decided = dict(
        Reconciliation.objects.filter(item__study_id__in=ids)
        .values("item__study_id")
        .annotate(n=Count("pk"))
        .values_list("item__study_id", "n")
    )
    rubrics = {s.rubric_id for s in studies}
    n_dims = dict(
        Dimension.objects.filter(rubric_id__in=rubrics)
        .values("rubric_id")
        .annotate(n=Count("pk"))
        .values_list("rubric_id", "n")
    )
    submitted: dict[int, tuple[int, int]] = {}
    if with_submissions:
        for pk, done, total in (
            Assignment.objects.filter(item__study_id__in=ids)
            .values("item__study_id")
            .annotate(
                total=Count("pk"),
                done=Count("pk", filter=Q(status=Assignment.Status.SUBMITTED)),
            )
            .values_list("item__study_id", "done", "total")
        ):
            submitted[pk] = (done, total)
    cards = {}
    for s in studies:
        n_items = items.get(s.pk, 0)
        cells = n_items * n_dims.get(s.rubric_id, 0)
        card = {
            "done": complete.get(s.pk, 0),
            "total": n_items,
            "percent": _percent(complete.get(s.pk, 0), n_items),
            "text": f"{complete.get(s.pk, 0)} of {n_items} items fully coded"
            if n_items
            else "No items imported yet",
            "detail": f"{decided.get(s.pk, 0)} of {cells} cells reconciled" if cells else "",
        }
        if s.pk in submitted:
            done, total = submitted[s.pk]
            card["detail"] = f"{done} of {total} codings submitted · " + card["detail"]
        cards[s.pk] = card
    return cards


def study_card_progress(*, user, memberships: Iterable[Membership]) -> dict[int, dict[str, Any]]:
    """Study id -> {done, total, percent, text, detail} for the user's role in each study."""
    memberships = list(memberships)
    coder = [m.study_id for m in memberships if m.role == Membership.Role.CODER]
    leads = [m.study for m in memberships if m.role == Membership.Role.LEAD]
    adjudicators = [m.study for m in memberships if m.role == Membership.Role.ADJUDICATOR]
    cards: dict[int, dict[str, Any]] = {}
    if coder:
        cards |= _coder_cards(user, coder)
    if adjudicators:
        cards |= _study_cards(adjudicators, with_submissions=False)
    if leads:
        cards |= _study_cards(leads, with_submissions=True)
    return cards
