"""Headless Chromium: the claim report shows which level the evidence supports, with the
rules and thresholds, and explains every level it does not support."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.audit.conftest import claim_study
from tests.conftest import browser_login
from tests.factories import make_personas

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]  # tasks run in-process


def test_claim_report_levels(page, transactional_db, screenshot_dir, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    reverse("home")  # load the URLconf here: the first page load stays within its timeout
    p = make_personas()
    study = claim_study(p, agree=False)
    browser_login(page, "lead")
    page.goto(f"{page.base}/audit/studies/{study.pk}/claim-report/")
    page.select_option("#id_claim_level", "deployment")
    page.fill("#id_claim", "Scaffold C2 makes this model safe to deploy.")
    with page.expect_navigation():
        page.click("#claim-form >> text=Save")
    assert page.inner_text("#level-supported") == "none"
    warning = page.locator(".alert-warning").first.inner_text()
    assert warning.startswith("The claim is stated at the deployment level, but this evidence")
    assert "it supports no claim. Response level: First-pass coders agree" in warning
    for level in ("model", "response", "interaction", "deployment"):
        box = page.inner_text(f"#level-{level}")
        assert "not supported" in box and "Not supported." in box, level
    assert "κ ≥ 0.60" in page.inner_text("#level-response")
    page.locator("#claim-levels").screenshot(path=str(screenshot_dir / "claim-levels.png"))
    page.screenshot(path=str(screenshot_dir / "claim-report.png"), full_page=True)
