"""Headless Chromium: a lead imports through the preview, then fills a missing condition
field with a condition key file, and the analysis hub says what each analysis needs."""

from __future__ import annotations

import pytest
from django.urls import reverse

from coding.models import ConditionKey, Event, Item, PendingUpload
from tests.coding.conftest import as_jsonl, make_records
from tests.conftest import browser_login
from tests.factories import make_personas

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]  # tasks run in-process


def test_import_preview_then_condition_key(page, transactional_db, screenshot_dir, tmp_path):
    reverse("home")  # load the URLconf here: the first page load stays within its timeout
    p = make_personas()
    records = make_records(6)
    for r in records:
        r.pop("specification")
    items_file = tmp_path / "stress-test.jsonl"
    items_file.write_bytes(as_jsonl(records))
    browser_login(page, "lead")
    page.goto(f"{page.base}/studies/{p.study.pk}/import/")
    assert "specification" in page.inner_text("#condition-columns")
    page.screenshot(path=str(screenshot_dir / "import-upload.png"), full_page=True)
    page.set_input_files("#id_file", str(items_file))
    with page.expect_navigation():
        page.click("text=Upload and preview")
    assert "/import/" in page.url and Item.objects.count() == 0
    roles = page.inner_text("#column-roles")
    assert "hidden condition" in roles and "shown to coders" in roles and "run_id" in roles
    warnings = page.inner_text("#import-warnings")
    assert "No specification column: scaffold efficacy" in warnings
    assert page.locator("#preview-rows tbody tr").count() == 6
    page.screenshot(path=str(screenshot_dir / "import-preview.png"), full_page=True)
    with page.expect_navigation():
        page.click("#confirm-import")
    assert Item.objects.filter(study=p.study).count() == 6
    assert not PendingUpload.objects.exists()
    assert "Imported 6 items" in page.inner_text(".messages")

    page.goto(f"{page.base}/audit/studies/{p.study.pk}/")
    card = page.inner_text("#card-scaffold-efficacy")
    assert "Not available for this study" in card and "(0 of 6)" in card
    page.screenshot(path=str(screenshot_dir / "analysis-hub-needs.png"), full_page=True)
    with page.expect_navigation():
        page.click("#card-scaffold-efficacy >> text=Go to Import")
    assert "0 / 6" in page.inner_text("#coverage-table")
    key_file = tmp_path / "specification.csv"
    key_file.write_text(
        "id,specification\n"
        + "".join(f"t-{i:04d},{'under' if i % 2 else 'full'}\n" for i in range(6))
    )
    page.set_input_files("#id_key-file", str(key_file))
    with page.expect_navigation():
        page.click("text=Upload key and preview")
    assert "Nothing has changed yet" in page.inner_text("#key-preview")
    page.screenshot(path=str(screenshot_dir / "condition-key-preview.png"), full_page=True)
    with page.expect_navigation():
        page.click("#confirm-key")
    assert "6 / 6" in page.inner_text("#coverage-table")
    page.screenshot(path=str(screenshot_dir / "import-key-done.png"), full_page=True)
    specs = set(ConditionKey.objects.values_list("specification", flat=True))
    assert specs == {"full", "under"}
    assert Event.objects.get(study=p.study, verb="key_update").payload["fields_changed"] == {
        "specification": 6
    }
    page.goto(page.base + "/")
    assert "0 of 6 items fully coded" in page.inner_text(".study-card")
    page.screenshot(path=str(screenshot_dir / "home-progress.png"), full_page=True)
