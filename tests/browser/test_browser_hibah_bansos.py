"""End-to-end in headless Chromium: the public hibah-bansos transparency page; an organisation
registers, applies for the demo grant programme with its documents and submits; an OPD
evaluator signs in (password + TOTP) and evaluates the application."""

from __future__ import annotations

import re

import pytest

from tests.support.hibah_bansos import HIBAH, ORG_DOCUMENTS, PDF, organisation

P = "/t/cimahi/hibah-bansos"
NUMBER_RE = re.compile(r"HB-\d{4}-[0-9A-HJKMNP-TV-Z]{8}")
WIDTHS = {"phone": (390, 844), "desktop": (1280, 800)}


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

    # one small form per step: the evaluation's own fields, its own button
    desk.locator("#evaluated-reason").fill("Layak, dikurangi 10%")
    desk.locator("#evaluated-amount").fill("90000000")
    desk.get_by_role("button", name="Evaluasi", exact=True).click()
    desk.wait_for_url(f"**{P}/office/applications/{number}")
    assert "Rp90.000.000 direkomendasikan" in text_of(desk)
    assert "Status Dievaluasi (OPD)" in text_of(desk)
    office.seen("application-evaluated", citizen=False)

    # The applicant follows the status on their own page.
    page.reload()
    assert "Status Dievaluasi (OPD)" in text_of(page)
    applicant.seen("application-evaluated")
    page.get_by_role("link", name="Permohonan saya").click()
    assert number in text_of(page)
    applicant.seen("my-applications")


def _fits(visitor, label: str, *, citizen: bool = True) -> None:
    """No sideways scrolling of the page itself (wide tables scroll in their own box)."""
    overflow = visitor.page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{label}: the page scrolls sideways by {overflow} px"
    visitor.seen(label, citizen=citizen)


def _official(visitor, live_hb, make_official, role: str, size: tuple[int, int]):
    creds = make_official("cimahi", role)
    office = visitor(role.removeprefix("bansos_"))
    office.page.set_viewport_size({"width": size[0], "height": size[1]})
    office.fill_sign_in(f"{live_hb.url}/t/cimahi/login?next={P}/office", creds)
    office.page.get_by_role("button", name="Masuk").click()
    office.page.wait_for_url(f"**{P}/office")
    return office


def _step(office, live_hb, number: str, button: str, **fields: str) -> str:
    desk = office.page
    desk.goto(f"{live_hb.url}{P}/office/applications/{number}")
    for field_id, value in fields.items():
        desk.locator(f"#{field_id}").fill(value)
    desk.get_by_role("button", name=button, exact=True).click()
    desk.wait_for_url(f"**{P}/office/applications/{number}")
    return text_of(desk)


