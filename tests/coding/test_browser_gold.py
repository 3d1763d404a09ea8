"""Headless Chromium: the qualification gate (fail, lead allows a retry, pass, real items
open) and training feedback after a gold item, all by keyboard as a coder would."""

from __future__ import annotations

import pytest

from coding.models import GoldVersion, QualificationAttempt
from tests.conftest import browser_login
from tests.factories import make_personas

from .gold_helpers import gold_study

pytestmark = pytest.mark.browser


def _as(browser_instance, live_server, username):
    context = browser_instance.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.base = live_server.url
    pg.set_default_timeout(15_000)
    browser_login(pg, username)
    return pg


def _code_current(page, values: list[int]) -> None:
    """Score the item on screen with the keyboard and submit (Ctrl+Enter)."""
    url = page.url
    page.wait_for_selector("fieldset.dimension.focused")
    for v in values:
        page.keyboard.press(str(v))
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda u: u != url, timeout=30_000)
    page.wait_for_load_state("networkidle")


def _expected_for(page) -> list[int]:
    code = page.url.rstrip("/").split("/")[-1]
    gold = GoldVersion.objects.filter(gold__item__public_code=code).order_by("-number").first()
    return list(gold.expected.values())


def test_qualification_gate_retry_and_release(
    page, browser_instance, live_server, transactional_db, screenshot_dir
):
    p = make_personas()
    study, _ = gold_study(p, n_items=6, n_gold=10, rate=10, qual=2, kappa=0.6)
    browser_login(page, "coder_a")
    page.goto(f"{page.base}/studies/{study.pk}/queue/")
    assert page.is_visible("#qualification-note")
    assert page.locator("table.table tbody tr").count() == 2
    page.screenshot(path=str(screenshot_dir / "gold-qualification-queue.png"), full_page=True)
    # Fail the round: answer the opposite of gold on every dimension.
    page.goto(f"{page.base}/studies/{study.pk}/next/")
    for _ in range(2):
        _code_current(page, [2 - v for v in _expected_for(page)])
    assert "/queue/" in page.url
    assert "did not pass" in page.inner_text("#qualification-note")
    assert page.locator("text=Start coding").count() == 0
    # The lead sees the failure and allows a retry.
    lead = _as(browser_instance, live_server, "lead")
    lead.goto(f"{lead.base}/studies/{study.pk}/gold/")
    row = lead.locator("#qualification tr[data-coder=coder_a]")
    assert "Failed" in row.inner_text()
    lead.screenshot(path=str(screenshot_dir / "gold-lead-page.png"), full_page=True)
    row.get_by_role("button", name="Allow a retry").click()
    lead.wait_for_load_state("networkidle")
    assert "Pending" in lead.locator("#qualification tr[data-coder=coder_a]").inner_text()
    # Retry: answer as gold; the real items are released.
    page.goto(f"{page.base}/studies/{study.pk}/next/")
    for _ in range(2):
        _code_current(page, _expected_for(page))
    assert QualificationAttempt.objects.get(coder=p.coder_a, number=2).status == "passed"
    page.goto(f"{page.base}/studies/{study.pk}/queue/")
    assert not page.is_visible("#qualification-note")
    assert page.locator("table.table tbody tr").count() > 4
    page.screenshot(path=str(screenshot_dir / "gold-qualified-queue.png"), full_page=True)


def test_training_feedback_after_a_gold_item(page, transactional_db, screenshot_dir):
    p = make_personas()
    study, _ = gold_study(p, n_items=4, n_gold=4, rate=50, training=True)
    browser_login(page, "coder_a")
    page.goto(f"{page.base}/studies/{study.pk}/next/")
    for _ in range(8):
        if "/feedback/" in page.url:
            break
        _code_current(page, [1] * 8)
    assert "/feedback/" in page.url
    assert page.is_visible("text=Training item")
    assert page.locator("#feedback tbody tr").count() == 8
    assert "Because" in page.inner_text("#feedback")
    page.screenshot(path=str(screenshot_dir / "gold-feedback.png"), full_page=True)
    nxt = page.locator("#next-item")
    if nxt.count():
        nxt.click()
        page.wait_for_load_state("networkidle")
        assert "/items/" in page.url and "/feedback/" not in page.url
