"""Issue 19's reporter journey in headless Chromium, on a 360 px phone and on a desktop, with
JavaScript on and off, in Bahasa Indonesia and in English: from the city's front door to a
report, its receipt as PDF, a language switch that keeps the receipt, the inbox (a message,
then a reload), the acknowledgement as PDF and its check on the verification page. No page may
scroll sideways; axe-core checks every page (tests/browser/conftest.py: `Visitor.seen`)."""

from __future__ import annotations

import io
import re
import uuid
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.support.browser import no_sideways_scroll

P = "/t/cimahi/whistleblowing"
RECEIPT_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}(?:-[0-9A-HJKMNP-TV-Z]{5}){4}")
CASE_RE = re.compile(r"WBS-\d{4}-[0-9A-HJKMNP-TV-Z]{8}")


# What the citizen reads and presses, in each language of the pages.
TEXTS = {
    "id": {
        "sign_in": "Masuk petugas",
        "report_safely": "Laporkan pelanggaran dengan aman",
        "file": "Buat pengaduan",
        "send": "Kirim pengaduan",
        "anonymous": "Anonim",
        "category": "Kategori",
        "what": "Apa yang terjadi",
        "received": "Pengaduan diterima",
        "pdf": "Unduh sebagai PDF",
        "other_language": "English",
        "other_received": "Report received",
        "this_language": "Bahasa Indonesia",
        "noted": "Saya sudah mencatat kode ini",
        "follow": "Pantau pengaduan saya",
        "receipt": "Kode tanda terima",
        "open": "Buka",
        "write": "Tulis kepada petugas",
        "send_message": "Kirim pesan",
        "sent": "Pesan Anda telah terkirim.",
        "show_ack": "Tampilkan tanda terima bertanda tangan",
        "ack": "Tanda terima pengaduan bertanda tangan",
        "qr": "Kode QR ke halaman verifikasi",
        "ack_pdf": "Unduh tanda terima sebagai PDF",
        "ack_file": "Unduh tanda terima bertanda tangan",
        "verify_file": "Berkas tanda terima (.json)",
        "verify": "Verifikasi",
        "valid": "Sah: Kota Cimahi menandatangani tanda terima ini.",
    },
    "en": {
        "sign_in": "Officials' sign-in",
        "report_safely": "Report wrongdoing safely",
        "file": "File a report",
        "send": "Send report",
        "anonymous": "Anonymous",
        "category": "Category",
        "what": "What happened",
        "received": "Report received",
        "pdf": "Download as PDF",
        "other_language": "Bahasa Indonesia",
        "other_received": "Pengaduan diterima",
        "this_language": "English",
        "noted": "I have written down this code",
        "follow": "Follow my report",
        "receipt": "Receipt",
        "open": "Open",
        "write": "Write to the handlers",
        "send_message": "Send message",
        "sent": "Your message was sent.",
        "show_ack": "Show the signed acknowledgement",
        "ack": "Signed acknowledgement of a report",
        "qr": "QR code to the verification page",
        "ack_pdf": "Download the acknowledgement as PDF",
        "ack_file": "Download the signed acknowledgement",
        "verify_file": "Acknowledgement file (.json)",
        "verify": "Verify",
        "valid": "Valid: Kota Cimahi signed this acknowledgement.",
    },
}


def pdf_text(path: str | Path) -> str:
    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF-")
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize(
    ("width", "javascript", "lang"),
    [(360, True, "id"), (1280, True, "id"), (360, False, "en"), (1280, False, "id")],
    ids=["360-js-id", "1280-js-id", "360-nojs-en", "1280-nojs-id"],
)
def test_a_citizen_reports_keeps_the_receipt_and_verifies_the_acknowledgement(
    live_wb, visitor, width, javascript, lang
):
    t = TEXTS[lang]
    citizen = visitor(f"w{width}-{'js' if javascript else 'nojs'}-{lang}", javascript=javascript)
    page = citizen.page
    page.set_viewport_size({"width": width, "height": 800})

    def look(label: str) -> None:
        citizen.seen(label)
        no_sideways_scroll(page, label)

    citizen.goto(f"{live_wb.url}/t/cimahi/?lang={lang}")
    assert page.get_by_role("heading", name="Kota Cimahi", level=1).is_visible()
    assert page.get_by_role("link", name=t["sign_in"]).first.is_visible()
    look("front-door")
    page.get_by_role("link", name=t["report_safely"]).click()
    page.get_by_role("link", name=t["file"]).click()
    page.wait_for_url(f"**{P}/report")
    look("report-form")

    page.get_by_role("button", name=t["send"]).click()  # nothing chosen: explained
    assert page.locator(".error-summary").is_visible()
    assert page.locator("#category").get_attribute("aria-invalid") == "true"
    look("report-form-errors")

    what = f"Petugas loket meminta uang tambahan. {uuid.uuid4().hex[:8]}"
    page.get_by_label(t["anonymous"]).check()
    page.get_by_label(t["category"]).select_option("pungutan_liar")
    page.get_by_label(t["what"]).fill(what)
    page.get_by_role("button", name=t["send"]).click()
    page.get_by_role("heading", name=t["received"]).wait_for()
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
        page.get_by_role("button", name=t["pdf"]).click()
    text = pdf_text(download.value.path())
    assert receipt in text and case in text

    page.get_by_role("button", name=t["other_language"]).click()  # POST: the receipt stays
    page.get_by_role("heading", name=t["other_received"]).wait_for()
    assert page.locator("#receipt-code").inner_text().strip() == receipt
    assert receipt not in page.url
    look("receipt-other-language")
    page.get_by_role("button", name=t["this_language"]).click()
    page.get_by_role("heading", name=t["received"]).wait_for()

    page.get_by_label(t["noted"]).check()
    page.get_by_role("button", name=t["follow"]).click()
    page.get_by_label(t["receipt"]).fill(receipt.lower().replace("-", " "))
    look("inbox-open")
    page.get_by_role("button", name=t["open"]).click()
    assert page.get_by_role("heading", name=re.compile(case)).is_visible()
    assert what in page.locator("main").inner_text()
    look("inbox")

    message = f"Saya punya fotokopi kuitansinya. {uuid.uuid4().hex[:6]}"
    page.get_by_label(t["write"]).fill(message)
    page.get_by_role("button", name=t["send_message"]).click()
    page.get_by_text(t["sent"]).wait_for()
    assert receipt not in page.url
    page.reload()
    page.get_by_role("heading", name=re.compile(case)).wait_for()
    assert page.locator("main").inner_text().count(message) == 1  # reloaded, stored once
    look("inbox-after-message")

    page.get_by_role("button", name=t["show_ack"]).click()
    page.get_by_role("heading", name=t["ack"]).wait_for()
    assert page.get_by_role("img", name=t["qr"]).is_visible()
    look("acknowledgement")
    with page.expect_download() as pdf_download:
        page.get_by_role("button", name=t["ack_pdf"]).click()
    text = pdf_text(pdf_download.value.path())
    assert case in text and receipt not in text
    with page.expect_download() as json_download:
        page.get_by_role("button", name=t["ack_file"]).click()
    ack_file = json_download.value.path()

    citizen.goto(f"{live_wb.url}/t/cimahi/verifikasi")
    look("verify")
    page.get_by_label(t["verify_file"]).set_input_files(str(ack_file))
    page.get_by_role("button", name=t["verify"]).click()
    page.get_by_text(t["valid"]).wait_for()
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
