"""Helpers for the gold / qualification tests: a study with gold items and settings."""

from __future__ import annotations

from coding.models import Assignment, Item
from coding.services import items_import, score_submit, study_open
from coding.services.gold import gold_set, quality_settings_update

from .conftest import make_records


def expected(study, value: int = 1) -> dict[str, int]:
    return {d.code: value for d in study.rubric.dimensions.all()}


def varied(study, shift: int = 0) -> dict[str, int]:
    """Expected scores that vary across dimensions (so kappa is defined)."""
    return {d.code: (i + shift) % 3 for i, d in enumerate(study.rubric.dimensions.all())}


def gold_study(personas, *, n_items=12, n_gold=6, rate=20, training=False, qual=0, kappa=0.6):
    """The personas' study with ``n_items`` items of which ``n_gold`` are gold, opened."""
    study = personas.study
    items_import(study=study, records=make_records(n_items + n_gold), by=personas.lead)
    quality_settings_update(
        study=study,
        by=personas.lead,
        gold_rate=rate,
        training=training,
        qualification_items=qual,
        pass_kappa=kappa,
    )
    golds = list(Item.objects.filter(study=study).order_by("external_id")[:n_gold])
    for i, item in enumerate(golds):
        gold_set(
            item=item,
            expected=varied(study, shift=i),
            explanations={"D1": f"Because {i}"},
            by=personas.lead,
        )
    study_open(study=study, by=personas.lead)
    study.refresh_from_db()
    return study, golds


def submit(assignment: Assignment, values: dict[str, int], by) -> Assignment:
    assignment.refresh_from_db()
    return score_submit(
        assignment=assignment,
        values={c: {"value": v, "rationale": "r"} for c, v in values.items()},
        expected_version=assignment.version,
        by=by,
    )
