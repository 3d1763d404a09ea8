"""Locking and unblinding: only leads, only after locking, always logged; coders and
adjudicators never reach the condition key or any export."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from coding.models import Event, Study
from coding.services import Conflict, ServiceError, study_lock, study_unblind
from tests.coding.conftest import code_everything, resolve_all


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def locked(open_study):
    """Every item coded and reconciled, then locked."""
    p = open_study
    items = code_everything(p)
    resolve_all(p, items)
    study_lock(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    return p, items


def _secret_urls(p, code: str) -> list[str]:
    sid = p.study.pk
    return [
        reverse("coding:condition-key", args=[sid]),
        reverse("coding:condition-key-item", args=[sid, code]),
        reverse("coding:study-exports", args=[sid]),
        *[
            reverse("coding:export-csv", args=[sid, k])
            for k in ("long", "wide", "design", "events")
        ],
        *[
            reverse("coding:export-provenance", args=[sid, k])
            for k in ("long", "wide", "design", "events")
        ],
    ]


def test_unblind_requires_lock_and_reason_and_is_compare_and_set(open_study):
    p = open_study
    with pytest.raises(Conflict, match="locked"):
        study_unblind(study=p.study, by=p.lead, reason="too early")
    study_lock(study=p.study, by=p.lead, override=True, reason="pilot")
    with pytest.raises(ServiceError, match="why"):
        study_unblind(study=p.study, by=p.lead, reason="   ")
    study = study_unblind(study=p.study, by=p.lead, reason="pre-registered analysis")
    assert study.status == Study.Status.UNBLINDED
    with pytest.raises(Conflict):
        study_unblind(study=p.study, by=p.lead, reason="again")
    assert Event.objects.filter(study=p.study, verb="unblind").count() == 1


def test_lead_unblinding_is_logged_with_actor_time_and_reason(locked, client):
    p, _items = locked
    client.force_login(p.lead)
    url = reverse("coding:study-unblind", args=[p.study.pk])
    missing = client.post(url, {"reason": ""}, follow=True)
    assert "Say why you are unblinding" in missing.content.decode()
    assert Study.objects.get(pk=p.study.pk).status == "locked"
    response = client.post(url, {"reason": "Coding complete; starting ANOVA"})
    assert response.status_code == 302
    assert Study.objects.get(pk=p.study.pk).status == "unblinded"
    event = Event.objects.get(study=p.study, verb="unblind")
    assert event.actor == p.lead
    assert event.payload == {"reason": "Coding complete; starting ANOVA"}
    assert event.at is not None
    log = client.get(reverse("coding:study-events", args=[p.study.pk])).content.decode()
    assert "unblind" in log and "Coding complete; starting ANOVA" in log


def test_coders_and_adjudicator_never_see_the_key_or_exports(locked, client):
    p, items = locked
    study_unblind(study=p.study, by=p.lead, reason="analysis")
    urls = _secret_urls(p, items[0].public_code)
    for user in (p.coder_a, p.coder_b, p.adjudicator, p.outsider, p.other_lead):
        client.force_login(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 404, (user.username, url)
            assert b"zephyr" not in response.content and b"orion" not in response.content
    # and the adjudicator's own pages stay blind after unblinding
    client.force_login(p.adjudicator)
    for url in (
        reverse("coding:reconcile-queue", args=[p.study.pk]),
        reverse("coding:reconcile-item", args=[p.study.pk, items[0].public_code]),
    ):
        body = client.get(url).content.decode()
        for secret in ("zephyr-large", "orion-mini", "GPT-4o", "run-secret", "SYSTEM PROMPT"):
            assert secret not in body, (url, secret)
    assert not Event.objects.filter(study=p.study, verb="key_view").exists()


def test_lead_reads_the_key_only_after_unblinding_and_each_read_is_logged(locked, client):
    p, items = locked
    client.force_login(p.lead)
    key_page = reverse("coding:condition-key", args=[p.study.pk])
    key_item = reverse("coding:condition-key-item", args=[p.study.pk, items[0].public_code])
    sealed = client.get(key_page)  # locked, still sealed: the door refuses the lead
    assert sealed.status_code == 403 and "stay sealed to you" in sealed.content.decode()
    assert client.get(key_item).status_code == 403
    wide = b"".join(
        client.get(reverse("coding:export-csv", args=[p.study.pk, "wide"])).streaming_content
    )
    assert b"model" not in wide.splitlines()[0]
    study_unblind(study=p.study, by=p.lead, reason="analysis")
    page = client.get(key_page)
    assert page.status_code == 200
    body = page.content.decode()
    assert items[0].public_code in body and "zephyr-large" in body
    data = json.loads(client.get(key_item).content)
    key = items[0].condition_key
    assert data["model"] == key.model and data["scaffold"] == key.scaffold
    assert data["metadata"]["run_id"].startswith("run-secret")
    # One shape: the page's JSON is the API's key row.
    api = client.get(reverse("api-item-key", args=[p.study.pk, items[0].public_code]))
    assert api.status_code == 200 and api.json() == data
    views = Event.objects.filter(study=p.study, verb="key_view", actor=p.lead)
    assert views.count() == 3
    assert {e.target for e in views} == {"12 items", items[0].public_code}  # page and API
    wide = b"".join(
        client.get(reverse("coding:export-csv", args=[p.study.pk, "wide"])).streaming_content
    ).decode()
    assert wide.splitlines()[0].endswith("model,scaffold,prompt,specification,replicate")
    logged = Event.objects.filter(study=p.study, verb="export", target="wide").order_by("pk")
    assert [e.payload["conditions"] for e in logged] == [False, True]


def test_lock_view_with_and_without_override(open_study, client):
    p = open_study
    client.force_login(p.lead)
    url = reverse("coding:study-lock", args=[p.study.pk])
    refused = client.post(url, {}, follow=True).content.decode()
    assert "Not ready to lock" in refused
    no_reason = client.post(url, {"override": "1", "reason": ""}, follow=True).content.decode()
    assert "Give a reason" in no_reason
    assert Study.objects.get(pk=p.study.pk).status == "open"
    client.post(url, {"override": "1", "reason": "coder left"})
    assert Study.objects.get(pk=p.study.pk).status == "locked"
    event = Event.objects.get(study=p.study, verb="study_lock")
    assert event.payload["override"] is True and event.payload["reason"] == "coder left"
    page = client.get(reverse("coding:study-exports", args=[p.study.pk])).content.decode()
    assert "Unblind study" in page
