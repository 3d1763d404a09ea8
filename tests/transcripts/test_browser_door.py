"""Headless Chromium: an operator generates and hands the study to a blind lead; opening
the run asks why and records a key view that the lead sees on the study overview; a lead
who generated the run is shown the sealed page."""

from __future__ import annotations

import pytest

from coding.models import Event
from tests.conftest import browser_login
from tests.factories import add_operator, make_admin, make_personas
from tests.transcripts.conftest import FAST_POLICY, builtin_scaffolds, demo_prompt_set
from transcripts import services
from transcripts.models import ModelEndpoint

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]  # tasks run in-process


def _finished_run(owner, server, name: str):
    endpoint = ModelEndpoint.objects.create(
        created_by=owner,
        name="Borealis",
        provider=ModelEndpoint.Provider.OPENAI_COMPATIBLE,
        base_url=server.openai_base_url,
        model="borealis-70b",
        timeout_seconds=2,
    )
    run = services.run_create(
        by=owner,
        name=name,
        endpoints=[endpoint],
        scaffolds=builtin_scaffolds(),
        prompt_set=demo_prompt_set(),
        max_prompts=1,
        policy=FAST_POLICY,
        dispatch=False,
    )
    from transcripts.claims import slot_drive

    slot_drive(run_id=run.pk, endpoint_id=endpoint.pk)
    run.refresh_from_db()
    return run


def test_operator_opens_the_run_with_a_reason_and_the_lead_sees_it(
    page, fake_server, screenshot_dir, transactional_db, settings
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    p = make_personas()
    add_operator(p)  # an operator of the lab's existing study may generate
    page.set_default_timeout(30_000)  # a shared, loaded machine: wait longer, assert the same
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    browser_login(page, "operator")
    from django.contrib.auth import get_user_model

    operator = get_user_model().objects.get(username="operator")
    run = _finished_run(operator, fake_server, "Borealis sweep")
    page.goto(f"{page.base}/transcripts/runs/{run.pk}/")
    assert page.input_value("#id_name").startswith("Blinded coding study ")
    page.fill("#id_lead", "lead")
    page.screenshot(path=str(screenshot_dir / "door-run-to-study.png"), full_page=True)
    page.click("button:has-text('Create blinded study')")
    page.wait_for_selector("#open-key")
    assert "handed to its lead" in page.inner_text(".messages")
    page.screenshot(path=str(screenshot_dir / "door-operator-page.png"), full_page=True)

    page.click("a.btn:has-text('Generation runs')")
    assert page.locator("tbody tr .badge:has-text('sealed')").count() == 1
    page.screenshot(path=str(screenshot_dir / "door-run-list-sealed.png"), full_page=True)
    page.click(f"a[href='/transcripts/runs/{run.pk}/']")
    page.wait_for_selector("#door-reason")
    assert "borealis" not in page.content().lower()
    page.screenshot(path=str(screenshot_dir / "door-reason.png"), full_page=True)
    page.fill("#id_reason", "Two cells failed; checking before a re-run")
    page.click("button:has-text('Open and record the view')")
    page.wait_for_selector("[data-run-status=finished]")
    page.click("a.btn:has-text('Transcripts')")  # the stated reason covers this page too
    assert page.locator("tbody tr").count() == 4
    page.goto(f"{page.base}/")
    page.screenshot(path=str(screenshot_dir / "door-operator-home.png"), full_page=True)
    page.click("a:has-text('Operator page')")
    page.fill("#id_reason", "Checking the balance of conditions")
    page.click("button:has-text('Open the key (recorded)')")
    page.wait_for_selector("table.table tbody tr")
    assert "borealis-70b" in page.inner_text("main")
    page.screenshot(path=str(screenshot_dir / "door-operator-key.png"), full_page=True)
    views = Event.objects.filter(verb="key_view", actor=operator)
    assert views.count() == 3

    page.context.clear_cookies()
    browser_login(page, "lead")
    study = type(run).objects.get(pk=run.pk).study
    page.goto(f"{page.base}/studies/{study.pk}/")
    page.wait_for_selector("#key-views")
    text = page.inner_text("#key-views")
    assert "3 recorded" in text and "Two cells failed" in text and "operator" in text
    page.screenshot(path=str(screenshot_dir / "door-study-overview-key-views.png"), full_page=True)
    response = page.goto(f"{page.base}/transcripts/runs/{run.pk}/transcripts/")
    assert response.status == 404  # not the lead's run: it does not exist for them

    # A lead who generated the run themselves is refused it once it feeds their study.
    own = _finished_run(p.other_lead, fake_server, "Other sweep")
    services.run_to_study(run=own, by=p.other_lead)
    page.context.clear_cookies()
    browser_login(page, "other_lead")
    page.goto(f"{page.base}/transcripts/runs/{own.pk}/transcripts/")
    page.wait_for_selector("#door-sealed")
    assert "borealis" not in page.content().lower()
    page.screenshot(path=str(screenshot_dir / "door-sealed.png"), full_page=True)
    # Staff outside the study: the admin lists the run's cells as sealed and asks why.
    make_admin()
    page.context.clear_cookies()
    browser_login(page, "admin")
    page.goto(f"{page.base}/admin/transcripts/transcript/")
    assert "borealis" not in page.inner_text("#result_list").lower()
    assert page.locator("#result_list td:has-text('sealed')").count() >= 4
    page.screenshot(path=str(screenshot_dir / "door-admin-transcripts.png"), full_page=True)
    page.click("#result_list tbody tr:first-child th a")
    page.wait_for_selector("#door-reason")
    page.fill("#id_reason", "Support ticket 41")
    page.click("button:has-text('Open and record the view')")
    page.wait_for_selector("#transcript_form")
    page.screenshot(path=str(screenshot_dir / "door-admin-transcript.png"), full_page=True)
    assert Event.objects.filter(verb="key_view", payload__role="staff").count() == 1

    # The door's own pages answer 403; anything else in the console (CSP) is a failure.
    assert [e for e in errors if "Failed to load resource" not in e] == []
