"""Agreement dashboard and exports: lead only, snapshot freshness, numbers, conditions."""

import csv
import io
import json
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from audit import services, tasks
from audit.models import AgreementSnapshot
from audit.services import snapshot_refresh
from audit.stats.agreement import agreement_report
from coding.models import Event, Score, Study
from coding.services import items_import, study_open
from tests.audit.conftest import build_study, submit_all, submit_all_rest
from tests.coding.conftest import make_records

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager")]

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


def _half_coded(p, guard: dict[str, bool] | None = None) -> None:
    """Six items, three coded by both coders (6 submissions) and a first snapshot of them;
    then the other three coded too, so the snapshot is 6 submissions behind."""
    items_import(study=p.study, records=make_records(6), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    submit_all(p.study, [p.coder_a, p.coder_b], n_items=3)
    if guard is not None:
        guard["allowed"] = True
    snapshot_refresh(study=p.study)
    if guard is not None:
        guard["allowed"] = False
    assert AgreementSnapshot.objects.get().n_submitted == 6
    submit_all_rest(p)


@pytest.fixture
def sent(monkeypatch):
    """Record snapshot tasks published instead of running them."""
    calls = []
    monkeypatch.setattr(tasks.agreement_snapshot, "apply_async", lambda **kw: calls.append(kw))
    return calls


@pytest.fixture
def no_inline_compute(monkeypatch) -> dict[str, bool]:
    """Fail the test if agreement is computed, until it sets ``["allowed"] = True``."""
    real = services.snapshot_compute
    state = {"allowed": False}

    def guarded(**kwargs):
        if not state["allowed"]:
            raise AssertionError("agreement was recomputed inside the request")
        return real(**kwargs)

    monkeypatch.setattr(services, "snapshot_compute", guarded)
    return state


def test_open_study_shows_the_stale_snapshot_and_queues_a_refresh(
    personas, client, sent, no_inline_compute, django_capture_on_commit_callbacks
):
    """While coding goes on, a lead's visit never recomputes: it requests the worker."""
    p = personas
    _half_coded(p, no_inline_compute)
    client.force_login(p.lead)
    url = reverse("audit:agreement", args=[p.study.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert list(AgreementSnapshot.objects.values_list("n_submitted", flat=True)) == [6]
    assert "6 submissions since this snapshot" in html and "(12 submitted now;" in html
    assert "a refresh is queued" in html and "Recompute now" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert sent == [
        {"args": [p.study.pk], "countdown": tasks._countdown(), "kwargs": {"by_id": p.lead.pk}}
    ]
    # Polling again is debounced: nothing more is queued, still nothing computed.
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(url).status_code == 200
    assert len(sent) == 1
    # The exports say which snapshot they hold and what it covers.
    body = json.loads(client.get(reverse("audit:agreement-json", args=[p.study.pk])).content)
    snapshot = AgreementSnapshot.objects.get()
    assert body["snapshot"] == {
        "id": snapshot.pk,
        "computed_at": snapshot.at.isoformat(),
        "at": snapshot.at.isoformat(),
        "n_submitted": 6,
        "n_submitted_now": 12,
        "n_behind": 6,
        "refresh_queued": True,
        "note": body["snapshot"]["note"],
    }
    assert "6 submitted since" in body["snapshot"]["note"]
    response = client.get(reverse("audit:agreement-csv", args=[p.study.pk]))
    assert f"snapshot-{snapshot.pk}.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows and {r["snapshot_id"] for r in rows} == {str(snapshot.pk)}
    assert {r["snapshot_n_submitted"] for r in rows} == {"6"}
    assert {r["snapshot_computed_at"] for r in rows} == {snapshot.at.isoformat()}
    # The queued task (run here as the worker would) brings it up to date.
    no_inline_compute["allowed"] = True
    tasks.agreement_snapshot(p.study.pk)
    no_inline_compute["allowed"] = False
    html = client.get(url).content.decode()
    assert "since this snapshot" not in html and "2 so far" in html


def test_refresh_not_queued_while_the_broker_is_down(
    personas, client, monkeypatch, no_inline_compute
):
    p = personas
    _half_coded(p, no_inline_compute)

    def down(study_id):
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks, "snapshot_request", down)
    client.force_login(p.lead)
    response = client.get(reverse("audit:agreement", args=[p.study.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "could not be queued just now" in html and "Recompute now" in html


def test_recompute_now_is_a_lead_only_csrf_protected_post(
    personas, sent, no_inline_compute, django_capture_on_commit_callbacks
):
    """ "Recompute now" queues an undelayed worker refresh; the request computes nothing."""
    p = personas
    _half_coded(p, no_inline_compute)
    url = reverse("audit:agreement", args=[p.study.pk])
    for user in (p.outsider, p.other_lead, p.coder_a, p.adjudicator):
        other = Client(enforce_csrf_checks=False)
        other.force_login(user)
        assert other.post(url).status_code == 404, user
    lead = Client(enforce_csrf_checks=True)
    lead.force_login(p.lead)
    assert lead.post(url).status_code == 403  # no CSRF token
    page = lead.get(url).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = lead.post(url, {"csrfmiddlewaretoken": token}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    html = response.content.decode()
    assert "Recomputing in the background" in html
    assert {"args": [p.study.pk], "countdown": 0, "kwargs": {"by_id": p.lead.pk}} in sent
    assert AgreementSnapshot.objects.count() == 1  # nothing computed in the request
    no_inline_compute["allowed"] = True
    tasks.agreement_snapshot(p.study.pk, by_id=p.lead.pk)  # the worker
    html = lead.get(url).content.decode()
    assert "since this snapshot" not in html and 'data-state="fresh"' in html
    assert list(
        AgreementSnapshot.objects.order_by("at", "pk").values_list("n_submitted", flat=True)
    ) == [6, 12]
    assert lead.put(url, HTTP_X_CSRFTOKEN=token).status_code == 405


def test_locked_study_queues_its_final_numbers_without_delay(
    personas, client, sent, no_inline_compute, django_capture_on_commit_callbacks
):
    """Final numbers: once coding is closed the page queues them at once (no debounce)."""
    p = personas
    _half_coded(p, no_inline_compute)
    Study.objects.filter(pk=p.study.pk).update(status=Study.Status.LOCKED)
    client.force_login(p.lead)
    url = reverse("audit:agreement", args=[p.study.pk])
    with django_capture_on_commit_callbacks(execute=True):
        html = client.get(url).content.decode()
    assert AgreementSnapshot.objects.count() == 1
    assert "6 submissions since this snapshot" in html and 'data-state="updating"' in html
    assert [kw["countdown"] for kw in sent] == [0]
    no_inline_compute["allowed"] = True
    tasks.agreement_snapshot(p.study.pk)
    html = client.get(url).content.decode()
    assert list(
        AgreementSnapshot.objects.order_by("at", "pk").values_list("n_submitted", flat=True)
    ) == [6, 12]
    assert "since this snapshot" not in html and "2 so far" in html


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


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    return html[start : html.index("</section>", start)]


def test_condition_table_names_each_coefficient_and_why_kappa_is_undefined(unblinded, client):
    # Issue 15 part 6: the table was headed Cohen's kappa but showed AC1 where kappa was
    # undefined. Now each cell shows kappa and AC1 under their own names, "—" with the
    # reason for an undefined kappa, and a heatmap view (conditions x dimensions).
    p = unblinded
    client.force_login(p.lead)
    url = reverse("audit:agreement", args=[p.study.pk])
    table = _section(client.get(url).content.decode(), "conditions")
    conditions = AgreementSnapshot.objects.get().results["conditions"]
    undefined = [
        (c["condition"], code)
        for c in conditions
        for code, d in c["dimensions"].items()
        if d["values"]["cohen_kappa"] is None
    ]
    assert undefined, "the fixture should leave kappa undefined in some condition"
    condition, code = undefined[0]
    entry = next(c for c in conditions if c["condition"] == condition)["dimensions"][code]
    reason = entry["reasons"]["cohen_kappa"]
    assert escape(f"Cohen's κ undefined: {reason}") in table
    cells = re.findall(r'<td class="num coef-cell" data-coefficient="(\w+)">(.*?)</td>', table)
    assert len(cells) == 12 * 8 * 2
    assert [name for name, _ in cells[:16]] == ["cohen_kappa"] * 8 + ["gwet_ac1"] * 8
    assert table.count('<abbr title="' + escape("Cohen's κ") + '">κ</abbr>') == 12
    assert table.count('<abbr title="' + escape("Gwet's AC1") + '">AC1</abbr>') == 12
    kappa_cells = [text for name, text in cells if name == "cohen_kappa"]
    assert sum('class="undefined"' in text for text in kappa_cells) == len(undefined)
    assert all('class="undefined"' not in text for name, text in cells if name == "gwet_ac1")

    heat = _section(client.get(url, {"conditions": "heatmap"}).content.decode(), "conditions")
    assert 'id="heatmap-cohen_kappa"' in heat and 'id="heatmap-gwet_ac1"' in heat
    assert 'id="condition-table"' not in heat
    kappa_map = heat[heat.index('id="heatmap-cohen_kappa"') : heat.index('id="heatmap-gwet_ac1"')]
    assert kappa_map.count("band-undefined") == len(undefined)
    assert "style=" not in heat and "<script" not in heat  # CSP: classes only


def test_unblinding_adds_conditions_to_the_same_snapshot(coded, client, sent):
    p = coded
    client.force_login(p.lead)
    url = reverse("audit:agreement", args=[p.study.pk])
    client.get(url)
    assert AgreementSnapshot.objects.get().results["conditions"] is None
    Study.objects.filter(pk=p.study.pk).update(status=Study.Status.UNBLINDED)
    html = client.get(url).content.decode()
    assert "Agreement per condition is not in this snapshot yet" in html
    assert AgreementSnapshot.objects.get().results["conditions"] is None  # not in the request
    tasks.agreement_snapshot(p.study.pk, by_id=p.lead.pk)  # the worker
    snapshot = AgreementSnapshot.objects.get()
    assert snapshot.results["conditions"]
    assert Event.objects.filter(verb="key_view", actor=p.lead).exists()


def test_exports_json_and_csv(coded, client):
    p = coded
    client.force_login(p.lead)
    body = json.loads(client.get(reverse("audit:agreement-json", args=[p.study.pk])).content)
    snapshot = AgreementSnapshot.objects.get()
    assert body["results"] == snapshot.results
    assert body["snapshot"]["n_submitted"] == 24
    assert body["snapshot"]["id"] == snapshot.pk and body["snapshot"]["n_behind"] == 0
    assert body["snapshot"]["computed_at"] == snapshot.at.isoformat()
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
        "snapshot_id",
        "snapshot_computed_at",
        "snapshot_n_submitted",
    ]
    assert {r[8] for r in rows[1:]} == {str(snapshot.pk)}
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
