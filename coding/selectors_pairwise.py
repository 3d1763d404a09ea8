"""Reads for a coder's pairwise work: only their own pairs, sides and choices (blind)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from .models import Item, PairAssignment, Study


def pair_queue(*, study: Study, coder) -> QuerySet[PairAssignment]:
    """A coder's own pairs in their seeded order."""
    return (
        PairAssignment.objects.filter(pair__study=study, coder=coder)
        .select_related("pair")
        .only("pk", "position", "status", "version", "pair__public_code")
        .order_by("position")
    )


def pair_progress(*, study: Study, coder) -> tuple[int, int]:
    """(done, total) for this coder only."""
    agg = PairAssignment.objects.filter(pair__study=study, coder=coder).aggregate(
        total=Count("pk"), done=Count("pk", filter=Q(status=PairAssignment.Status.SUBMITTED))
    )
    return agg["done"], agg["total"]


def next_pair(*, study: Study, coder) -> PairAssignment | None:
    return (
        PairAssignment.objects.filter(
            pair__study=study, coder=coder, status=PairAssignment.Status.OPEN
        )
        .select_related("pair")
        .order_by("position")
        .first()
    )


def pair_sides(*, assignment: PairAssignment) -> tuple[Item, Item]:
    """(left = A, right = B) as this coder sees them."""
    pair = assignment.pair
    if assignment.first_on_left:
        return pair.first, pair.second
    return pair.second, pair.first


def pair_choices(*, assignment: PairAssignment) -> dict[str, str]:
    """The coder's own submitted choices keyed by dimension code (A = left, B = right)."""
    return dict(assignment.judgments.values_list("dimension__code", "choice"))
