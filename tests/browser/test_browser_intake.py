"""End-to-end in headless Chromium, at 390 px and on a desktop (issue 18 item 6): an intake
official enters a walk-in report from the menu and hands over the receipt, and the reporter
confirms the transcript in the inbox; an OPD evaluator imports a bansos beneficiary list (check,
then confirm with the same file). No page scrolls sideways; axe-core finds nothing serious or
critical on any of these pages. Screenshots are kept with the others."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.integration.hibah_bansos.test_hibah_import_pages import RULES, beneficiary_file
from tests.support.hibah_bansos import add_programme

WIDTHS = {"phone": (390, 844), "desktop": (1280, 800)}
WB = "/t/cimahi/whistleblowing"
HB = "/t/cimahi/hibah-bansos"
RECEIPT_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}(?:-[0-9A-HJKMNP-TV-Z]{5}){4}")


def text_of(page) -> str:
    return re.sub(r"\s+", " ", page.locator("main").inner_text())


def look(visitor, label: str, width: int) -> None:
    overflow = visitor.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{label}: the page scrolls sideways by {overflow} px at {width} px"
    visitor.seen(f"{label}-{width}")


def sign_in(visitor, base: str, creds) -> None:
    visitor.fill_sign_in(f"{base}/t/cimahi/login", creds)
    visitor.page.get_by_role("button", name="Masuk").click()
    visitor.page.get_by_text("Anda berhasil masuk.").wait_for()


@pytest.mark.parametrize("device", sorted(WIDTHS))
def test_an_intake_official_enters_a_walk_in_report_and_the_reporter_confirms_it(
    live_wb, visitor, make_official, device
):
    width, height = WIDTHS[device]
    office = visitor("intake")
    office.page.set_viewport_size({"width": width, "height": height})
    sign_in(office, live_wb.url, make_official("cimahi", "wbs_intake"))
    page = office.page
    page.get_by_role("link", name="Catat laporan").click()
    page.wait_for_url(f"**{WB}/office/assisted-report")
    page.get_by_label("Datang langsung").check()
    page.locator("#category").select_option("pungutan_liar")
    what = f"Warga diminta uang untuk surat keterangan. {uuid.uuid4().hex[:8]}"
    page.locator("#what").fill(what)
    page.locator("#where").fill("Kantor kelurahan")
    look(office, "assisted-form", width)
    page.get_by_role("button", name="Simpan laporan dan buat tanda terima").click()
    page.get_by_text("serahkan kepada pelapor").wait_for()
    receipt = RECEIPT_RE.search(page.locator("#receipt-code").inner_text().replace("\n", ""))
    assert receipt, page.locator("#receipt-code").inner_text()
    look(office, "assisted-receipt", width)

    citizen = visitor("reporter")
    citizen.page.set_viewport_size({"width": width, "height": height})
    citizen.goto(f"{live_wb.url}{WB}/inbox")
    citizen.page.locator("#receipt").fill(receipt.group(0))
    citizen.page.locator("form:has(#receipt) button[type='submit']").click()
    citizen.page.get_by_text("Laporan Anda sebagaimana dicatat petugas penerima").wait_for()
    assert what in text_of(citizen.page) and "Petugas penerima" in text_of(citizen.page)
    look(citizen, "inbox-transcript", width)
    citizen.page.get_by_role("button", name="Saya membenarkan isi laporan ini").click()
    citizen.page.get_by_text("Anda telah membenarkan isi laporan ini pada").wait_for()
    look(citizen, "inbox-confirmed", width)


@pytest.mark.parametrize("device", sorted(WIDTHS))
def test_an_evaluator_checks_then_imports_a_beneficiary_list(
    live_hb, visitor, make_official, hb_owner_db, demo_tenants, device, tmp_path
):
    width, height = WIDTHS[device]
    code = add_programme(
        hb_owner_db, demo_tenants["cimahi"].id, "TEST-BRIMP", kind="bansos", eligibility=RULES
    )
    raw, niks = beneficiary_file(3)
    path = tmp_path / "penerima.csv"
    path.write_bytes(raw)

    office = visitor("evaluator")
    page = office.page
    page.set_viewport_size({"width": width, "height": height})
    sign_in(office, live_hb.url, make_official("cimahi", "bansos_evaluator"))
    page.get_by_role("link", name="Impor", exact=True).click()
    page.wait_for_url(f"**{HB}/office/imports")
    page.locator("#programme").select_option(code)
    page.locator("#file").set_input_files(str(path))
    look(office, "import-form", width)
    page.get_by_role("button", name="Periksa berkas").click()
    page.get_by_text("Belum ada yang diimpor.").wait_for()
    text = text_of(page)
    assert niks[0] in text and "NIK terdiri dari 16 angka" in text and "wajib diisi" in text
    look(office, "import-preview", width)
    page.locator("#file").set_input_files(str(path))
    page.get_by_role("button", name="Impor 3 baris").click()
    page.get_by_text("Impor selesai: 3 permohonan dibuat").wait_for()
    look(office, "import-done", width)
