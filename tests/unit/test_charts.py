"""shared/charts.py: charts as scalable SVG without script, tables for CSV/XLSX that a
spreadsheet cannot run as formulas, round axis marks."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date, datetime

import openpyxl

from shared.charts import Chart, Table, _ticks, csv_bytes, rupiah, svg, table_of, xlsx_bytes

SVG = "{http://www.w3.org/2000/svg}"


def test_a_chart_is_scalable_svg_with_its_series_and_no_script():
    chart = Chart(
        "amounts",
        "Anggaran per program",
        ["Hibah ormas", "Bantuan sosial penyandang disabilitas 2026"],
        [("Pagu anggaran", [2_000_000_000, 600_000_000]), ("Disalurkan", [0, None])],
        horizontal=True,
        label_header="Program",
        money=True,
        unit_note="juta rupiah",
    )
    root = ET.fromstring(svg(chart))
    assert root.get("viewBox") and root.get("width") is None  # shrinks to the screen
    assert root.find(f".//{SVG}script") is None
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert "Anggaran per program (juta rupiah)" in texts
    assert {"Pagu anggaran", "Disalurkan", "Hibah ormas"} <= set(texts)
    assert "Bantuan sosial penyanda…" in texts  # long labels shortened; the table has them
    assert chart.shown_rows()[0] == ["Hibah ormas", "Rp2.000.000.000", "Rp0"]
    assert chart.rows()[1] == ["Bantuan sosial penyandang disabilitas 2026", 600_000_000, ""]


def test_hidden_cells_show_as_the_pages_mark():
    c = Chart("c", "t", ["a", "b"], [("n", [7, None])], hidden="<5")
    assert c.rows() == [["a", 7], ["b", "<5"]]


def test_axis_marks_are_few_and_round():
    assert _ticks(0) == [0, 1]
    assert _ticks(3) == [0, 1, 2, 3]
    assert _ticks(7) == [0, 2, 4, 6, 8]
    assert _ticks(2000) == [0, 500, 1000, 1500, 2000]
    assert all(len(_ticks(n)) <= 6 for n in range(1, 5000, 37))


def test_downloads_quote_formulas_and_keep_numbers_and_dates():
    t = Table(
        "Kasus",
        ["Nomor", "Diterima (WIB)", "Jumlah"],
        [["=HYPERLINK(1)", datetime(2026, 12, 2, 7, 15), 3], ["@x", date(2026, 1, 5), None]],
    )
    rows = list(csv.reader(io.StringIO(csv_bytes([t]).decode("utf-8-sig"))))
    assert rows == [
        ["Nomor", "Diterima (WIB)", "Jumlah"],
        ["'=HYPERLINK(1)", "2026-12-02 07:15", "3"],
        ["'@x", "2026-01-05", ""],
    ]
    two = csv_bytes([t, table_of(Chart("c", "Per kategori", ["a"], [("n", [1])]))])
    assert "\r\n\r\nPer kategori\r\n" in two.decode("utf-8-sig")
    book = openpyxl.load_workbook(io.BytesIO(xlsx_bytes([t, Table("Kasus", ["a"], [])])))
    assert book.sheetnames == ["Kasus", "Kasus 2"]
    sheet = book["Kasus"]
    assert sheet["A2"].value == "'=HYPERLINK(1)" and sheet["C2"].value == 3
    assert sheet["B2"].value == datetime(2026, 12, 2, 7, 15) and sheet["A1"].font.bold


def test_rupiah():
    assert rupiah(1_500_000) == "Rp1.500.000" and rupiah(None) == "Rp0"
