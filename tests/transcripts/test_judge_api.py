"""Model co-coder API: leads start runs, read progress and calibration, opt in and out."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from coding.models import Assignment
from tests.transcripts.judge_setup import open_study_with_items
from transcripts.models import JudgeRun

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process


@pytest.fixture
def api(personas):
    def make(user):
        client = APIClient()
        client.force_login(user)
        return client

    return make


def test_lead_runs_a_co_coder_through_the_api(
    personas, api, fake_server, make_endpoint, django_capture_on_commit_callbacks
):
    study = open_study_with_items(personas, n_items=6)
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    client = api(personas.lead)
    url = reverse("api-judge-runs", args=[study.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"endpoint": endpoint.pk, "temperature": 0}, format="json")
    assert response.status_code == 201, response.content
    judge_id = response.json()["id"]
    assert response.json()["model"] == "atlas-7b"
    detail = client.get(reverse("api-judge-run", args=[study.pk, judge_id])).json()
    assert detail["status"] == "finished" and detail["progress"]["succeeded"] == 6
    assert len(detail["instructions_sha256"]) == 64 and detail["config"]["temperature"] == 0.0
    assert [r["id"] for r in client.get(url).json()] == [judge_id]
    calibration = client.get(reverse("api-judge-calibration", args=[study.pk, judge_id])).json()
    assert calibration["references"] == ["reconciled", "coder_a", "coder_b"]
    toggle = reverse("api-judge-counts-as-coder", args=[study.pk, judge_id])
    assert client.post(toggle, {"include": True}, format="json").json()["counts_as_coder"]
    bot = JudgeRun.objects.get(pk=judge_id).coder
    assert Assignment.objects.filter(coder=bot).count() == 6
    assert not client.post(toggle, {"include": False}, format="json").json()["counts_as_coder"]
    assert not Assignment.objects.filter(coder=bot).exists()


@pytest.mark.parametrize(
    "body",
    [
        {"endpoint": "x"},
        {"endpoint": 10**20},
        {"endpoint": 1, "temperature": 1e308},
        {"endpoint": 1, "max_tokens": -5},
        {"endpoint": 1, "format_attempts": 99},
        [],
        "nonsense",
    ],
)
def test_hostile_bodies_are_400(personas, api, fake_server, make_endpoint, body):
    study = open_study_with_items(personas, n_items=1, submit=False)
    make_endpoint(owner=personas.lead, server=fake_server)
    response = api(personas.lead).post(
        reverse("api-judge-runs", args=[study.pk]), body, format="json"
    )
    assert response.status_code == 400
    assert not JudgeRun.objects.exists()


def test_someone_elses_endpoint_is_refused(personas, api, fake_server, make_endpoint):
    study = open_study_with_items(personas, n_items=1, submit=False)
    theirs = make_endpoint(owner=personas.other_lead, server=fake_server)
    response = api(personas.lead).post(
        reverse("api-judge-runs", args=[study.pk]), {"endpoint": theirs.pk}, format="json"
    )
    assert response.status_code == 400 and "endpoint" in response.json()


@pytest.mark.parametrize("who", ["coder_a", "coder_b", "adjudicator", "outsider", "other_lead"])
def test_only_the_lead(personas, api, fake_server, make_endpoint, who):
    study = open_study_with_items(personas, n_items=1, submit=False)
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    from transcripts.judge_services import judge_run_create

    run = judge_run_create(study=study, endpoint=endpoint, by=personas.lead, dispatch=False)
    client = api(getattr(personas, who))
    args = [study.pk, run.pk]
    assert client.get(reverse("api-judge-runs", args=[study.pk])).status_code == 404
    assert client.get(reverse("api-judge-run", args=args)).status_code == 404
    assert client.get(reverse("api-judge-calibration", args=args)).status_code == 404
    toggle = client.post(reverse("api-judge-counts-as-coder", args=args), {"include": True})
    assert toggle.status_code == 404
