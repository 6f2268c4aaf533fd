"""The citizen pages are valid HTML for the W3C Nu checker (vnu, from Maven Central; see
infra/browser.py: `check_html`): the HTML each page sends, as the browser received it, for
the pages a citizen walks through (GET and POST answers, errors included), in both languages."""

from __future__ import annotations

import uuid

from infra.browser import check_html

P = "/t/cimahi/whistleblowing"
H = "/t/cimahi/hibah-bansos"


def test_the_nu_checker_finds_errors_in_a_page_that_has_them():
    """The check itself: the same run that passes the citizen pages fails a bad one."""
    found = check_html(
        {"bad": '<!doctype html><html lang="id"><head></head><body><p><div>x</div></p></body>'}
    )
    assert {m["name"] for m in found} == {"bad"} and len(found) >= 2, found


def test_the_citizen_pages_have_no_html_error(live_wb, live_hb, visitor):
    citizen = visitor("html")
    page = citizen.page
    documents: dict[str, str] = {}

    def keep(response) -> None:
        req = response.request
        if req.resource_type == "document" and "text/html" in response.headers.get(
            "content-type", ""
        ):
            label = f"{req.method} {response.url} ({response.status})"
            documents[label] = response.text()

    page.on("response", keep)
    for lang in ("id", "en"):
        for base, path in (
            (live_wb.url, "/t/cimahi/"),
            (live_wb.url, P),
            (live_wb.url, f"{P}/report"),
            (live_wb.url, f"{P}/inbox"),
            (live_wb.url, f"{P}/statistik"),
            (live_wb.url, "/t/cimahi/verifikasi"),
            (live_hb.url, H),
            (live_hb.url, f"{H}/transparansi"),
            (live_hb.url, f"{H}/register/organisation"),
            (live_hb.url, f"{H}/register/individual"),
            (live_hb.url, f"{H}/forgot-password"),
            (live_hb.url, f"{H}/sign-in"),
        ):
            page.goto(f"{base}{path}?lang={lang}")
    page.goto(f"{live_wb.url}{P}/tidak-ada")  # the 404 page
    page.goto(f"{live_wb.url}/t/bandung/replication")
    page.goto(f"{live_wb.url}/t/bandung/replication/request")

    # the report form refused, then sent; the receipt; the inbox with the receipt
    page.goto(f"{live_wb.url}{P}/report?lang=id")
    page.get_by_role("button", name="Kirim pengaduan").click()
    page.locator(".error-summary").wait_for()
    page.get_by_label("Anonim").check()
    page.get_by_label("Kategori").select_option("pungutan_liar")
    page.get_by_label("Apa yang terjadi").fill(f"Pungutan di loket. {uuid.uuid4().hex[:8]}")
    page.get_by_role("button", name="Kirim pengaduan").click()
    page.get_by_role("heading", name="Pengaduan diterima").wait_for()
    receipt = page.locator("#receipt-code").inner_text().strip()
    page.get_by_label("Saya sudah mencatat kode ini").check()
    page.get_by_role("button", name="Pantau pengaduan saya").click()
    page.get_by_label("Kode tanda terima").fill(receipt)
    page.get_by_role("button", name="Buka").click()
    page.get_by_role("button", name="Tampilkan tanda terima bertanda tangan").click()
    page.get_by_role("heading", name="Tanda terima pengaduan bertanda tangan").wait_for()

    assert len(documents) >= 30, sorted(documents)
    errors = check_html(documents)
    assert not errors, "the Nu checker found errors:\n" + "\n".join(
        f"- {e['name']} line {e.get('lastLine')}: {e['message']} [{e.get('extract', '')}]"
        for e in errors
    )
