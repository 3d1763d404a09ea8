"""Autosave, submit, optimistic locking and idempotent replays."""

import pytest

from coding.models import Assignment, Event, Score
from coding.services import Conflict, ServiceError, score_autosave, score_submit
from tests.coding.conftest import full_values


def _mine(personas, user):
    return (
        Assignment.objects.filter(item__study=personas.study, coder=user)
        .order_by("position")
        .first()
    )


def test_autosave_then_submit_locks(open_study):
    a = _mine(open_study, open_study.coder_a)
    a = score_autosave(
        assignment=a,
        values={"D1": {"value": 2, "rationale": "asks"}},
        expected_version=a.version,
        by=open_study.coder_a,
    )
    assert a.version == 1
    assert Score.objects.get(assignment=a, dimension__code="D1").value == 2
    a = score_submit(
        assignment=a,
        values=full_values(open_study.study),
        expected_version=1,
        by=open_study.coder_a,
    )
    assert a.status == "submitted" and a.submitted_at and len(a.scores_sha256) == 64
    assert a.content_sha256 == a.item.content_sha256
    assert Score.objects.filter(assignment=a).count() == 8
    assert Event.objects.filter(verb="submit", target=a.item.public_code).count() == 1
    with pytest.raises(Conflict):
        score_autosave(
            assignment=a,
            values={"D1": {"value": 0}},
            expected_version=a.version,
            by=open_study.coder_a,
        )
    assert Score.objects.get(assignment=a, dimension__code="D1").value == 1


def test_second_tab_gets_conflict_not_overwrite(open_study):
    a = _mine(open_study, open_study.coder_a)
    score_autosave(
        assignment=a, values={"D1": {"value": 2}}, expected_version=0, by=open_study.coder_a
    )
    with pytest.raises(Conflict):
        score_autosave(
            assignment=a, values={"D1": {"value": 0}}, expected_version=0, by=open_study.coder_a
        )
    assert Score.objects.get(assignment=a, dimension__code="D1").value == 2


def test_submit_requires_every_dimension(open_study):
    a = _mine(open_study, open_study.coder_a)
    values = full_values(open_study.study)
    del values["D8"]
    with pytest.raises(ServiceError, match="D8"):
        score_submit(assignment=a, values=values, expected_version=0, by=open_study.coder_a)
    a.refresh_from_db()
    assert a.status == "open"


def test_invalid_level_refused(open_study):
    a = _mine(open_study, open_study.coder_a)
    with pytest.raises(ServiceError, match="not one of"):
        score_autosave(
            assignment=a, values={"D1": {"value": 7}}, expected_version=0, by=open_study.coder_a
        )


def test_replayed_submit_is_idempotent(open_study):
    a = _mine(open_study, open_study.coder_a)
    values = full_values(open_study.study)
    score_submit(assignment=a, values=values, expected_version=0, by=open_study.coder_a)
    again = score_submit(assignment=a, values=values, expected_version=0, by=open_study.coder_a)
    assert again.status == "submitted"
    assert Event.objects.filter(verb="submit", target=a.item.public_code).count() == 1
    with pytest.raises(Conflict):
        score_submit(
            assignment=a,
            values=full_values(open_study.study, value=2),
            expected_version=0,
            by=open_study.coder_a,
        )
