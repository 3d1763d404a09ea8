"""Headless Chromium: a lead starts a model co-coder run from the study's tabs, reads the
judge-calibration table, and opts the model in as a coder and out again."""

from __future__ import annotations

import pytest

from coding.models import Assignment
from tests.conftest import browser_login
from tests.factories import make_personas
from tests.transcripts.judge_setup import open_study_with_items
from transcripts.models import JudgeRun, ModelEndpoint

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]  # tasks run in-process


def test_lead_starts_a_co_coder_and_reads_the_calibration(
    page, fake_server, screenshot_dir, transactional_db
):
    personas = make_personas()
    study = open_study_with_items(personas, n_items=12)
    ModelEndpoint.objects.create(
        created_by=personas.lead,
        name="Borealis (fake judge)",
        provider=ModelEndpoint.Provider.ANTHROPIC,
        base_url=fake_server.anthropic_base_url,
        model="borealis-70b",
        timeout_seconds=5,
    )
    browser_login(page, "lead")
    page.goto(page.base + f"/studies/{study.pk}/")
    page.click("nav.tabs >> text=Model co-coder")
    assert page.get_by_text("No model co-coder yet.").is_visible()
    page.select_option("#id_endpoint", label="Borealis (fake judge) (borealis-70b)")
    page.fill("#id_temperature", "0")
    page.screenshot(path=str(screenshot_dir / "judge_start.png"), full_page=True)
    page.click("#judge-start-button")
    # Without a broker the run executes in-process, so it is finished on arrival.
    page.wait_for_selector("[data-run-status=finished]")
    assert page.locator("#judge-progress [data-count=succeeded]").inner_text() == "12"
    table = page.locator("#calibration-table")
    assert table.locator("tr[data-dimension=D1]").count() == 3  # reconciled + two coders
    assert table.locator("tr[data-reference=coder_a]").count() == 8
    page.screenshot(path=str(screenshot_dir / "judge_calibration.png"), full_page=True)

    run = JudgeRun.objects.get(study=study)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#judge-include")
    page.wait_for_selector("#judge-exclude")
    assert Assignment.objects.filter(coder=JudgeRun.objects.get(pk=run.pk).coder).count() == 12
    page.screenshot(path=str(screenshot_dir / "judge_counted.png"), full_page=True)
    page.click("#judge-exclude")
    page.wait_for_selector("#judge-include")
    assert not Assignment.objects.filter(item__study=study, coder__is_active=False).exists()

    page.click("text=Model co-coder")
    assert page.locator("#judge-runs tbody tr").count() == 1
    page.screenshot(path=str(screenshot_dir / "judge_index.png"), full_page=True)
