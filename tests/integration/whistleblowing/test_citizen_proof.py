"""Issue 19 for reporters: the city's front door, HTML error pages, the receipt hand-off (page,
language switch, PDF), post/redirect after a message, forms that explain, the signed
acknowledgement as page and PDF, and the public verification page."""

from __future__ import annotations

import io
import json
import re
import uuid

from pypdf import PdfReader

from tests.support.whistleblowing import P, addr

RECEIPT_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}(?:-[0-9A-HJKMNP-TV-Z]{5}){4}")
CASE_RE = re.compile(r"WBS-\d{4}-[0-9A-HJKMNP-TV-Z]{8}")
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def file_report(client, **extra) -> tuple[str, str, str]:
    """(receipt, case number, csrf token) of a report filed through the form."""
    token = token_of(client.get(f"{P}/report").get_data(as_text=True))
    data = {
        "csrf_token": token,
        "mode": "anonymous",
        "category": "pungutan_liar",
        "what": f"Petugas meminta uang tambahan. {uuid.uuid4().hex}",
        **extra,
    }
    resp = client.post(f"{P}/report", data=data, environ_base=addr())
    html = resp.get_data(as_text=True)
    assert resp.status_code == 201, html
    return RECEIPT_RE.search(html).group(0), CASE_RE.search(html).group(0), token


# --- the front door and error pages ---------------------------------------------------------


def test_the_city_front_door_names_the_city_its_services_and_the_officials_sign_in(wb, hb):
    for client in (wb, hb):
        resp = client.get("/t/cimahi/")
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200 and resp.mimetype == "text/html"
        assert "<h1>Kota Cimahi</h1>" in html
        assert "Laporkan pelanggaran dengan aman" in html and "Cara melapor dengan aman" in html
        assert "Ajukan hibah dan bantuan sosial" in html and "Cara mengajukan bantuan" in html
        assert "/t/cimahi/hibah-bansos/transparansi" in html
        assert "/t/cimahi/whistleblowing/statistik" in html
        assert "Masuk petugas" in html and 'href="/t/cimahi/login"' in html
    assert "Report wrongdoing safely" in wb.get("/t/cimahi/?lang=en").get_data(as_text=True)
    assert wb.get("/t/cimahi").status_code in (301, 308)  # to the front door with its slash


def test_a_browser_gets_an_indonesian_error_page_and_the_api_keeps_problem_json(wb, hb):
    for client, path in (
        (wb, "/t/cimahi/whistleblowing/no-such-page"),
        (wb, "/t/cimahi/whistleblowing/cases/WBS-2026-XXXXXXXX/nothing"),
        (hb, "/t/cimahi/hibah-bansos/nope"),
        (wb, "/t/no-such-city/whistleblowing"),
    ):
        resp = client.get(path, headers=HTML)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 404 and resp.mimetype == "text/html", path
        assert '<html lang="id">' in html and "Halaman tidak ditemukan" in html
        assert "Traceback" not in html and "werkzeug" not in html.lower()
    english = wb.get(f"{P}/no-such-page?lang=en", headers=HTML).get_data(as_text=True)
    assert "Page not found" in english
    api = wb.get("/t/cimahi/api/v1/nothing", headers=HTML)
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    scripted = wb.get(f"{P}/no-such-page")  # no Accept: text/html, a script
    assert scripted.mimetype == "application/problem+json"


def test_a_trailing_slash_is_redirected(hb, wb):
    resp = hb.get("/t/cimahi/hibah-bansos/?lang=en")
    assert resp.status_code == 308
    assert resp.headers["Location"].endswith("/t/cimahi/hibah-bansos?lang=en")
    assert wb.get(f"{P}/report/").headers["Location"].endswith(f"{P}/report")
    assert wb.get(f"{P}/no-such-page/", headers=HTML).status_code == 404


