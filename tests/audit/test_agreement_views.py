"""Agreement dashboard and exports: lead only, snapshot freshness, numbers, conditions."""

import csv
import io
import json

import pytest
from django.urls import reverse

from audit.models import AgreementSnapshot
from audit.stats.agreement import agreement_report
from coding.models import Event, Score, Study
from tests.audit.conftest import build_study, submit_all

pytestmark = pytest.mark.django_db

NAMES = ["audit:agreement", "audit:agreement-json", "audit:agreement-csv"]


def _urls(study_id):
    return [reverse(name, args=[study_id]) for name in NAMES]


def test_agreement_pages_are_lead_only(coded, client):
    p = coded
    for user in (p.outsider, p.other_lead, p.coder_a, p.coder_b, p.adjudicator):
        client.force_login(user)
        for url in _urls(p.study.pk):
            assert client.get(url).status_code == 404, (user, url)
    # Another lead's study, and a study id that does not exist, are 404 too.
    client.force_login(p.lead)
    for url in _urls(p.other_study.pk) + _urls(999999):
        assert client.get(url).status_code == 404, url
    for url in _urls(p.study.pk):
        assert client.get(url).status_code == 200, url
    client.logout()
    assert client.get(_urls(p.study.pk)[0]).status_code == 302


def test_empty_state_before_any_submission(personas, client):
    client.force_login(personas.lead)
    response = client.get(reverse("audit:agreement", args=[personas.study.pk]))
    assert response.status_code == 200
    assert b"No agreement yet" in response.content
    assert not AgreementSnapshot.objects.exists()
    body = json.loads(client.get(reverse("audit:agreement-json", args=[personas.study.pk])).content)
    assert body["results"] is None


def test_dashboard_numbers_charts_and_freshness(coded, client):
    p = coded
    client.force_login(p.lead)
    url = reverse("audit:agreement", args=[p.study.pk])
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") >= 2  # coefficient bars + history
    assert 'id="agreement-table"' in html and 'id="pair-table"' in html
    assert "Confusion matrices" in html and "Items with most disagreement" in html
    snapshot = AgreementSnapshot.objects.get()
    assert snapshot.n_submitted == 24
    # The dashboard's numbers are the statistics module's, on first-pass scores.
    ratings = [
        (s.assignment.item.public_code, s.assignment.coder.username, s.value)
        for s in Score.objects.filter(
            assignment__item__study=p.study, dimension__code="D1"
        ).select_related("assignment__item", "assignment__coder")
    ]
    expected = agreement_report(ratings, [0, 1, 2], n_boot=1000, seed=p.study.seed)
    d1 = snapshot.results["dimensions"][0]
    assert d1["code"] == "D1"
    assert d1["cohen_kappa"] == pytest.approx(expected["cohen_kappa"])
    assert d1["ci"]["cohen_kappa"] == pytest.approx(expected["ci"]["cohen_kappa"])
    assert f"{expected['cohen_kappa']:.3f}" in html
    assert sum(map(sum, d1["confusion"]["matrix"])) == 12
    # Fresh: a reload computes nothing new.
    client.get(url)
    assert AgreementSnapshot.objects.count() == 1
    # Per pair: the one pair equals the whole-dimension result for two coders.
    pair = snapshot.results["pairs"][0]
    assert (pair["a"], pair["b"]) == ("coder_a", "coder_b")
    assert pair["dimensions"]["D1"]["values"]["cohen_kappa"] == pytest.approx(d1["cohen_kappa"])
    # Conditions stay sealed before unblinding and nothing was read from the key.
    assert snapshot.results["conditions"] is None
    assert "after the study is locked and unblinded" in html
    assert not Event.objects.filter(verb="key_view").exists()


