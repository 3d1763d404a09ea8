"""Reads for the coding app that need more than one `.get`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum

from coding.models import Assignment, Item, Membership, PairAssignment, Score, Study, StudyTally
from coding.models_tally import TALLY_FIELDS


def membership_list_for_user(*, user) -> QuerySet[Membership]:
    """The user's memberships with their studies, newest study first."""
    return (
        Membership.objects.filter(user=user)
        .select_related("study", "study__rubric")
        .order_by("-study__created_at", "study__name")
    )


def released(*, study: Study, coder) -> Q:
    """The coder's assignments they may see now: everything, or while a qualification
    round is required and not passed, only their qualification items."""
    from coding.services.gold import coder_released

    if coder_released(study=study, coder=coder):
        return Q()
    return Q(gold_role__attempt__isnull=False)


def coder_queue(*, study: Study, coder) -> QuerySet[Assignment]:
    """A coder's own assignments in their seeded order. Only their own data, nothing else."""
    return (
        Assignment.objects.filter(
            released(study=study, coder=coder), item__study=study, coder=coder
        )
        .select_related("item")
        .only("pk", "position", "status", "version", "item__public_code", "item__kind")
        .order_by("position")
    )


def coder_progress(*, study: Study, coder) -> tuple[int, int]:
    """(done, total) for this coder only."""
    agg = Assignment.objects.filter(
        released(study=study, coder=coder), item__study=study, coder=coder
    ).aggregate(total=Count("pk"), done=Count("pk", filter=Q(status=Assignment.Status.SUBMITTED)))
    return agg["done"], agg["total"]


def next_assignment(*, study: Study, coder) -> Assignment | None:
    return (
        Assignment.objects.filter(
            released(study=study, coder=coder),
            item__study=study,
            coder=coder,
            status=Assignment.Status.OPEN,
        )
        .select_related("item")
        .order_by("position")
        .first()
    )


def next_assignment_of_member(*, study_id: int, coder) -> Assignment | None:
    """``next_assignment`` with the coder membership checked in the same query (the API's
    hot path): None when there is no open item or the caller is no coder of the study.
    While a qualification round gates the coder, only its items are next."""
    return (
        Assignment.objects.filter(
            released(study=study_id, coder=coder),
            item__study_id=study_id,
            coder=coder,
            status=Assignment.Status.OPEN,
            item__study__memberships__user=coder,
            item__study__memberships__role=Membership.Role.CODER,
        )
        .select_related("item")
        .order_by("position")
        .first()
    )


def assignment_scores(*, assignment: Assignment) -> dict[str, Score]:
    """The coder's own scores (draft or submitted) keyed by dimension code."""
    if assignment.version == 0:
        return {}  # every score write bumps the version (scoring._claim): nothing saved yet
    scores = Score.objects.filter(assignment=assignment).select_related("dimension")
    return {s.dimension.code: s for s in scores}


@dataclass
class CoderProgress:
    username: str
    done: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def study_totals(*, study: Study) -> dict[str, int]:
    """The study's counters (``coding.models_tally``) summed over their rows: one query
    whose cost depends on the number of coders, not of items."""
    sums = StudyTally.objects.filter(study=study).aggregate(
        **{name: Sum(name) for name in TALLY_FIELDS}
    )
    return {name: sums[name] or 0 for name in TALLY_FIELDS}


def study_progress(*, study: Study) -> list[CoderProgress]:
    """Per-coder progress for the lead (never shown to coders), from the counters; a
    pairwise study counts its pair assignments."""
    if study.kind == Study.Kind.PAIRWISE:
        pairs = (
            PairAssignment.objects.filter(pair__study=study)
            .values("coder__username")
            .annotate(
                total=Count("pk"),
                done=Count("pk", filter=Q(status=PairAssignment.Status.SUBMITTED)),
            )
            .order_by("coder__username")
        )
        return [CoderProgress(r["coder__username"], r["done"], r["total"]) for r in pairs]
    rows = (
        StudyTally.objects.filter(study=study, user__isnull=False)
        .filter(Q(assigned__gt=0) | Q(submitted__gt=0))
        .order_by("user__username")
        .values_list("user__username", "submitted", "assigned")
    )
    return [CoderProgress(name, done, total) for name, done, total in rows]


def study_summary(*, study: Study) -> dict:
    """Counts for the lead dashboard, from the study's counters (one query)."""
    totals = study_totals(study=study)
    return {
        "items": totals["items"],
        "redactions": totals["redactions"],
        "assignments": totals["assigned"],
        "submitted": totals["submitted"],
        "items_complete": totals["completed"],
    }


def redaction_summary(*, study: Study) -> dict[str, int]:
    totals: dict[str, int] = {}
    for redactions in Item.objects.filter(study=study, redaction_count__gt=0).values_list(
        "redactions", flat=True
    ):
        for rule, n in (redactions or {}).items():
            totals[rule] = totals.get(rule, 0) + n
    return dict(sorted(totals.items()))


def design_matrix_rows(*, study: Study) -> Iterator[tuple[str, str, int]]:
    """(item code, coder, position) for the lead's design-matrix download."""
    yield from (
        Assignment.objects.filter(item__study=study)
        .order_by("coder__username", "position")
        .values_list("item__public_code", "coder__username", "position")
        .iterator(chunk_size=2000)
    )


def fully_coded(items: QuerySet[Item]) -> QuerySet[Item]:
    """The items of ``items`` that are fully coded: they have assignments and every one is
    submitted. The one definition (reconciliation queue, auto-agree, home cards); the
    item browser states apply the same rule to its per-item counts."""
    return items.annotate(
        n_assignments=Count("assignments"),
        n_open=Count("assignments", filter=Q(assignments__status=Assignment.Status.OPEN)),
    ).filter(n_assignments__gt=0, n_open=0)
