"""Headless Chromium: the lead runs the blinding check, reads it, and adds a rule from it."""

import pytest

from coding.models import Item, ScrubRule
from coding.services import items_import
from tests.audit.conftest import voiced_records
from tests.conftest import browser_login
from tests.factories import make_personas

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]  # tasks run in-process


def test_lead_runs_the_check_and_adds_an_ngram_as_a_rule(
    page, transactional_db, settings, screenshot_dir
):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.BLINDING_CHECK_PERMUTATIONS = 29
    p = make_personas()
    items_import(study=p.study, records=voiced_records(), by=p.lead)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_login(page, "lead")

    page.goto(f"{page.base}/studies/{p.study.pk}/")
    page.click("nav.tabs a:has-text('Blinding')")
    page.click("#blinding-check button:has-text('Run blinding check')")
    page.wait_for_selector("#check-results")  # swapped in by htmx
    assert page.locator("#check-results tbody tr").count() >= 2
    assert page.locator("#rate-tests tbody tr").count() >= 2
    page.screenshot(path=str(screenshot_dir / "audit-blinding-check.png"), full_page=True)

    # One model greets its users as "friend": the check lists the word, not the model.
    chip = page.locator("[data-ngrams='model'] button.chip", has_text="friend").first
    ngram = chip.inner_text().removesuffix(" +")
    chip.click()
    page.wait_for_selector(".message-success")
    assert "Rule added" in page.inner_text(".messages")
    assert ScrubRule.objects.filter(study=p.study, kind="phrase", text=ngram).exists()
    assert Item.objects.filter(study=p.study, redactions__has_key="study_rule").count() == 8
    assert page.locator("[data-stale]").count() == 1  # items changed since the check
    assert errors == []
