"""Model co-coder pages: leads only (everyone else 404), coders never see the judge."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from django.urls import reverse

from coding.models import Assignment
from tests.factories import add_operator
from tests.transcripts.judge_setup import open_study_with_items
from transcripts import judge_services
from transcripts.models import JudgeCell, JudgeRun

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process
FAST = {"base_delay": 0.01, "max_delay": 0.05, "lease_seconds": 10}


@pytest.fixture
def judged(personas, fake_server, make_endpoint, django_capture_on_commit_callbacks):
    study = open_study_with_items(personas, n_items=12)
    endpoint = make_endpoint(owner=personas.lead, server=fake_server, name="Judge endpoint")
    with django_capture_on_commit_callbacks(execute=True):
        run = judge_services.judge_run_create(
            study=study, endpoint=endpoint, by=personas.lead, policy=FAST
        )
    run.refresh_from_db()
    return study, run, endpoint


def _urls(study, run) -> list[str]:
    kw = {"study_id": study.pk, "judge_id": run.pk}
    return [
        reverse("transcripts:judge", kwargs={"study_id": study.pk}),
        reverse("transcripts:judge-detail", kwargs=kw),
        reverse("transcripts:judge-progress", kwargs=kw),
        reverse("transcripts:judge-calibration-json", kwargs=kw),
        reverse("transcripts:judge-calibration-csv", kwargs=kw),
    ]


def test_lead_sees_the_calibration_table(judged, personas, login):
    study, run, _ = judged
    client = login(personas.lead)
    page = client.get(reverse("transcripts:judge-detail", args=[study.pk, run.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="calibration-table"' in html
    for reference in ("reconciled", "coder_a", "coder_b"):
        assert f'data-reference="{reference}"' in html
    assert html.count('data-dimension="D1"') == 3
    assert "Judge endpoint" in html and run.instructions_sha256[:10] in html
    index = client.get(reverse("transcripts:judge", args=[study.pk]))
    assert index.status_code == 200 and f"Run {run.pk}" in index.content.decode()


def test_json_and_csv_exports(judged, personas, login):
    study, run, _ = judged
    client = login(personas.lead)
    body = json.loads(
        client.get(reverse("transcripts:judge-calibration-json", args=[study.pk, run.pk])).content
    )
    assert body["judge"]["model"] == "atlas-7b"
    assert body["judge"]["config"]["temperature"] == 0.0
    assert body["results"]["references"] == ["reconciled", "coder_a", "coder_b"]
    d1 = body["results"]["dimensions"][0]
    assert d1["code"] == "D1" and d1["rows"][0]["n_items"] > 0
    assert set(d1["rows"][0]["ci"]) == {"cohen_kappa", "cohen_kappa_quadratic", "gwet_ac1"}
    response = client.get(reverse("transcripts:judge-calibration-csv", args=[study.pk, run.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["dimension", "reference", "n_items"]
    assert len(rows) == 1 + 8 * 3
    assert study.events.filter(verb="export", target__startswith="judge-calibration").count() == 2


@pytest.mark.parametrize("who", ["coder_a", "adjudicator", "outsider", "other_lead", "operator"])
def test_everyone_but_the_lead_gets_404(judged, personas, login, who):
    study, run, _ = judged
    user = add_operator(personas) if who == "operator" else getattr(personas, who)
    client = login(user)
    for url in _urls(study, run):
        assert client.get(url).status_code == 404, url
    kw = [study.pk, run.pk]
    for name in ("judge-cancel", "judge-retry-failed", "judge-counts-as-coder"):
        assert (
            client.post(reverse(f"transcripts:{name}", args=kw), {"include": "1"}).status_code
            == 404
        )
    assert client.post(reverse("transcripts:judge", args=[study.pk]), {}).status_code == 404
    run.refresh_from_db()
    assert not run.counts_as_coder


def test_another_studys_run_is_404_for_this_lead(judged, personas, login):
    study, run, _ = judged
    client = login(personas.other_lead)
    url = reverse("transcripts:judge-detail", args=[personas.other_study.pk, run.pk])
    assert client.get(url).status_code == 404


def test_hostile_input_never_500(judged, personas, login):
    study, _run, endpoint = judged
    client = login(personas.lead)
    url = reverse("transcripts:judge", args=[study.pk])
    for data in (
        {
            "endpoint": endpoint.pk,
            "temperature": "1e308",
            "max_tokens": "9" * 30,
            "format_attempts": 1,
        },
        {"endpoint": "x", "temperature": "nan", "max_tokens": -1, "format_attempts": 99},
        {"endpoint": 10**12, "temperature": "\x00", "max_tokens": "", "format_attempts": ""},
    ):
        response = client.post(url, data)
        assert response.status_code == 200
        assert "errorlist" in response.content.decode()
    assert JudgeRun.objects.filter(study=study).count() == 1


def test_start_from_the_form(
    personas, login, fake_server, make_endpoint, django_capture_on_commit_callbacks
):
    study = open_study_with_items(personas, n_items=3, submit=False)
    endpoint = make_endpoint(owner=personas.lead, server=fake_server)
    client = login(personas.lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("transcripts:judge", args=[study.pk]),
            {"endpoint": endpoint.pk, "temperature": 0, "max_tokens": 800, "format_attempts": 2},
        )
    run = JudgeRun.objects.get(study=study)
    assert response.status_code == 302 and response.url.endswith(f"/co-coder/{run.pk}/")
    assert set(JudgeCell.objects.filter(run=run).values_list("state", flat=True)) == {"succeeded"}
    assert run.policy["format_attempts"] == 2 and run.config["max_tokens"] == 800


def _coder_pages(client, study) -> str:
    queue = client.get(reverse("coding:queue", args=[study.pk]))
    assert queue.status_code == 200
    html = queue.content.decode()
    for a in Assignment.objects.filter(item__study=study, coder__username="coder_a")[:3]:
        page = client.get(reverse("coding:code-item", args=[study.pk, a.item.public_code]))
        assert page.status_code == 200
        html += page.content.decode()
    return re.sub(r"[A-Za-z0-9]{64}", "", html)  # CSRF tokens change per request


def test_coders_pages_do_not_change_or_mention_the_judge(
    personas, login, fake_server, make_endpoint, django_capture_on_commit_callbacks
):
    study = open_study_with_items(personas, n_items=6, submit=False)
    client = login(personas.coder_a)
    before = _coder_pages(client, study)
    endpoint = make_endpoint(owner=personas.lead, server=fake_server, name="Judge endpoint")
    with django_capture_on_commit_callbacks(execute=True):
        run = judge_services.judge_run_create(
            study=study, endpoint=endpoint, by=personas.lead, policy=FAST
        )
    judge_services.judge_counts_as_coder_set(run=run, include=True, by=personas.lead)
    after = _coder_pages(client, study)
    assert after == before
    for word in ("co-coder", "Judge endpoint", "atlas", "model-coder", "judge"):
        assert word.lower() not in after.lower()
