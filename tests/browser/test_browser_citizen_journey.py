"""Issue 19's reporter journey in headless Chromium, on a 360 px phone and on a desktop: from
the city's front door to a report, its receipt as PDF, a language switch that keeps the
receipt, the inbox (a message, then a reload), the acknowledgement as PDF and its check on the
verification page. No page may scroll sideways at 360 px; axe-core checks every page."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from pypdf import PdfReader

P = "/t/cimahi/whistleblowing"
RECEIPT_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}(?:-[0-9A-HJKMNP-TV-Z]{5}){4}")
CASE_RE = re.compile(r"WBS-\d{4}-[0-9A-HJKMNP-TV-Z]{8}")


def pdf_text(path: str | Path) -> str:
    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF-")
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def no_sideways_scroll(page, label: str) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{label} scrolls sideways: {width[0]} > {width[1]} px"


@pytest.mark.parametrize("width", [360, 1280])
def test_a_citizen_reports_keeps_the_receipt_and_verifies_the_acknowledgement(
    live_wb, visitor, width
):
    citizen = visitor(f"w{width}")
    page = citizen.page
    page.set_viewport_size({"width": width, "height": 800})

    def look(label: str) -> None:
        citizen.seen(label)
        no_sideways_scroll(page, label)

    citizen.goto(f"{live_wb.url}/t/cimahi/")
    assert page.get_by_role("heading", name="Kota Cimahi", level=1).is_visible()
    assert page.get_by_role("link", name="Masuk petugas").first.is_visible()
    look("front-door")
    page.get_by_role("link", name="Laporkan pelanggaran dengan aman").click()
    page.get_by_role("link", name="Buat pengaduan").click()
    page.wait_for_url(f"**{P}/report")
    look("report-form")

    page.get_by_role("button", name="Kirim pengaduan").click()  # nothing chosen: explained
    assert page.locator(".error-summary").is_visible()
    assert page.locator("#category").get_attribute("aria-invalid") == "true"
    look("report-form-errors")

    what = f"Petugas loket meminta uang tambahan. {uuid.uuid4().hex[:8]}"
    page.get_by_label("Anonim").check()
    page.get_by_label("Kategori").select_option("pungutan_liar")
    page.get_by_label("Apa yang terjadi").fill(what)
    page.get_by_role("button", name="Kirim pengaduan").click()
    page.get_by_role("heading", name="Pengaduan diterima").wait_for()
    look("receipt")
    receipt = page.locator("#receipt-code").inner_text().strip()
    assert RECEIPT_RE.fullmatch(receipt), receipt
    case = CASE_RE.search(page.locator("main").inner_text()).group(0)
    # each group on one line: every group's box is exactly one line high
    heights = page.locator("#receipt-code .group").evaluate_all(
        "els => els.map(e => e.getClientRects().length)"
    )
    assert heights == [1, 1, 1, 1, 1]

    with page.expect_download() as download:
        page.get_by_role("button", name="Unduh sebagai PDF").click()
    text = pdf_text(download.value.path())
    assert receipt in text and case in text

    page.get_by_role("button", name="English").click()  # POST: the receipt stays
    page.get_by_role("heading", name="Report received").wait_for()
    assert page.locator("#receipt-code").inner_text().strip() == receipt
    assert receipt not in page.url
    look("receipt-english")
    page.get_by_role("button", name="Bahasa Indonesia").click()
    page.get_by_role("heading", name="Pengaduan diterima").wait_for()

    page.get_by_label("Saya sudah mencatat kode ini").check()
    page.get_by_role("button", name="Pantau pengaduan saya").click()
    page.get_by_label("Kode tanda terima").fill(receipt.lower().replace("-", " "))
    look("inbox-open")
    page.get_by_role("button", name="Buka").click()
    assert page.get_by_role("heading", name=re.compile(case)).is_visible()
    assert what in page.locator("main").inner_text()
    look("inbox")

    message = f"Saya punya fotokopi kuitansinya. {uuid.uuid4().hex[:6]}"
    page.get_by_label("Tulis kepada petugas").fill(message)
    page.get_by_role("button", name="Kirim pesan").click()
    page.get_by_text("Pesan Anda telah terkirim.").wait_for()
    assert receipt not in page.url
    page.reload()
    page.get_by_role("heading", name=re.compile(case)).wait_for()
    assert page.locator("main").inner_text().count(message) == 1  # reloaded, stored once
    look("inbox-after-message")

    page.get_by_role("button", name="Tampilkan tanda terima bertanda tangan").click()
    page.get_by_role("heading", name="Tanda terima pengaduan bertanda tangan").wait_for()
    assert page.get_by_role("img", name="Kode QR ke halaman verifikasi").is_visible()
    look("acknowledgement")
    with page.expect_download() as pdf_download:
        page.get_by_role("button", name="Unduh tanda terima sebagai PDF").click()
    text = pdf_text(pdf_download.value.path())
    assert case in text and receipt not in text
    with page.expect_download() as json_download:
        page.get_by_role("button", name="Unduh tanda terima bertanda tangan").click()
    ack_file = json_download.value.path()

    citizen.goto(f"{live_wb.url}/t/cimahi/verifikasi")
    look("verify")
    page.get_by_label("Berkas tanda terima (.json)").set_input_files(str(ack_file))
    page.get_by_role("button", name="Verifikasi").click()
    page.get_by_text("Sah: Kota Cimahi menandatangani tanda terima ini.").wait_for()
    assert case in page.locator("main").inner_text()
    look("verified")


def test_no_citizen_page_scrolls_sideways_at_360_px(live_wb, live_hb, visitor):
    citizen = visitor("phone")
    page = citizen.page
    page.set_viewport_size({"width": 360, "height": 740})
    for base, path in (
        (live_wb.url, "/t/cimahi/"),
        (live_wb.url, f"{P}"),
        (live_wb.url, f"{P}/report"),
        (live_wb.url, f"{P}/inbox"),
        (live_wb.url, f"{P}/statistik"),
        (live_wb.url, "/t/cimahi/verifikasi"),
        (live_hb.url, "/t/cimahi/"),
        (live_hb.url, "/t/cimahi/hibah-bansos"),
        (live_hb.url, "/t/cimahi/hibah-bansos/transparansi"),
    ):
        citizen.goto(base + path)
        no_sideways_scroll(page, path)
    resp = page.goto(f"{live_wb.url}{P}/tidak-ada")
    assert resp.status == 404 and "Halaman tidak ditemukan" in page.locator("h1").inner_text()
    no_sideways_scroll(page, "404")
    citizen.seen("not-found")
