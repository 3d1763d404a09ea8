"""The lead's blinding page: who may see it, the check task, rules, and what stays sealed."""

import re
import time

import pytest
from django.urls import reverse

from audit.models import BlindingCheck
from audit.services_blinding import blinding_check_request, blinding_check_run
from coding.models import ConditionKey, Event, Item, ScrubRule, Study
from coding.services import items_import, study_open
from tests.audit.conftest import voiced_records
from tests.coding.conftest import MODELS

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process


@pytest.fixture
def draft(personas, settings):
    settings.BLINDING_CHECK_PERMUTATIONS = 29  # p can reach 1/30 < 0.05
    items_import(study=personas.study, records=voiced_records(), by=personas.lead)
    return personas


def _urls(study, check_id=1, rule_id=1):
    return [
        ("get", reverse("audit:blinding", args=[study.pk])),
        ("get", reverse("audit:blinding-check-status", args=[study.pk, check_id])),
        ("post", reverse("audit:blinding-check", args=[study.pk])),
        ("post", reverse("audit:scrub-rule-add", args=[study.pk])),
        ("post", reverse("audit:scrub-rule-delete", args=[study.pk, rule_id])),
    ]


def test_only_the_lead_reaches_the_blinding_pages(draft, client):
    study = draft.study
    check = BlindingCheck.objects.create(study=study, requested_by=draft.lead)
    rule = ScrubRule.objects.create(study=study, kind="name", text="Kestrel", added_by=draft.lead)
    for user in (draft.coder_a, draft.adjudicator, draft.outsider, draft.other_lead):
        client.force_login(user)
        for method, url in _urls(study, check.pk, rule.pk):
            response = getattr(client, method)(url, {"kind": "name", "text": "Zzz"})
            assert response.status_code == 404, (user.username, url)
    assert BlindingCheck.objects.count() == 1 and ScrubRule.objects.count() == 1
    client.force_login(draft.lead)
    assert client.get(_urls(study)[0][1]).status_code == 200
    other = reverse("audit:blinding-check-status", args=[draft.other_study.pk, check.pk])
    assert client.get(other).status_code == 404


def test_check_runs_on_commit_is_logged_and_shows_no_condition(
    draft, client, django_capture_on_commit_callbacks
):
    client.force_login(draft.lead)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("audit:blinding-check", args=[draft.study.pk]), HTTP_HX_REQUEST="true"
        )
    # The response went out before the commit: it shows the queued check, polling.
    assert response.status_code == 200 and b'hx-trigger="every 1s"' in response.content
    check = BlindingCheck.objects.get(study=draft.study)
    assert check.status == BlindingCheck.Status.DONE, check.error
    status = client.get(reverse("audit:blinding-check-status", args=[draft.study.pk, check.pk]))
    assert b'id="check-results"' in status.content and b"hx-trigger" not in status.content
    event = Event.objects.get(verb="blinding_check", study=draft.study)
    assert event.actor == draft.lead and event.payload["check"] == check.pk
    fields = {f["field"]: f for f in check.results["fields"]}
    assert fields["model"]["accuracy"] > 0.6 and fields["model"]["chance"] == 8 / 24
    assert fields["model"]["p_value"] < 0.05 and "friend" in fields["model"]["word_ngrams"]
    assert {r["field"] for r in check.results["rates"]} >= {"model", "scaffold"}
    body = client.get(reverse("audit:blinding", args=[draft.study.pk])).content.decode()
    assert 'id="rate-tests"' in body
    for label in {*MODELS, *ConditionKey.objects.values_list("prompt", flat=True)}:
        assert label not in body, label
    assert not re.search(r"\bC[1-4]\b", body)
    # A second run of the same task finds nothing to claim.
    assert blinding_check_run(check_id=check.pk) is None


def test_progress_partial_polls_until_done(draft, client):
    check = BlindingCheck.objects.create(
        study=draft.study, requested_by=draft.lead, status="running", progress=0.4, stage="x"
    )
    client.force_login(draft.lead)
    url = reverse("audit:blinding-check-status", args=[draft.study.pk, check.pk])
    body = client.get(url).content.decode()
    assert 'hx-trigger="every 1s"' in body and 'value="40"' in body
    # While one check is queued or running, asking again returns it instead of a second.
    assert blinding_check_request(study=draft.study, by=draft.lead).pk == check.pk
    BlindingCheck.objects.filter(pk=check.pk).update(status="failed", error="boom")
    body = client.get(url).content.decode()
    assert "hx-trigger" not in body and "boom" in body


def test_rule_rescrubs_a_draft_and_is_refused_once_open(draft, client):
    client.force_login(draft.lead)
    url = reverse("audit:scrub-rule-add", args=[draft.study.pk])
    before = dict(Item.objects.filter(study=draft.study).values_list("pk", "content_sha256"))
    response = client.post(url, {"kind": "phrase", "text": "Here is a plan"}, follow=True)
    assert b"Rule added; 24 redactions" in response.content
    for item in Item.objects.filter(study=draft.study):
        text = item.content["messages"][-1]["content"]
        assert "Here is a plan" not in text and "[redacted]" in text
        assert item.content_sha256 != before[item.pk]
        assert item.redactions["study_rule"] == 1
    assert Event.objects.filter(verb="scrub_rule_add", study=draft.study).count() == 1
    study_open(study=draft.study, by=draft.lead)
    snapshot = dict(Item.objects.filter(study=draft.study).values_list("pk", "content_sha256"))
    response = client.post(url, {"kind": "name", "text": "ref"}, follow=True)
    assert b"only be added while the study is a draft" in response.content
    assert dict(Item.objects.filter(study=draft.study).values_list("pk", "content_sha256")) == (
        snapshot
    )
    # Bad input is a message, never a 500.
    for data in ({"kind": "regex", "text": "x"}, {"kind": "name", "text": "\x00ab"}, {}):
        assert client.post(url, data).status_code == 302


def test_rates_by_condition_need_unblinding_and_are_logged(draft, client):
    client.force_login(draft.lead)
    url = reverse("audit:blinding", args=[draft.study.pk]) + "?rates=1"
    body = client.get(url).content.decode()
    assert "zephyr-large" not in body
    assert not Event.objects.filter(verb="key_view").exists()
    Study.objects.filter(pk=draft.study.pk).update(status=Study.Status.UNBLINDED)
    body = client.get(url).content.decode()
    assert "zephyr-large" in body and 'data-rates-field="model"' in body
    event = Event.objects.get(verb="key_view", study=draft.study)
    assert event.actor == draft.lead and event.payload["what"] == "redaction rates by condition"


@pytest.mark.services
@pytest.mark.xdist_group("live_worker")
def test_a_real_worker_runs_the_check(personas, live_worker, settings):
    items_import(study=personas.study, records=voiced_records(), by=personas.lead)
    check = blinding_check_request(study=personas.study, by=personas.lead)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        check.refresh_from_db()
        if check.status in (BlindingCheck.Status.DONE, BlindingCheck.Status.FAILED):
            break
        time.sleep(0.5)
    assert check.status == BlindingCheck.Status.DONE, check.error
    assert check.progress == 1.0 and check.results["n_items"] == 24


def test_a_study_without_items_gets_an_explained_empty_check(personas, settings):
    check = blinding_check_request(study=personas.study, by=personas.lead)
    blinding_check_run(check_id=check.pk)
    check.refresh_from_db()
    assert check.status == BlindingCheck.Status.DONE
    assert check.results["n_items"] == 0
    assert all(f["accuracy"] is None for f in check.results["fields"])
