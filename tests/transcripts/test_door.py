"""A generation run that feeds a blinded study is condition data of that study.

Found on main: the lead could read the run's transcripts (endpoint, scaffold, prompt) and
match them to items without unblinding, nothing logged; the claim report carried the run
card for a co-lead who got 404 on the run; the admin's transcript page linked items; a
study made from a run was named after it. Now every read passes the study's door.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from audit.claims import claim_report_build
from coding.models import Event, Membership, Study
from coding.services import ServiceError
from tests.factories import UserFactory, make_admin
from tests.transcripts.conftest import FAST_POLICY, builtin_scaffolds, demo_prompt_set
from transcripts import services
from transcripts.models import GenerationRun

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process

MODEL = "borealis-70b"


def _run(owner, server, make_endpoint, capture) -> GenerationRun:
    endpoint = make_endpoint(owner=owner, server=server, model=MODEL, name="Borealis")
    with capture(execute=True):
        run = services.run_create(
            by=owner,
            name="Borealis sweep",  # run names may name models
            endpoints=[endpoint],
            scaffolds=builtin_scaffolds(),
            prompt_set=demo_prompt_set(),
            max_prompts=1,
            policy=FAST_POLICY,
        )
    run.refresh_from_db()
    assert run.status == GenerationRun.Status.FINISHED
    return run


@pytest.fixture
def operated(personas, fake_server, make_endpoint, django_capture_on_commit_callbacks):
    """The operator generates and hands the study to the lead; coders and adjudicator join."""
    p = personas
    p.operator = UserFactory(username="operator")
    p.admin = make_admin()
    run = _run(p.operator, fake_server, make_endpoint, django_capture_on_commit_callbacks)
    study = services.run_to_study(run=run, by=p.operator, lead="lead")
    for user, role in ((p.coder_a, "coder"), (p.coder_b, "coder"), (p.adjudicator, "adjudicator")):
        Membership.objects.create(study=study, user=user, role=role)
    p.run, p.run_study = run, study
    return p


def run_pages(run: GenerationRun) -> list[str]:
    cell = run.transcripts.first()
    return [
        reverse("transcripts:run-detail", args=[run.pk]),
        reverse("transcripts:run-progress", args=[run.pk]),
        reverse("transcripts:run-card-md", args=[run.pk]),
        reverse("transcripts:run-card-json", args=[run.pk]),
        reverse("transcripts:transcript-list", args=[run.pk]),
        reverse("transcripts:transcript-detail", args=[run.pk, cell.pk]),
    ]


def run_api(run: GenerationRun) -> list[str]:
    return [
        reverse("api-generation-run", args=[run.pk]),
        reverse("api-generation-card", args=[run.pk]),
        reverse("api-generation-card-md", args=[run.pk]),
        reverse("api-generation-transcripts", args=[run.pk]),
    ]


def key_views(study) -> list[Event]:
    return list(Event.objects.filter(study=study, verb="key_view").order_by("pk"))


def test_handing_over_makes_the_creator_operator_and_the_name_neutral(operated):
    p = operated
    roles = dict(Membership.objects.filter(study=p.run_study).values_list("user__username", "role"))
    assert roles["lead"] == "lead" and roles["operator"] == "operator"
    assert p.run_study.name.startswith("Blinded coding study ")
    assert "borealis" not in p.run_study.name.lower()
    assert "Borealis" not in p.run_study.description


def test_run_pages_for_each_persona(operated, client):
    p = operated
    pages = run_pages(p.run)
    for user in (p.lead, p.coder_a, p.coder_b, p.adjudicator, p.outsider, p.admin):
        client.force_login(user)
        for url in pages:
            assert client.get(url, {"reason": "x"}).status_code == 404, (user, url)
    client.force_login(p.operator)
    for url in pages:
        asked = client.get(url)
        assert asked.status_code == 403 and "door-reason" in asked.content.decode(), url
        assert MODEL not in asked.content.decode()
    assert key_views(p.run_study) == []
    first = client.get(pages[0], {"reason": "cells failed; re-running"})
    assert first.status_code == 200 and MODEL in first.content.decode()
    for url in pages[1:]:  # the reason covers the session's next pages; each is recorded
        assert client.get(url).status_code == 200, url
    views = key_views(p.run_study)
    assert len(views) == len(pages)
    assert {e.actor for e in views} == {p.operator}
    assert {e.payload["reason"] for e in views} == {"cells failed; re-running"}
    assert all(e.payload["blinded"] and e.payload["role"] == "operator" for e in views)
    assert any("transcript" in e.payload["what"] for e in views)


def test_a_lead_who_generated_is_refused_the_run_once_it_feeds_the_study(
    personas, fake_server, make_endpoint, django_capture_on_commit_callbacks, client
):
    p = personas
    run = _run(p.lead, fake_server, make_endpoint, django_capture_on_commit_callbacks)
    client.force_login(p.lead)
    assert client.get(reverse("transcripts:transcript-list", args=[run.pk])).status_code == 200
    study = services.run_to_study(run=run, by=p.lead)
    for url in run_pages(run):
        page = client.get(url, {"reason": "I just want to check"})
        assert page.status_code == 403 and "door-sealed" in page.content.decode(), url
        assert MODEL not in page.content.decode()
    listing = client.get(reverse("transcripts:run-list")).content.decode()
    assert f"Run {run.pk}" in listing and "sealed" in listing and "Borealis sweep" not in listing
    api = APIClient()
    api.force_authenticate(p.lead)
    for url in run_api(run):
        assert api.get(url, {"reason": "x"}).status_code == 403, url
    listed = api.get(reverse("api-generation-runs")).json()
    assert listed[0]["name"] == f"Sealed run {run.pk}" and listed[0]["endpoints"] == []
    resume = api.post(reverse("api-generation-resume", args=[run.pk]))
    assert resume.status_code == 403
    assert key_views(study) == []
    # After unblinding the lead reads the run again; each read is a key view.
    Study.objects.filter(pk=study.pk).update(status=Study.Status.UNBLINDED)
    assert client.get(run_pages(run)[4]).status_code == 200
    assert api.get(run_api(run)[3]).status_code == 200
    assert [e.payload["blinded"] for e in key_views(study)] == [False, False]


def test_run_api_asks_the_operator_why(operated):
    p = operated
    api = APIClient()
    for user in (p.lead, p.coder_a, p.adjudicator, p.outsider, p.admin):
        api.force_authenticate(user)
        for url in run_api(p.run):
            assert api.get(url, {"reason": "x"}).status_code == 404, (user, url)
    api.force_authenticate(p.operator)
    for url in run_api(p.run):
        missing = api.get(url)
        assert missing.status_code == 400 and "reason" in missing.json(), url
    cells = api.get(run_api(p.run)[3], HTTP_X_KEY_REASON="checking refusals")
    assert cells.status_code == 200 and {c["endpoint"] for c in cells.json()} == {"Borealis"}
    listed = api.get(reverse("api-generation-runs")).json()
    assert listed[0]["name"] == f"Sealed run {p.run.pk}"  # listing is not a read
    assert [e.payload["reason"] for e in key_views(p.run_study)] == ["checking refusals"]


def test_claim_report_of_a_blinded_study_has_no_run_card(operated, client):
    p = operated
    co_lead = UserFactory(username="co_lead")
    Membership.objects.create(study=p.run_study, user=co_lead, role="lead")
    client.force_login(co_lead)
    assert client.get(run_pages(p.run)[3]).status_code == 404
    body = client.get(reverse("audit:claim-report-json", args=[p.run_study.pk])).content
    report = json.loads(body)
    assert report["run_cards"] == []
    text = body.decode() + client.get(
        reverse("audit:claim-report-md", args=[p.run_study.pk])
    ).content.decode(errors="replace")
    # The run card's scaffold hashes would identify the conditions; the words "sha256" may
    # appear (a claim-level rule names the hash it needs), the hash values may not.
    hashes = {cell.scaffold.sha256 for cell in p.run.transcripts.select_related("scaffold")}
    assert hashes
    for secret in (MODEL, "Borealis", *hashes):
        assert secret not in text, secret
    Study.objects.filter(pk=p.run_study.pk).update(status=Study.Status.UNBLINDED)
    p.run_study.refresh_from_db()
    report = claim_report_build(study=p.run_study, by=co_lead)
    assert report["run_cards"] and report["run_cards"][0]["run"]["id"] == p.run.pk
    assert any(e.actor == co_lead for e in key_views(p.run_study))


def test_admin_pages_pass_the_door(operated, client):
    p = operated
    cell = p.run.transcripts.first()
    change = reverse("admin:transcripts_transcript_change", args=[cell.pk])
    run_change = reverse("admin:transcripts_generationrun_change", args=[p.run.pk])
    client.force_login(p.admin)
    listing = client.get(reverse("admin:transcripts_transcript_changelist")).content.decode()
    assert MODEL not in listing and "sealed" in listing
    runs = client.get(reverse("admin:transcripts_generationrun_changelist")).content.decode()
    assert "Borealis sweep" not in runs and f"Run {p.run.pk} (sealed)" in runs
    asked = client.get(change)
    assert asked.status_code == 403 and "door-reason" in asked.content.decode()
    assert cell.item.public_code not in asked.content.decode()
    opened = client.get(change, {"reason": "support ticket 41"})
    assert opened.status_code == 200 and cell.item.public_code in opened.content.decode()
    assert client.get(run_change).status_code == 200  # same session, same reason, recorded
    assert client.post(change, {"state": "failed"}).status_code == 403  # read-only
    views = key_views(p.run_study)
    assert [(e.actor, e.payload["role"]) for e in views] == [(p.admin, "staff")] * 2
    assert views[0].payload["reason"] == "support ticket 41"
    # Staff who lead the study stay blind in the admin too.
    type(p.lead).objects.filter(pk=p.lead.pk).update(is_staff=True, is_superuser=True)
    client.force_login(p.lead)
    sealed = client.get(change, {"reason": "I am staff"})
    assert sealed.status_code == 403 and "door-sealed" in sealed.content.decode()
    assert len(key_views(p.run_study)) == 2


def test_default_study_name_never_carries_the_run_name(
    personas, fake_server, make_endpoint, django_capture_on_commit_callbacks, client
):
    p = personas
    run = _run(p.lead, fake_server, make_endpoint, django_capture_on_commit_callbacks)
    client.force_login(p.lead)
    page = client.get(reverse("transcripts:run-detail", args=[run.pk])).content.decode()
    form = page[page.index('id="to-study"') :]
    assert "Borealis sweep" not in form and 'value="Blinded coding study ' in form
    with pytest.raises(ServiceError, match="mentions"):
        services.run_to_study(run=run, by=p.lead, name="Coding borealis-70B outputs")
    with pytest.raises(ServiceError, match="No user named"):
        services.run_to_study(run=run, by=p.lead, lead="nobody")
    response = client.post(
        reverse("transcripts:run-to-study", args=[run.pk]),
        {"name": "", "coders_per_item": 2, "lead": "other_lead"},
    )
    study = GenerationRun.objects.get(pk=run.pk).study
    assert response.status_code == 302
    assert response["Location"] == reverse("coding:study-operator", args=[study.pk])
    assert study.name.startswith("Blinded coding study ")
    assert Membership.objects.get(study=study, user=p.other_lead).role == "lead"
    assert Membership.objects.get(study=study, user=p.lead).role == "operator"
