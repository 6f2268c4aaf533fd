"""Issue 18's whistleblowing journey in headless Chromium, in Bahasa Indonesia on a 390 px
phone and on a desktop: a citizen files a confidential report; the intake official signs in and
reaches the new case from the home in one click, acknowledges it and assigns it (the page names
the assignee); the investigator messages the reporter and asks for the identity; the custodian
finds the identity request from the menu. Every page passes axe-core (nothing serious or
critical) and does not scroll sideways (tests/browser/conftest.py: `Visitor.seen`)."""

from __future__ import annotations

import re
import uuid

import pytest

P = "/t/cimahi/whistleblowing"
CASE_RE = re.compile(r"WBS-\d{4}-[0-9A-HJKMNP-TV-Z]{8}")


def text_of(page) -> str:
    return re.sub(r"\s+", " ", page.locator("main").inner_text())


def sign_in(office, base_url: str, slug: str, creds) -> None:
    office.fill_sign_in(f"{base_url}/t/{slug}/login", creds)
    office.page.get_by_role("button", name="Masuk").click()
    office.page.get_by_text("Anda berhasil masuk.").wait_for()


def file_confidential_report(citizen, base_url: str, slug: str = "cimahi") -> tuple[str, str]:
    """The citizen files a confidential report by the pages; returns (case number, what)."""
    page = citizen.page
    citizen.goto(f"{base_url}/t/{slug}/whistleblowing/report")
    what = f"Kepala seksi meminta komisi dari rekanan. {uuid.uuid4().hex[:8]}"
    page.get_by_label("Rahasia").check()
    page.get_by_label("Kategori").select_option("korupsi")
    page.get_by_label("Apa yang terjadi").fill(what)
    page.locator("#identity_name").fill("Siti Pelapor")
    page.locator("#identity_phone").fill("081234567890")
    page.get_by_role("button", name="Kirim pengaduan").click()
    page.get_by_role("heading", name="Pengaduan diterima").wait_for()
    citizen.seen("receipt")
    return CASE_RE.search(text_of(page)).group(0), what


@pytest.mark.parametrize("width", [390, 1280])
def test_intake_acknowledges_and_assigns_the_investigator_writes_the_custodian_is_asked(
    live_wb, visitor, make_official, width
):
    size = {"width": width, "height": 800}
    citizen = visitor(f"w{width}-citizen")
    citizen.page.set_viewport_size(size)
    case, what = file_confidential_report(citizen, live_wb.url)

    intake_creds = make_official("cimahi", "wbs_intake")
    investigator_creds = make_official("cimahi", "wbs_investigator")
    custodian_creds = make_official("cimahi", "identity_custodian")

    # -- the intake official: home → the case in one click → acknowledge → assign
    intake = visitor(f"w{width}-intake")
    page = intake.page
    page.set_viewport_size(size)
    sign_in(intake, live_wb.url, "cimahi", intake_creds)
    page.wait_for_url(f"**{P}/office")
    intake.seen("home", citizen=False)
    # signed in, the footer and the public pages lead to the officials' home, not to sign-in
    footer = page.locator("footer.site")
    assert footer.get_by_role("link", name="Beranda petugas").get_attribute("href") == (
        f"{P}/office"
    )
    assert footer.get_by_role("link", name="Masuk petugas").count() == 0
    intake.goto(f"{live_wb.url}{P}")
    assert page.locator("main .officials-link a").inner_text() == "Beranda petugas"
    page.locator("main .officials-link a").click()
    page.wait_for_url(f"**{P}/office")
    page.get_by_role("link", name=case, exact=True).click()  # one click from the home
    page.wait_for_url(f"**{P}/cases/{case}")
    assert what in text_of(page)
    intake.seen("case", citizen=False)

    page.get_by_role("button", name="Konfirmasi penerimaan").click()
    page.wait_for_url(f"**{P}/cases/{case}")
    assert "Status: Dikonfirmasi" in text_of(page)
    intake.seen("case-acknowledged", citizen=False)

    page.get_by_label("Petugas penanganan").select_option(label=investigator_creds.username)
    page.get_by_role("button", name="Tugaskan", exact=True).click()
    page.wait_for_url(f"**{P}/cases/{case}")
    assert f"Kasus ditugaskan kepada {investigator_creds.username}." in text_of(page)
    assert page.locator("#assignee").inner_text().strip() == investigator_creds.username
    intake.seen("case-assigned", citizen=False)

    # -- the investigator: their own cases → the case → a message, an identity request
    investigator = visitor(f"w{width}-investigator")
    page = investigator.page
    page.set_viewport_size(size)
    sign_in(investigator, live_wb.url, "cimahi", investigator_creds)
    investigator.seen("home", citizen=False)
    page.get_by_role("link", name=re.compile("Kasus terbuka yang ditugaskan kepada Anda")).click()
    page.get_by_role("link", name=case, exact=True).click()
    page.wait_for_url(f"**{P}/cases/{case}")
    investigator.seen("case", citizen=False)
    message = f"Mohon kirim fotokopi kuitansinya. {uuid.uuid4().hex[:6]}"
    page.get_by_label("Tulis kepada pelapor").fill(message)
    page.get_by_role("button", name="Kirim pesan").click()
    page.get_by_text("Pesan terkirim kepada pelapor.").wait_for()
    assert text_of(page).count(message) == 1
    page.get_by_label(re.compile("Mengapa identitas diperlukan")).fill(
        "Perlu keterangan saksi langsung dari pelapor."
    )
    page.get_by_role("button", name="Minta identitas").click()
    page.get_by_text("Identitas diminta: kustodian memutuskan, dan pelapor diberi tahu.").wait_for()
    investigator.seen("case-identity-requested", citizen=False)

    # -- the custodian: the menu leads to the identity request
    custodian = visitor(f"w{width}-custodian")
    page = custodian.page
    page.set_viewport_size(size)
    sign_in(custodian, live_wb.url, "cimahi", custodian_creds)
    custodian.seen("home", citizen=False)
    menu = page.get_by_role("navigation", name="Menu petugas")
    menu.get_by_role("link", name="Permintaan identitas").click()
    page.wait_for_url(f"**{P}/identity-requests")
    assert case in text_of(page)
    custodian.seen("identity-requests", citizen=False)