def _evidence(page, kind: str) -> None:
    page.locator("#code").select_option(kind)
    page.locator("#file").set_input_files(
        files=[{"name": f"{kind}.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="Tambahkan bukti").click()
    page.get_by_text("Dokumen sudah ditambahkan.").first.wait_for()


@pytest.mark.parametrize("device", sorted(WIDTHS))
def test_a_returned_application_gets_a_rab_line_and_goes_through_to_closed_with_an_lpj(
    live_hb, visitor, make_official, device
):
    """The evaluator finds the application by its number and returns it; the applicant adds a
    RAB line (no JavaScript: "Tambah baris" shows the form again) and resubmits; it goes
    through every official's step to an LPJ with receipts and photos, the unspent balance
    returned to the kas daerah, and closed."""
    size = WIDTHS[device]
    applicant = visitor("applicant")
    page = applicant.page
    page.set_viewport_size({"width": size[0], "height": size[1]})
    org = organisation()
    applicant.goto(f"{live_hb.url}{P}/register/organisation")
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
    page.get_by_role("button", name="Daftar", exact=True).click()
    page.wait_for_url(f"**{P}/applications")

    applicant.goto(f"{live_hb.url}{P}/programmes/{HIBAH}/apply")
    page.locator("#proposal").fill("Pelatihan kewirausahaan pemuda di Kecamatan Cimahi Tengah.")
    page.locator("#requested").fill("10.000.000")
    for i, (item, volume, unit, price) in enumerate(
        [("Honor pelatih", "4", "orang", "1.500.000"), ("Konsumsi", "80", "kotak", "50000")]
    ):
        page.locator(f"#rab_{i}_item").fill(item)
        page.locator(f"#rab_{i}_volume").fill(volume)
        page.locator(f"#rab_{i}_unit").fill(unit)
        page.locator(f"#rab_{i}_unit_price").fill(price)
    page.get_by_role("button", name="Hitung ulang total").click()
    assert "Rp10.000.000" in page.locator("#rab_total").inner_text()
    for code in ORG_DOCUMENTS:
        page.locator(f"#doc_{code}").set_input_files(
            files=[{"name": f"{code}.pdf", "mimeType": "application/pdf", "buffer": PDF}]
        )
    _fits(applicant, f"apply-{device}")
    page.get_by_role("button", name="Ajukan permohonan").click()
    page.get_by_text("Permohonan Anda sudah diajukan.").wait_for()
    number = NUMBER_RE.search(page.url).group(0)

    # the evaluator finds it by its number and returns it
    evaluator = _official(visitor, live_hb, make_official, "bansos_evaluator", size)
    desk = evaluator.page
    desk.locator("#q").fill(number)
    desk.get_by_role("button", name="Saring").click()
    desk.get_by_role("link", name=number).click()
    desk.wait_for_url(f"**{P}/office/applications/{number}")
    assert "hari menunggu" in text_of(desk)
    _fits(evaluator, f"office-application-{device}")
    desk.locator("#returned-reason").fill("Tambahkan sewa aula di RAB.")
    desk.get_by_role("button", name="Kembalikan ke pemohon").click()
    desk.get_by_text("Dikembalikan ke pemohon untuk perbaikan").wait_for()

    # the applicant adds a RAB line and resubmits
    page.reload()
    page.get_by_role("link", name="Ubah proposal dan RAB").click()
    page.wait_for_url(f"**{P}/applications/{number}/edit")
    assert "Tambahkan sewa aula di RAB." in text_of(page)
    page.get_by_role("button", name="Tambah baris").click()
    page.locator("#rab_2_item").fill("Sewa aula")
    page.locator("#rab_2_volume").fill("2")
    page.locator("#rab_2_unit").fill("hari")
    page.locator("#rab_2_unit_price").fill("1000000")
    page.locator("#requested").fill("12000000")
    page.get_by_role("button", name="Hitung ulang total").click()
    assert "Rp12.000.000" in page.locator("#rab_total").inner_text()
    _fits(applicant, f"edit-rab-{device}")
    page.get_by_role("button", name="Simpan perubahan").click()
    page.get_by_text("Perubahan Anda disimpan.").wait_for()
    page.get_by_role("button", name="Ajukan permohonan").click()
    page.get_by_text("Permohonan Anda sudah diajukan.").wait_for()

    text = _step(
        evaluator,
        live_hb,
        number,
        "Evaluasi",
        **{"evaluated-amount": "12000000", "evaluated-reason": "Layak"},
    )
    assert "Rp12.000.000 direkomendasikan" in text
    verifier = _official(visitor, live_hb, make_official, "bansos_verifier", size)
    _step(verifier, live_hb, number, "Verifikasi", **{"verified-reason": "Sesuai prioritas"})
    approver = _official(visitor, live_hb, make_official, "bansos_approver", size)
    _step(
        approver,
        live_hb,
        number,
        "Setujui",
        **{
            "approved-amount": "12000000",
            "approved-reference": "900/Kep.12-BKAD/2026",
            "approved-date": "2026-03-01",
        },
    )
    _step(
        approver,
        live_hb,
        number,
        "Catat perjanjian",
        **{"agreement_signed-reference": "NPHD/031/2026", "agreement_signed-date": "2026-03-10"},
    )
    finance = _official(visitor, live_hb, make_official, "bansos_finance", size)
    text = _step(
        finance,
        live_hb,
        number,
        "Catat penyaluran",
        **{"disbursed-amount": "12000000", "disbursed-reference": "SP2D-0001/LS/2026"},
    )
    assert "Rp12.000.000 dari Rp12.000.000" in text

    # the LPJ: receipts and photos, spending per RAB line, the unspent balance returned
    page.reload()
    _evidence(page, "lpj_receipt")
    _evidence(page, "lpj_photo")
    page.locator("#summary").fill("Pelatihan terlaksana tiga hari.")
    page.locator("#lpj_0_amount").fill("6000000")
    page.locator("#lpj_1_amount").fill("3250000")
    page.locator("#lpj_2_amount").fill("2000000")
    page.locator("#refund_amount").fill("750000")
    page.locator("#refund_date").fill("2026-06-01")
    page.locator("#refund_reference").fill("STS-0042")
    _fits(applicant, f"lpj-{device}")
    page.get_by_role("button", name="Serahkan LPJ").click()
    page.get_by_text("Sisa dana yang harus dikembalikan ke kas daerah: Rp750.000").wait_for()
    assert "STS-0042" in text_of(page)

    desk.goto(f"{live_hb.url}{P}/office/applications/{number}")
    text = text_of(desk)
    assert "Realisasi" in text and "Rp3.250.000" in text and "STS-0042" in text
    assert "Kuitansi atau nota (bukti LPJ)" in text
    _fits(evaluator, f"office-lpj-{device}")
    text = _step(
        evaluator, live_hb, number, "Tutup permohonan", **{"closed-reason": "LPJ dan bukti sesuai"}
    )
    assert "Permohonan ditutup" in text and "Selesai" in text
