"""Headless Chromium: a person signs in and sees their studies."""

import pytest

from tests.conftest import browser_login
from tests.factories import make_personas

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process


@pytest.mark.browser
def test_coder_logs_in_and_sees_home(page, screenshot_dir, transactional_db):
    personas = make_personas()
    browser_login(page, "coder_a")
    assert page.url.rstrip("/") == page.base.rstrip("/")
    assert page.locator("h1").inner_text() == "My studies"
    assert page.get_by_text(personas.study.name).is_visible()
    page.screenshot(path=str(screenshot_dir / "home.png"), full_page=True)