def test_too_many_wrong_receipts_say_when_to_try_again(wb_app):
    client = wb_app.test_client()
    who = addr()
    token = token_of(client.get(f"{P}/inbox").get_data(as_text=True))
    statuses = [
        client.post(
            f"{P}/inbox", data={"csrf_token": token, "receipt": "AAAAA"}, environ_base=who
        ).status_code
        for _ in range(11)
    ]
    assert statuses[-1] == 429
    locked = client.post(
        f"{P}/inbox", data={"csrf_token": token, "receipt": "AAAAA"}, environ_base=who
    )
    html = locked.get_data(as_text=True)
    assert locked.headers["Retry-After"].isdigit()
    assert re.search(r"Silakan coba lagi dalam \d+ menit", html)


# --- forms that explain ---------------------------------------------------------------------


def test_the_form_explains_limits_choices_and_each_refused_field(wb):
    html = wb.get(f"{P}/report").get_data(as_text=True)
    assert (
        '<option value="">Pilih kategori</option>' in html
    )  # nobody files as "Korupsi" by default
    assert 'name="mode" value="anonymous"' in html and 'name="mode" value="confidential"' in html
    assert "paling banyak 10 berkas, masing-masing 10 MB" in html  # Cimahi's limits, shown first
    assert "Pembayaran yang diminta untuk layanan" in html  # a sentence per category

    token = token_of(html)
    resp = wb.post(
        f"{P}/report",
        data={
            "csrf_token": token,
            "mode": "confidential",
            "category": "",
            "what": "pendek",
            "identity_name": "Budi",
            "identity_nik": "123",
        },
    )
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    for control in ("category", "what", "identity_nik"):
        assert f'href="#{control}"' in page  # the summary links to the field
        assert f'id="{control}-error"' in page
        assert re.search(rf'id="{control}"[^>]*aria-invalid="true"[^>]*{control}-error', page)
    assert "NIK terdiri dari 16 angka." in page and "Pilih jenis pelanggaran." in page
    assert ">Budi<" not in page and 'value="Budi"' in page  # typed text kept in its field


def test_an_anonymous_choice_never_sends_the_identity_typed(wb):
    receipt, _case, _ = file_report(wb, identity_name="Budi", identity_nik="123")
    assert receipt  # filed: the identity fields were ignored, not refused


# --- the receipt hand-off -------------------------------------------------------------------


def test_the_receipt_page_groups_the_code_switches_language_by_post_and_prints_as_pdf(wb):
    receipt, case, token = file_report(wb)
    html = wb.post(  # the language switch of the receipt page: a POST, the receipt in the body
        f"{P}/receipt?lang=en", data={"csrf_token": token, "receipt": receipt}, environ_base=addr()
    ).get_data(as_text=True)
    groups = receipt.split("-")
    assert len(groups) == 5
    assert all(f'<span class="group">{g}</span>' in html for g in groups)
    assert "Report received" in html and case in html
    assert "I have written down this code" in html and "You reported anonymously" in html
    assert re.search(r"Check back from [^:<]+\d{4}: the city confirms receipt within 7", html)
    assert 'data-copy="receipt-code"' in html and "replika.js" in html

    pdf = wb.post(
        f"{P}/receipt.pdf", data={"csrf_token": token, "receipt": receipt}, environ_base=addr()
    )
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Cache-Control"] == "no-store"
    text = pdf_text(pdf.data)
    assert receipt in text and case in text and "Periksa kembali mulai" not in text  # English
    indonesian = pdf_text(
        wb.post(
            f"{P}/receipt.pdf?lang=id",
            data={"csrf_token": token, "receipt": receipt},
            environ_base=addr(),
        ).data
    )
    assert receipt in indonesian and "Periksa kembali mulai" in indonesian

    wrong = wb.post(
        f"{P}/receipt", data={"csrf_token": token, "receipt": "AAAAA-BBBBB"}, environ_base=addr()
    )
    assert wrong.status_code == 401 and "AAAAA" not in wrong.get_data(as_text=True)


