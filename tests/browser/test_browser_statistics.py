"""The statistics pages in a browser (issue 18, item 4): an official reaches them from the
menu, the charts load as images beside their tables, nothing scrolls sideways at 390 px,
axe-core finds nothing serious, and the XLSX download opens with Indonesian headers."""

from __future__ import annotations

import io

import openpyxl

from tests.integration.whistleblowing.test_whistleblowing import new_report

WB = "/t/cimahi/whistleblowing"
HB = "/t/cimahi/hibah-bansos"


def charts_loaded(page) -> int:
    """How many chart images the browser drew (a broken image has no natural width)."""
    return page.evaluate(
        "() => [...document.querySelectorAll('img.chart-img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length"
    )


def no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.scrollingElement.scrollWidth <= window.innerWidth")


def test_a_supervisor_opens_statistics_from_the_menu_and_downloads_the_workbook(
    live_wb, visitor, make_official, wb
):
    for category in ("korupsi", "gratifikasi"):
        assert (
            wb.post("/t/cimahi/api/v1/reports", json=new_report(category=category)).status_code
            == 201
        )
    creds = make_official("cimahi", "wbs_supervisor")
    office = visitor("supervisor")
    page = office.page
    office.fill_sign_in(f"{live_wb.url}/t/cimahi/login", creds)
    page.get_by_role("button", name="Masuk").click()
    page.get_by_role("link", name="Statistik").click()
    page.wait_for_url(f"**{WB}/office/statistik")
    page.get_by_role("heading", name="Statistik pengaduan").wait_for()
    assert charts_loaded(page) == page.locator("img.chart-img").count() >= 8
    office.seen("statistics")  # axe-core: nothing serious or critical
    page.set_viewport_size({"width": 390, "height": 844})
    assert no_sideways_scroll(page)
    office.seen("statistics-390")

    with page.expect_download() as got:
        page.get_by_role("link", name="Excel (XLSX)").click()
    book = openpyxl.load_workbook(io.BytesIO(open(got.value.path(), "rb").read()))
    assert list(book["Kasus"].values)[0][:3] == ("Nomor kasus", "Kategori", "Status")

    public = visitor("public")
    public.page.set_viewport_size({"width": 390, "height": 844})
    public.goto(f"{live_wb.url}{WB}/statistik")
    assert charts_loaded(public.page) == 3 and no_sideways_scroll(public.page)
    public.seen("public-statistics-390")


def test_a_finance_official_sees_the_budget_charts(live_hb, visitor, make_official):
    creds = make_official("cimahi", "bansos_finance")
    office = visitor("finance")
    page = office.page
    office.fill_sign_in(f"{live_hb.url}/t/cimahi/login?next={HB}/office", creds)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(f"**{HB}/office")
    page.get_by_role("link", name="Statistik").click()
    page.wait_for_url(f"**{HB}/office/statistik")
    assert charts_loaded(page) == 4
    office.seen("hibah-statistics")
    page.set_viewport_size({"width": 390, "height": 844})
    assert no_sideways_scroll(page)
    office.seen("hibah-statistics-390")
