"""End-to-end in headless Chromium, at 360 px (a cheap phone) and on a desktop: a resident with
no e-mail registers with phone and NIK, is confirmed at the counter and seeks bansos. One the (fake) social registry lists
applies and reaches "Diajukan"; one it does not list is told before the form where to go and
asks an official to verify them, and the OPD evaluator finds the application in the worklist.
No page scrolls sideways; axe-core finds nothing serious or critical on the citizen pages.
Screenshots at 390 and 1280 px are kept with the others (.local/test-artifacts/browser/)."""

from __future__ import annotations

import re

import pytest

from tests.support.counter import counter_code
from tests.support.hibah_bansos import BANSOS, PDF
from tests.support.social_registry import list_in_registry, resident_form

P = "/t/cimahi/hibah-bansos"
NUMBER_RE = re.compile(r"HB-\d{4}-[0-9A-HJKMNP-TV-Z]{8}")
WIDTHS = {"phone": (360, 740), "desktop": (1280, 800)}


def text_of(page) -> str:
    return re.sub(r"\s+", " ", page.locator("main").inner_text())


def look(visitor, label: str, width: int, *, citizen: bool = True) -> None:
    """No sideways scrolling at this width; a screenshot (also at 390 px on the phone run)."""
    page = visitor.page
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{label}: the page scrolls sideways by {overflow} px at {width} px"
    visitor.seen(f"{label}-{width}", citizen=citizen)
    if width == 360:
        page.set_viewport_size({"width": 390, "height": 844})
        visitor.seen(f"{label}-390", citizen=citizen)
        page.set_viewport_size({"width": 360, "height": 740})


def register_without_e_mail(visitor, base: str, width: int, app, csrf_token) -> dict:
    """Register by the pages without e-mail, confirm at the counter (the official's code, the
    resident's own password), then sign in with the NIK."""
    page = visitor.page
    form = resident_form()
    visitor.goto(f"{base}{P}/")  # the trailing slash works
    look(visitor, "programmes", width)
    page.get_by_role("link", name="Daftar sebagai warga").click()
    page.wait_for_url(f"**{P}/register/individual")
    for field in ("nik", "kk", "name", "address", "phone", "bank_account", "password"):
        page.locator(f"#{field}").fill(form[field])
    page.locator("#password_confirm").fill(form["password_confirm"])
    look(visitor, "register", width)
    page.get_by_role("button", name="Daftar", exact=True).click()
    page.get_by_role("heading", level=1, name="Datang ke loket untuk konfirmasi").wait_for()
    assert "masuk dengan NIK" in text_of(page)
    look(visitor, "come-to-the-counter", width)
    # at the counter: the official checks the KTP and hands over a one-time code
    visitor.goto(f"{base}{P}/reset-password")
    page.locator("#reset_code").fill(counter_code(app, csrf_token, form["nik"]))
    page.locator("#password").fill(form["password"])
    page.locator("#password_confirm").fill(form["password"])
    page.get_by_role("button", name="Simpan kata sandi baru").click()
    page.wait_for_url(f"**{P}/sign-in")
    page.locator("#email").fill(form["nik"])
    page.locator("#password").fill(form["password"])
    page.get_by_role("button", name="Masuk", exact=True).click()
    page.wait_for_url(f"**{P}/applications")
    return form


def fill_bansos_form(page) -> None:
    page.locator("#proposal").fill("Kursi roda untuk ibu saya yang tidak dapat berjalan.")
    page.locator("#requested").fill("2500000")
    page.locator("#rab_0_item").fill("Kursi roda")
    page.locator("#rab_0_amount").fill("2.500.000")
    for code in ("ktp_pengurus", "rekening"):
        page.locator(f"#doc_{code}").set_input_files(
            files=[{"name": f"{code}.pdf", "mimeType": "application/pdf", "buffer": PDF}]
        )


def open_bansos_form(visitor, width: int) -> None:
    page = visitor.page
    page.get_by_role("link", name="Program yang dibuka", exact=True).click()
    page.wait_for_url(f"**{P}")
    assert "Siapa yang dapat mengajukan" in text_of(page)
    page.locator(f"a[href$='/programmes/{BANSOS}/apply']").click()
    page.wait_for_url(f"**{P}/programmes/{BANSOS}/apply")


@pytest.mark.parametrize("device", sorted(WIDTHS))
def test_a_resident_the_registry_lists_applies_for_bansos(
    live_hb, visitor, device, hb_app, csrf_token
):
    width, height = WIDTHS[device]
    citizen = visitor("resident")
    citizen.page.set_viewport_size({"width": width, "height": height})
    page = citizen.page
    form = register_without_e_mail(citizen, live_hb.url, width, hb_app, csrf_token)
    list_in_registry(form["nik"])

    open_bansos_form(citizen, width)
    assert "Anda tercantum dalam data sosial (DTKS/DTSEN), data Maret 2026." in text_of(page)
    fill_bansos_form(page)
    look(citizen, "apply-listed", width)
    page.get_by_role("button", name="Ajukan permohonan").click()
    page.get_by_text("Permohonan Anda sudah diajukan.").wait_for()
    assert "Status Diajukan" in text_of(page) and "Rp2.500.000" in text_of(page)
    look(citizen, "submitted", width)
    page.get_by_role("link", name="Permohonan saya").click()
    assert NUMBER_RE.search(text_of(page))
    look(citizen, "my-applications", width)


@pytest.mark.parametrize("device", sorted(WIDTHS))
def test_a_resident_the_registry_does_not_list_asks_an_official_to_verify(
    live_hb, visitor, make_official, device, hb_app, csrf_token
):
    width, height = WIDTHS[device]
    citizen = visitor("not-listed")
    citizen.page.set_viewport_size({"width": width, "height": height})
    page = citizen.page
    register_without_e_mail(citizen, live_hb.url, width, hb_app, csrf_token)

    open_bansos_form(citizen, width)
    notice = page.locator("section.registry")
    assert notice.is_visible()
    said = re.sub(r"\s+", " ", notice.inner_text())
    assert "Anda tidak tercantum dalam data sosial" in said
    assert "Kantor kelurahan Anda" in said and "Dinas Sosial" in said
    # told before the form: the notice comes first on the page
    assert notice.bounding_box()["y"] < page.locator("#proposal").bounding_box()["y"]
    assert page.get_by_role("button", name="Ajukan permohonan").count() == 0
    look(citizen, "apply-not-listed", width)
    fill_bansos_form(page)
    page.get_by_role("button", name="Minta verifikasi petugas").click()
    page.get_by_text("Permohonan Anda dikirim ke Dinas Sosial").wait_for()
    assert "Menunggu verifikasi petugas" in text_of(page)
    number = NUMBER_RE.search(page.url).group(0)
    look(citizen, "waiting-for-verification", width)

    creds = make_official("cimahi", "bansos_evaluator")
    official = visitor("evaluator")
    official.page.set_viewport_size({"width": width, "height": height})
    desk = official.page
    official.fill_sign_in(f"{live_hb.url}/t/cimahi/login?next={P}/office", creds)
    desk.get_by_role("button", name="Masuk").click()
    desk.wait_for_url(f"**{P}/office")
    assert number in text_of(desk) and "Menunggu verifikasi petugas" in text_of(desk)
    look(official, "worklist", width, citizen=False)
    desk.get_by_role("link", name=number).click()
    desk.wait_for_url(f"**{P}/office/applications/{number}")
    assert "Tidak tercantum" in text_of(desk)
    look(official, "verify", width, citizen=False)
