"""Model co-coder runs: prompt, validation, retries, failure reasons, provenance, opt-in."""

from __future__ import annotations

import json

import pytest

from coding.exports import coder_pseudonyms
from coding.models import Assignment, Reconciliation, Score
from tests.transcripts.judge_setup import open_study_with_items
from transcripts import judge_services
from transcripts.judge_prompt import JUDGE_MARKER
from transcripts.models import JudgeCell, JudgeRun, JudgeScore

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process
State = JudgeCell.State
FAST = {"base_delay": 0.01, "max_delay": 0.05, "lease_seconds": 10}


def start(personas, endpoint, capture, **kwargs) -> JudgeRun:
    with capture(execute=True):
        run = judge_services.judge_run_create(
            study=personas.study, endpoint=endpoint, by=personas.lead, policy=FAST, **kwargs
        )
    run.refresh_from_db()
    return run


@pytest.fixture
def study(personas):
    return open_study_with_items(personas)


def test_run_scores_every_item_with_provenance(
    personas, study, fake_server, make_endpoint, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    run = start(personas, endpoint, django_capture_on_commit_callbacks, temperature=0.0)
    assert run.status == JudgeRun.Status.FINISHED
    cells = JudgeCell.objects.filter(run=run)
    assert cells.count() == 12
    assert set(cells.values_list("state", flat=True)) == {State.SUCCEEDED}
    assert JudgeScore.objects.filter(cell__run=run, value__isnull=False).count() == 12 * 8
    cell = cells.first()
    prov = cell.provenance
    assert prov["model"] == "atlas-7b" and prov["served_model"] == "atlas-7b-2025-06-01"
    assert prov["temperature"] == 0.0 and len(prov["messages_sha256"]) == 64
    assert len(run.instructions_sha256) == 64 and run.rubric_version == 1
    # The model saw exactly the coder-visible content and the rubric, nothing sealed.
    bodies = [r.body for r in fake_server.requests()]
    assert len(bodies) == 12
    sent = json.dumps(bodies)
    assert "secret-model-x" not in sent and "C3" not in sent
    system = bodies[0]["messages"][0]["content"]
    assert JUDGE_MARKER in system
    for dim in study.rubric.dimensions.prefetch_related("levels"):
        assert dim.definition in system
        for level in dim.levels.all():
            assert level.anchor in system
    user = next(b["messages"][1]["content"] for b in bodies if cell.item.public_code)
    assert user.startswith("Transcript to score:")
    texts = {m["content"] for b in bodies for m in b["messages"][1:]}
    for item_cell in cells.select_related("item"):
        for message in item_cell.item.content["messages"]:
            assert any(message["content"] in t for t in texts)


def test_judge_scores_are_deterministic_and_close_to_the_rules(
    personas, study, fake_server, make_endpoint, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    first = start(personas, endpoint, django_capture_on_commit_callbacks)
    second = start(personas, endpoint, django_capture_on_commit_callbacks)

    def values(run):
        return sorted(
            JudgeScore.objects.filter(cell__run=run).values_list(
                "cell__item_id", "dimension__code", "value"
            )
        )

    assert values(first) == values(second)
    assert len({v for _, _, v in values(first)}) == 3  # all three levels used


def test_malformed_reply_is_retried_with_the_reason_then_succeeds(
    personas, study, fake_server, make_endpoint, django_capture_on_commit_callbacks
):
    fake_server.configure(judge_output="malformed", judge_bad_attempts=1)
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    run = start(personas, endpoint, django_capture_on_commit_callbacks)
    cells = JudgeCell.objects.filter(run=run)
    assert set(cells.values_list("state", flat=True)) == {State.SUCCEEDED}
    cell = cells.first()
    assert [e["outcome"] for e in cell.attempt_log] == ["malformed", "ok"]
    assert "no JSON object" in cell.attempt_log[0]["error"]
    # The retry told the model what was wrong.
    retry = [r.body for r in fake_server.requests() if len(r.body["messages"]) == 4]
    assert len(retry) == 12
    assert "could not be used" in retry[0]["messages"][3]["content"]


@pytest.mark.parametrize(
    ("output", "reason"),
    [("malformed", "no JSON object"), ("missing", "no score for D8")],
)
def test_always_malformed_fails_with_the_reason(
    personas, study, fake_server, make_endpoint, django_capture_on_commit_callbacks, output, reason
):
    fake_server.configure(judge_output=output)
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    run = start(personas, endpoint, django_capture_on_commit_callbacks, format_attempts=2)
    assert run.status == JudgeRun.Status.FINISHED
    cells = JudgeCell.objects.filter(run=run)
    assert set(cells.values_list("state", flat=True)) == {State.FAILED}
    cell = cells.first()
    assert reason in cell.last_error and "Gave up after 2 malformed replies" in cell.last_error
    assert cell.attempts == 2
    assert not JudgeScore.objects.filter(cell__run=run).exists()


def test_out_of_range_values_are_rejected_per_dimension(
    personas, study, fake_server, make_endpoint, django_capture_on_commit_callbacks
):
    fake_server.configure(judge_output="out_of_range")
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    run = start(personas, endpoint, django_capture_on_commit_callbacks)
    cell = JudgeCell.objects.filter(run=run).first()
    assert cell.state == State.SUCCEEDED and cell.attempts == 1
    scores = {s.dimension.code: s for s in JudgeScore.objects.filter(cell=cell)}
    assert scores["D1"].value is None
    assert scores["D1"].rejected == "3 is out of range; expected one of [0, 1, 2]"
    assert scores["D2"].value is None and "not an integer level" in scores["D2"].rejected
    assert all(scores[c].value is not None and not scores[c].rejected for c in scores if c > "D2")
    assert "D1: 3 is out of range" in cell.last_error


def test_unknown_model_fails_the_run_once_with_one_message(
    personas, study, fake_server, make_endpoint, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(owner=personas.lead, server=fake_server, model="no-such-model")
    run = start(personas, endpoint, django_capture_on_commit_callbacks)
    assert run.status == JudgeRun.Status.FINISHED
    errors = set(JudgeCell.objects.filter(run=run).values_list("last_error", flat=True))
    assert len(errors) == 1 and "does not serve model" in errors.pop()
    # The first 404 tripped it: no other cell called the endpoint.
    assert sum(JudgeCell.objects.filter(run=run).values_list("attempts", flat=True)) == 1


def test_only_own_endpoints_and_open_studies(personas, fake_server, make_endpoint):
    from coding.services import ServiceError

    study = open_study_with_items(personas, n_items=2, submit=False)
    other = make_endpoint(owner=personas.other_lead, server=fake_server)
    with pytest.raises(ServiceError, match="own endpoints"):
        judge_services.judge_run_create(study=study, endpoint=other, by=personas.lead)
    mine = make_endpoint(owner=personas.lead, server=fake_server)
    with pytest.raises(ServiceError, match="Temperature"):
        judge_services.judge_run_create(study=study, endpoint=mine, by=personas.lead, temperature=9)
    study.status = "draft"
    study.save()
    with pytest.raises(ServiceError, match="Open the study"):
        judge_services.judge_run_create(study=study, endpoint=mine, by=personas.lead)


def _ratings(study):
    from audit.selectors import first_pass_ratings

    return first_pass_ratings(study=study)


def test_scores_stay_out_of_agreement_reconciliation_and_exports_unless_opted_in(
    personas, study, fake_server, make_endpoint, django_capture_on_commit_callbacks
):
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    before = _ratings(study)
    n_reconciled = Reconciliation.objects.filter(item__study=study).count()
    run = start(personas, endpoint, django_capture_on_commit_callbacks)
    assert _ratings(study) == before
    assert Reconciliation.objects.filter(item__study=study).count() == n_reconciled
    assert Assignment.objects.filter(item__study=study).count() == 24
    assert len(coder_pseudonyms(study=study)) == 2

    run = judge_services.judge_counts_as_coder_set(run=run, include=True, by=personas.lead)
    bot = run.coder
    assert bot.username == f"model-coder-{run.pk}" and not bot.is_active
    assert not bot.has_usable_password()
    after = _ratings(study)
    assert {c for _, c, _, _ in after} == {"coder_a", "coder_b", bot.username}
    assert len(after) == len(before) + 12 * 8
    assert Score.objects.filter(assignment__coder=bot).count() == 12 * 8
    assert len(coder_pseudonyms(study=study)) == 3  # exports name it as a coder
    # Reconciliation: items where the model disagrees now show three coders.
    from coding.selectors_reconcile import reconcile_item_get

    item = study.items.first()
    assert reconcile_item_get(item=item).submitted == 3

    run = judge_services.judge_counts_as_coder_set(run=run, include=False, by=personas.lead)
    assert _ratings(study) == before
    assert not Assignment.objects.filter(coder=bot).exists()
    assert len(coder_pseudonyms(study=study)) == 2
    verbs = list(study.events.values_list("verb", flat=True))
    assert {"judge_run_start", "judge_include", "judge_exclude"} <= set(verbs)
