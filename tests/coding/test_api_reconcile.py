"""REST API for reconciliation, locking, unblinding, the condition key and CSV exports."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rest_framework.test import APIClient

from coding.models import Assignment, Event, Reconciliation, Score, Study
from coding.services import score_submit
from tests.coding.conftest import MODELS, full_values

V1 = "/api/v1"


@pytest.fixture
def coded(open_study):
    """Every item submitted by both coders; they disagree on D1 only (1 vs 2)."""
    p = open_study
    for coder, d1 in ((p.coder_a, 1), (p.coder_b, 2)):
        for a in Assignment.objects.filter(item__study=p.study, coder=coder):
            values = full_values(p.study, value=1, note=f"{coder.username} says")
            values["D1"]["value"] = d1
            score_submit(assignment=a, values=values, expected_version=0, by=coder)
    return p


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_queue_lists_disagreements_with_whitelisted_filters(coded):
    p = coded
    client = client_for(p.adjudicator)
    url = f"{V1}/studies/{p.study.pk}/reconciliation/"
    body = client.get(url).json()
    assert body["count"] == 12
    entry = body["results"][0]
    assert entry["dimension"] == "D1" and (entry["low"], entry["high"]) == (1, 2)
    assert entry["spread"] == 1 and entry["coders"] == 2 and entry["reconciled_value"] is None
    assert client.get(url + "?dimension=D2").json()["count"] == 0
    assert client.get(url + "?min_spread=2").json()["count"] == 0
    assert client.get(url + "?status=reconciled").json()["count"] == 0
    for bad in (
        "dimension=dimension__rubric__created_by",
        "min_spread=x",
        "min_spread=0",
        "status=item__study",
    ):
        assert client.get(f"{url}?{bad}").status_code == 400, bad
    # agreed dimensions were recorded automatically on submission
    assert Reconciliation.objects.filter(item__study=p.study, method="agreed").count() == 12 * 7


def test_side_by_side_is_anonymised_and_blind(coded):
    p = coded
    code = Assignment.objects.filter(item__study=p.study).first().item.public_code
    response = client_for(p.adjudicator).get(f"{V1}/studies/{p.study.pk}/reconciliation/{code}/")
    assert response.status_code == 200
    body = response.json()
    assert body["coders"] == ["Coder A", "Coder B"] and body["complete"] is True
    d1 = body["dimensions"][0]
    assert d1["code"] == "D1" and d1["disagreement"] is True and d1["decision"] is None
    assert sorted(s["value"] for s in d1["scores"]) == [1, 2]
    assert {s["coder"] for s in d1["scores"]} == {"Coder A", "Coder B"}
    text = response.content.decode()
    for secret in ('coder_a"', 'coder_b"', "SYSTEM PROMPT", "run-secret", *MODELS):
        assert secret not in text, secret
    assert body["dimensions"][1]["decision"]["method"] == "agreed"


def test_decide_records_and_conflicts_never_overwrite(coded):
    p = coded
    code = Assignment.objects.filter(item__study=p.study).first().item.public_code
    url = f"{V1}/studies/{p.study.pk}/reconciliation/{code}/decide/"
    first_pass = list(Score.objects.order_by("pk").values_list("pk", "value", "rationale"))
    adjudicator, lead = client_for(p.adjudicator), client_for(p.lead)
    decision = {"dimension": "D1", "value": 2, "method": "adjudicated", "note": "clear plan"}
    created = adjudicator.post(url, decision, format="json")
    assert created.status_code == 201, created.content
    first = created.json()
    assert first["value"] == 2 and first["decided_by"] == "adjudicator"
    # the lead loaded the page before that decision (saw none): 409, not an overwrite
    stale = lead.post(url, {**decision, "value": 1, "expected_id": None}, format="json")
    assert stale.status_code == 409
    replaced = lead.post(url, {**decision, "value": 1, "expected_id": first["id"]}, format="json")
    assert replaced.status_code == 201 and replaced.json()["value"] == 1
    again = adjudicator.post(url, {**decision, "expected_id": first["id"]}, format="json")
    assert again.status_code == 409
    assert Reconciliation.objects.get(item__public_code=code, dimension__code="D1").value == 1
    assert list(Score.objects.order_by("pk").values_list("pk", "value", "rationale")) == first_pass
    assert Event.objects.filter(verb="reconcile", target=f"{code}/D1").count() == 2


@pytest.mark.parametrize(
    "body",
    [
        {"dimension": "D1", "value": 1, "decided_by": 1},
        {"dimension": "D1", "value": 1, "item": "ABC-DEF"},
        {"dimension": "D1", "value": 1, "decided_at": "2020-01-01T00:00:00Z"},
        {"dimension": "D99", "value": 1},
        {"dimension": "D1", "value": 9},
        {"dimension": "D1", "value": 1, "method": "coin-flip"},
    ],
)
def test_decide_rejects_bad_or_extra_fields(coded, body):
    p = coded
    code = Assignment.objects.filter(item__study=p.study).first().item.public_code
    response = client_for(p.adjudicator).post(
        f"{V1}/studies/{p.study.pk}/reconciliation/{code}/decide/", body, format="json"
    )
    assert response.status_code == 400
    assert not Reconciliation.objects.filter(item__public_code=code, dimension__code="D1").exists()


def test_lock_unblind_and_condition_key(coded):
    p = coded
    sid = p.study.pk
    lead = client_for(p.lead)
    not_ready = lead.post(f"{V1}/studies/{sid}/lock/", {}, format="json")
    assert not_ready.status_code == 400 and "Not ready" in not_ready.json()["detail"]
    assert (
        lead.post(f"{V1}/studies/{sid}/unblind/", {"reason": "x"}, format="json").status_code == 409
    )
    assert lead.get(f"{V1}/studies/{sid}/key/").status_code == 403  # sealed to the lead
    locked = lead.post(
        f"{V1}/studies/{sid}/lock/", {"override": True, "reason": "pilot"}, format="json"
    )
    assert locked.status_code == 200 and locked.json()["status"] == "locked"
    assert Event.objects.get(verb="study_lock").payload["override"] is True
    auto = client_for(p.adjudicator).post(f"{V1}/studies/{sid}/reconciliation/auto-agree/")
    assert auto.status_code == 409  # reconciliation is closed once locked
    assert lead.post(f"{V1}/studies/{sid}/unblind/", {}, format="json").status_code == 400
    unblinded = lead.post(f"{V1}/studies/{sid}/unblind/", {"reason": "analysis"}, format="json")
    assert unblinded.status_code == 200 and unblinded.json()["status"] == "unblinded"
    assert Event.objects.get(verb="unblind").payload["reason"] == "analysis"
    before = Event.objects.filter(verb="key_view").count()
    keys = lead.get(f"{V1}/studies/{sid}/key/?limit=5").json()
    assert keys["count"] == 12 and len(keys["results"]) == 5
    assert all(row["model"] in MODELS for row in keys["results"])
    assert Event.objects.filter(verb="key_view").count() == before + 1

    for user in (p.coder_a, p.coder_b, p.adjudicator, p.outsider, p.other_lead):
        assert client_for(user).get(f"{V1}/studies/{sid}/key/").status_code == 404, user


def test_lock_rejects_extra_fields(coded):
    p = coded
    response = client_for(p.lead).post(
        f"{V1}/studies/{p.study.pk}/lock/",
        {"override": True, "reason": "r", "status": "unblinded"},
        format="json",
    )
    assert response.status_code == 400 and set(response.json()) == {"status"}
    assert Study.objects.get(pk=p.study.pk).status == Study.Status.OPEN


# --- exports ----------------------------------------------------------------------------------


def test_exports_stream_csv_for_the_lead_only(coded):
    p = coded
    sid = p.study.pk
    lead = client_for(p.lead)
    wide_blind = b"".join(lead.get(f"{V1}/studies/{sid}/exports/wide/").streaming_content)
    assert b"model" not in wide_blind.splitlines()[0]
    lead.post(f"{V1}/studies/{sid}/lock/", {"override": True, "reason": "pilot"}, format="json")
    lead.post(f"{V1}/studies/{sid}/unblind/", {"reason": "analysis"}, format="json")
    for kind in ("long", "wide", "design", "events"):
        response = lead.get(f"{V1}/studies/{sid}/exports/{kind}/", HTTP_ACCEPT="text/csv")
        assert response.status_code == 200, kind
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert len(rows) > 1, kind
    wide = lead.get(f"{V1}/studies/{sid}/exports/wide/")
    header = next(csv.reader(io.StringIO(b"".join(wide.streaming_content).decode())))
    assert header[-5:] == ["model", "scaffold", "prompt", "specification", "replicate"]
    assert "unblinded" in wide["Content-Disposition"]
    assert Event.objects.filter(verb="export", target="wide").count() == 3  # every download
    provenance = lead.get(f"{V1}/studies/{sid}/exports/long/provenance/").json()
    assert provenance["rows"] == 12 * 8 * 2 and len(provenance["sha256"]) == 64
    assert provenance["csv_url"].endswith(f"/api/v1/studies/{sid}/exports/long/")
    assert lead.get(f"{V1}/studies/{sid}/exports/secrets/").status_code == 404

    for user in (p.coder_a, p.coder_b, p.adjudicator, p.outsider, p.other_lead):
        client = client_for(user)
        for url in (
            f"{V1}/studies/{sid}/exports/wide/",
            f"{V1}/studies/{sid}/exports/long/",
            f"{V1}/studies/{sid}/exports/wide/provenance/",
        ):
            assert client.get(url).status_code == 404, (user, url)


def test_export_csv_is_streamed_and_neutralised(coded):
    p = coded
    a = Assignment.objects.filter(item__study=p.study, coder=p.coder_a).first()
    Score.objects.filter(assignment=a, dimension__code="D2").update(rationale="=HYPERLINK(1)")
    response = client_for(p.lead).get(f"{V1}/studies/{p.study.pk}/exports/long/")
    assert response.streaming
    text = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text
    assert json.dumps("coder_a") not in text  # long export uses pseudonyms
