"""The tenant's settings as forms, one page per section (issue 17 item 4): a good save makes a
version through the same use case as the YAML view and reaches every service; a wrong value
gets its Indonesian message beside the field, keeps what was typed and changes nothing; a
programme is closed, never deleted; the versions name who changed what."""

from __future__ import annotations

import io
from datetime import timedelta
from html.parser import HTMLParser

import yaml
from PIL import Image
from sqlalchemy import text
from werkzeug.datastructures import MultiDict

from operations import official_admin
from shared.db import service_engine
from shared.tenancy import Tenant, today
from tests.integration.operations.test_tenant_config_admin import (
    configured_events,
    tenant_config_in,
)


class _Form(HTMLParser):
    """The fields of the page's first POST form (or the one posting to `action`), with the
    values a browser would send."""

    def __init__(self, action: str | None) -> None:
        super().__init__()
        self.action, self.inside, self.done = action, False, False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and not self.done and a.get("method") == "post":
            self.inside = self.action is None or a.get("action") == self.action
        if not self.inside:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("file", "submit"):
            if a.get("type") == "checkbox":
                if "checked" in a:
                    self.fields.append((name, a.get("value") or "on"))
            else:
                self.fields.append((name, a.get("value") or ""))
        elif tag == "select" and name:
            self._select = name
            self.fields.append((name, ""))
        elif tag == "option" and self._select and "selected" in a:
            self.fields[-1] = (self._select, a.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea, self._text = name, ""

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            self.fields.append((self._textarea, self._text))
            self._textarea = None
        elif tag == "form" and self.inside:
            self.inside, self.done = False, True


def form_of(html: str, action: str | None = None) -> MultiDict:
    parser = _Form(action)
    parser.feed(html)
    return MultiDict(parser.fields)


def settings_url(slug: str, section: str = "") -> str:
    return f"/t/{slug}/admin/settings" + (f"/{section}" if section else "")


def open_form(wb, admin, url: str) -> MultiDict:
    page = wb.get(url, headers=admin)
    assert page.status_code == 200, page.get_data(as_text=True)
    return form_of(page.get_data(as_text=True))


def refused_beside(resp, field: str, message: str) -> str:
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422, html
    assert f'id="{field}-error">{message}' in html, html
    assert "Belum tersimpan. Mohon perbaiki:" in html
    return html


def programme_row(slug_id, code: str):
    with service_engine("hibah_bansos", migration=True).connect() as conn:
        return conn.execute(
            text("select opens, closes from programmes where tenant_id = :t and code = :c"),
            {"t": slug_id, "c": code},
        ).one()


def test_city_section_saves_a_version_everywhere_and_the_versions_name_who(wb, city, admin):
    config, path = city
    url = settings_url(config.slug, "city")
    form = open_form(wb, admin, url)
    assert form["name"] == "Pemerintah Kota Uji"
    form["name"] = "Pemerintah Kota Uji Coba"
    form["contact.email"] = "pengaduan@kotauji.go.id"
    form["contact.address"] = "Jl. Merdeka 1\r\nKota Uji"
    resp = wb.post(url, headers=admin, data=form)
    assert resp.status_code == 303, resp.get_data(as_text=True)
    page = wb.get(url, headers=admin).get_data(as_text=True)
    assert "disimpan sebagai versi 1" in page and 'value="Pemerintah Kota Uji Coba"' in page
    for service in ("whistleblowing", "hibah_bansos", "audit"):
        stored = tenant_config_in(service, config.slug)
        assert stored["name"] == "Pemerintah Kota Uji Coba"
        assert stored["contact"] == {
            "email": "pengaduan@kotauji.go.id",
            "address": ["Jl. Merdeka 1", "Kota Uji"],
        }
    assert yaml.safe_load(path.read_text())["name"] == "Pemerintah Kota Uji Coba"
    [event] = configured_events(config.id)
    assert event["data"]["version"] == 1 and event["data"]["changed"] == ["contact", "name"]

    # the versions list names the admin by the name colleagues read, in the city's time
    [me] = [o for o in official_admin.officials_of(config.id) if "tenant_admin" in o.roles]
    official_admin.change_display_name(config.id, me.id, "Rina Admin Kota")
    index = wb.get(settings_url(config.slug), headers=admin).get_data(as_text=True)
    assert "<td>Rina Admin Kota</td>" in index and "contact, name" in index
    assert "WIB" in index  # the time in the tenant's zone, with its name


def test_a_wrong_value_is_named_beside_its_field_in_indonesian_and_changes_nothing(wb, city, admin):
    config, path = city
    before = path.read_text()
    url = settings_url(config.slug, "city")
    form = open_form(wb, admin, url)
    form["name"] = "Pemerintah Kota Dicoba"
    form["contact.email"] = "bukan-email"
    form["name"] = ""
    html = refused_beside(
        wb.post(url, headers=admin, data=form),
        "contact.email",
        "Tulis alamat e-mail, misalnya pengaduan@cimahikota.go.id.",
    )
    assert 'id="name-error">Wajib diisi.' in html
    assert 'value="bukan-email"' in html and 'aria-invalid="true"' in html  # typed, kept
    assert '<a href="#contact.email">' in html  # the summary links to the field
    assert path.read_text() == before and configured_events(config.id) == []
    assert tenant_config_in("hibah_bansos", config.slug)["name"] == "Pemerintah Kota Uji"


def test_branding_colours_are_checked_for_contrast_and_applied(wb, city, admin):
    config, _ = city
    url = settings_url(config.slug, "branding")
    form = open_form(wb, admin, url)
    form["branding.primary_color"] = "#fafafa"
    refused_beside(
        wb.post(url, headers=admin, data=form),
        "branding.primary_color",
        "Terlalu terang: kepala halaman memerlukan kontras paling sedikit 3:1",
    )
    form["branding.primary_color"] = "biru"
    refused_beside(
        wb.post(url, headers=admin, data=form),
        "branding.primary_color",
        "Tulis warna sebagai # dan enam digit heksadesimal",
    )
    form["branding.primary_color"], form["branding.secondary_color"] = "#7a1f1f", "#7b1f20"
    refused_beside(
        wb.post(url, headers=admin, data=form),
        "branding.secondary_color",
        "Terlalu mirip dengan warna utama",
    )
    assert configured_events(config.id) == []
    form["branding.secondary_color"] = "#f1c232"
    assert wb.post(url, headers=admin, data=form).status_code == 303
    css = wb.get(f"/t/{config.slug}/branding.css").get_data(as_text=True)
    assert "background: #7a1f1f; color: #ffffff" in css and "solid #f1c232" in css


def test_the_logo_is_checked_like_an_attachment_and_shown_by_every_service(wb, hb, city, admin):
    config, _ = city
    url = f"{settings_url(config.slug)}/branding/logo"
    wrong = wb.post(
        url,
        headers=admin,
        data={"version": "0", "logo": (io.BytesIO(b"%!PS-Adobe not an image"), "logo.png")},
        content_type="multipart/form-data",
    )
    refused_beside(wrong, "logo", "Logo harus berupa gambar PNG atau JPEG paling besar 200 kB.")
    assert configured_events(config.id) == []

    image = io.BytesIO()
    Image.new("RGB", (48, 48), (11, 83, 148)).save(image, "PNG", pnginfo=None)
    image.seek(0)
    ok = wb.post(
        url,
        headers=admin,
        data={"version": "0", "logo": (image, "logo kota.png")},
        content_type="multipart/form-data",
    )
    assert ok.status_code == 303, ok.get_data(as_text=True)
    for client in (wb, hb):
        logo = client.get(f"/t/{config.slug}/branding/logo")
        assert logo.status_code == 200 and logo.mimetype == "image/png"
        assert Image.open(io.BytesIO(logo.data)).size == (48, 48)
    page = wb.get(f"/t/{config.slug}/whistleblowing").get_data(as_text=True)
    assert f'src="/t/{config.slug}/branding/logo"' in page
    assert [e["data"]["changed"] for e in configured_events(config.id)] == [["branding"]]


def test_holidays_add_a_regional_day_and_remove_a_national_one(wb, city, admin):
    config, _ = city
    url = settings_url(config.slug, "holidays")
    page = wb.get(url, headers=admin).get_data(as_text=True)
    form = form_of(page)
    national = _checkbox_values(page, "holidays.remove")
    assert len(national) > 10  # this year's and next year's national days, to tick
    count = int(form["holidays.add.count"])
    blank = count - 2  # the first spare row
    form[f"holidays.add.{blank}.annual"] = "13-40"
    form[f"holidays.add.{blank}.name"] = "Hari jadi kota uji"
    refused_beside(
        wb.post(url, headers=admin, data=form),
        f"holidays.add.{blank}.annual",
        "Tulis hari dalam setahun sebagai BB-HH, misalnya 06-21.",
    )
    assert configured_events(config.id) == []
    form[f"holidays.add.{blank}.annual"] = "10-07"
    form.add("holidays.remove", national[0])
    assert wb.post(url, headers=admin, data=form).status_code == 303
    holidays = tenant_config_in("whistleblowing", config.slug)["holidays"]
    assert {"annual": "10-07", "name": "Hari jadi kota uji"} in holidays["add"]
    assert holidays["remove"] == [national[0]]


def _checkbox_values(html: str, name: str) -> list[str]:
    import re

    return re.findall(rf'name="{re.escape(name)}" value="([^"]+)"', html)


def test_reports_section_categories_and_deadlines(wb, city, admin):
    config, _ = city
    url = settings_url(config.slug, "reports")
    form = open_form(wb, admin, url)
    prefix = "services.whistleblowing"
    form[f"{prefix}.sla.feedback_days"] = "sembilan puluh"
    refused_beside(
        wb.post(url, headers=admin, data=form),
        f"{prefix}.sla.feedback_days",
        "Isi dengan bilangan bulat, misalnya 14.",
    )
    form[f"{prefix}.sla.feedback_days"] = "400"
    refused_beside(
        wb.post(url, headers=admin, data=form), f"{prefix}.sla.feedback_days", "Paling banyak 365."
    )
    new = int(form[f"{prefix}.categories.count"]) - 2
    form[f"{prefix}.categories.{new}.code"] = "Kode Salah"
    form[f"{prefix}.categories.{new}.label.id"] = "Pemerasan"
    form[f"{prefix}.sla.feedback_days"] = "60"
    html = refused_beside(
        wb.post(url, headers=admin, data=form),
        f"{prefix}.categories.{new}.code",
        "Huruf kecil a-z, angka, dan &#39;_&#39;, diawali huruf.",
    )
    assert 'value="Kode Salah"' in html and 'value="Pemerasan"' in html
    assert configured_events(config.id) == []
    form[f"{prefix}.categories.{new}.code"] = "pemerasan"
    form[f"{prefix}.categories.0.remove"] = "1"  # korupsi
    assert wb.post(url, headers=admin, data=form).status_code == 303
    wbs = tenant_config_in("hibah_bansos", config.slug)["services"]["whistleblowing"]
    assert wbs["sla"]["feedback_days"] == 60
    codes = [c["code"] for c in wbs["categories"]]
    assert codes[-1] == "pemerasan" and "korupsi" not in codes
    assert wbs["categories"][-1]["label"] == {"id": "Pemerasan"}


def test_attachment_policy_in_megabytes(wb, city, admin, second_admin):
    config, _ = city
    url = settings_url(config.slug, "attachments")
    form = open_form(wb, admin, url)
    assert form["services.whistleblowing.attachments.max_bytes"] == "10"
    form["services.whistleblowing.attachments.max_count"] = "99"
    refused_beside(
        wb.post(url, headers=admin, data=form),
        "services.whistleblowing.attachments.max_count",
        "Paling banyak 50.",
    )
    form["services.whistleblowing.attachments.max_count"] = "3"
    form["services.whistleblowing.attachments.max_bytes"] = "2,5"
    form.setlist("services.whistleblowing.attachments.types", ["application/pdf"])
    resp = wb.post(url, headers=admin, data=form)
    # a security setting: it waits for a second tenant admin (issue 16), who approves it
    assert resp.status_code == 303 and resp.location.endswith(settings_url(config.slug, "pending"))
    [pending] = wb.get(f"/t/{config.slug}/api/v1/admin/config/pending", headers=admin).json["items"]
    approved = wb.post(
        f"{settings_url(config.slug, 'pending')}/{pending['id']}/approve", headers=second_admin
    )
    assert approved.status_code == 303
    policy = tenant_config_in("whistleblowing", config.slug)["services"]["whistleblowing"][
        "attachments"
    ]
    assert policy == {"max_bytes": 2621440, "max_count": 3, "types": ["application/pdf"]}


def test_documents_and_a_programme_that_asks_for_an_unknown_one(wb, city, admin):
    config, _ = city
    url = settings_url(config.slug, "documents")
    form = open_form(wb, admin, url)
    new = int(form["services.hibah_bansos.required_documents.count"]) - 2
    form[f"services.hibah_bansos.required_documents.{new}.code"] = "surat_pernyataan"
    form[f"services.hibah_bansos.required_documents.{new}.label.id"] = "Surat pernyataan"
    form["services.hibah_bansos.lpj_due"] = "1-10"
    refused_beside(
        wb.post(url, headers=admin, data=form),
        "services.hibah_bansos.lpj_due",
        "Tulis hari dalam setahun sebagai BB-HH, misalnya 01-10.",
    )
    form["services.hibah_bansos.lpj_due"] = "02-15"
    assert wb.post(url, headers=admin, data=form).status_code == 303
    hb = tenant_config_in("hibah_bansos", config.slug)["services"]["hibah_bansos"]
    assert hb["lpj_due"] == "02-15"
    assert {"code": "surat_pernyataan", "label": {"id": "Surat pernyataan"}} in hb[
        "required_documents"
    ]


def test_programmes_are_added_edited_and_closed_never_left_open(wb, city, admin):
    config, _ = city
    base = settings_url(config.slug, "programmes")
    form = open_form(wb, admin, f"{base}/new")
    p = "services.hibah_bansos.programmes.2"
    for name, value in (
        {
            f"{p}.code": "BANSOS-LANSIA-2027",
            f"{p}.kind": "bansos",
            f"{p}.fiscal_year": "2027",
            f"{p}.name.id": "Bansos lanjut usia 2027",
            f"{p}.ceiling": "satu miliar",
            f"{p}.opd": "Dinas Sosial",
            f"{p}.opens": "2027-01-01",
            f"{p}.closes": "2026-12-31",
            f"{p}.eligibility.max_amount": "Rp 1.500.000",
        }
    ).items():
        form[name] = value
    form.setlist(f"{p}.required_documents", ["ktp_pengurus", "rekening"])
    form.setlist(f"{p}.eligibility.applicant_types", ["individual"])
    refused_beside(
        wb.post(f"{base}/new", headers=admin, data=form),
        f"{p}.ceiling",
        "Isi dengan rupiah bulat, misalnya 1500000 atau 1.500.000.",
    )
    form[f"{p}.ceiling"] = "1.000.000.000"
    html = refused_beside(
        wb.post(f"{base}/new", headers=admin, data=form),
        f"{p}.closes",
        "Tanggal tutup sebelum tanggal buka (2027-01-01).",
    )
    assert 'value="BANSOS-LANSIA-2027"' in html
    assert configured_events(config.id) == []
    form[f"{p}.closes"] = "2027-12-31"
    assert wb.post(f"{base}/new", headers=admin, data=form).status_code == 303
    [added] = [
        x
        for x in tenant_config_in("hibah_bansos", config.slug)["services"]["hibah_bansos"][
            "programmes"
        ]
        if x["code"] == "BANSOS-LANSIA-2027"
    ]
    assert added["ceiling"] == 1_000_000_000 and added["eligibility"]["max_amount"] == 1_500_000
    assert added["required_documents"] == ["ktp_pengurus", "rekening"] and added["planned"]
    assert str(programme_row(config.id, "BANSOS-LANSIA-2027").closes) == "2027-12-31"

    # edit: the OPD changes
    edit = open_form(wb, admin, f"{base}/BANSOS-LANSIA-2027")
    edit[f"{p}.opd"] = "Dinas Sosial dan Pemberdayaan"
    assert f"{p}.code" not in edit  # an existing programme keeps its code
    assert wb.post(f"{base}/BANSOS-LANSIA-2027", headers=admin, data=edit).status_code == 303
    [edited] = [
        x
        for x in tenant_config_in("audit", config.slug)["services"]["hibah_bansos"]["programmes"]
        if x["code"] == "BANSOS-LANSIA-2027"
    ]
    assert edited["opd"] == "Dinas Sosial dan Pemberdayaan" and edited["ceiling"] == 10**9

    # close: no new applications from today, in the city's zone
    listing = wb.get(base, headers=admin).get_data(as_text=True)
    version = form_of(listing)["version"]
    closed = wb.post(f"{base}/HIBAH-ORMAS-2026/close", headers=admin, data={"version": version})
    assert closed.status_code == 303
    yesterday = today(Tenant(config.id, config.slug, config.data)) - timedelta(days=1)
    assert programme_row(config.id, "HIBAH-ORMAS-2026").closes <= yesterday
    assert "Program HIBAH-ORMAS-2026 ditutup" in wb.get(base, headers=admin).get_data(as_text=True)


def test_a_programme_taken_out_in_yaml_is_closed_not_left_open(wb, city, admin):
    config, _ = city
    got = wb.get(f"/t/{config.slug}/api/v1/admin/config", headers=admin).json
    new = got["config"]
    new["services"]["hibah_bansos"]["programmes"] = [
        p
        for p in new["services"]["hibah_bansos"]["programmes"]
        if p["code"] != "BANSOS-DISABILITAS-2026"
    ]
    resp = wb.put(
        f"/t/{config.slug}/api/v1/admin/config",
        headers=admin,
        json={"version": got["version"], "config": new},
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    [kept] = [
        p
        for p in resp.json["config"]["services"]["hibah_bansos"]["programmes"]
        if p["code"] == "BANSOS-DISABILITAS-2026"
    ]
    yesterday = today(Tenant(config.id, config.slug, config.data)) - timedelta(days=1)
    assert kept["closes"] <= yesterday.isoformat()
    assert programme_row(config.id, "BANSOS-DISABILITAS-2026").closes <= yesterday


def test_the_yaml_view_says_schema_errors_in_indonesian(wb, city, admin):
    config, _ = city
    url = f"/t/{config.slug}/admin/config"
    cfg = wb.get(f"/t/{config.slug}/api/v1/admin/config", headers=admin).json["config"]
    cfg["services"]["whistleblowing"]["sla"]["feedback_days"] = "sembilan puluh"
    cfg["branding"]["warna"] = "merah"
    del cfg["services"]["whistleblowing"]["categories"][0]["label"]
    resp = wb.post(url, headers=admin, data={"version": "0", "config": yaml.safe_dump(cfg)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert (
        "<code>services/whistleblowing/sla/feedback_days</code>: Isi dengan bilangan bulat" in html
    )
    assert "<code>branding</code>: Pengaturan tidak dikenal: warna." in html
    assert "<code>services/whistleblowing/categories/0/label</code>: Wajib diisi." in html
    assert "is not of type" not in html  # no English schema message on the page
    assert configured_events(config.id) == []
