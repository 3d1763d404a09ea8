"""Reads for the reliability pages: first-pass scores as (item, coder, dimension, value)."""

from __future__ import annotations

from coding.models import Assignment, Score, Study


def first_pass_scores(*, study: Study) -> list[tuple[int, int, str, int]]:
    """Every submitted first-pass score of the study. Item and coder are database ids, used
    only to group scores: the G study reports variance components, never who coded what."""
    return list(
        Score.objects.filter(
            assignment__item__study=study,
            assignment__item__gold__isnull=True,  # gold is not study data
            assignment__status=Assignment.Status.SUBMITTED,
        ).values_list("assignment__item_id", "assignment__coder_id", "dimension__code", "value")
    )
