"""The statistics pages of the whistleblowing service (issue 18, item 4): the officials' page
with its charts for the roles that read figures (a page session, no bearer token), CSV and
XLSX downloads in Indonesian with times in the tenant's zone, and the public page with small
cells hidden as "<5"."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import datetime
from zoneinfo import ZoneInfo

import openpyxl
import pyotp

from tests.integration.whistleblowing.test_whistleblowing import new_city, new_report
from tests.support.whistleblowing import addr

SVG = "{http://www.w3.org/2000/svg}"


def page_session(app, make_official, csrf_token, slug, *roles):
    """A client signed in through the sign-in page of `slug` as a new official with `roles`."""
    client = app.test_client()
    creds = make_official(slug, *roles)
    resp = client.post(
        f"/t/{slug}/login",
        environ_base=addr(),
        data={
            "csrf_token": csrf_token(client, f"/t/{slug}/login"),
            "username": creds.username,
            "password": creds.password,
            "otp": pyotp.TOTP(creds.totp_secret).now(),
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


def city_with_reports(wb, demo_tenants, official_token, counts, **settings):
    """A fresh city with `counts` {category: n} reports; the first two acknowledged and the
    first answered by a handler. Returns (city, case numbers)."""
    city = new_city(demo_tenants, **settings)
    api = f"/t/{city.slug}/api/v1"
    cases = []
    for category, n in counts.items():
        for _ in range(n):
            filed = wb.post(f"{api}/reports", json=new_report(category=category))
            assert filed.status_code == 201
            cases.append(filed.json["case_number"])
    boss = {"Authorization": official_token(wb.application, city, "wbs_supervisor")}
    for case in cases[:2]:
        moved = wb.post(
            f"{api}/reports/{case}/transitions", json={"to": "acknowledged"}, headers=boss
        )
        assert moved.status_code == 200
    answer = wb.post(
        f"{api}/reports/{cases[0]}/messages", json={"body": "Terima kasih."}, headers=boss
    )
    assert answer.status_code == 201
    return city, cases


def svg_texts(data: bytes) -> list[str]:
    root = ET.fromstring(data)  # valid XML, or this raises
    assert root.tag == f"{SVG}svg" and root.get("viewBox")  # scales down to a phone
    assert root.find(f".//{SVG}script") is None
    return ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]


def test_the_officials_statistics_page_has_charts_with_tables_for_figure_readers(
    wb, wb_app, demo_tenants, official_token, make_official, csrf_token
):
    city, cases = city_with_reports(
        wb, demo_tenants, official_token, {"korupsi": 3, "gratifikasi": 2}
    )
    base = f"/t/{city.slug}/whistleblowing/office/statistik"
    for role in ("wbs_supervisor", "wbs_intake", "wbs_investigator", "auditor"):
        client = page_session(wb_app, make_official, csrf_token, city.slug, role)
        resp = client.get(base)
        assert resp.status_code == 200, role
    html = resp.get_data(as_text=True)
    assert "Statistik pengaduan" in html and 'id="total">5<' in html
    assert "Pengaduan per kategori" in html and "Pengaduan per saluran masuk" in html
    assert f'src="{base}/category.svg"' in html
    # each chart has its numbers beside it as a table: Korupsi 3, Gratifikasi 2
    assert "<caption>Pengaduan per kategori</caption>" in html
    assert '<th scope="row">Korupsi</th><td>3</td>' in html
    assert '<th scope="row">Gratifikasi</th><td>2</td>' in html
    assert 'id="anonymous">100.0<' in html  # new_report files anonymously
    # the menu leads here
    home = client.get(f"/t/{city.slug}/whistleblowing/office").get_data(as_text=True)
    assert f'href="{base}"' in home and ">Statistik</a>" in home

    chart = client.get(f"{base}/category.svg")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    texts = svg_texts(chart.data)
    assert "Pengaduan per kategori" in texts and "Korupsi" in texts and "Gratifikasi" in texts
    durations = svg_texts(client.get(f"{base}/durations.svg").data)
    assert "Median" in durations and "Persentil ke-90" in durations  # both series
    assert client.get(f"{base}/nothing.svg").status_code == 404

    # a period in the URL: last year had none of these cases
    last_year = datetime.now(ZoneInfo("Asia/Jakarta")).year - 1
    empty = client.get(f"{base}?year={last_year}&period=q2").get_data(as_text=True)
    assert 'id="total">0<' in empty and 'value="q2" selected' in empty


def test_statistics_pages_refuse_other_roles_strangers_and_other_cities(
    wb, wb_app, demo_tenants, official_token, make_official, csrf_token
):
    city, _ = city_with_reports(wb, demo_tenants, official_token, {"korupsi": 1})
    base = f"/t/{city.slug}/whistleblowing/office/statistik"
    custodian = page_session(wb_app, make_official, csrf_token, city.slug, "identity_custodian")
    assert custodian.get(base).status_code == 403
    assert custodian.get(f"{base}.xlsx").status_code == 403
    assert ">Statistik</a>" not in custodian.get(f"/t/{city.slug}/whistleblowing/office").get_data(
        as_text=True
    )
    assert wb.get(base).status_code == 401
    assert wb.get(f"{base}.csv").status_code == 401
    # a supervisor of cimahi, signed in there, finds no such page in the other city
    cimahi = page_session(wb_app, make_official, csrf_token, "cimahi", "wbs_supervisor")
    assert cimahi.get(base).status_code == 404
    assert cimahi.get(f"{base}/category.svg").status_code == 404
    assert cimahi.get(f"{base}.csv").status_code == 404


def test_csv_and_xlsx_downloads_speak_indonesian_with_times_in_the_city_zone(
    wb, wb_app, demo_tenants, official_token, make_official, csrf_token
):
    city, cases = city_with_reports(wb, demo_tenants, official_token, {"korupsi": 2})
    boss = {"Authorization": official_token(wb.application, city, "wbs_supervisor")}
    received = wb.get(f"/t/{city.slug}/api/v1/reports/{cases[0]}", headers=boss).json["received_at"]
    local = datetime.fromisoformat(received).astimezone(ZoneInfo("Asia/Jakarta"))
    client = page_session(wb_app, make_official, csrf_token, city.slug, "auditor")
    base = f"/t/{city.slug}/whistleblowing/office/statistik"

    book_resp = client.get(f"{base}.xlsx?year={local.year}")
    assert book_resp.status_code == 200
    assert book_resp.headers["Content-Disposition"].endswith(f'statistik-{local.year}.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(book_resp.data))
    assert "Pengaduan per kategori" in book.sheetnames and "Kasus" in book.sheetnames
    sheet = book["Kasus"]
    rows = list(sheet.values)
    assert rows[0][:5] == ("Nomor kasus", "Kategori", "Status", "Hasil", "Diterima (WIB)")
    first = next(r for r in rows[1:] if r[0] == cases[0])
    assert first[1] == "Korupsi" and first[2] == "Dikonfirmasi" and first[9] == "Anonim"
    assert first[4] == local.replace(tzinfo=None, microsecond=0) or (
        abs((first[4] - local.replace(tzinfo=None)).total_seconds()) < 1
    )
    by_category = list(book["Pengaduan per kategori"].values)
    assert by_category == [("Kategori", "Pengaduan"), ("Korupsi", 2)]

    text = client.get(f"{base}.csv").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header = next(r for r in rows if r and r[0] == "Nomor kasus")
    assert header[4] == "Diterima (WIB)"
    line = next(r for r in rows if r and r[0] == cases[0])
    assert line[4] == local.strftime("%Y-%m-%d %H:%M") and line[2] == "Dikonfirmasi"
    assert ["Kategori", "Pengaduan"] in rows and ["Korupsi", "2"] in rows
    # the page in English gives English headers
    english = client.get(f"{base}.csv?lang=en").data.decode("utf-8-sig")
    assert "Case number,Category,Status,Outcome,Received (WIB)" in english


def test_the_public_statistics_page_hides_small_cells_as_less_than_five(
    wb, demo_tenants, official_token
):
    city, _ = city_with_reports(
        wb, demo_tenants, official_token, {"korupsi": 6, "gratifikasi": 5, "pungutan_liar": 2}
    )
    page = wb.get(f"/t/{city.slug}/whistleblowing/statistik")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "disembunyikan" in html
    assert '<th scope="row">Korupsi</th><td>6</td>' in html
    # 2 is hidden, and so is the next-smallest (5), which would give it away with the total
    assert '<th scope="row">Pungutan liar</th><td>&lt;5</td>' in html
    assert '<th scope="row">Gratifikasi</th><td>&lt;5</td>' in html
    chart = wb.get(f"/t/{city.slug}/whistleblowing/statistik/category.svg")
    assert chart.status_code == 200
    assert "Korupsi" in svg_texts(chart.data)
    bars = [
        r for r in ET.fromstring(chart.data).iter(f"{SVG}rect") if "reactive" in r.get("class", "")
    ]
    assert len(bars) == 1  # Korupsi only: a hidden cell has no bar
    assert "Petugas" not in html and "Kasus lewat tenggat" not in html  # no officials' figures

    lower, _ = city_with_reports(
        wb, demo_tenants, official_token, {"korupsi": 6, "gratifikasi": 3}, small_cell_threshold=3
    )
    shown = wb.get(f"/t/{lower.slug}/whistleblowing/statistik").get_data(as_text=True)
    assert '<th scope="row">Gratifikasi</th><td>3</td>' in shown