# Every officials' GET page of both services at 390 px: axe-core and no sideways scrolling
# (each `seen` checks both). Pages with a case or an application take one made for the run.


def test_every_officials_page_passes_axe_and_fits_390_px(
    live_wb, live_hb, visitor, make_official, make_report, make_application
):
    case = make_report("cimahi")["case_number"]
    number = make_application("cimahi").number

    wb = visitor("wb-office")
    wb.page.set_viewport_size({"width": 390, "height": 800})
    sign_in(
        wb,
        live_wb.url,
        "cimahi",
        make_official("cimahi", "wbs_intake", "wbs_supervisor", "auditor", "tenant_admin"),
    )
    for path in (
        f"{P}/office",
        f"{P}/cases",
        f"{P}/cases?status=received&q=WBS",
        f"{P}/cases/{case}",
        "/t/cimahi/admin/",
        "/t/cimahi/admin/officials",
        "/t/cimahi/admin/config",
    ):
        wb.goto(live_wb.url + path)
        wb.seen(re.sub(r"\W+", "-", path.rsplit("whistleblowing", 1)[-1]), citizen=False)

    custodian = visitor("wb-custodian")
    custodian.page.set_viewport_size({"width": 390, "height": 800})
    sign_in(custodian, live_wb.url, "cimahi", make_official("cimahi", "identity_custodian"))
    for path in (f"{P}/office", f"{P}/identity-requests", f"{P}/custodian"):
        custodian.goto(live_wb.url + path)
        custodian.seen(path.rsplit("/", 1)[-1], citizen=False)

    host = visitor("host-admin")
    host.page.set_viewport_size({"width": 390, "height": 800})
    sign_in(host, live_wb.url, "bandung", make_official("bandung", "tenant_admin"))
    host.goto(f"{live_wb.url}/t/bandung/admin/replication")
    host.seen("replication-review", citizen=False)

    hb = visitor("hb-office")
    hb.page.set_viewport_size({"width": 390, "height": 800})
    sign_in(
        hb,
        live_hb.url,
        "cimahi",
        make_official(
            "cimahi", "bansos_evaluator", "bansos_verifier", "bansos_approver", "bansos_finance"
        ),
    )
    office = "/t/cimahi/hibah-bansos/office"
    hb.goto(f"{live_hb.url}{office}")
    hb.seen("worklist", citizen=False)
    for path in (f"{office}/applications/{number}", f"{office}/password-reset"):
        hb.goto(live_hb.url + path)
        hb.seen(path.rsplit("/", 1)[-1], citizen=False)
    hb.goto(f"{live_hb.url}{office}/programmes")
    hb.seen("programmes", citizen=False)
    hb.page.locator(f"main a[href^='{office}/programmes/']").first.click()
    hb.page.wait_for_load_state()
    hb.seen("programme", citizen=False)
