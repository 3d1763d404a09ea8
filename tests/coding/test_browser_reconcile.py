"""Headless Chromium: an adjudicator reconciles by keyboard; a lead locks, unblinds and
downloads the wide CSV, which pandas reads with numeric dtypes."""

from __future__ import annotations

import pandas as pd
import pytest
from django.urls import reverse

from coding.models import Event, Item, Reconciliation, Study
from coding.services import items_import, study_open
from tests.coding.conftest import code_everything, make_records
from tests.conftest import browser_login
from tests.factories import make_personas

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]  # tasks run in-process


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _coded_study(n: int = 3):
    reverse("home")  # load the URLconf here: the first page load stays within its timeout
    p = make_personas()
    items_import(study=p.study, records=make_records(n), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    items = code_everything(p, {0: {"D1": 2, "D3": 0}, 1: {"D5": 2}})
    return p, items


def _focused(page) -> str:
    return page.get_attribute("fieldset.dimension.focused", "data-dimension")


def test_adjudicator_reconciles_by_keyboard(page, transactional_db, screenshot_dir):
    p, items = _coded_study()
    browser_login(page, "adjudicator")
    page.goto(f"{page.base}/studies/{p.study.pk}/reconcile/")
    assert page.locator("table.table tbody tr").count() == 3
    page.screenshot(path=str(screenshot_dir / "reconcile-queue.png"), full_page=True)
    with page.expect_navigation():
        page.click("text=Reconcile next item")
    page.wait_for_selector("fieldset.dimension.focused")
    assert items[0].public_code in page.url
    assert _focused(page) == "D1"
    body = page.inner_text("main")
    assert (
        "Coder A" in body and "Coder B" in body and "coder_a" not in body.replace("coder_a on", "")
    )
    page.keyboard.press("x")  # adjudicated
    page.keyboard.press("n")
    page.keyboard.type("Asks which city before planning.")
    page.keyboard.press("Escape")
    page.keyboard.press("2")  # final value of D1: on to the next open dimension, past agreed D2
    assert _focused(page) == "D3"
    page.keyboard.press("d")  # discussion
    page.keyboard.press("0")
    assert _focused(page) == "D3"  # nothing open is left: stay
    # A stray digit on agreed D2 only asks; Esc keeps the agreed value.
    page.keyboard.press("k")
    assert _focused(page) == "D2"
    page.keyboard.press("0")
    prompt = page.locator("#dim-d2 .override-prompt")
    assert prompt.is_visible() and "Press 0 again" in prompt.inner_text()
    assert page.is_checked("input[name=value_D2][value='1']")
    page.screenshot(path=str(screenshot_dir / "reconcile-item.png"), full_page=True)
    page.keyboard.press("Escape")
    assert not prompt.is_visible()
    assert page.is_checked("input[name=value_D2][value='1']")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    page.wait_for_selector("fieldset.dimension.focused")
    assert items[1].public_code in page.url  # on to the next open item
    assert _focused(page) == "D5"

    def decided() -> dict:
        return {
            r.dimension.code: (r.value, r.method, r.note)
            for r in Reconciliation.objects.filter(item=items[0]).select_related("dimension")
            if r.dimension.code in ("D1", "D2", "D3")
        }

    assert decided() == {
        "D1": (2, "adjudicated", "Asks which city before planning."),
        "D2": (1, "agreed", ""),
        "D3": (0, "discussion", ""),
    }
    page.screenshot(path=str(screenshot_dir / "reconcile-next-item.png"), full_page=True)

    # Back on the first item: n appends to the existing note; overriding agreed D2 takes the
    # same digit twice, turns the method to adjudicated, and cannot be saved without a note.
    page.goto(f"{page.base}/studies/{p.study.pk}/reconcile/{items[0].public_code}/")
    page.wait_for_selector("fieldset.dimension.focused")
    assert _focused(page) == "D1"
    page.keyboard.press("n")
    page.keyboard.type(" Confirmed on review.")
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    page.keyboard.press("0")
    page.keyboard.press("0")
    assert page.is_checked("input[name=value_D2][value='0']")
    assert page.input_value("#method_D2") == "adjudicated"
    assert "note is required" in page.inner_text("#dim-d2 .override-prompt")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert "D2: a note is required" in page.inner_text(".alert-error")
    assert items[0].public_code in page.url and "/submit" not in page.url
    assert decided()["D2"] == (1, "agreed", "")
    assert decided()["D1"][2] == "Asks which city before planning. Confirmed on review."
    page.wait_for_selector("fieldset.dimension.focused")
    page.keyboard.press("j")
    page.keyboard.press("0")
    page.keyboard.press("0")
    page.keyboard.press("n")
    page.keyboard.type("Both coders missed the unasked question.")
    page.keyboard.press("Escape")
    with page.expect_navigation():
        page.keyboard.press("Control+Enter")
    assert decided()["D2"] == (0, "adjudicated", "Both coders missed the unasked question.")
    assert Reconciliation.objects.get(item=items[0], dimension__code="D2").decided_by == (
        p.adjudicator
    )


def test_lead_locks_unblinds_and_downloads_the_wide_csv(
    page, transactional_db, screenshot_dir, tmp_path
):
    p, items = _coded_study()
    from coding.services import reconciliation_decide

    for item, dim, value in ((items[0], "D1", 2), (items[0], "D3", 0), (items[1], "D5", 2)):
        reconciliation_decide(
            item=item,
            dimension=p.study.rubric.dimensions.get(code=dim),
            value=value,
            method="adjudicated",
            note="by the anchors",
            by=p.adjudicator,
        )
    page.on("dialog", lambda dialog: dialog.accept())
    browser_login(page, "lead")
    page.goto(f"{page.base}/studies/{p.study.pk}/reconcile/?status=all")
    page.screenshot(path=str(screenshot_dir / "reconcile-queue-lead.png"), full_page=True)
    page.click("nav.tabs >> text=Lock & export")
    page.screenshot(path=str(screenshot_dir / "exports-open.png"), full_page=True)
    page.click("button:has-text('Lock study')")
    page.wait_for_selector("text=Study locked")
    assert Study.objects.get(pk=p.study.pk).status == "locked"
    page.fill("#unblind-reason", "Coding and reconciliation complete; pre-registered ANOVA next.")
    page.screenshot(path=str(screenshot_dir / "exports-locked.png"), full_page=True)
    page.click("button:has-text('Unblind study')")
    page.wait_for_selector("text=Study unblinded")
    event = Event.objects.get(study=p.study, verb="unblind")
    assert event.actor == p.lead and event.payload["reason"].startswith("Coding and")
    page.screenshot(path=str(screenshot_dir / "exports-unblinded.png"), full_page=True)
    with page.expect_download() as info:
        page.click("#download-wide")
    download = info.value
    assert download.suggested_filename == f"study-{p.study.pk}-wide-unblinded.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    frame = pd.read_csv(path)
    dims = [f"D{i}" for i in range(1, 9)]
    assert list(frame.columns) == [
        "item",
        *dims,
        *[f"{d}_method" for d in dims],
        *[f"{d}_note" for d in dims],
        "model",
        "scaffold",
        "prompt",
        "specification",
        "replicate",
    ]
    assert all(str(frame[f"D{i}"].dtype) == "int64" for i in range(1, 9))
    assert str(frame["replicate"].dtype) == "int64"
    row = frame.set_index("item").loc[items[0].public_code]
    assert (row["D1"], row["D3"], row["D2"]) == (2, 0, 1)
    assert row["model"] == Item.objects.get(pk=items[0].pk).condition_key.model
    page.click("text=View condition key")
    page.wait_for_selector("text=Condition key")
    page.screenshot(path=str(screenshot_dir / "condition-key.png"), full_page=True)
    # Two key views: the wide CSV with its condition columns, then the key page.
    views = Event.objects.filter(study=p.study, verb="key_view", actor=p.lead).order_by("pk")
    assert [v.payload["what"] for v in views] == ["wide export with conditions", "condition key"]
