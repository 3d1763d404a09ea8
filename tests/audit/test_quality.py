"""Coder quality and drift: numbers on a constructed study, the drift flag on the lead's
study page, and who may see what (pages and API; outsiders and coders get 404)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.quality import coder_quality, study_drift
from audit.services import snapshot_refresh
from coding.models import Assignment, GoldVersion
from tests.coding.gold_helpers import expected, gold_study, submit

pytestmark = pytest.mark.django_db


def _gold_of(a):
    return GoldVersion.objects.filter(gold__item_id=a.item_id).order_by("-number").first().expected


def _code_all(study, personas, drift_from: int | None = 15):
    """coder_a matches gold throughout; coder_b matches until ``drift_from`` submissions,
    then scores gold items wrong on every dimension. Ordinary items: both score 1."""
    for coder in (personas.coder_a, personas.coder_b):
        mine = Assignment.objects.filter(item__study=study, coder=coder).order_by("position")
        for n, a in enumerate(mine, start=1):
            if hasattr(a, "gold_role"):
                gold = _gold_of(a)
                drifting = coder == personas.coder_b and drift_from and n > drift_from
                submit(a, {c: (v + 1) % 3 if drifting else v for c, v in gold.items()}, coder)
            else:
                submit(a, expected(study, 1), coder)


@pytest.fixture
def coded(personas):
    study, _ = gold_study(personas, n_items=30, n_gold=30, rate=50)
    _code_all(study, personas)
    return personas, study


def test_quality_numbers(coded):
    personas, study = coded
    result = coder_quality(study=study, n_boot=100)
    a = result["coders"]["coder_a"]
    assert a["n_gold"] == 30
    d1 = a["gold"]["D1"]
    assert d1["n"] == 30 and d1["exact"] == 1.0 and d1["bias"] == 0.0 and d1["qwk"] == 1.0
    b = result["coders"]["coder_b"]["gold"]["D1"]
    assert b["exact"] < 1.0 and b["exact_ci"][0] < b["exact"] < b["exact_ci"][1]
    # against reconciled values: every ordinary item was agreed at 1
    assert a["reconciled"]["D1"]["exact"] == 1.0 and a["n_reconciled"] == 30


def test_drift_flags_only_the_drifting_coder(coded):
    personas, study = coded
    drift = {d.coder: d for d in study_drift(study=study)}
    assert not drift["coder_a"].flagged
    b = drift["coder_b"]
    assert b.flagged and b.alarm_at > 15  # after the drift began, not before
    assert b.alarm_at - 15 <= 10  # within ten submissions


def test_study_page_shows_the_flag(coded, client):
    """The flags come with the latest agreement snapshot (the worker computes both): a
    visit reads no scores."""
    personas, study = coded
    client.force_login(personas.lead)
    url = reverse("coding:study-detail", args=[study.pk])
    assert "notice-drift" not in client.get(url).content.decode()  # no snapshot yet
    snapshot_refresh(study=study)  # what the worker does after submissions
    with CaptureQueriesContext(connection) as queries:
        page = client.get(url).content.decode()
    assert "notice-drift" in page and "coder_b flagged" in page and "coder_a flagged" not in page
    assert not [q for q in queries.captured_queries if "coding_score" in q["sql"]]


def test_no_flag_without_drift(personas):
    study, _ = gold_study(personas, n_items=20, n_gold=20, rate=50)
    _code_all(study, personas, drift_from=None)
    assert not any(d.flagged for d in study_drift(study=study))


PAGES = ("audit:quality", "audit:drift", "coding:gold")
APIS = (
    "/api/v1/studies/{}/quality/",
    "/api/v1/studies/{}/quality/drift/",
    "/api/v1/studies/{}/gold/",
    "/api/v1/studies/{}/qualification/",
    "/api/v1/studies/{}/quality-settings/",
)


def test_lead_only_pages_and_api(coded, client):
    personas, study = coded
    for user, ok in (
        (personas.lead, True),
        (personas.coder_a, False),
        (personas.coder_b, False),
        (personas.adjudicator, False),
        (personas.outsider, False),
        (personas.other_lead, False),
    ):
        client.force_login(user)
        for name in PAGES:
            r = client.get(reverse(name, args=[study.pk]))
            assert r.status_code == (200 if ok else 404), (user, name)
        for url in APIS:
            r = client.get(url.format(study.pk))
            assert r.status_code == (200 if ok else 404), (user, url)
    client.force_login(personas.lead)
    data = client.get(APIS[0].format(study.pk)).json()
    assert set(data["coders"]) == {"coder_a", "coder_b"}
    drift = client.get(APIS[1].format(study.pk)).json()
    assert [c["flagged"] for c in drift["coders"]] == [False, True]
    page = client.get(reverse("audit:quality", args=[study.pk])).content.decode()
    assert "heat-gold" in page and "coder_b" in page
    page = client.get(reverse("audit:drift", args=[study.pk])).content.decode()
    assert "Flagged at submission" in page and "<svg" in page
