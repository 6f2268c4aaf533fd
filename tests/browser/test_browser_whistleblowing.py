"""End-to-end in headless Chromium: a citizen files a whistleblowing report with a photo and
follows it with the receipt; an official signs in (password + TOTP) and moves the case on."""

from __future__ import annotations

import io
import re
import uuid

from PIL import Image

P = "/t/cimahi/whistleblowing"
RECEIPT_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}(?:-[0-9A-HJKMNP-TV-Z]{5}){4}")
CASE_RE = re.compile(r"WBS-\d{4}-[0-9A-HJKMNP-TV-Z]{8}")


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def file_report(citizen, base_url: str) -> tuple[str, str, str]:
    """The citizen goes from the service's home page through the form to the receipt page.
    Returns (case number, receipt, what was reported)."""
    page = citizen.page
    citizen.goto(f"{base_url}{P}")
    citizen.seen("home")
    page.get_by_role("link", name="Buat pengaduan").click()
    page.wait_for_url(f"**{P}/report")
    citizen.seen("report-form")

    what = f"Petugas loket meminta uang tambahan untuk KTP. {uuid.uuid4().hex[:8]}"
    page.get_by_label("Kategori").select_option("pungutan_liar")
    page.get_by_label("Apa yang terjadi").fill(what)
    page.locator("#person_0_name").fill("Pak X")
    page.locator("#person_0_position").fill("Staf loket")
    page.locator("#person_0_work_unit").fill("Disdukcapil")
    page.locator("#where").fill("Loket 3, Mal Pelayanan Publik")
    page.locator("#when").fill("Mei 2026")
    page.locator("#files").set_input_files(
        files=[{"name": "bukti.png", "mimeType": "image/png", "buffer": png()}]
    )
    page.get_by_role("button", name="Kirim pengaduan").click()
    page.get_by_role("heading", name="Pengaduan diterima").wait_for()
    citizen.seen("receipt")

    receipt = page.locator("p.receipt code").inner_text().strip()
    assert RECEIPT_RE.fullmatch(receipt), receipt
    case = CASE_RE.search(page.locator("main").inner_text()).group(0)
    return case, receipt, what


def open_inbox(citizen, receipt: str, *, paste: bool) -> None:
    page = citizen.page
    field = page.get_by_label("Kode tanda terima")
    if paste:
        # As a person does: copy the receipt shown, paste it into the inbox form.
        field.focus()
        page.keyboard.press("Control+V")
        assert field.input_value() == receipt, "the pasted receipt is not the one shown"
    else:
        field.fill(receipt)
    citizen.seen("inbox-open")
    page.get_by_role("button", name="Buka").click()
    page.wait_for_load_state()


def test_a_citizen_files_a_report_with_a_photo_and_follows_it_with_the_receipt(live_wb, visitor):
    citizen = visitor("citizen")
    citizen.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_wb.url)
    page = citizen.page
    case, receipt, what = file_report(citizen, live_wb.url)

    page.locator("p.receipt code").select_text()
    page.keyboard.press("Control+C")
    page.get_by_label("Saya sudah mencatat kode ini").check()  # the confirmation before leaving
    page.get_by_role("button", name="Pantau pengaduan saya").click()
    page.wait_for_url(f"**{P}/inbox?noted=1")
    open_inbox(citizen, receipt, paste=True)

    main = page.locator("main")
    assert page.get_by_role("heading", name=re.compile(case)).is_visible()
    assert re.search(r"Status:\s*Diterima", main.inner_text())
    assert what in main.inner_text()
    assert "image/png" in main.inner_text()  # the photo arrived, its type checked
    assert receipt not in page.url  # the receipt travels in POST bodies only
    citizen.seen("inbox")


def test_an_official_signs_in_with_totp_and_acknowledges_then_triages_the_case(
    live_wb, visitor, make_official
):
    citizen = visitor("citizen")
    case, receipt, _ = file_report(citizen, live_wb.url)

    creds = make_official("cimahi", "wbs_supervisor")
    office = visitor("official")
    page = office.page
    office.fill_sign_in(f"{live_wb.url}/t/cimahi/login", creds)
    office.seen("login", citizen=False)
    page.get_by_role("button", name="Masuk").click()
    page.get_by_text("Anda berhasil masuk.").wait_for()
    office.seen("signed-in", citizen=False)

    office.goto(f"{live_wb.url}{P}/cases?status=received")
    office.seen("cases", citizen=False)
    page.get_by_role("link", name=case).click()
    page.wait_for_url(f"**{P}/cases/{case}")
    office.seen("case", citizen=False)

    def step(to: str, outcome: str = "") -> str:
        form = page.locator("form[action$='/transitions']")
        form.get_by_label("Pindahkan ke").select_option(to)
        if outcome:
            form.get_by_label("Hasil").select_option(outcome)
        form.get_by_role("button", name="Simpan").click()
        page.wait_for_url(f"**{P}/cases/{case}")
        return re.sub(r"\s+", " ", page.locator("main").inner_text())

    assert "Status: Dikonfirmasi" in step("acknowledged")
    office.seen("case-acknowledged", citizen=False)
    assert "Status: Ditelaah" in step("triaged", "accepted")
    office.seen("case-triaged", citizen=False)

    # The reporter sees the new status with the receipt, not who handled it.
    citizen.goto(f"{live_wb.url}{P}/inbox")
    open_inbox(citizen, receipt, paste=False)
    text = citizen.page.locator("main").inner_text()
    assert re.search(r"Status:\s*Ditelaah", text) and "Dikonfirmasi" in text
    assert creds.username not in text
    citizen.seen("inbox-after-triage")
