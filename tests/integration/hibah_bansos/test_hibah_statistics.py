"""The hibah-bansos statistics page (issue 18, item 4): per programme and OPD of a fiscal year,
ceiling, allocated, disbursed and overdue LPJs, as charts beside tables, and as CSV/XLSX with
Indonesian headers and integer rupiah; for the service's officials only."""

from __future__ import annotations

import csv
import io
import random
import xml.etree.ElementTree as ET

import openpyxl
from sqlalchemy import text

from tests.integration.hibah_bansos.test_hibah_bansos_pages import office
from tests.support.hibah_bansos import add_programme

SVG = "{http://www.w3.org/2000/svg}"


def year_with_programmes(hb_owner_db, demo_tenants, make_application):
    """A fiscal year of its own in cimahi with two programmes of two OPDs: amounts set, one
    application whose LPJ is overdue. Returns (year, hibah code, bansos code)."""
    year = random.randint(2300, 2900)
    tenant = demo_tenants["cimahi"].id
    hibah = add_programme(hb_owner_db, tenant, "STAT-H", fiscal_year=year, ceiling=900_000_000)
    bansos = add_programme(
        hb_owner_db, tenant, "STAT-B", kind="bansos", fiscal_year=year, ceiling=300_000_000
    )
    number = make_application("cimahi", programme=hibah, requested=50_000_000).number
    with hb_owner_db.begin() as c:
        for code, opd, allocated, disbursed in (
            (hibah, "Badan Kesbangpol", 250_000_000, 100_000_000),
            (bansos, "Dinas Sosial", 120_000_000, 0),
        ):
            c.execute(
                text(
                    "update programmes set allocated = :a, disbursed = :d,"
                    " config = cast(jsonb_set(cast(config as jsonb), '{opd}', to_jsonb("
                    "cast(:opd as text))) as json) where code = :code"
                ),
                {"a": allocated, "d": disbursed, "opd": opd, "code": code},
            )
        c.execute(
            text(
                "update applications set status = 'disbursed', lpj_due = '2001-01-01'"
                " where number = :n"
            ),
            {"n": number},
        )
    return year, hibah, bansos


def test_the_statistics_page_shows_programmes_and_opds_with_charts(
    hb_app, hb_owner_db, demo_tenants, make_application, make_official, csrf_token
):
    year, hibah, bansos = year_with_programmes(hb_owner_db, demo_tenants, make_application)
    base = "/t/cimahi/hibah-bansos/office/statistik"
    for role in ("bansos_evaluator", "bansos_finance", "auditor"):
        client = office(hb_app, make_official, csrf_token, role)
        assert client.get(f"{base}?year={year}").status_code == 200, role
    html = client.get(f"{base}?year={year}").get_data(as_text=True)
    assert "Statistik hibah dan bantuan sosial" in html and "Menu petugas" in html
    assert 'id="ceiling">Rp1.200.000.000<' in html and 'id="lpj-overdue">1<' in html
    assert "<caption>Anggaran per OPD</caption>" in html
    assert (
        '<th scope="row">Badan Kesbangpol</th><td>Rp900.000.000</td><td>Rp250.000.000</td>'
        "<td>Rp100.000.000</td>" in html
    )
    assert f'src="{base}/opd.svg?year={year}"' in html
    assert f'<option value="{year}" selected>' in html
    worklist = client.get("/t/cimahi/hibah-bansos/office").get_data(as_text=True)
    assert f'href="{base}"' in worklist and ">Statistik</a>" in worklist

    chart = client.get(f"{base}/programmes.svg?year={year}")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    root = ET.fromstring(chart.data)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    for series in ("Pagu anggaran", "Dialokasikan", "Disalurkan"):
        assert series in texts
    assert hibah in texts and bansos in texts  # the programmes' names (their codes here)

    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{base}.xlsx?year={year}").data))
    rows = list(book["Program"].values)
    assert rows[0][:8] == (
        "Kode",
        "Program",
        "Jenis",
        "OPD",
        "Tahun anggaran",
        "Pagu anggaran (Rp)",
        "Dialokasikan (Rp)",
        "Disalurkan (Rp)",
    )
    line = next(r for r in rows if r[0] == hibah)
    assert line[3:] == ("Badan Kesbangpol", year, 900_000_000, 250_000_000, 100_000_000, 1, 1, 1)
    assert isinstance(line[5], int)  # integer rupiah, a number Excel can sum
    text_ = client.get(f"{base}.csv?year={year}").data.decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(text_)))
    assert parsed[1][:2] == ["Kode", "Program"]
    assert [bansos, bansos, "Bantuan sosial (bansos)", "Dinas Sosial", str(year)] == next(
        r for r in parsed if r and r[0] == bansos
    )[:5]


def test_the_statistics_page_refuses_other_roles_and_other_cities(
    hb, hb_app, make_official, csrf_token
):
    base = "/t/cimahi/hibah-bansos/office/statistik"
    outsider = office(hb_app, make_official, csrf_token, "wbs_intake")
    assert outsider.get(base).status_code == 403
    assert outsider.get(f"{base}.xlsx").status_code == 403
    assert hb.get(base).status_code == 401
    bandung = office(hb_app, make_official, csrf_token, "auditor", slug="bandung")
    assert bandung.get(base).status_code == 404
    assert bandung.get(f"{base}/opd.svg").status_code == 404
    assert bandung.get("/t/bandung/hibah-bansos/office/statistik").status_code == 200


def test_the_transparency_page_charts_public_money_and_hides_a_few_bansos_recipients(
    hb, hb_owner_db, demo_tenants, make_application
):
    year, hibah, bansos = year_with_programmes(hb_owner_db, demo_tenants, make_application)
    number = make_application("cimahi", programme=hibah, requested=1_000_000).number
    with hb_owner_db.begin() as c:  # one person funded by the bansos programme
        c.execute(
            text(
                "update applications set status = 'approved', approved = 2500000,"
                " programme_id = (select id from programmes where code = :b) where number = :n"
            ),
            {"b": bansos, "n": number},
        )
    html = hb.get("/t/cimahi/hibah-bansos/transparansi").get_data(as_text=True)
    section = html[html.index(f"({bansos})") :][:1500]
    assert "Penerima kurang dari 5" in section and "Rp2.500.000" not in section
    assert 'src="/t/cimahi/hibah-bansos/transparansi/programmes.svg"' in html
    assert "<caption>Anggaran per program</caption>" in html
    chart = hb.get("/t/cimahi/hibah-bansos/transparansi/programmes.svg")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    texts = ["".join(t.itertext()) for t in ET.fromstring(chart.data).iter(f"{SVG}text")]
    assert "Pagu anggaran" in texts and bansos in texts
    assert hb.get("/t/cimahi/hibah-bansos/transparansi/lpj.svg").status_code == 404
