"""Reads for model co-coders: a study's judge runs, their progress, failures, calibration.

Only leads reach these (the views check). Human first-pass scores and reconciled values
are read here as plain rows and handed to ``audit.judge_calibration`` (pure, no database).
The bot account of an opted-in run is left out of the human references.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from audit.judge_calibration import build_calibration
from coding.models import Assignment, Dimension, Reconciliation, Score, Study

from .models_judge import JudgeCell, JudgeRun, JudgeScore

State = JudgeCell.State


def judge_run_list(*, study: Study) -> QuerySet[JudgeRun]:
    return (
        JudgeRun.objects.filter(study=study)
        .select_related("endpoint")
        .annotate(
            total=Count("cells"),
            succeeded=Count("cells", filter=Q(cells__state=State.SUCCEEDED)),
            failed=Count("cells", filter=Q(cells__state=State.FAILED)),
        )
    )


def judge_run_get(*, study: Study, run_id: int | str) -> JudgeRun:
    """A judge run of this study, or 404."""
    try:
        pk = int(run_id)
    except (TypeError, ValueError):
        raise Http404("No such run.")
    run = judge_run_list(study=study).filter(pk=pk).first()
    if run is None:
        raise Http404("No such run.")
    return run


@dataclass(frozen=True)
class JudgeProgress:
    total: int
    states: dict[str, int]
    rejected: int  # dimension scores rejected (out of range)
    done: int

    @property
    def succeeded(self) -> int:
        return self.states.get(State.SUCCEEDED, 0)

    @property
    def failed(self) -> int:
        return self.states.get(State.FAILED, 0)

    @property
    def in_flight(self) -> int:
        return self.states.get(State.CLAIMED, 0)

    @property
    def waiting(self) -> int:
        return self.states.get(State.PENDING, 0) + self.states.get(State.RETRYABLE, 0)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 100


def judge_progress(*, run: JudgeRun) -> JudgeProgress:
    states = dict(
        JudgeCell.objects.filter(run=run).values_list("state").annotate(n=Count("id")).order_by()
    )
    rejected = JudgeScore.objects.filter(cell__run=run).exclude(rejected="").count()
    total = sum(states.values())
    done = states.get(State.SUCCEEDED, 0) + states.get(State.FAILED, 0)
    return JudgeProgress(total=total, states=states, rejected=rejected, done=done)


def judge_problem_list(*, run: JudgeRun, limit: int = 50) -> list[dict[str, Any]]:
    """Failed cells and cells with rejected dimensions: item code and the reason."""
    rows = (
        JudgeCell.objects.filter(run=run)
        .filter(Q(state=State.FAILED) | ~Q(last_error=""))
        .exclude(state__in=JudgeCell.UNFINISHED)
        .order_by("item__public_code")
        .values_list("item__public_code", "state", "attempts", "last_error")[:limit]
    )
    return [
        {"item": code, "state": state, "attempts": attempts, "reason": error}
        for code, state, attempts, error in rows
    ]


def _dimensions(study: Study) -> list[tuple[str, str, tuple[int, ...]]]:
    dims = Dimension.objects.filter(rubric_id=study.rubric_id).prefetch_related("levels")
    return [
        (d.code, d.name, tuple(sorted(lv.value for lv in d.levels.all())))
        for d in dims.order_by("order", "code")
    ]


def judge_calibration(*, run: JudgeRun, n_boot: int = 1000) -> dict[str, Any]:
    """The judge-calibration table of one run (``audit.judge_calibration``)."""
    judge = JudgeScore.objects.filter(cell__run=run, cell__state=State.SUCCEEDED).values_list(
        "cell__item__public_code", "dimension__code", "value", "rejected"
    )
    bots = JudgeRun.objects.filter(study_id=run.study_id, coder__isnull=False).values("coder_id")
    human = (
        Score.objects.filter(
            assignment__item__study_id=run.study_id,
            assignment__status=Assignment.Status.SUBMITTED,
            value__isnull=False,
        )
        .exclude(assignment__coder_id__in=bots)
        .values_list(
            "assignment__item__public_code",
            "assignment__coder__username",
            "dimension__code",
            "value",
        )
    )
    reconciled = Reconciliation.objects.filter(item__study_id=run.study_id).values_list(
        "item__public_code", "dimension__code", "value"
    )
    return build_calibration(
        dimensions=_dimensions(run.study),
        judge=list(judge),
        human=list(human),
        reconciled=list(reconciled),
        n_boot=n_boot,
        seed=run.pk,
    )
