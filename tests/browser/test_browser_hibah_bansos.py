"""End-to-end in headless Chromium: the public hibah-bansos transparency page."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration

PATH = "/t/cimahi/hibah-bansos/transparansi"


def test_the_public_transparency_page_renders_in_both_languages(live_hb, visitor):
    citizen = visitor("citizen")
    page = citizen.page
    citizen.goto(f"{live_hb.url}{PATH}")
    assert page.get_by_role("heading", level=1, name="Hibah dan bantuan sosial").is_visible()
    assert page.locator("html").get_attribute("lang") == "id"
    citizen.seen("transparency")

    page.get_by_role("link", name="English").click()
    page.get_by_role("heading", level=1, name="Grants and social aid").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    citizen.seen("transparency-en")

