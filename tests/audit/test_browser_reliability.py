"""Headless Chromium: the lead opens the G study of a coded study and fits rankings."""

import pytest

from audit.views_registry import EXAMPLE_CSV
from tests.audit.conftest import build_study
from tests.conftest import browser_login
from tests.factories import make_personas

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]  # tasks run in-process


def test_lead_reads_the_g_study_and_fits_rankings(
    page, transactional_db, settings, screenshot_dir, quiet_submissions
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    p = make_personas()
    build_study(p, n=12)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_login(page, "lead")

    page.goto(f"{page.base}/audit/studies/{p.study.pk}/")
    page.click("a:has-text('Open the G study')")
    page.wait_for_selector("#g-table")
    assert page.locator("#g-table tbody tr").count() == 8
    assert page.locator("#g-components svg.chart").count() == 1
    assert page.locator("#d-study-g svg.chart polyline").count() >= 1
    assert "items × coders × dimensions" in page.inner_text("#across")
    page.screenshot(path=str(screenshot_dir / "audit-g-study.png"), full_page=True)

    page.goto(f"{page.base}/audit/")
    page.click("a[href='/audit/rankings/']")
    page.select_option("#id_kind", "scores")
    page.fill("#id_bootstrap", "100")
    page.set_input_files("#id_file", str(EXAMPLE_CSV))
    page.click("button:has-text('Fit')")
    page.wait_for_selector("#strength-table")
    assert page.locator("#strength-table tbody tr").count() == 4
    assert page.locator("#overall svg.chart circle").count() == 4
    assert page.locator("#config-table tbody tr").count() == 6
    assert "Flips need at least two configurations" in page.inner_text("#flips")

    page.click("a:has-text('Use the bundled example')")
    page.wait_for_selector("#flip-table")
    assert page.locator("#flip-table tbody tr").count() == 1
    assert page.locator("#flips svg.chart").count() == 1
    page.screenshot(path=str(screenshot_dir / "audit-rankings.png"), full_page=True)
    assert errors == []