def test_a_message_then_a_reload_stores_one_message(wb):
    receipt, _case, token = file_report(wb)
    who = addr()
    opened = wb.post(f"{P}/inbox", data={"csrf_token": token, "receipt": receipt}, environ_base=who)
    assert opened.status_code == 200
    body = f"Saya punya kuitansinya. {uuid.uuid4().hex[:6]}"
    sent = wb.post(
        f"{P}/inbox/messages", data={"csrf_token": token, "body": body}, environ_base=who
    )
    assert sent.status_code == 303 and sent.headers["Location"].endswith(f"{P}/inbox")
    shown = wb.get(f"{P}/inbox").get_data(as_text=True)  # the GET after the POST
    assert "Pesan Anda telah terkirim." in shown and shown.count(body) == 1
    assert receipt not in shown  # opened from the session: the receipt is not on the page
    reloaded = wb.get(f"{P}/inbox").get_data(as_text=True)  # a reload sends nothing again
    assert reloaded.count(body) == 1 and "Pesan Anda telah terkirim." not in reloaded
    assert "Status:" in wb.get(f"{P}/inbox?lang=en").get_data(as_text=True)  # language by link

    closed = wb.post(f"{P}/inbox/close", data={"csrf_token": token})
    assert closed.status_code == 303
    assert "Kode tanda terima" in wb.get(f"{P}/inbox?lang=id").get_data(as_text=True)  # asks again
    refused = wb.post(f"{P}/inbox/messages", data={"csrf_token": token, "body": "lagi"})
    assert refused.status_code == 401


# --- printable proof and its verification ---------------------------------------------------


def test_the_acknowledgement_as_page_and_pdf_verifies_by_file_and_by_qr(wb):
    receipt, case, token = file_report(wb)
    form = {"csrf_token": token, "receipt": receipt}
    page = wb.post(f"{P}/inbox/acknowledgement/page", data=form, environ_base=addr())
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Tanda terima pengaduan bertanda tangan" in html
    assert (
        case in html
        and 'src="data:image/svg+xml' in html
        and receipt not in html.replace('value="' + receipt + '"', "")
    )
    pdf = wb.post(f"{P}/inbox/acknowledgement.pdf", data=form, environ_base=addr())
    assert pdf.mimetype == "application/pdf"
    text = pdf_text(pdf.data)
    assert case in text and "Ed25519" in text and receipt not in text
    assert PdfReader(io.BytesIO(pdf.data)).pages[0].images  # the QR code

    doc = wb.post(f"{P}/inbox/acknowledgement", data=form, environ_base=addr()).json
    verify_token = token_of(wb.get("/t/cimahi/verifikasi").get_data(as_text=True))
    upload = wb.post(
        "/t/cimahi/verifikasi",
        data={"csrf_token": verify_token, "file": (io.BytesIO(json.dumps(doc).encode()), "a.json")},
        content_type="multipart/form-data",
    )
    shown = upload.get_data(as_text=True)
    assert upload.status_code == 200 and "Sah: Kota Cimahi menandatangani" in shown
    assert case in shown and doc["submitted_sha256"] not in shown

    from services.whistleblowing.acknowledgement import qr_payload

    by_qr = wb.get(f"/t/cimahi/verifikasi?d={qr_payload(doc)}")
    assert by_qr.status_code == 200 and "Sah:" in by_qr.get_data(as_text=True)

    forged = dict(doc, received_at="2020-01-01T00:00:00+00:00")
    refused = wb.get(f"/t/cimahi/verifikasi?d={qr_payload(forged)}")
    assert refused.status_code == 422 and "Tidak sah" in refused.get_data(as_text=True)
    assert case not in refused.get_data(as_text=True)
    elsewhere = wb.get(f"/t/bandung/verifikasi?d={qr_payload(doc)}")  # another city's key
    assert elsewhere.status_code == 422


def test_the_public_statistics_page_hides_small_cells(wb):
    resp = wb.get(f"{P}/statistik")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Statistik pengaduan" in html
    assert "disembunyikan" in html
