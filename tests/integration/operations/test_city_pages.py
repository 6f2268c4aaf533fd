"""A city runs itself from its pages (issue 17), with the test client as the browser: the
portal's request form and tracking page, the host's review page, onboarding with a QR code
that ends signed in on the admin's home, and the officials page with enrolment links and the
separation of roles; Indonesian messages beside the field."""

from __future__ import annotations

import re
import shutil
import uuid

import pyotp
import pytest

from tests.support import ROOT

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def tenants_dir(tmp_path, monkeypatch):
    for slug in ("bandung", "cimahi"):
        shutil.copy(ROOT / "tenants" / f"{slug}.yaml", tmp_path / f"{slug}.yaml")
    monkeypatch.setenv("REPLIKA_TENANTS_DIR", str(tmp_path))
    return tmp_path


def browser(app):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.78.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    return client


def csrf(client, path: str) -> str:
    return CSRF_RE.search(client.get(path).get_data(as_text=True)).group(1)


def sign_in(client, slug: str, creds) -> None:
    resp = client.post(
        f"/t/{slug}/login",
        data={
            "csrf_token": csrf(client, f"/t/{slug}/login"),
            "username": creds.username,
            "password": creds.password,
            "otp": pyotp.TOTP(creds.totp_secret).now(),
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)


def enrol(app, url: str, slug: str) -> tuple[object, str]:
    """Follow an enrolment (or onboarding) link as its official: scan the QR's secret, choose
    a password; returns the signed-in client and the page it ended on."""
    client = browser(app)
    page = client.get(url)
    assert page.status_code == 303
    form = client.get(page.headers["Location"]).get_data(as_text=True)
    assert "<svg" in form and "otpauth://totp/" in form
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', form).group(1)
    assert re.search(r'class="group">[A-Z2-7]{4}<', form)  # grouped for manual entry
    password = "kata-sandi-" + uuid.uuid4().hex[:12]
    done = client.post(
        page.headers["Location"],
        data={
            "csrf_token": CSRF_RE.search(form).group(1),
            "password": password,
            "password_confirm": password,
            "otp": pyotp.TOTP(secret).now(),
        },
    )
    assert done.status_code == 303, done.get_data(as_text=True)
    return client, done.headers["Location"]


def test_request_form_keeps_input_and_names_wrong_fields_in_indonesian(wb_app, tenants_dir):
    client = browser(wb_app)
    page = client.get("/t/bandung/replication/request")
    assert page.status_code == 200 and "32.05 · Kabupaten Garut" in page.get_data(as_text=True)
    wrong = client.post(
        "/t/bandung/replication/request",
        data={
            "csrf_token": csrf(client, "/t/bandung/replication/request"),
            "region_name": "Pemerintah Kabupaten Garut",
            "region_code": "",
            "contact_name": "Dewi",
            "contact_email": "bukan-email",
            "agreement_number": "PKS/1/2026",
            "agreement_date": "2099-01-01",
            "template": "cimahi",
        },
    )
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    assert 'id="contact_email-error">Tulis alamat e-mel yang benar' in html
    assert 'id="applications-error">Pilih paling sedikit satu aplikasi.' in html
    assert 'id="region_code-error">Pilih daerah dari daftar.' in html
    assert "tidak boleh di masa depan" in html
    assert 'value="Pemerintah Kabupaten Garut"' in html and 'value="bukan-email"' in html


def test_a_city_from_request_to_its_first_officials_by_pages(
    wb_app, tenants_dir, make_official, demo_tenants
):
    slug = f"sumedang-{uuid.uuid4().hex[:5]}"
    city = browser(wb_app)
    sent = city.post(
        "/t/bandung/replication/request",
        data={
            "csrf_token": csrf(city, "/t/bandung/replication/request"),
            "region_name": "Pemerintah Kabupaten Sumedang",
            "region_code": "32.11",
            "slug": slug,
            "contact_name": "Asep Sunandar",
            "contact_email": "asep@sumedangkab.go.id",
            "applications": ["whistleblowing", "hibah_bansos"],
            "agreement_number": "PKS/011/2026",
            "agreement_date": "2026-02-01",
            "template": "cimahi",
        },
    )
    assert sent.status_code == 303, sent.get_data(as_text=True)
    track = sent.headers["Location"]
    assert "Menunggu keputusan" in city.get(track).get_data(as_text=True)

    host = browser(wb_app)
    sign_in(host, "bandung", make_official("bandung", "tenant_admin"))
    review = host.get("/t/bandung/admin/replication").get_data(as_text=True)
    assert "Pemerintah Kabupaten Sumedang" in review and f"/t/{slug}/" in review
    req_id = re.search(r'id="request-([0-9a-f-]+)">\s*<h3>Pemerintah Kabupaten Sumedang', review)
    action = f"/t/bandung/admin/replication/{req_id.group(1)}/decision"
    token = CSRF_RE.search(review).group(1)
    no_reason = host.post(action, data={"csrf_token": token, "decision": "reject"})
    assert no_reason.status_code == 422
    assert "Tulis alasan penolakan" in no_reason.get_data(as_text=True)
    approved = host.post(action, data={"csrf_token": token, "decision": "approve"})
    html = approved.get_data(as_text=True)
    assert approved.status_code == 200, html
    url = re.search(r'id="onboarding-url" href="([^"]+)"', html).group(1)
    assert re.fullmatch(rf"http://localhost/t/{slug}/onboarding/[A-Za-z0-9_-]{{40,}}", url)
    assert "disiapkan" in host.get(track).get_data(as_text=True) or "Disetujui" in city.get(
        track
    ).get_data(as_text=True)

    admin, home = enrol(wb_app, url, slug)
    assert home == f"/t/{slug}/admin/"
    checklist = admin.get(home).get_data(as_text=True)
    assert "Belum ada" in checklist and f"/t/{slug}/whistleblowing/custodian" in checklist

    officials = f"/t/{slug}/admin/officials"
    token = csrf(admin, officials)
    both = admin.post(
        officials,
        data={
            "csrf_token": token,
            "username": "kustodian",
            "roles": ["identity_custodian", "wbs_investigator"],
        },
    )
    assert both.status_code == 422
    assert 'id="roles-error">' in both.get_data(as_text=True)
    assert 'value="kustodian"' in both.get_data(as_text=True)
    links = {}
    for username, role in (
        ("penerima", "wbs_intake"),
        ("penyelidik", "wbs_investigator"),
        ("kustodian", "identity_custodian"),
    ):
        added = admin.post(
            officials, data={"csrf_token": token, "username": username, "roles": [role]}
        )
        assert added.status_code == 200, added.get_data(as_text=True)
        links[username] = re.search(
            r'id="enrolment-url" href="([^"]+)"', added.get_data(as_text=True)
        ).group(1)
    listed = admin.get(officials).get_data(as_text=True)
    assert "menunggu pendaftaran" in listed and "penyelidik" in listed

    intake, start = enrol(wb_app, links["penerima"], slug)
    assert start == f"/t/{slug}/whistleblowing/office"  # the officials' home
    assert intake.get(start).status_code == 200
    _custodian, page = enrol(wb_app, links["kustodian"], slug)
    assert page == f"/t/{slug}/whistleblowing/custodian"

    # the new city's admin is nobody on other cities' pages
    for other in ("bandung", "cimahi"):
        for path in (
            "admin/",
            "admin/officials",
            "admin/config",
            "admin/replication",
            "admin/settings",
            "admin/settings/city",
            "admin/settings/programmes",
        ):
            assert admin.get(f"/t/{other}/{path}").status_code == 404, (other, path)
