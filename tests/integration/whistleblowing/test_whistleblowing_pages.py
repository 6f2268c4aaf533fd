"""Citizen pages of the whistleblowing service, in Bahasa Indonesia (default) and English."""

from __future__ import annotations

import io
import re
import uuid

from PIL import Image

from tests.support.whistleblowing import P, addr, sign_in

RECEIPT_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}(?:-[0-9A-HJKMNP-TV-Z]{5}){4}")


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, "JPEG")
    return out.getvalue()


def file_by_page(wb, csrf_token, **extra):
    token = csrf_token(wb, f"{P}/report")
    what = f"Ada pungutan liar di loket pelayanan. {uuid.uuid4().hex}"
    data = {
        "csrf_token": token,
        "category": "pungutan_liar",
        "what": what,
        "person_0_name": "Pak X",
        "person_0_position": "Staf",
        "person_0_work_unit": "Disdukcapil",
        "where": "Loket 3",
        "when": "Mei 2026",
        "how_known": "Saya mengalaminya",
        "files": (io.BytesIO(jpeg()), "foto.jpg"),
        **extra,
    }
    resp = wb.post(f"{P}/report", data=data, content_type="multipart/form-data")
    return resp, what


def test_pages_speak_indonesian_by_default_and_english_on_request(wb):
    page = wb.get(f"{P}/report")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert '<html lang="id">' in html and "Buat pengaduan" in html and "Pungutan liar" in html
    assert 'name="csrf_token"' in html
    english = wb.get(f"{P}/report?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in english and "File a report" in english
    assert "Extortion (illegal levies)" in english
    assert "Follow my report" in wb.get(f"{P}/inbox").get_data(as_text=True)  # cookie kept


def test_file_by_page_see_receipt_once_then_follow_and_write(wb, csrf_token):
    resp, what = file_by_page(wb, csrf_token)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 201, html
    assert resp.headers["Cache-Control"] == "no-store"
    receipt = RECEIPT_RE.search(html).group(0)
    assert "Kode tanda terima" in html and re.search(r"WBS-\d{4}-", html)

    client = addr()
    token = csrf_token(wb, f"{P}/inbox")
    inbox = wb.post(
        f"{P}/inbox", data={"csrf_token": token, "receipt": receipt}, environ_base=client
    )
    page = inbox.get_data(as_text=True)
    assert inbox.status_code == 200 and "Diterima" in page and what in page
    assert "image/jpeg" in page
    assert receipt not in inbox.request.url
    sent = wb.post(
        f"{P}/inbox/messages",
        environ_base=client,
        data={"csrf_token": token, "receipt": receipt, "body": "Bukti tambahan ada."},
        follow_redirects=True,  # post/redirect/get: 303 to the inbox this browser opened
    )
    assert sent.status_code == 200 and "Bukti tambahan ada." in sent.get_data(as_text=True)
    assert "Pesan Anda telah terkirim." in sent.get_data(as_text=True)

    english = wb.post(
        f"{P}/inbox?lang=en", data={"csrf_token": token, "receipt": receipt}, environ_base=client
    ).get_data(as_text=True)
    assert "Timeline" in english and "Received" in english and "You" in english


def test_a_wrong_receipt_or_a_missing_csrf_token_is_refused(wb, csrf_token):
    token = csrf_token(wb, f"{P}/inbox")
    wrong = wb.post(
        f"{P}/inbox", data={"csrf_token": token, "receipt": "AAAAA-BBBBB"}, environ_base=addr()
    )
    assert wrong.status_code == 401
    assert "tidak dikenali" in wrong.get_data(as_text=True)
    assert wb.post(f"{P}/inbox", data={"receipt": "x"}).status_code == 400


def test_a_form_with_errors_is_shown_again_with_the_fields_named(wb, csrf_token):
    resp, _ = file_by_page(wb, csrf_token, what="pendek", identity_nik="123")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "Mohon periksa" in html and "Apa yang terjadi" in html and "Identitas Anda" in html


def test_a_disguised_file_on_the_page_is_refused(wb, csrf_token):
    resp, _ = file_by_page(wb, csrf_token, files=(io.BytesIO(b"MZ" + b"\0" * 64), "foto.jpg"))
    assert resp.status_code == 415
    assert "Berkas bukti" in resp.get_data(as_text=True)


# --- officials' pages ------------------------------------------------------------------------


def test_an_official_takes_a_case_to_concluded_through_the_pages(wb_app, make_official, csrf_token):
    citizen = wb_app.test_client()
    resp, what = file_by_page(citizen, csrf_token)
    case = re.search(r"WBS-\d{4}-[0-9A-HJKMNP-TV-Z]{8}", resp.get_data(as_text=True)).group(0)
    receipt = RECEIPT_RE.search(resp.get_data(as_text=True)).group(0)

    office = wb_app.test_client()
    sign_in(office, make_official, csrf_token, "wbs_supervisor")
    listing = office.get(f"{P}/cases?status=received")
    assert listing.status_code == 200 and case in listing.get_data(as_text=True)
    assert "Pengaduan" in listing.get_data(as_text=True)
    detail = office.get(f"{P}/cases/{case}")
    html = detail.get_data(as_text=True)
    assert detail.status_code == 200 and what in html and "Langkah berikutnya" in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def step(**form):
        r = office.post(f"{P}/cases/{case}/transitions", data={"csrf_token": token, **form})
        assert r.status_code == 303
        return office.get(f"{P}/cases/{case}").get_data(as_text=True)

    assert "Dikonfirmasi" in step(to="acknowledged")
    refused = step(to="concluded", outcome="substantiated", reason="x")
    assert "Langkah ini tidak diizinkan" in refused
    step(to="triaged", outcome="accepted")
    step(to="investigating")
    assert (
        office.post(
            f"{P}/cases/{case}/messages",
            data={"csrf_token": token, "body": "Mohon kirim foto kuitansi."},
        ).status_code
        == 303
    )
    done = step(to="concluded", outcome="unsubstantiated", reason="Tidak cukup bukti.")
    assert "Selesai diperiksa" in done and "Tidak terbukti" in done

    english = office.get(f"{P}/cases/{case}?lang=en").get_data(as_text=True)
    assert "Concluded" in english and "Not substantiated" in english

    inbox = citizen.post(
        f"{P}/inbox",
        environ_base=addr(),
        data={"csrf_token": csrf_token(citizen, f"{P}/inbox"), "receipt": receipt},
    )
    page = inbox.get_data(as_text=True)
    assert "Mohon kirim foto kuitansi." in page and "Tidak cukup bukti." in page
    assert "Penyelia" in page  # the handler appears only as a role


def test_officials_pages_need_a_signed_in_handler(wb_app, make_official, csrf_token):
    anonymous = wb_app.test_client()
    page = anonymous.get(f"{P}/cases?status=received")
    assert page.status_code == 401 and page.mimetype == "text/html"  # a page, leading back
    assert "Silakan masuk" in page.get_data(as_text=True)
    assert "/t/cimahi/login?next=/t/cimahi/whistleblowing/cases?status%3Dreceived" in page.get_data(
        as_text=True
    ).replace("&amp;", "&")
    api = anonymous.get("/t/cimahi/api/v1/reports")  # the API keeps its problem+json 401
    assert api.status_code == 401 and api.mimetype == "application/problem+json"
    custodian = wb_app.test_client()
    sign_in(custodian, make_official, csrf_token, "identity_custodian")
    assert custodian.get(f"{P}/cases").status_code == 403


def test_the_signed_acknowledgement_downloads_from_the_inbox_page(wb, csrf_token):
    resp, _ = file_by_page(wb, csrf_token)
    receipt = RECEIPT_RE.search(resp.get_data(as_text=True)).group(0)
    token = csrf_token(wb, f"{P}/inbox")
    page = wb.post(
        f"{P}/inbox", data={"csrf_token": token, "receipt": receipt}, environ_base=addr()
    ).get_data(as_text=True)
    assert "Unduh tanda terima bertanda tangan" in page
    doc = wb.post(
        f"{P}/inbox/acknowledgement",
        data={"csrf_token": token, "receipt": receipt},
        environ_base=addr(),
    )
    assert doc.status_code == 200 and "attachment" in doc.headers["Content-Disposition"]
    assert doc.json["signature"] and doc.json["format"].endswith("acknowledgement.v1")


def test_a_form_sent_twice_files_one_report(wb, csrf_token):
    html = wb.get(f"{P}/report").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    submission = re.search(r'name="submission" value="([^"]+)"', html).group(1)
    data = {
        "csrf_token": token,
        "submission": submission,
        "category": "korupsi",
        "what": f"Laporan yang terkirim dua kali {uuid.uuid4().hex}",
    }
    first = wb.post(f"{P}/report", data=data).get_data(as_text=True)
    again = wb.post(f"{P}/report", data=data).get_data(as_text=True)
    assert RECEIPT_RE.search(first).group(0) == RECEIPT_RE.search(again).group(0)


def test_the_officials_case_list_pages_by_the_one_rule(wb_app, make_official, csrf_token):
    """The case list takes `page` like the API (25 a page): a page past the end is empty, a
    page that is no whole number from 1 is a 422 naming `page`, never a silent first page."""
    office = wb_app.test_client()
    sign_in(office, make_official, csrf_token, "wbs_intake")
    assert office.get(f"{P}/cases?page=1").status_code == 200
    beyond = office.get(f"{P}/cases?page=100000")
    assert beyond.status_code == 200 and "WBS-" not in beyond.get_data(as_text=True)
    for bad in ("0", "x", "-1"):
        resp = office.get(f"{P}/cases?page={bad}")
        assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
        assert [e["field"] for e in resp.json["errors"]] == ["page"]
