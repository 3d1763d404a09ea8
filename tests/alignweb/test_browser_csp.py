"""Headless Chromium: no Content-Security-Policy violations on the coding page (after an
autosave and a refused submit) or on the API docs page; a refused submit leaves the
address bar on the item, not on .../submit/."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coding.services import items_import, study_open
from tests.coding.conftest import make_records
from tests.conftest import browser_login
from tests.factories import make_personas

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]  # tasks run in-process


def _watch(page) -> list[str]:
    """Every console error and uncaught page error, as text."""
    seen: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and seen.append(f"{page.url}: {msg.text}"))
    page.on("pageerror", lambda exc: seen.append(f"{page.url}: pageerror {exc}"))
    return seen


def _csp(seen: list[str]) -> list[str]:
    return [s for s in seen if "Content Security Policy" in s or "pageerror" in s]


def test_coding_page_and_api_docs_have_no_csp_violations(page, transactional_db, screenshot_dir):
    reverse("home")  # load the URLconf here: the first page load stays within its timeout
    p = make_personas()
    items_import(study=p.study, records=make_records(2), by=p.lead)
    study_open(study=p.study, by=p.lead)
    seen = _watch(page)
    browser_login(page, "coder_a")
    page.goto(f"{page.base}/studies/{p.study.pk}/next/")
    page.wait_for_selector("fieldset.dimension.focused")
    item_url = page.url
    page.keyboard.press("2")  # autosave on change
    page.wait_for_selector("#save-state:has-text('Draft saved')")
    page.keyboard.press("k")
    page.keyboard.press("r")
    page.keyboard.type("Asks which city first.")  # autosave after a pause in typing
    page.keyboard.press("Escape")
    page.wait_for_selector("#version[value='2']", state="attached")  # the second autosave
    assert _csp(seen) == []
    # Submitting with seven dimensions unscored is refused, and the page stays the item's.
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert "Score every dimension before submitting" in page.inner_text(".alert-error")
    assert page.url == item_url and "/submit/" not in page.url
    page.reload()
    assert page.url == item_url  # a reload opens the item; nothing is posted again
    page.wait_for_selector("fieldset.dimension.focused")
    assert page.is_checked("input[name=value_D1][value='2']")
    page.goto(f"{page.base}/api/docs/")
    page.wait_for_selector(".swagger-ui .info")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(screenshot_dir / "api-docs.png"))
    assert _csp(seen) == [], seen
