"""Headless Chromium: the lead sees the agreement dashboard and scaffold efficacy with charts."""

import pytest

from tests.audit.conftest import build_study
from tests.conftest import browser_login
from tests.factories import make_personas

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]  # tasks run in-process


def test_lead_sees_dashboard_and_efficacy_charts(
    page, transactional_db, settings, screenshot_dir, quiet_submissions
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    p = make_personas()
    build_study(p, unblind=True)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_login(page, "lead")

    page.goto(f"{page.base}/audit/")
    page.click(f"a[href='/audit/studies/{p.study.pk}/agreement/']")
    page.wait_for_selector("#agreement-chart svg.chart")
    # One panel per dimension with a bar per main coefficient, whiskers included.
    assert page.locator("#agreement-chart svg rect").count() >= 8 * 7
    assert page.locator("#agreement-table tbody tr").count() == 8
    assert page.locator("#condition-table tbody.coef-group").count() == 12
    assert page.locator("#history svg.chart").count() == 1
    assert "Cohen's κ" in page.inner_text("#agreement-table thead")
    page.screenshot(path=str(screenshot_dir / "audit-agreement.png"), full_page=True)
    # Per condition: kappa and AC1 each under its own name, then the heatmap view.
    first = page.locator("#condition-table tbody.coef-group").first.inner_text()
    assert "κ" in first and "AC1" in first
    page.locator("#conditions").screenshot(path=str(screenshot_dir / "audit-condition-table.png"))
    page.locator("#pairs").screenshot(path=str(screenshot_dir / "audit-pair-table.png"))
    page.click("#conditions nav.view-switch a:has-text('Heatmap')")
    page.wait_for_selector("#heatmap-cohen_kappa")
    assert page.locator("#heatmap-cohen_kappa tbody tr").count() == 12
    assert page.locator("#heatmap-gwet_ac1 tbody td.cell").count() == 12 * 8
    page.locator("#conditions").screenshot(path=str(screenshot_dir / "audit-condition-heatmap.png"))

    page.click("nav.tabs a:has-text('Analysis')")
    page.click("a:has-text('Open scaffold efficacy')")
    page.wait_for_selector("#efficacy-chart svg.chart")
    assert page.locator("section.model-table").count() == 3
    assert page.locator("section.model-table").first.locator("tbody tr").count() == 8
    assert page.locator("#interaction tbody tr").count() == 8
    text = page.inner_text("#efficacy-chart")
    assert "GPT-4o" in text and "C4" in text
    page.screenshot(path=str(screenshot_dir / "audit-efficacy.png"), full_page=True)
    # CSP allows no inline script or style; the pages raise no console errors.
    assert errors == []


def test_lead_sees_a_stale_snapshot_notice_and_recomputes(
    page, transactional_db, settings, monkeypatch, screenshot_dir, quiet_submissions
):
    """While coding goes on the page shows the last snapshot, then "Recompute now" updates it."""
    from audit import tasks
    from audit.services import snapshot_refresh
    from coding.services import items_import, study_open
    from tests.audit.conftest import submit_all, submit_all_rest
    from tests.coding.conftest import make_records

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    queued: list[dict] = []  # the worker's queue: nothing runs it here
    monkeypatch.setattr(tasks.agreement_snapshot, "apply_async", lambda **kw: queued.append(kw))
    p = make_personas()
    items_import(study=p.study, records=make_records(6), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    submit_all(p.study, [p.coder_a, p.coder_b], n_items=3)
    snapshot_refresh(study=p.study)
    submit_all_rest(p)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_login(page, "lead")

    page.goto(f"{page.base}/audit/studies/{p.study.pk}/agreement/")
    notice = page.locator("#agreement-status")
    assert "6 submissions since this snapshot" in notice.inner_text()
    assert "a refresh is queued" in notice.inner_text()
    assert len(queued) == 1
    page.screenshot(path=str(screenshot_dir / "audit-agreement-behind.png"), full_page=True)

    notice.get_by_role("button", name="Recompute now").click()
    page.wait_for_selector("text=Recomputing in the background")
    assert [kw["countdown"] for kw in queued][-1] == 0  # undelayed, for the worker
    tasks.agreement_snapshot(p.study.pk)  # the worker runs it; the page's poll notices
    page.wait_for_selector("#agreement-status[data-state=ready]")
    page.get_by_role("link", name="Show it").click()
    page.wait_for_selector("#agreement-status[data-state=fresh]")
    assert "from 12 submitted assignments" in page.locator("p:has-text('Snapshot #')").inner_text()
    assert errors == []


def test_first_visit_shows_computing_then_the_numbers(
    page, transactional_db, settings, monkeypatch, screenshot_dir, quiet_submissions
):
    """No snapshot yet: the page computes nothing, says so, and reloads once the worker is done."""
    from audit import services, tasks

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    queued: list[dict] = []
    monkeypatch.setattr(tasks.agreement_snapshot, "apply_async", lambda **kw: queued.append(kw))
    p = make_personas()
    build_study(p, n=12, snapshot=False)
    real = services.snapshot_compute
    allowed = {"now": False}

    def guarded(**kwargs):
        assert allowed["now"], "agreement computed inside a request"
        return real(**kwargs)

    monkeypatch.setattr(services, "snapshot_compute", guarded)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_login(page, "lead")
    page.goto(f"{page.base}/audit/studies/{p.study.pk}/agreement/")
    status = page.locator("#agreement-status[data-state=computing]")
    assert "Computing agreement" in status.inner_text()
    assert queued and queued[0]["countdown"] == 0
    page.screenshot(path=str(screenshot_dir / "audit-agreement-computing.png"), full_page=True)
    allowed["now"] = True
    tasks.agreement_snapshot(p.study.pk)  # the worker
    page.wait_for_selector("#agreement-chart svg.chart", timeout=15_000)  # the poll reloaded
    assert page.locator("#agreement-status[data-state=fresh]").count() == 1
    page.screenshot(path=str(screenshot_dir / "audit-agreement-ready.png"), full_page=True)
    assert errors == []
