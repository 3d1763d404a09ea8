"""Headless Chromium: a lead invites a new coder who accepts and codes a first item; a lead
browses items, previews one, reads the coder pace, the event log, and removes a coder."""

from __future__ import annotations

import urllib.request

import pytest

from coding.models import Assignment, Event, Invite, Item, Membership
from coding.services import items_import, score_submit, study_open
from tests.coding.conftest import full_values, make_records
from tests.conftest import browser_login
from tests.factories import MembershipFactory, UserFactory, make_personas

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("celery_eager")]  # tasks run in-process
NEW_PASSWORD = "plum-orchard-kettle-42"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _warm(live_server):
    """Load the URLconf before the browser's first request: importing every view (model
    SDKs, scipy) can take longer than the browser's 10 s timeout on a busy machine."""
    urllib.request.urlopen(live_server.url + "/healthz", timeout=120).read()


def _shot(page, directory, name):
    page.screenshot(path=str(directory / name), full_page=True)


def test_invite_accept_and_code_a_first_item(page, transactional_db, screenshot_dir):
    p = make_personas()
    items_import(study=p.study, records=make_records(4), by=p.lead)
    page.on("dialog", lambda d: d.accept())
    browser_login(page, "lead")
    page.goto(f"{page.base}/studies/{p.study.pk}/")
    page.click("nav.tabs >> text=Members")
    page.click("text=Invite people")
    page.fill("#id_emails", "new.coder@lab.org\nsecond.coder@lab.org, coder")
    _shot(page, screenshot_dir, "people-invite.png")
    with page.expect_navigation():
        page.click("text=Make invitation links")
    links = [page.input_value(f"#link-{i}") for i in (1, 2)]
    assert all("/studies/join/" in link for link in links)
    _shot(page, screenshot_dir, "people-invite-links.png")
    page.click("text=Done")
    assert page.locator("tr[data-invite='new.coder@lab.org'] .state-invited").is_visible()
    _shot(page, screenshot_dir, "people-members-invited.png")

    # The invitee, in a browser of their own, opens the link and chooses a password.
    invitee_context = page.context.browser.new_context(viewport={"width": 1400, "height": 900})
    invitee = invitee_context.new_page()
    invitee.set_default_timeout(10_000)
    invitee.goto(links[0])
    assert invitee.input_value("#id_username") == "new.coder"
    _shot(invitee, screenshot_dir, "people-accept.png")
    invitee.fill("#id_username", "newcoder")
    invitee.fill("#id_password1", NEW_PASSWORD)
    invitee.fill("#id_password2", NEW_PASSWORD)
    with invitee.expect_navigation():
        invitee.click("text=Create account and join")
    assert invitee.url.endswith(f"/studies/{p.study.pk}/queue/")
    assert "No items assigned to you yet" in invitee.inner_text("main")
    invitee.goto(links[0])  # single use: the same link again
    assert "This link cannot be used" in invitee.inner_text("main")
    _shot(invitee, screenshot_dir, "people-accept-used.png")
    newcoder = Membership.objects.get(study=p.study, user__username="newcoder")
    assert newcoder.role == "coder" and Invite.objects.get(email="new.coder@lab.org").accepted_at

    # The lead opens the study; the new coder codes their first item by keyboard.
    page.goto(f"{page.base}/studies/{p.study.pk}/")
    with page.expect_navigation():
        page.click("text=Open study")
    assert Assignment.objects.filter(coder=newcoder.user).exists()
    invitee.goto(f"{page.base}/")
    invitee.click("text=Open my queue")
    invitee.click("text=Start coding")
    invitee.wait_for_selector("fieldset.dimension.focused")
    for key in "21021012":
        invitee.keyboard.press(key)
    with invitee.expect_navigation():
        invitee.keyboard.press("Control+Enter")
    done = Assignment.objects.get(coder=newcoder.user, status="submitted")
    assert done.scores.count() == 8
    assert Event.objects.filter(verb="submit", actor=newcoder.user).exists()
    # Their own account page: change the password.
    invitee.click("nav >> text=newcoder")
    _shot(invitee, screenshot_dir, "people-password.png")
    invitee.fill("#id_old_password", NEW_PASSWORD)
    invitee.fill("#id_new_password1", "lantern-harbour-57-moss")
    invitee.fill("#id_new_password2", "lantern-harbour-57-moss")
    with invitee.expect_navigation():
        invitee.click("button:has-text('Change password')")
    assert "Your password was changed" in invitee.inner_text("main")
    newcoder.user.refresh_from_db()
    assert newcoder.user.check_password("lantern-harbour-57-moss")
    invitee_context.close()


