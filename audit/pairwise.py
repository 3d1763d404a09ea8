"""Pairwise studies for the lead: position bias (no conditions) and Bradley-Terry rankings.

Position bias reads only which side each coder chose, so it is shown while the study is
blind. Rankings map every choice back to the models behind the two items, which reveals
the conditions: ``study_rankings_read`` opens only after unblinding, through the
condition-data door (one ``key_view`` Event per read). For an ordinary (items) study the
same rankings are derived from reconciled scores: within a scaffold, prompt and replicate
the model with the higher reconciled value wins (``comparisons_from_scores``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.db.models import Count

from coding.models import PairJudgment, Reconciliation, Study
from coding.services import ServiceError, condition_data_open

from .stats.bradley_terry import Comparison, bradley_terry, comparisons_from_scores
from .stats.position_bias import position_bias

SOURCE_PAIRWISE = "pairwise judgments"
SOURCE_SCORES = "reconciled scores"


def position_bias_report(*, study: Study) -> dict[str, Any]:
    """Share of A (left) choices overall, per coder and per dimension, exact binomial tests."""
    rows = (
        PairJudgment.objects.filter(assignment__pair__study=study)
        .values_list("assignment__coder__username", "dimension__code", "choice")
        .annotate(n=Count("pk"))
        .order_by()
    )
    overall: Counter[str] = Counter()
    by_coder: dict[str, Counter[str]] = defaultdict(Counter)
    by_dim: dict[str, Counter[str]] = defaultdict(Counter)
    for coder, dim, choice, n in rows:
        overall[choice] += n
        by_coder[coder][choice] += n
        by_dim[dim][choice] += n

    def test(c: Counter[str]) -> dict[str, Any]:
        return position_bias(c["A"], c["B"], c["tie"]).as_dict()

    return {
        "overall": test(overall),
        "by_coder": {name: test(c) for name, c in sorted(by_coder.items())},
        "by_dimension": {dim: test(c) for dim, c in sorted(by_dim.items())},
    }


def pairwise_comparisons(*, study: Study) -> tuple[dict[str, list[Comparison]], dict[str, int]]:
    """Per dimension, each non-tied choice as model beats model (configuration = scaffold
    when both items share it), and the number of ties. Reads the key: callers log."""
    # Grouped in the database: one row per distinct (dimension, choice, side, models,
    # scaffolds) with its count, which the fit weighs exactly like repeated comparisons.
    rows = (
        PairJudgment.objects.filter(assignment__pair__study=study)
        .values_list(
            "dimension__code",
            "choice",
            "assignment__first_on_left",
            "assignment__pair__first__condition_key__model",
            "assignment__pair__first__condition_key__scaffold",
            "assignment__pair__second__condition_key__model",
            "assignment__pair__second__condition_key__scaffold",
        )
        .annotate(n=Count("pk"))
        .order_by()
    )
    comparisons: dict[str, list[Comparison]] = defaultdict(list)
    ties: Counter[str] = Counter()
    for dim, choice, first_left, m1, s1, m2, s2, n in rows:
        if choice == PairJudgment.Choice.TIE:
            ties[dim] += n
            continue
        if not m1 or not m2 or m1 == m2:
            continue
        first_won = (choice == PairJudgment.Choice.A) == first_left
        winner, loser = (m1, m2) if first_won else (m2, m1)
        comparisons[dim].append(Comparison(winner, loser, n, s1 if s1 == s2 and s1 else None))
    return comparisons, dict(ties)


def score_comparisons(*, study: Study) -> tuple[dict[str, list[Comparison]], dict[str, int]]:
    """Per dimension, comparisons derived from reconciled values (reads the key: callers log)."""
    by_dim: dict[str, list[tuple[str, str, str, float]]] = defaultdict(list)
    rows = Reconciliation.objects.filter(item__study=study).values_list(
        "dimension__code",
        "value",
        "item__condition_key__model",
        "item__condition_key__scaffold",
        "item__condition_key__prompt",
        "item__condition_key__replicate",
    )
    for dim, value, model, scaffold, prompt, replicate in rows:
        if model and scaffold:
            by_dim[dim].append((scaffold, model, f"{prompt}|{replicate}", float(value)))
    return {dim: comparisons_from_scores(rows) for dim, rows in by_dim.items()}, {}


def study_rankings_read(
    *, study: Study, by, bootstrap: int, seed: int, dimensions: list[str] | None = None
) -> dict[str, Any]:
    """Bradley-Terry per dimension (overall, per scaffold, rank flips); after unblinding only,
    and every read recorded as a key view. ``dimensions`` limits the fits (None: all)."""
    if study.status != Study.Status.UNBLINDED:
        raise ServiceError("Rankings name the hidden models: available after unblinding.")
    pairwise = study.kind == Study.Kind.PAIRWISE
    source = SOURCE_PAIRWISE if pairwise else SOURCE_SCORES
    condition_data_open(
        study=study,
        by=by,
        what="rankings by model and scaffold",
        reason="analysis",
        target=study.name,
        detail={"purpose": "Bradley-Terry rankings", "source": source},
    )
    comparisons, ties = (pairwise_comparisons if pairwise else score_comparisons)(study=study)
    result: dict[str, Any] = {}
    for dim in sorted(comparisons):
        if dimensions is not None and dim not in dimensions:
            continue
        fit = bradley_terry(comparisons[dim], bootstrap, seed)
        n = sum(c.count for c in comparisons[dim])
        result[dim] = {"n_comparisons": n, "ties": ties.get(dim, 0), **fit}
    return {
        "study": study.pk,
        "source": source,
        "players": "models",
        "configuration": "scaffold",
        "bootstrap": bootstrap,
        "seed": seed,
        "dimensions": result,
    }
