"""Headless Chromium: keyboard-only coding, autosave across reload, inert XSS payloads."""

import pytest

from coding.models import Assignment, Score
from coding.services import items_import, study_open
from tests.coding.conftest import make_records
from tests.conftest import browser_login
from tests.factories import make_personas

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]  # tasks run in-process

XSS = (
    "<script>alert('s')</script> <img src=x onerror=\"alert('i')\"> "
    '<a hx-get="/trap-htmx" hx-trigger="load">x</a> <div hx-on:load="alert(\'h\')">y</div> '
    "[click me](javascript:alert('j')) <iframe src=\"/trap-iframe\"></iframe> "
    "![pic](/trap-image.png)"
)


def _study(records):
    p = make_personas()
    items_import(study=p.study, records=records, by=p.lead)
    study_open(study=p.study, by=p.lead)
    return p


def test_code_an_item_by_keyboard_only(page, transactional_db, screenshot_dir):
    p = _study(make_records(3))
    browser_login(page, "coder_a")
    page.goto(f"{page.base}/studies/{p.study.pk}/next/")
    page.wait_for_selector("fieldset.dimension.focused")
    first_url = page.url
    # Draft: score D1 by keyboard, write a rationale, wait for autosave, then reload.
    page.keyboard.press("2")
    page.keyboard.press("k")  # back to D1
    page.keyboard.press("r")
    page.keyboard.type("Asks which city first.")
    page.keyboard.press("Escape")
    page.wait_for_selector("#save-state:has-text('Draft saved')")
    page.reload()
    assert page.input_value("#rationale_D1") == "Asks which city first."
    assert page.is_checked("input[name=value_D1][value='2']")
    page.screenshot(path=str(screenshot_dir / "coding-draft.png"), full_page=True)
    # Score all eight dimensions: focus starts at the first unscored (D2).
    for key in "1021012":
        page.keyboard.press(key)
    page.keyboard.press("Control+Enter")
    # Wait for the navigation itself: "networkidle" can be reached before the submit starts.
    page.wait_for_url(lambda url: url != first_url, timeout=30_000)
    page.wait_for_load_state("networkidle")
    assert "/items/" in page.url
    done = Assignment.objects.get(item__study=p.study, coder=p.coder_a, status="submitted")
    values = dict(Score.objects.filter(assignment=done).values_list("dimension__code", "value"))
    assert values == {"D1": 2, "D2": 1, "D3": 0, "D4": 2, "D5": 1, "D6": 0, "D7": 1, "D8": 2}
    assert page.get_by_text("submitted").first.is_visible()


def test_xss_payloads_render_inert(page, transactional_db, screenshot_dir):
    records = make_records(1)
    records[0]["messages"][1]["content"] = XSS
    records[0]["messages"][2]["content"] = XSS
    p = _study(records)
    dialogs, requests = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    browser_login(page, "coder_a")
    page.goto(f"{page.base}/studies/{p.study.pk}/next/")
    page.wait_for_load_state("networkidle")
    page.click("text=click me")
    page.wait_for_timeout(300)
    page.screenshot(path=str(screenshot_dir / "coding-xss.png"), full_page=True)
    assert dialogs == []
    assert not [u for u in requests if "trap" in u or u.startswith("javascript")]
    dangerous = (
        ".transcript script, .transcript img, .transcript iframe, .transcript [onerror], "
        ".transcript [hx-get], .transcript [hx-on\\:load], .transcript a[href^='javascript']"
    )
    assert page.locator(dangerous).count() == 0
    assert "<script>alert" in page.inner_text(".transcript")  # shown as text, not run