def test_lead_item_browser(page, transactional_db, screenshot_dir):
    p = make_personas()
    coder_c = UserFactory(username="coder_c")
    MembershipFactory(study=p.study, user=coder_c, role=Membership.Role.CODER)
    items_import(study=p.study, records=make_records(6), by=p.lead)
    study_open(study=p.study, by=p.lead)
    p.study.refresh_from_db()
    _code(p, 3, {0: {"D1": 2, "D3": 0}, 1: {"D5": 2}})
    page.on("dialog", lambda d: d.accept())
    browser_login(page, "lead")
    page.goto(f"{page.base}/studies/{p.study.pk}/")
    page.click("nav.tabs >> text=Items")
    assert page.locator("#items tbody tr").count() == 6
    _shot(page, screenshot_dir, "items-browser.png")
    page.select_option("#id_state", "disagreement")
    with page.expect_navigation():
        page.click("button:has-text('Filter')")
    rows = page.locator("#items tbody tr")
    disputed = {Item.objects.get(pk=i).public_code for i in _disputed(p)}
    assert {rows.nth(i).get_attribute("data-code") for i in range(rows.count())} == disputed
    _shot(page, screenshot_dir, "items-browser-disagreement.png")
    with page.expect_navigation():
        rows.first.locator("text=Preview").click()
    assert page.locator(".preview-frame .turn").count() >= 2
    assert page.locator(".preview-frame input[type=radio]:not([disabled])").count() == 0
    main = page.inner_text("main")
    assert "Sealed" in main and "zephyr" not in main.lower() and "orion" not in main.lower()
    _shot(page, screenshot_dir, "items-preview.png")
    page.click("text=All items")
    page.click("text=Coder pace")
    assert page.locator("#pace tbody tr").count() == 3
    _shot(page, screenshot_dir, "items-coder-pace.png")
    page.click("nav.tabs >> text=Event log")
    page.select_option("#id_action", "submit")
    with page.expect_navigation():
        page.click("button:has-text('Filter')")
    assert page.locator("#events tbody tr").count() >= 3
    _shot(page, screenshot_dir, "events-filtered.png")
    page.goto(f"{page.base}/studies/{p.study.pk}/events/")
    _shot(page, screenshot_dir, "events.png")
    # Remove coder_c mid-study: their open items go to the others.
    page.click("nav.tabs >> text=Members")
    page.click("tr[data-member='coder_c'] >> text=Remove or replace")
    _shot(page, screenshot_dir, "people-remove.png")
    page.fill("#id_reason", "Left the project")
    with page.expect_navigation():
        page.click("button:has-text('Remove coder_c')")
    assert "Removed coder_c" in page.inner_text("main")
    assert not Assignment.objects.filter(coder=coder_c, status="open").exists()
    _shot(page, screenshot_dir, "people-members.png")


def _code(p, n, disagree):
    """Every coder of the first ``n`` items submits; the second differs per ``disagree``."""
    for i, item in enumerate(Item.objects.filter(study=p.study).order_by("public_code")[:n]):
        holders = Assignment.objects.filter(item=item).select_related("item__study__rubric")
        for j, a in enumerate(holders.order_by("coder__username")):
            values = full_values(p.study)
            for code, value in (disagree.get(i, {}) if j else {}).items():
                values[code]["value"] = value
            score_submit(assignment=a, values=values, expected_version=a.version, by=a.coder)


def _disputed(p):
    from coding.selectors_reconcile import reconcile_queue

    codes = {e.item_code for e in reconcile_queue(study=p.study, status="open")}
    return Item.objects.filter(public_code__in=codes).values_list("pk", flat=True)
