"""Headless Chromium: a lead adds an endpoint, starts a run against the fake server,
watches it finish, and turns it into a blinded study."""

from __future__ import annotations

import threading

import pytest

from tests.conftest import browser_login
from tests.factories import make_personas
from tests.transcripts.conftest import builtin_scaffolds, demo_prompt_set
from transcripts import services
from transcripts.claims import slot_drive
from transcripts.models import GenerationRun, ModelEndpoint

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]  # tasks run in-process


def test_lead_runs_generation_from_the_ui(page, fake_server, screenshot_dir, transactional_db):
    make_personas()
    builtin_scaffolds()  # transactional tests flush migration data; put the built-ins back
    browser_login(page, "lead")
    page.click("text=Generation")
    assert page.locator("h1").inner_text() == "Generation"
    page.screenshot(path=str(screenshot_dir / "transcripts_run_list_empty.png"), full_page=True)

    page.click("text=Add endpoint")
    page.fill("#id_name", "Atlas (fake server)")
    page.select_option("#id_provider", "openai_compatible")
    page.fill("#id_base_url", fake_server.openai_base_url)
    page.fill("#id_model", "atlas-7b")
    page.fill("#id_max_concurrency", "4")
    page.screenshot(path=str(screenshot_dir / "transcripts_endpoint_form.png"), full_page=True)
    page.click("button[type=submit]:has-text('Save endpoint')")
    assert page.get_by_text("Endpoint “Atlas (fake server)” saved.").is_visible()
    page.screenshot(path=str(screenshot_dir / "transcripts_endpoints.png"), full_page=True)

    page.goto(page.base + "/transcripts/runs/new/")
    page.fill("#id_name", "UI run")
    page.check("text=Atlas (fake server) · atlas-7b")
    for code in ["C1", "C2", "C3", "C4"]:
        page.check(f"label:has-text('{code} ')")
    page.fill("#id_max_prompts", "2")
    page.fill("#id_temperature", "0.7")
    page.screenshot(path=str(screenshot_dir / "transcripts_run_form.png"), full_page=True)
    page.click("button:has-text('Start run')")
    # Without a broker the run executes in-process, so it is finished on arrival.
    page.wait_for_selector("[data-run-status=finished]")
    assert page.locator("[data-count=succeeded]").inner_text() == "8"
    page.screenshot(path=str(screenshot_dir / "transcripts_run_finished.png"), full_page=True)

    page.click("text=Transcripts")
    assert page.locator("tbody tr").count() == 8
    page.screenshot(path=str(screenshot_dir / "transcripts_transcripts.png"), full_page=True)
    page.click("tbody tr:first-child a")
    assert page.get_by_text("atlas-7b-2025-06-01", exact=True).is_visible()
    page.screenshot(path=str(screenshot_dir / "transcripts_transcript.png"), full_page=True)

    page.go_back()
    page.go_back()
    page.fill("#id_name", "UI study")
    page.click("button:has-text('Create blinded study')")
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("created with 8 blinded items").is_visible()
    assert "UI study" in page.content()
    assert GenerationRun.objects.get(name="UI run").study.items.count() == 8


def test_progress_updates_while_a_run_is_going(page, fake_server, screenshot_dir, transactional_db):
    personas = make_personas()
    endpoint = ModelEndpoint.objects.create(
        created_by=personas.lead,
        name="Borealis (fake)",
        provider="anthropic",
        base_url=fake_server.anthropic_base_url,
        model="borealis-70b",
    )
    run = services.run_create(
        by=personas.lead,
        name="Watched run",
        endpoints=[endpoint],
        scaffolds=builtin_scaffolds(),
        prompt_set=demo_prompt_set(),
        max_prompts=3,
        dispatch=False,  # this test plays the worker
    )
    browser_login(page, "lead")
    page.goto(page.base + f"/transcripts/runs/{run.pk}/")
    assert page.locator("[data-run-status]").get_attribute("data-run-status") == "running"
    assert page.locator("[data-count=unfinished]").inner_text() == "12"
    page.screenshot(path=str(screenshot_dir / "transcripts_run_running.png"), full_page=True)
    worker = threading.Thread(
        target=slot_drive, kwargs={"run_id": run.pk, "endpoint_id": endpoint.pk}
    )
    worker.start()
    worker.join(timeout=30)
    # htmx polls every 2 s and swaps the progress card in place.
    page.wait_for_selector("[data-run-status=finished]", timeout=8000)
    assert page.locator("[data-count=succeeded]").inner_text() == "12"
    assert page.get_by_role("button", name="Create blinded study").is_visible()
