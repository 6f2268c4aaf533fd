"""Issue 17's journey in headless Chromium, browser only (no CLI, no curl, no API call), in
Bahasa Indonesia at 390 px and on a desktop: a new city requests both services on bandung's
replication portal; bandung's tenant_admin approves it on the review page; the new admin follows
the onboarding URL, reads the QR code (decoded from a screenshot of the page's SVG with
zxing-cpp, as a phone's authenticator app would) and computes the TOTP code; the admin adds an
intake official, an investigator and a custodian, each of whom enrols by their own link and QR
code; the custodian creates the key; a citizen files a report; the intake official signs in and
sees it. The wall time and the number of pages loaded are printed in the test summary."""

from __future__ import annotations

import io
import re
import shutil
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import zxingcpp
from PIL import Image

from tests.support import ROOT

CASE_RE = re.compile(r"WBS-\d{4}-[0-9A-HJKMNP-TV-Z]{8}")


@pytest.fixture
def tenants_dir(tmp_path, monkeypatch):
    """Approving a request writes the new city's configuration: into a copy, not the repo's."""
    for slug in ("bandung", "cimahi"):
        shutil.copy(ROOT / "tenants" / f"{slug}.yaml", tmp_path / f"{slug}.yaml")
    monkeypatch.setenv("REPLIKA_TENANTS_DIR", str(tmp_path))
    return tmp_path


def text_of(page) -> str:
    return re.sub(r"\s+", " ", page.locator("main").inner_text())


def scan_qr(page) -> str:
    """What a phone's camera reads from the page's QR code: the otpauth:// address."""
    shot = page.locator("main figure.qr svg").first.screenshot()
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)).convert("L"))
    assert found, "no QR code could be read on the page"
    return found[0].text


def totp_secret_of(otpauth: str) -> str:
    parts = urlsplit(otpauth)
    assert parts.scheme == "otpauth" and parts.netloc == "totp", otpauth
    return parse_qs(parts.query)["secret"][0]


