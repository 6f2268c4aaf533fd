"""Linked cities in a real browser with scripts off, at phone width and on a desktop (issue 23):
a tenant admin proposes a link on "Tautan dengan kota lain" and the other city's admin accepts it;
an Inspektorat official refers a case on its page ("Rujuk ke kota lain"); the reporter opens the
inbox with the receipt and consents; axe-core finds nothing serious and nothing scrolls sideways."""

from __future__ import annotations

import pytest

from tests.integration.operations.conftest import two_cities  # noqa: F401 - fixture
from tests.integration.whistleblowing.test_referrals import REASON, file, link


def _signed_in(visitor, live_wb, make_official, slug, role, label, width, height):
    person = visitor(label, javascript=False)
    person.page.set_viewport_size({"width": width, "height": height})
    person.fill_sign_in(f"{live_wb.url}/t/{slug}/login", make_official(slug, role))
    person.page.get_by_role("button", name="Masuk").click()
    person.page.wait_for_load_state()
    return person


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 800)])
def test_a_link_is_proposed_and_accepted_on_the_pages(
    live_wb, visitor, request, make_official, width, height
):
    a, b = request.getfixturevalue("two_cities")
    a_slug, b_slug = a.slug, b.slug
    admin = _signed_in(
        visitor, live_wb, make_official, a_slug, "tenant_admin", f"links-a-{width}", width, height
    )
    page = admin.page
    admin.goto(f"{live_wb.url}/t/{a_slug}/admin/links")
    page.get_by_role("heading", name="Tautan dengan kota lain").wait_for()
    # the first form: a city on this deployment (the second names another deployment)
    page.get_by_role("button", name="Kirim usulan").first.click()  # nothing chosen: said beside
    page.locator("#scopes-error").wait_for()
    admin.seen("refused", citizen=False)
    page.locator("#partner").fill(b_slug)
    page.locator("#scope-referrals").check()
    page.get_by_role("button", name="Kirim usulan").first.click()
    page.get_by_role("heading", name="Tautan dengan kota lain").wait_for()
    assert b_slug in page.locator("main").inner_text()
    admin.seen("proposed", citizen=False)

    other = _signed_in(
        visitor, live_wb, make_official, b_slug, "tenant_admin", f"links-b-{width}", width, height
    )
    other.goto(f"{live_wb.url}/t/{b_slug}/admin/links")
    other.page.get_by_role("button", name="Terima").click()
    other.page.get_by_text("Perjanjian diterima.").wait_for()
    other.seen("accepted", citizen=False)


@pytest.mark.parametrize("width, height", [(390, 844), (1280, 800)])
def test_a_case_is_referred_and_the_reporter_consents_on_the_pages(
    wb, live_wb, visitor, request, make_official, width, height
):
    sender, receiver = request.getfixturevalue("cities")
    filed = file(wb, sender)
    official = _signed_in(
        visitor,
        live_wb,
        make_official,
        sender.slug,
        "wbs_supervisor",
        f"refer-{width}",
        width,
        height,
    )
    official.goto(f"{live_wb.url}/t/{sender.slug}/whistleblowing/cases/{filed['case_number']}")
    page = official.page
    page.get_by_role("heading", name="Rujuk ke kota lain").wait_for()
    official.seen("case", citizen=False)
    page.locator("#partner").select_option(receiver.slug)
    page.locator("#referral-reason").fill(REASON)
    page.get_by_role("button", name="Rujuk ke kota lain").click()
    page.get_by_text("menunggu persetujuan pelapor").wait_for()
    official.seen("referred", citizen=False)

    reporter = visitor(f"consent-{width}", javascript=False)
    reporter.page.set_viewport_size({"width": width, "height": height})
    reporter.goto(f"{live_wb.url}/t/{sender.slug}/whistleblowing/inbox")
    reporter.page.get_by_label("Kode tanda terima").fill(filed["receipt"])
    reporter.page.get_by_role("button", name="Buka").click()
    reporter.page.get_by_role("button", name="Saya setuju pengaduan dirujuk").wait_for()
    assert REASON in reporter.page.locator("main").inner_text()
    reporter.seen("asked")
    reporter.page.get_by_role("button", name="Saya setuju pengaduan dirujuk").click()
    reporter.page.get_by_text("Terima kasih. Pengaduan Anda telah diserahkan").wait_for()
    reporter.seen("consented")


@pytest.fixture
def cities(stack, demo_tenants):
    from tests.integration.whistleblowing.test_referrals import city

    sender, receiver = city("brfa"), city("brfb")
    link(sender, receiver)
    return sender, receiver
