"""Position bias and Bradley-Terry rankings of a study (lead only; rankings logged)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import pytest
from django.urls import reverse

from audit.stats.bradley_terry import Comparison, bradley_terry
from audit.stats.position_bias import position_bias
from coding.models import Event, PairAssignment, Study
from coding.services import pair_judgment_submit, study_lock, study_unblind
from tests.coding.pairwise_data import PW_MODELS, all_choices, open_pairwise

STRENGTH = {"zephyr-large": 3, "orion-mini": 2, "GPT-4o": 1}


def test_position_bias_matches_exact_binomial_reference():
    # R: binom.test(9, 10) -> p-value = 0.02148, 95% CI 0.5549839 0.9974714
    r = position_bias(9, 1, ties=4)
    assert r.n == 10 and r.share_left == 0.9 and r.ties == 4
    assert r.p_value == pytest.approx(22 / 1024, abs=1e-12)
    assert r.ci == pytest.approx((0.5549839, 0.9974714), abs=1e-6)
    even = position_bias(5, 5)
    assert even.p_value == pytest.approx(1.0)
    empty = position_bias(0, 0, ties=3)
    assert empty.share_left is None and empty.p_value is None and empty.note
    with pytest.raises(ValueError):
        position_bias(-1, 2)


def _judge_all(study) -> list[Comparison]:
    """Judge every pair: on D1 the stronger model wins 3 of every 4 meetings of a model pair,
    D2 is always a tie, the rest pick A. Returns the D1 comparisons as the truth."""
    seen: Counter = Counter()
    truth = []
    assignments = PairAssignment.objects.filter(pair__study=study).select_related(
        "pair__study", "pair__first__condition_key", "pair__second__condition_key", "coder"
    )
    for a in assignments.order_by("pair_id", "coder_id"):
        m1, m2 = a.pair.first.condition_key.model, a.pair.second.condition_key.model
        strong, weak = sorted((m1, m2), key=lambda m: -STRENGTH[m])
        key = (strong, weak)
        seen[key] += 1
        winner = strong if seen[key] % 4 else weak
        truth.append(Comparison(winner, weak if winner == strong else strong, 1, "x"))
        first_won = winner == m1
        d1 = "A" if first_won == a.first_on_left else "B"
        choices = all_choices(study, "A") | {"D1": d1, "D2": "tie"}
        pair_judgment_submit(assignment=a, choices=choices, expected_version=0, by=a.coder)
    return truth


@pytest.fixture
def judged(personas):
    study = open_pairwise(personas)
    truth = _judge_all(study)
    return personas, truth


def _unblind(p):
    study_lock(study=p.study, by=p.lead)
    study_unblind(study=p.study, by=p.lead, reason="coding finished")
    p.study.refresh_from_db()


def _url(p, **params):
    base = reverse("audit:study-rankings", args=[p.study.pk])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def test_lead_sees_position_bias_while_blind_and_nothing_is_read(judged, client):
    p, _ = judged
    client.force_login(p.lead)
    response = client.get(_url(p))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="position-bias"' in body and 'id="sealed"' in body
    for model in PW_MODELS:
        assert model not in body
    assert not Event.objects.filter(study=p.study, verb="key_view").exists()
    # D3..D8 always "A": left for coders who saw the first item on the left, so the overall
    # share of left choices is above 0.5; ties (D2) are counted apart.
    overall = response.context["bias"]["overall"]
    assert overall["ties"] == 36 and overall["n"] == 36 * 7
    assert set(response.context["bias"]["by_coder"]) == {"coder_a", "coder_b"}
    assert client.get(_url(p, format="json")).status_code == 409


def test_rankings_after_unblinding_are_logged_and_match_the_choices(judged, client):
    p, truth = judged
    _unblind(p)
    client.force_login(p.lead)
    response = client.get(_url(p, dimension="D1", draws=50))
    assert response.status_code == 200
    result = response.context["bt"]
    assert result["overall"]["rank"] == ["zephyr-large", "orion-mini", "GPT-4o"]
    expected = bradley_terry([Comparison(c.winner, c.loser) for c in truth], 0)
    for model in PW_MODELS:
        assert result["overall"]["log_strength"][model] == pytest.approx(
            expected["overall"]["log_strength"][model], abs=1e-9
        )
    assert set(result["by_configuration"]) == {"C1", "C3"}
    views = Event.objects.filter(study=p.study, verb="key_view", actor=p.lead)
    assert views.count() == 1 and views.get().payload["source"] == "pairwise judgments"
    body = response.content.decode()
    assert 'id="strength-table"' in body and "zephyr-large" in body
    assert "36 comparisons, 0 ties" in body


def test_rankings_json_and_csv_cover_every_dimension(judged, client):
    p, _ = judged
    _unblind(p)
    client.force_login(p.lead)
    data = json.loads(client.get(_url(p, format="json", draws=20)).content)
    assert data["source"] == "pairwise judgments" and data["bootstrap"] == 20
    assert "D2" not in data["dimensions"]  # all ties: nothing to fit
    assert data["dimensions"]["D1"]["ties"] == 0 and data["dimensions"]["D1"]["n_comparisons"] == 36
    assert data["dimensions"]["D1"]["overall"]["ci"] is not None
    response = client.get(_url(p, format="csv", draws=0))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["dimension", "scope", "rank"]
    assert rows[1][:4] == ["D1", "overall", "1", "zephyr-large"]
    assert Event.objects.filter(study=p.study, verb="key_view").count() == 2


@pytest.mark.parametrize("params", [{"draws": "99999"}, {"draws": "x"}])
def test_hostile_parameters_are_400(judged, client, params):
    p, _ = judged
    _unblind(p)
    client.force_login(p.lead)
    assert client.get(_url(p, **params)).status_code == 400


@pytest.mark.parametrize("who", ["coder_a", "coder_b", "adjudicator", "outsider", "other_lead"])
def test_only_the_lead_opens_rankings(judged, client, who):
    p, _ = judged
    _unblind(p)
    client.force_login(getattr(p, who))
    assert client.get(_url(p)).status_code == 404
    assert client.get(_url(p, format="json")).status_code == 404
    assert not Event.objects.filter(study=p.study, verb="key_view").exists()


def test_rankings_of_an_ordinary_study_come_from_reconciled_scores(personas, client):
    from coding.models import Reconciliation
    from coding.services import items_import, study_open
    from tests.coding.pairwise_data import pairwise_records

    study = personas.study
    items_import(study=study, records=pairwise_records(), by=personas.lead)
    study_open(study=study, by=personas.lead)
    dims = list(study.rubric.dimensions.all())
    rows = []
    for item in study.items.select_related("condition_key"):
        # zephyr 2 > orion 1 > GPT-4o 0, except GPT-4o beats orion under C3 (a rank flip)
        value = {"zephyr-large": 2, "orion-mini": 1, "GPT-4o": 0}[item.condition_key.model]
        if item.condition_key.scaffold == "C3" and item.condition_key.model != "zephyr-large":
            value = 1 - value
        rows += [
            Reconciliation(item=item, dimension=d, value=value, method="adjudicated") for d in dims
        ]
    Reconciliation.objects.bulk_create(rows)
    study_lock(study=study, by=personas.lead, override=True, reason="test")
    study_unblind(study=study, by=personas.lead, reason="test")
    client.force_login(personas.lead)
    data = json.loads(client.get(_url(personas, format="json", draws=0)).content)
    assert data["source"] == "reconciled scores"
    d1 = data["dimensions"]["D1"]
    assert d1["n_comparisons"] == 18
    # A model that never loses has no finite MLE: reported, not invented.
    assert d1["overall"]["converged"] is False and d1["overall"]["log_strength"] is None
    assert d1["by_configuration"]["C1"]["converged"] is False
    assert Study.objects.get(pk=study.pk).status == Study.Status.UNBLINDED


def test_unknown_dimension_falls_back_to_the_first(judged, client):
    p, _ = judged
    _unblind(p)
    client.force_login(p.lead)
    response = client.get(_url(p, dimension="__class__", draws=0))
    assert response.status_code == 200 and response.context["dimension"] == "D1"
