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
    answered: list = []  # HTML documents received, read by `take` before the next step

    def keep(response) -> None:
        req = response.request
        if req.resource_type == "document" and "text/html" in response.headers.get(
            "content-type", ""
        ):
            answered.append(response)

    def take() -> None:
        # the body is read while its page is still shown: read during the next navigation
        # (as an event handler would), it is sometimes gone already
        while answered:
            response = answered.pop(0)
            documents[f"{response.request.method} {response.url} ({response.status})"] = (
                response.text()
            )

    page.on("response", keep)
    visited = []
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
            visited.append(f"GET {base}{path}?lang={lang} (200)")
            page.goto(f"{base}{path}?lang={lang}")
            take()
    for path, status in (
        (f"{P}/tidak-ada", 404),  # the 404 page
        ("/t/bandung/replication", 200),
        ("/t/bandung/replication/request", 200),
    ):
        visited.append(f"GET {live_wb.url}{path} ({status})")
        page.goto(f"{live_wb.url}{path}")
        take()

    # the report form refused, then sent; the receipt; the inbox with the receipt
    page.goto(f"{live_wb.url}{P}/report?lang=id")
    take()
    page.get_by_role("button", name="Kirim pengaduan").click()
    page.locator(".error-summary").wait_for()
    take()
    page.get_by_label("Anonim").check()
    page.get_by_label("Kategori").select_option("pungutan_liar")
    page.get_by_label("Apa yang terjadi").fill(f"Pungutan di loket. {uuid.uuid4().hex[:8]}")
    page.get_by_role("button", name="Kirim pengaduan").click()
    page.get_by_role("heading", name="Pengaduan diterima").wait_for()
    take()
    receipt = page.locator("#receipt-code").inner_text().strip()
    page.get_by_label("Saya sudah mencatat kode ini").check()
    page.get_by_role("button", name="Pantau pengaduan saya").click()
    page.get_by_label("Kode tanda terima").fill(receipt)
    take()
    page.get_by_role("button", name="Buka").click()
    page.get_by_role("button", name="Tampilkan tanda terima bertanda tangan").wait_for()
    take()
    page.get_by_role("button", name="Tampilkan tanda terima bertanda tangan").click()
    page.get_by_role("heading", name="Tanda terima pengaduan bertanda tangan").wait_for()
    take()

    report, inbox = f"{live_wb.url}{P}/report", f"{live_wb.url}{P}/inbox"
    visited += [
        f"POST {report} (422)",
        f"POST {report} (201)",
        f"GET {inbox}?noted=1 (200)",
        f"POST {inbox} (200)",
        f"POST {inbox}/acknowledgement/page (200)",
    ]
    assert set(visited) <= set(documents), sorted(set(visited) - set(documents))
    errors = check_html(documents)
    assert not errors, "the Nu checker found errors:\n" + "\n".join(
        f"- {e['name']} line {e.get('lastLine')}: {e['message']} [{e.get('extract', '')}]"
        for e in errors
    )
