"""Headless Chromium: a lead finds a built-in registry entry read-only, proposes an edit
and copies it; staff accept the proposal; the audit matrix states the registry revision
and marks an unverified benchmark instead of leaving it out."""

from __future__ import annotations

import pytest

from audit.models import Benchmark, BenchmarkProposal
from audit.registry import registry_revision
from audit.services import benchmark_audit_study_create
from tests.conftest import browser_login
from tests.factories import make_admin, make_personas

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]  # tasks run in-process


def test_registry_copy_propose_accept_and_matrix(page, transactional_db, settings, screenshot_dir):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    p = make_personas()
    make_admin()
    page.set_default_timeout(30_000)  # a shared, loaded machine: wait longer, assert the same
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    browser_login(page, "lead")

    page.goto(f"{page.base}/audit/benchmarks/")
    assert page.locator("#benchmark-table tbody tr").count() == 16
    assert page.locator("#benchmark-table .badge:has-text('unverified')").count() == 2
    page.screenshot(path=str(screenshot_dir / "registry-list.png"), full_page=True)

    rifts = Benchmark.objects.get(name="Rifts")
    page.goto(f"{page.base}/audit/benchmarks/{rifts.pk}/")
    assert page.locator("a[href$='/edit/']").count() == 0
    page.click("a:has-text('Propose an edit')")
    page.select_option("#id_claim_level", "interaction")
    page.fill("#id_note", "Grounding tasks in multi-turn logs: interaction level.")
    page.screenshot(path=str(screenshot_dir / "registry-propose.png"), full_page=True)
    page.click("button:has-text('Send proposal')")
    page.wait_for_selector("#proposals")
    page.fill("#id_name", "")
    page.click("button:has-text('Copy to my entry')")
    page.wait_for_selector("a[href$='/edit/']")
    assert "Rifts (lead)" in page.inner_text("h1")
    page.screenshot(path=str(screenshot_dir / "registry-copy.png"), full_page=True)

    page.context.clear_cookies()
    browser_login(page, "admin")
    page.goto(f"{page.base}/audit/benchmarks/")
    page.click("#pending-proposals a")
    page.fill("input[name=note]", "Checked against the paper.")
    page.click("button:has-text('Accept as v2')")
    page.wait_for_selector("#history")
    assert BenchmarkProposal.objects.get().status == "accepted"
    assert page.locator("#history tbody tr").count() == 2
    page.screenshot(path=str(screenshot_dir / "registry-detail-history.png"), full_page=True)

    Benchmark.objects.filter(name="Common Ground").update(description="A puzzle task.")
    study = benchmark_audit_study_create(
        name="Audit",
        benchmarks=list(Benchmark.objects.filter(name__in=["IFEval", "Common Ground", "Rifts"])),
        by=p.lead,
    )
    page.context.clear_cookies()
    browser_login(page, "lead")
    page.goto(f"{page.base}/audit/studies/{study.pk}/audit-matrix/")
    assert page.inner_text("#registry-revision") == str(registry_revision())
    row = page.locator("#audit-matrix tbody tr:has-text('Common Ground')")
    assert "unverified" in row.inner_text()
    page.click("#not-audited summary")
    page.screenshot(path=str(screenshot_dir / "registry-audit-matrix.png"), full_page=True)
    page.goto(f"{page.base}/audit/studies/{study.pk}/claim-report/")
    assert f"registry revision {registry_revision()}" in page.inner_text("#registry-revision")
    page.screenshot(path=str(screenshot_dir / "registry-claim-report.png"), full_page=True)
    assert [e for e in errors if "Failed to load resource" not in e] == []