def test_stale_snapshot_is_recomputed(personas, client):
    from coding.services import items_import, study_open
    from tests.coding.conftest import make_records

    p = personas
    items_import(study=p.study, records=make_records(6), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    submit_all(p.study, [p.coder_a, p.coder_b], n_items=3)
    client.force_login(p.lead)
    url = reverse("audit:agreement", args=[p.study.pk])
    client.get(url)
    assert AgreementSnapshot.objects.get().n_submitted == 6
    submit_all_rest(p)
    response = client.get(url)
    assert list(AgreementSnapshot.objects.order_by("at").values_list("n_submitted", flat=True)) == [
        6,
        12,
    ]
    assert "2 so far" in response.content.decode()


def submit_all_rest(p):
    from coding.models import Assignment
    from coding.services import score_submit

    for a in Assignment.objects.filter(item__study=p.study, status="open").select_related(
        "item__study__rubric", "coder"
    ):
        values = {d.code: {"value": 1} for d in p.study.rubric.dimensions.all()}
        score_submit(assignment=a, values=values, expected_version=a.version, by=a.coder)


def test_conditions_after_unblinding_are_logged(unblinded, client):
    p = unblinded
    client.force_login(p.lead)
    html = client.get(reverse("audit:agreement", args=[p.study.pk])).content.decode()
    results = AgreementSnapshot.objects.get().results
    labels = [c["condition"] for c in results["conditions"]]
    assert "GPT-4o · C1" in labels and len(labels) == 12
    assert sum(c["n_items"] for c in results["conditions"]) == 24
    assert 'id="condition-table"' in html
    event = Event.objects.get(verb="key_view")
    assert event.actor == p.lead and event.payload["reason"] == "agreement"


def test_unblinding_adds_conditions_to_the_same_snapshot(coded, client):
    p = coded
    client.force_login(p.lead)
    url = reverse("audit:agreement", args=[p.study.pk])
    client.get(url)
    assert AgreementSnapshot.objects.get().results["conditions"] is None
    Study.objects.filter(pk=p.study.pk).update(status=Study.Status.UNBLINDED)
    client.get(url)
    snapshot = AgreementSnapshot.objects.get()
    assert snapshot.results["conditions"]


def test_exports_json_and_csv(coded, client):
    p = coded
    client.force_login(p.lead)
    body = json.loads(client.get(reverse("audit:agreement-json", args=[p.study.pk])).content)
    snapshot = AgreementSnapshot.objects.get()
    assert body["results"] == snapshot.results
    assert body["snapshot"]["n_submitted"] == 24
    response = client.get(reverse("audit:agreement-csv", args=[p.study.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "scope",
        "group",
        "dimension",
        "coefficient",
        "value",
        "ci_low",
        "ci_high",
        "n_items",
    ]
    kappa = [r for r in rows if r[:4] == ["dimension", "all", "D1", "cohen_kappa"]]
    assert float(kappa[0][4]) == pytest.approx(snapshot.results["dimensions"][0]["cohen_kappa"])
    assert any(r[0] == "pair" for r in rows)
    assert Event.objects.filter(verb="export", target__startswith="agreement.").count() == 2


def test_disagreement_list_links_to_reconciliation(coded, client):
    p = coded
    client.force_login(p.lead)
    html = client.get(reverse("audit:agreement", args=[p.study.pk])).content.decode()
    top = AgreementSnapshot.objects.get().results["disagreements"][0]
    assert top["n_dimensions"] >= 1
    try:
        link = reverse("coding:reconcile-item", args=[p.study.pk, top["item"]])
    except Exception:  # noqa: BLE001 - reconciliation URLs are optional here
        link = None
    if link:
        assert f'href="{link}"' in html
    assert top["item"] in html


def test_dashboard_query_count_is_bounded(personas, client, django_assert_max_num_queries):
    build_study(personas, n=12)
    client.force_login(personas.lead)
    url = reverse("audit:agreement", args=[personas.study.pk])
    client.get(url)  # computes the snapshot
    with django_assert_max_num_queries(20):
        assert client.get(url).status_code == 200
