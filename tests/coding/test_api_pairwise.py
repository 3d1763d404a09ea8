"""The pairwise API: a coder's own pairs (blind), the lead's position bias and rankings."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from coding.models import Event, PairAssignment
from coding.services import study_lock, study_unblind
from tests.coding.pairwise_data import PW_MODELS, all_choices, open_pairwise


@pytest.fixture
def pw(personas):
    open_pairwise(personas)
    return personas


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def _first(pw) -> PairAssignment:
    return (
        PairAssignment.objects.filter(coder=pw.coder_a)
        .select_related("pair__first", "pair__second")
        .order_by("position")
        .first()
    )


def test_coder_lists_and_reads_own_pairs_blind(pw):
    client = _client(pw.coder_a)
    rows = client.get(reverse("api-my-pairs", args=[pw.study.pk])).json()
    assert len(rows) == 18 and set(rows[0]) == {"pair", "status", "version"}
    a = _first(pw)
    assert client.get(reverse("api-my-next-pair", args=[pw.study.pk])).json()["pair"] == (
        a.pair.public_code
    )
    response = client.get(reverse("api-my-pair", args=[pw.study.pk, a.pair.public_code]))
    body = response.json()
    left = a.pair.first if a.first_on_left else a.pair.second
    assert body["a"]["content"] == left.content and body["choices"] == {}
    text = response.content.decode()
    for secret in (*PW_MODELS, "OpenAI", "chatcmpl-", a.pair.first.public_code, "first"):
        assert secret not in text


def test_submit_replay_and_conflict(pw):
    client = _client(pw.coder_a)
    a = _first(pw)
    url = reverse("api-my-pair-submit", args=[pw.study.pk, a.pair.public_code])
    choices = all_choices(pw.study, "tie") | {"D1": "B"}
    ok = client.post(url, {"version": 0, "choices": choices}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "submitted"
    assert ok.json()["choices"] == choices
    assert client.post(url, {"version": 0, "choices": choices}, format="json").status_code == 200
    other = all_choices(pw.study, "A")
    assert client.post(url, {"version": 1, "choices": other}, format="json").status_code == 409
    assert client.get(reverse("api-my-next-pair", args=[pw.study.pk])).json()["pair"] != (
        a.pair.public_code
    )


@pytest.mark.parametrize(
    "body",
    [
        {"version": 0, "choices": {"D1": "left"}},
        {"version": 0, "choices": {"D1": "A"}},  # not every dimension
        {"version": -1, "choices": {"D1": "A"}},
        {"version": 2**40, "choices": {"D1": "A"}},
        {"version": 0, "choices": []},
        {"version": 0, "choices": {"D1\x00": "A"}},
        {"version": 0, "choices": {"D1": "A"}, "first_on_left": True},
    ],
)
def test_hostile_bodies_are_400(pw, body):
    client = _client(pw.coder_a)
    a = _first(pw)
    url = reverse("api-my-pair-submit", args=[pw.study.pk, a.pair.public_code])
    assert client.post(url, body, format="json").status_code == 400
    a.refresh_from_db()
    assert a.status == PairAssignment.Status.OPEN


@pytest.mark.parametrize("who", ["adjudicator", "lead", "outsider", "other_lead"])
def test_pair_endpoints_404_for_everyone_but_the_coder(pw, who):
    client = _client(getattr(pw, who))
    code = _first(pw).pair.public_code
    assert client.get(reverse("api-my-pairs", args=[pw.study.pk])).status_code == 404
    assert client.get(reverse("api-my-pair", args=[pw.study.pk, code])).status_code == 404
    url = reverse("api-my-pair-submit", args=[pw.study.pk, code])
    body = {"version": 0, "choices": all_choices(pw.study)}
    assert client.post(url, body, format="json").status_code == 404


def test_lead_position_bias_then_rankings_after_unblinding(pw):
    for a in PairAssignment.objects.select_related("pair__study", "coder"):
        # Every coder always picks the left answer on D1: maximal position bias.
        choices = all_choices(pw.study, "tie") | {"D1": "A"}
        from coding.services import pair_judgment_submit

        pair_judgment_submit(assignment=a, choices=choices, expected_version=0, by=a.coder)
    lead = _client(pw.lead)
    bias = lead.get(reverse("api-position-bias", args=[pw.study.pk])).json()
    assert bias["overall"]["share_left"] == 1.0 and bias["overall"]["n"] == 36
    assert bias["overall"]["p_value"] == pytest.approx(2 / 2**36)
    assert bias["by_dimension"]["D2"]["ties"] == 36
    url = reverse("api-study-rankings", args=[pw.study.pk])
    assert lead.get(url).status_code == 409
    study_lock(study=pw.study, by=pw.lead)
    study_unblind(study=pw.study, by=pw.lead, reason="done")
    assert lead.get(url + "?draws=100000").status_code == 400
    data = lead.get(url + "?draws=0").json()
    # Sides alternate per pair, so always-left gives each model as many wins as losses.
    d1 = data["dimensions"]["D1"]
    assert d1["n_comparisons"] == 36 and d1["overall"]["converged"]
    assert all(abs(v) < 1e-6 for v in d1["overall"]["log_strength"].values())
    assert Event.objects.filter(study=pw.study, verb="key_view", actor=pw.lead).count() == 1
    for who in ("coder_a", "adjudicator", "outsider"):
        assert _client(getattr(pw, who)).get(url).status_code == 404
    assert json.dumps(bias).count("coder_") == 2
