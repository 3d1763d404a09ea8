"""Gold, quality settings, qualification and feedback: API and pages per persona."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from coding.models import Assignment, GoldItem

from .gold_helpers import expected, gold_study, submit

pytestmark = pytest.mark.django_db


def _first(study, coder, gold: bool):
    qs = Assignment.objects.filter(item__study=study, coder=coder, gold_role__isnull=not gold)
    return qs.order_by("position").first()


def test_gold_api_write_per_persona(personas, client):
    study, _ = gold_study(personas, rate=20)
    item = study.items.filter(gold__isnull=True).first()
    body = {"item": item.public_code, "expected": expected(study, 2), "explanations": {"D1": "x"}}
    url = f"/api/v1/studies/{study.pk}/gold/"
    for user in (personas.coder_a, personas.adjudicator, personas.outsider, personas.other_lead):
        client.force_login(user)
        assert client.post(url, body, content_type="application/json").status_code == 404
    assert not GoldItem.objects.filter(item=item).exists()
    client.force_login(personas.lead)
    r = client.post(url, body, content_type="application/json")
    assert r.status_code == 200 and r.json()["expected"]["D1"] == 2
    for bad in (
        body | {"expected": {"D1": 10**30}},
        body | {"expected": expected(study, 7)},
        body | {"expected": {"D99": 1}},
        body | {"item": "x" * 500},
        {"item": item.public_code, "expected": "nope"},
    ):
        assert client.post(url, bad, content_type="application/json").status_code == 400
    assert (
        client.post(url, body | {"item": "ZZZ-ZZZ"}, content_type="application/json").status_code
        == 404
    )


def test_quality_settings_api_bounds(personas, client):
    client.force_login(personas.lead)
    url = f"/api/v1/studies/{personas.study.pk}/quality-settings/"
    good = {"gold_rate": 10, "training": True, "qualification_items": 2, "pass_kappa": 0.5}
    assert client.put(url, good, content_type="application/json").json() == good
    for bad in ({"gold_rate": 99}, {"pass_kappa": "NaN"}, {"qualification_items": 10**40}):
        r = client.put(url, good | bad, content_type="application/json")
        assert r.status_code == 400


def test_feedback_api_reveals_nothing_before_submission(personas, client):
    study, _ = gold_study(personas, rate=50, training=True)
    gold_a = _first(study, personas.coder_a, gold=True)
    real_a = _first(study, personas.coder_a, gold=False)
    url = "/api/v1/studies/{}/my-assignments/{}/feedback/"
    client.force_login(personas.coder_a)
    assert client.get(url.format(study.pk, gold_a.item.public_code)).status_code == 404
    submit(gold_a, expected(study, 1), personas.coder_a)
    submit(real_a, expected(study, 1), personas.coder_a)
    r = client.get(url.format(study.pk, gold_a.item.public_code))
    assert r.status_code == 200
    assert {"yours", "expected", "explanation"} <= set(r.json()["rows"][0])
    assert client.get(url.format(study.pk, real_a.item.public_code)).status_code == 404
    # the other coder, the lead and outsiders cannot read coder A's feedback
    for user in (personas.coder_b, personas.lead, personas.outsider):
        client.force_login(user)
        assert client.get(url.format(study.pk, gold_a.item.public_code)).status_code == 404


def test_html_submit_of_gold_in_training_shows_feedback(personas, client):
    study, _ = gold_study(personas, rate=50, training=True)
    gold_a = _first(study, personas.coder_a, gold=True)
    client.force_login(personas.coder_a)
    data = {"version": 0}
    for code, v in expected(study, 1).items():
        data[f"value_{code}"] = v
    code = gold_a.item.public_code
    r = client.post(reverse("coding:submit-item", args=[study.pk, code]), data)
    assert r.status_code == 302
    assert r["Location"] == reverse("coding:gold-feedback", args=[study.pk, code])
    page = client.get(r["Location"]).content.decode()
    assert "Training item" in page and "Because" in page
    client.force_login(personas.coder_b)
    assert client.get(r["Location"]).status_code == 404


def test_gated_items_are_404_for_the_coder(personas, client):
    study, _ = gold_study(personas, n_gold=12, rate=10, qual=3)
    client.force_login(personas.coder_a)
    listed = client.get(f"/api/v1/studies/{study.pk}/my-assignments/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert len(rows) == 3
    nxt = client.get(f"/api/v1/studies/{study.pk}/my-assignments/next/").json()
    assert nxt["item"] in {r["item"] for r in rows}  # the round first, nothing else
    hidden = _first(study, personas.coder_a, gold=False)
    code = hidden.item.public_code
    assert client.get(f"/api/v1/studies/{study.pk}/my-assignments/{code}/").status_code == 404
    assert client.get(reverse("coding:code-item", args=[study.pk, code])).status_code == 404
    page = client.get(reverse("coding:queue", args=[study.pk])).content.decode()
    assert "qualification-note" in page


def test_gold_page_forms_lead_only(personas, client):
    study, golds = gold_study(personas, n_gold=12, rate=10, qual=3)
    sid = study.pk
    posts = {
        "coding:gold-settings": {
            "gold_rate": "15",
            "training": "on",
            "qualification_items": "3",
            "pass_kappa": "0.6",
        },
        "coding:gold-set": {"item_code": golds[0].public_code}
        | {f"expected_{c}": "2" for c in expected(study)},
        "coding:qualification-retry": {"coder": "coder_a"},
    }
    for user in (personas.coder_a, personas.adjudicator, personas.outsider):
        client.force_login(user)
        for name, data in posts.items():
            assert client.post(reverse(name, args=[sid]), data).status_code == 404
        assert client.get(reverse("coding:gold", args=[sid])).status_code == 404
    client.force_login(personas.lead)
    for name, data in posts.items():
        assert client.post(reverse(name, args=[sid]), data).status_code == 302
    assert study.quality.gold_rate == 15 and study.quality.training
    csv_file = io.BytesIO(b"item_code,dimension,expected_score,explanation\nZZZ-ZZZ,D1,1,x\n")
    csv_file.name = "gold.csv"
    r = client.post(reverse("coding:gold-import", args=[sid]), {"file": csv_file}, follow=True)
    assert "not in this study" in r.content.decode()
    page = client.get(reverse("coding:gold", args=[sid]) + f"?item={golds[0].public_code}")
    assert page.status_code == 200 and 'id="qualification"' in page.content.decode()


def test_api_next_after_a_failed_round_is_the_retry_not_a_real_item(personas, client):
    from coding.models import GoldVersion
    from coding.services.gold import qualification_retry

    study, _ = gold_study(personas, n_gold=12, rate=10, qual=2, kappa=0.9)
    round_one = Assignment.objects.filter(
        item__study=study, coder=personas.coder_a, gold_role__attempt__isnull=False
    )
    for a in list(round_one):
        gold = GoldVersion.objects.filter(gold__item_id=a.item_id).first().expected
        submit(a, {c: 2 - v for c, v in gold.items()}, personas.coder_a)
    client.force_login(personas.coder_a)
    url = f"/api/v1/studies/{study.pk}/my-assignments/next/"
    assert client.get(url).status_code == 204  # failed: nothing is next
    attempt = qualification_retry(study=study, coder=personas.coder_a, by=personas.lead)
    retry_codes = set(
        Assignment.objects.filter(gold_role__attempt=attempt).values_list(
            "item__public_code", flat=True
        )
    )
    # Real items sit at earlier positions than the retry round; they stay closed.
    assert client.get(url).json()["item"] in retry_codes