def next_code(secret: str, after: int = -1) -> tuple[str, int]:
    """The current code of a TOTP secret, waiting for a later step than `after` (a code works
    once: the one used to enrol cannot sign in again). Returns (code, its step)."""
    totp = pyotp.TOTP(secret)
    while (step := int(time.time()) // totp.interval) <= after:
        time.sleep(0.5)
    return totp.at(step * totp.interval), step


class Enrolled:
    def __init__(self, username: str, password: str, secret: str, step: int):
        self.username, self.password, self.secret, self.step = username, password, secret, step


def enrol(person, url: str, username: str) -> Enrolled:
    """Follow a one-time onboarding or enrolment link: scan the QR code, choose a password,
    confirm with the code the authenticator app now shows."""
    page = person.page
    person.goto(url)
    page.get_by_role("heading", name="Siapkan akun Anda").wait_for()
    assert username in text_of(page)
    person.seen("enrolment", citizen=False)
    secret = totp_secret_of(scan_qr(page))
    # the text alternative shows the same secret, grouped for typing by hand
    assert page.locator("#totp-secret").inner_text().strip() == secret
    password = "kata-sandi-" + uuid.uuid4().hex[:12]
    code, step = next_code(secret)
    page.locator("#password").fill(password)  # its label "Kata sandi baru" is also in the next
    page.get_by_label("Ulangi kata sandi baru").fill(password)
    page.get_by_label("Kode autentikator").fill(code)
    page.get_by_role("button", name="Selesai").click()
    page.wait_for_load_state()
    assert "Siapkan akun Anda" not in page.title(), text_of(page)
    return Enrolled(username, password, secret, step)


@pytest.mark.parametrize("width", [390, 1280])
def test_a_new_city_from_request_to_its_first_report_by_pages_only(
    live_wb, visitor, make_official, tenants_dir, request, width
):
    started = time.monotonic()
    size = {"width": width, "height": 800}
    people = []

    def person(who: str):
        v = visitor(f"w{width}-{who}")
        v.page.set_viewport_size(size)
        people.append(v)
        return v

    slug = f"sumedang-{uuid.uuid4().hex[:5]}"
    region = "32.11" if width < 800 else "32.12"

    # -- the new city asks on bandung's portal
    city = person("city")
    page = city.page
    city.goto(f"{live_wb.url}/t/bandung/replication")
    city.seen("portal")
    page.locator("main a[href$='/replication/request']").first.click()
    page.get_by_role("heading", name="Ajukan replikasi").wait_for()
    city.seen("request-form")
    page.get_by_label("Daerah (kode BPS)").select_option(region)
    page.get_by_label("Nama pemerintah daerah").fill("Pemerintah Kabupaten Sumedang")
    page.get_by_label("Alamat kota Anda (tidak wajib)").fill(slug)
    page.get_by_label("Pejabat penghubung").fill("Asep Sunandar")
    page.get_by_label("E-mel penghubung").fill("asep@sumedangkab.go.id")
    page.locator("#app-whistleblowing").check()
    page.locator("#app-hibah_bansos").check()
    page.get_by_label("Nomor perjanjian kerja sama (MoU / PKS)").fill("PKS/011/2026")
    page.get_by_label("Tanggal perjanjian").fill("2026-02-01")
    page.get_by_label("Mulai dari konfigurasi").select_option("cimahi")
    page.get_by_role("button", name="Kirim permintaan").click()
    page.locator("#request-status").wait_for()
    assert "Menunggu keputusan" in text_of(page)
    tracking = page.url
    city.seen("tracking")

    # -- bandung's tenant_admin approves on the review page
    host = person("host")
    page = host.page
    creds = make_official("bandung", "tenant_admin")
    host.fill_sign_in(f"{live_wb.url}/t/bandung/login?next=/t/bandung/admin/", creds)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url("**/t/bandung/admin/")
    host.seen("admin-home", citizen=False)
    page.get_by_role("link", name="Permintaan replikasi").click()
    page.get_by_role("heading", name="Permintaan replikasi", level=1).wait_for()
    host.seen("review", citizen=False)
    card = page.locator("article.request").filter(has_text=f"/t/{slug}/")
    assert "Pemerintah Kabupaten Sumedang" in card.inner_text()
    card.get_by_role("button", name="Setujui dan siapkan").click()
    page.get_by_role("heading", name="Permintaan disetujui").wait_for()
    host.seen("approved", citizen=False)
    onboarding_url = page.locator("#onboarding-url").get_attribute("href")
    assert onboarding_url.startswith(f"{live_wb.url}/t/{slug}/onboarding/"), onboarding_url

    city.goto(tracking)
    assert "Disetujui" in text_of(city.page)

    # -- the new admin onboards with the QR code and lands on the admin's home
    admin = person("admin")
    page = admin.page
    enrol(admin, onboarding_url, "admin")
    page.wait_for_url(f"**/t/{slug}/admin/")
    admin.seen("new-admin-home", citizen=False)
    page.get_by_role("link", name="Petugas dan peran").first.click()
    page.get_by_role("heading", name="Petugas dan peran", level=1).wait_for()
    admin.seen("officials", citizen=False)
    links = {}
    for username, role in (
        ("penerima", "wbs_intake"),
        ("penyelidik", "wbs_investigator"),
        ("kustodian", "identity_custodian"),
    ):
        page.get_by_label("Nama pengguna").fill(username)
        page.locator(f"#new-{role}").check()
        page.get_by_role("button", name="Tambah dan buat tautan pendaftaran").click()
        page.locator("#enrolment-url").wait_for()
        admin.seen(f"added-{username}", citizen=False)
        links[username] = page.locator("#enrolment-url").get_attribute("href")
        page.locator("main a[href$='/admin/officials']").first.click()
        page.get_by_role("heading", name="Petugas dan peran", level=1).wait_for()
    listed = text_of(page)
    assert all(name in listed for name in links)

    # -- each official enrols; the custodian creates the key on their own page
    intake = person("intake")
    intake_account = enrol(intake, links["penerima"], "penerima")
    intake.seen("intake-home", citizen=False)
    investigator = person("investigator")
    enrol(investigator, links["penyelidik"], "penyelidik")
    custodian = person("custodian")
    enrol(custodian, links["kustodian"], "kustodian")
    page = custodian.page
    page.wait_for_url(f"**/t/{slug}/whistleblowing/custodian")
    custodian.seen("custodian-page", citizen=False)
    passphrase = "frasa sandi kustodian " + uuid.uuid4().hex[:8]
    page.locator("#passphrase").fill(passphrase)
    page.locator("#confirm").fill(passphrase)
    page.locator("form[action$='/custodian/key'] button[type='submit']").click()
    page.wait_for_load_state()
    custodian.seen("custodian-key-created", citizen=False)
    assert page.locator("form[action$='/custodian/key']").count() == 0  # the key exists

    # -- a citizen files a report in the new city
    citizen = person("citizen")
    page = citizen.page
    citizen.goto(f"{live_wb.url}/t/{slug}/")
    citizen.seen("front-door")
    page.get_by_role("link", name="Laporkan pelanggaran dengan aman").click()
    page.get_by_role("link", name="Buat pengaduan").click()
    page.wait_for_url(f"**/t/{slug}/whistleblowing/report")
    what = f"Pungutan di kantor kecamatan. {uuid.uuid4().hex[:8]}"
    page.get_by_label("Anonim").check()
    page.get_by_label("Kategori").select_option("pungutan_liar")
    page.get_by_label("Apa yang terjadi").fill(what)
    page.get_by_role("button", name="Kirim pengaduan").click()
    page.get_by_role("heading", name="Pengaduan diterima").wait_for()
    citizen.seen("receipt")
    case = CASE_RE.search(text_of(page)).group(0)

    # -- the intake official signs in (with the next code) and sees the report
    page = intake.page
    page.get_by_role("button", name="Keluar").click()
    page.wait_for_url(f"**/t/{slug}/login")
    code, _ = next_code(intake_account.secret, after=intake_account.step)
    page.get_by_label("Nama pengguna").fill(intake_account.username)
    page.get_by_label("Kata sandi").fill(intake_account.password)
    page.get_by_label("Kode autentikator").fill(code)
    page.get_by_role("button", name="Masuk").click()
    page.get_by_text("Anda berhasil masuk.").wait_for()
    page.get_by_role("link", name=case, exact=True).click()
    page.wait_for_url(f"**/t/{slug}/whistleblowing/cases/{case}")
    assert what in text_of(page)
    intake.seen("case", citizen=False)

    seconds = time.monotonic() - started
    pages = sum(p.pages for p in people)
    request.node.user_properties.append(
        ("journey", f"new city at {width} px: {seconds:.0f} s wall time, {pages} pages loaded")
    )
    print(f"\nnew city journey at {width} px: {seconds:.1f} s, {pages} pages loaded")
