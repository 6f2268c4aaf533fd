"""End-to-end in headless Chromium: the public hibah-bansos transparency page; an organisation
registers, applies for the demo grant programme with its documents and submits; an OPD
evaluator signs in (password + TOTP) and evaluates the application."""

from __future__ import annotations

import re

from tests.support.applicant_mail import link_token
from tests.support.hibah_bansos import HIBAH, ORG_DOCUMENTS, PDF, organisation

P = "/t/cimahi/hibah-bansos"
NUMBER_RE = re.compile(r"HB-\d{4}-[0-9A-HJKMNP-TV-Z]{8}")


def text_of(page) -> str:
    return re.sub(r"\s+", " ", page.locator("main").inner_text())


def test_the_public_transparency_page_renders_in_both_languages(live_hb, visitor):
    citizen = visitor("citizen")
    page = citizen.page
    citizen.goto(f"{live_hb.url}{P}/transparansi")
    assert page.get_by_role("heading", level=1, name="Hibah dan bantuan sosial").is_visible()
    assert page.locator("html").get_attribute("lang") == "id"
    citizen.seen("transparency")

    page.get_by_role("link", name="English").click()
    page.get_by_role("heading", level=1, name="Grants and social aid").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    citizen.seen("transparency-en")


def test_an_organisation_applies_by_the_pages_and_an_evaluator_evaluates_it(
    live_hb, visitor, make_official
):
    applicant = visitor("applicant")
    page = applicant.page
    org = organisation()

    applicant.goto(f"{live_hb.url}{P}")
    applicant.seen("programmes")
    page.get_by_role("link", name="Daftarkan organisasi").click()
    page.wait_for_url(f"**{P}/register/organisation")
    for field in (
        "email",
        "password",
        "name",
        "registration_number",
        "legal_entity_since",
        "npwp",
        "chairperson",
        "address",
        "phone",
        "bank_account",
    ):
        page.locator(f"#{field}").fill(org[field])
    page.locator("#password_confirm").fill(org["password"])
    applicant.seen("register")
    page.get_by_role("button", name="Daftar", exact=True).click()
    page.get_by_role("heading", level=1, name="Periksa e-mail Anda").wait_for()
    # the account works once the e-mailed one-time link is followed
    applicant.goto(f"{live_hb.url}{P}/confirm?token={link_token(org['email'])}")
    page.get_by_role("button", name="Konfirmasi", exact=True).click()
    page.wait_for_url(f"**{P}/applications")
    applicant.seen("my-applications-empty")

    page.get_by_role("link", name="Program yang dibuka", exact=True).click()
    page.wait_for_url(f"**{P}")
    page.locator(f"a[href$='/programmes/{HIBAH}/apply']").click()
    page.wait_for_url(f"**{P}/programmes/{HIBAH}/apply")
    page.locator("#proposal").fill("Pelatihan kewirausahaan pemuda di Kecamatan Cimahi Tengah.")
    page.locator("#requested").fill("100000000")
    page.locator("#rab_0_item").fill("Honor pelatih")
    page.locator("#rab_0_amount").fill("60000000")
    page.locator("#rab_1_item").fill("Bahan pelatihan")
    page.locator("#rab_1_amount").fill("40.000.000")
    for code in ORG_DOCUMENTS:
        page.locator(f"#doc_{code}").set_input_files(
            files=[{"name": f"{code}.pdf", "mimeType": "application/pdf", "buffer": PDF}]
        )
    applicant.seen("apply")
    page.get_by_role("button", name="Ajukan permohonan").click()
    page.get_by_text("Permohonan Anda sudah diajukan.").wait_for()
    number = NUMBER_RE.search(page.url).group(0)
    text = text_of(page)
    assert "Status Diajukan" in text and "Rp100.000.000" in text
    applicant.seen("application-submitted")

    creds = make_official("cimahi", "bansos_evaluator")
    office = visitor("evaluator")
    desk = office.page
    office.fill_sign_in(f"{live_hb.url}/t/cimahi/login?next={P}/office", creds)
    desk.get_by_role("button", name="Masuk").click()
    desk.wait_for_url(f"**{P}/office")
    office.seen("worklist", citizen=False)
    desk.get_by_role("link", name=number).click()
    desk.wait_for_url(f"**{P}/office/applications/{number}")
    assert org["name"] in text_of(desk)
    office.seen("application", citizen=False)

    desk.locator("#to").select_option("evaluated")
    desk.locator("#reason").fill("Layak, dikurangi 10%")
    desk.locator("#amount").fill("90000000")
    desk.get_by_role("button", name="Simpan").click()
    desk.wait_for_url(f"**{P}/office/applications/{number}")
    assert "Status Dievaluasi (OPD)" in text_of(desk)
    office.seen("application-evaluated", citizen=False)

    # The applicant follows the status on their own page.
    page.reload()
    assert "Status Dievaluasi (OPD)" in text_of(page)
    applicant.seen("application-evaluated")
    page.get_by_role("link", name="Permohonan saya").click()
    assert number in text_of(page)
    applicant.seen("my-applications")
