"""Headless Chromium: judge a pair by keyboard, click a choice, and the lead's rankings."""

from collections import Counter

import pytest

from coding.models import PairAssignment, PairJudgment
from coding.services import pair_judgment_submit, study_lock, study_unblind
from tests.coding.pairwise_data import all_choices, open_pairwise
from tests.conftest import browser_login
from tests.factories import make_personas

pytestmark = pytest.mark.browser


def test_judge_a_pair_by_keyboard_and_mouse(page, transactional_db, screenshot_dir):
    p = make_personas()
    open_pairwise(p)
    browser_login(page, "coder_a")
    page.goto(f"{page.base}/studies/{p.study.pk}/queue/")  # redirects to the pair queue
    page.click("text=Start comparing")
    page.wait_for_selector("tr.pair-dim.focused")
    first_url = page.url
    code = first_url.rstrip("/").rsplit("/", 1)[-1]
    # D1..D8 from the keyboard: a, b, t, ←, →, =, then move back up and change D1 with b.
    for key in ["a", "b", "t", "ArrowLeft", "ArrowRight", "=", "a"]:
        page.keyboard.press(key)
    page.click("tr[data-dimension=D8] label:has-text('B')")  # the mouse works too
    page.keyboard.press("k")
    page.keyboard.press("k")  # focus moves up to D6
    assert page.locator("tr.pair-dim.focused").get_attribute("data-dimension") == "D6"
    page.screenshot(path=str(screenshot_dir / "pairwise-coding.png"), full_page=True)
    page.keyboard.press("Control+Enter")
    page.wait_for_url(lambda url: url != first_url, timeout=30_000)
    page.wait_for_load_state("networkidle")
    assert "/pairs/" in page.url
    done = PairAssignment.objects.get(pair__public_code=code, coder=p.coder_a)
    assert done.status == "submitted"
    choices = dict(
        PairJudgment.objects.filter(assignment=done).values_list("dimension__code", "choice")
    )
    assert choices == {"D1": "A", "D2": "B", "D3": "tie", "D4": "A", "D5": "B", "D6": "tie",
                       "D7": "A", "D8": "B"}  # fmt: skip


def test_lead_sees_position_bias_and_rankings(page, transactional_db, screenshot_dir):
    p = make_personas()
    study = open_pairwise(p)
    # orion-mini beats GPT-4o under C1 and loses to it under C3: a rank flip.
    strength = {
        "C1": {"zephyr-large": 3, "orion-mini": 2, "GPT-4o": 1},
        "C3": {"zephyr-large": 3, "orion-mini": 1, "GPT-4o": 2},
    }
    assignments = PairAssignment.objects.select_related(
        "pair__study", "pair__first__condition_key", "pair__second__condition_key", "coder"
    ).order_by("pair_id", "coder_id")
    meetings: Counter = Counter()
    for a in assignments:
        m1, m2 = a.pair.first.condition_key.model, a.pair.second.condition_key.model
        scaffold = a.pair.first.condition_key.scaffold
        meetings[(scaffold, *sorted((m1, m2)))] += 1
        upset = meetings[(scaffold, *sorted((m1, m2)))] % 3 == 0  # the weaker wins 1 in 3
        first_won = (strength[scaffold][m1] > strength[scaffold][m2]) != upset
        side = "A" if first_won == a.first_on_left else "B"
        choices = all_choices(study, "A") | {"D1": side, "D2": "tie"}
        pair_judgment_submit(assignment=a, choices=choices, expected_version=0, by=a.coder)
    study_lock(study=study, by=p.lead)
    study_unblind(study=study, by=p.lead, reason="coding finished")
    browser_login(page, "lead")
    page.goto(f"{page.base}/audit/studies/{study.pk}/")
    page.click("#card-rankings a")
    page.wait_for_selector("#position-bias")
    assert page.locator("#strength-table tbody tr").count() == 3
    assert "zephyr-large" in page.inner_text("#strength-table tbody tr:first-child")
    assert page.locator("#flip-table tbody tr").count() >= 1
    page.screenshot(path=str(screenshot_dir / "pairwise-rankings.png"), full_page=True)
