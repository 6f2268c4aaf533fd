"""The bansos beneficiary file parser, without database: files made the way Excel (id-ID)
saves them (tests/fixtures/excel-id/, see make_fixtures.py there), and one rule at a time."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from services.hibah_bansos import spreadsheet
from services.hibah_bansos.domain import beneficiary_file as bf

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "excel-id"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
RULES = {
    "applicant_types": ["individual"],
    "domicile_required": True,
    "max_amount": 3_000_000,
    "social_registry_required": True,
}
REGIONS = ["3277"]
TODAY = date(2026, 12, 1)
HEADER = "nik,kk,name,address,phone,bank_account,amount"
GOOD = "3277031708900011,3277030101200001,Asep,Jl. Baros 1,081234567890,1234567890,1500000"


def rows_of_file(name: str, sheet: str | None = None) -> list[bf.Row]:
    raw = (FIXTURES / name).read_bytes()
    bf.check_size(raw)
    table = spreadsheet.read_xlsx(raw, sheet) if bf.is_xlsx(raw) else bf.read_csv(raw)
    return bf.rows_of(table, RULES, REGIONS, TODAY)


def csv_rows(text: str, encoding: str = "utf-8") -> list[bf.Row]:
    return bf.parse(text.encode(encoding), RULES, REGIONS, TODAY)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_excel_id_fixtures_import_every_good_row_and_name_every_bad_one(name):
    expected = EXPECTED[name]
    rows = rows_of_file(name, expected.get("sheet"))
    good = [r for r in rows if r.ok]
    bad = {str(r.row): r for r in rows if not r.ok}
    assert len(good) == expected["imported"], [r.refusal() for r in bad.values()]
    assert sorted(bad) == sorted(expected["rejected"]), [r.refusal() for r in bad.values()]
    for number, (column, words) in expected["rejected"].items():
        refusal = bad[number].refusal()
        assert refusal["row"] == refusal["line"] == int(number)
        assert any(p["column"] == column and words in p["reason"] for p in refusal["problems"]), (
            name,
            refusal,
        )
        assert f"column {column} (" in refusal["reason"]
    by_nik = {r.values["nik"]: r.values for r in good}
    lansia = by_nik["3277035512260013"]  # born 1926: registers
    assert lansia["name"] == "Enéng Kurniasih" and lansia["amount"] == "2000000"
    assert by_nik["3277035708850012"]["address"] == "Gg. Mawar 3 – RT 02/RW 05"
    assert by_nik["3277035708850012"]["phone"] == "081311223344"  # +62 813 1122 3344
    assert by_nik["3277035708850012"]["bank_account"] == "0987654321"
    assert by_nik["3277031708900011"]["amount"] == "1500000"  # Rp 1.500.000
    assert by_nik["3277030101050014"]["amount"] == "1000000"  # Rp1.000.000,-


def test_the_csv_files_are_what_excel_writes():
    bom = (FIXTURES / "dtks-bom-crlf.csv").read_bytes()
    assert bom.startswith(b"\xef\xbb\xbfNIK;No. KK;") and b"\r\n" in bom
    cp1252 = (FIXTURES / "dtks-cp1252.csv").read_bytes()
    assert b"En\xe9ng" in cp1252 and b"3.27703E+15" in cp1252
    with pytest.raises(UnicodeDecodeError):
        cp1252.decode("utf-8")
    assert b"\t" in (FIXTURES / "dtks-tab.txt").read_bytes()


def test_the_blank_row_keeps_excel_row_numbers():
    rows = rows_of_file("dtks-bom-crlf.csv")
    assert [r.row for r in rows][:6] == [2, 3, 4, 5, 6, 8]  # row 7 is empty


# --- one rule at a time --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, delimiter",
    [(f"{HEADER}\n{GOOD}\n", ","), (HEADER.replace(",", ";") + "\n" + GOOD.replace(",", ";"), ";")],
)
def test_delimiter_detection(text, delimiter):
    rows = csv_rows(text)
    assert [r.ok for r in rows] == [True], [r.refusal() for r in rows]


def test_tab_with_commas_in_values_and_excels_sep_line():
    header = HEADER.replace(",", "\t")
    row = GOOD.replace(",", "\t").replace("Jl. Baros 1", "Jl. Baros 1, Cimahi")
    assert csv_rows(f"{header}\r\n{row}\r\n")[0].values["address"] == "Jl. Baros 1, Cimahi"
    rows = csv_rows(f"sep=;\r\n{HEADER.replace(',', ';')}\r\n{GOOD.replace(',', ';')}\r\n")
    assert rows[0].ok and rows[0].row == 2  # Excel hides the sep= line


def test_a_title_row_above_the_header_moves_the_numbers():
    rows = csv_rows(f"Daftar penerima;;;;;;\n\n{HEADER}\n{GOOD}\n")
    assert rows[0].ok and rows[0].row == 4


@pytest.mark.parametrize(
    "raw, words",
    [
        (b"   \n", "empty"),
        (b"\xff\xfen\x00i\x00k\x00", "UTF-16"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1rest", ".xls"),
        (b"nik,nama\n3277031708900011,A\n", "lacks column(s) kk, address, bank_account, amount"),
        (f"{HEADER},nik_ktp\n".encode(), "Columns A and H are both nik"),
        (b"nik\x00,kk\n", "not a CSV"),
        (b"nik,\x81\x8d\n", "neither UTF-8 nor Windows-1252"),
        (b"PK\x03\x04broken", "not a readable .xlsx"),
    ],
)
def test_unreadable_files_are_refused_whole(raw, words):
    with pytest.raises(bf.FileRefused) as caught:
        bf.check_size(raw)
        table = spreadsheet.read_xlsx(raw) if bf.is_xlsx(raw) else bf.read_csv(raw)
        bf.rows_of(table, RULES, REGIONS, TODAY)
    assert words in str(caught.value) and caught.value.status == 422
    assert caught.value.field == "file"


def test_the_missing_header_names_the_accepted_aliases():
    with pytest.raises(bf.FileRefused) as caught:
        csv_rows("NIK;Nama\n")
    message = str(caught.value)
    assert "no_kk" in message and "nominal" in message and "no_rekening" in message
    assert caught.value.extra["expected_columns"] == list(bf.COLUMNS)


@pytest.mark.parametrize(
    "value, amount",
    [
        ("1500000", 1_500_000),
        ("1.500.000", 1_500_000),
        ("Rp 1.500.000", 1_500_000),
        ("Rp1.500.000", 1_500_000),
        ("Rp. 1.500.000,00", 1_500_000),
        ("IDR 750.000", 750_000),
        ("Rp 1.500.000,-", 1_500_000),
        ("1\xa0500\xa0000", 1_500_000),  # Excel's non-breaking spaces read as digits joined
        (1_500_000, 1_500_000),
        (1_500_000.0, 1_500_000),
    ],
)
def test_amounts_the_pages_accept(value, amount):
    assert bf.amount_of(value) == (amount, None)


@pytest.mark.parametrize(
    "value", ["1,500,000", "1.5", "1.500.000,50", "1e6", "Rp", "", "0", "-5", 1.5, True, "15.00"]
)
def test_amounts_that_are_not_whole_rupiah(value):
    amount, why = bf.amount_of(value)
    assert amount is None and why and "rupiah" in why


@pytest.mark.parametrize(
    "value, normal",
    [
        ("081234567890", "081234567890"),
        ("0812-3456-7890", "081234567890"),
        ("+62 812 3456 7890", "081234567890"),
        ("6281234567890", "081234567890"),
        ("(022) 6654321", "0226654321"),
        ("", ""),
        (None, ""),
    ],
)
def test_phone_numbers(value, normal):
    assert bf.phone_of(value) == (normal, None)


@pytest.mark.parametrize(
    "value, words",
    [
        ("0812", "not an Indonesian phone number"),
        ("08123456789012345", "not an Indonesian phone number"),
        ("0812abc", "digits only"),
        ("81234567890", "the leading 0 is missing"),
        (81234567890, "Excel dropped the leading 0"),
        ("8,12346E+10", "Excel turned this phone number into a number"),
        ("0012345678", "not an Indonesian phone number"),
    ],
)
def test_bad_phone_numbers(value, words):
    _, why = bf.phone_of(value)
    assert why and words in why


@pytest.mark.parametrize("value", ["3.27703E+15", "3,27703E+15", "3.277E15", 3277031708900000])
def test_a_nik_excel_made_a_number(value):
    header = bf.Header(1, 7, {f: i for i, f in enumerate(bf.COLUMNS)}, {f: f for f in bf.COLUMNS})
    cells = GOOD.split(",")
    cells[0] = value
    row = bf.judge(header, 2, cells, RULES, REGIONS, TODAY)
    [problem] = row.problems
    assert problem.column == "A" and problem.reason.startswith(
        "Excel turned this NIK into a number: format the column as Text"
    )


@pytest.mark.parametrize(
    "cell, problem",
    [
        ("17/08/1990", None),
        ("17-08-1990", None),
        ("1990-08-17", None),
        (datetime(1990, 8, 17), None),
        (date(1990, 8, 17), None),
        ("", None),
        ("18/08/1990", "not the birth date in the NIK"),
        ("17/08/1991", "not the birth date in the NIK"),
        ("17/08/90", "DD/MM/YYYY"),
        ("kemarin", "DD/MM/YYYY"),
        ("17/08/2090", "in the future"),
    ],
)
def test_birth_date_column_against_the_nik(cell, problem):
    why = bf.birth_date_problem(cell, "3277031708900011", TODAY)
    assert (why is None) if problem is None else (why is not None and problem in why)
    # a woman: day + 40 in the NIK, the real day in the column
    assert bf.birth_date_problem("17/08/1990", "3277035708900011", TODAY) is None


def test_rows_with_a_field_too_many_or_too_few():
    rows = csv_rows(f"{HEADER}\n{GOOD},extra\n{GOOD[:-8]}\n{GOOD.replace('0011', '0012')},,\n")
    assert [r.ok for r in rows] == [False, False, True]
    assert "expected 7 fields, found 8" in rows[0].refusal()["reason"]
    assert "expected 7 fields, found 6" in rows[1].refusal()["reason"]


def test_every_problem_of_a_row_is_named_with_its_column():
    bad = "9902011708900001,3277,,Jl. X,0812,12ab,3000001"
    [row] = csv_rows(f"{HEADER}\n{bad}\n")
    columns = {p.column for p in row.problems}
    assert {"A", "B", "C", "E", "F"} <= columns
    # the NIK's province is wrong, so eligibility is not judged on it
    assert not any("eligibility" in p.reason for p in row.problems)
    domicile = "3273021708900001,3277020101200001,A,B,0812,111111,3000001"
    [row] = csv_rows(f"{HEADER}\n{domicile}\n")
    reasons = {p.column: p.reason for p in row.problems}
    assert "phone" in row.refusal()["reason"] and "domicile" in reasons["A"]
    assert "max_amount" in reasons["G"]


def test_column_letters():
    assert [bf.column_letter(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)] == [
        "A",
        "B",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
        "ZZ",
        "AAA",
    ]


def test_header_aliases():
    assert bf.header_key(" No. KK ") == "no_kk"
    assert bf.header_key("Nominal (Rp)") == "nominal"
    assert bf.header_key("NO_REKENING") == "no_rekening"
    text = "Nama;NIK;Nomor KK;Alamat Lengkap;No. HP;No. Rek;Jumlah Bantuan (Rp)\n"
    text += "Asep;3277031708900011;3277030101200001;Jl. Baros 1;0812 3456 7890;123;Rp 1.500.000\n"
    [row] = csv_rows(text)
    assert row.ok and row.values["phone"] == "081234567890", row.refusal()


# --- workbooks -----------------------------------------------------------------------------


def test_a_named_sheet_and_an_unknown_one():
    raw = (FIXTURES / "dua-sheet.xlsx").read_bytes()
    with pytest.raises(bf.FileRefused) as caught:
        bf.rows_of(spreadsheet.read_xlsx(raw), RULES, REGIONS, TODAY)  # the instructions sheet
    assert "lacks column(s)" in str(caught.value)
    with pytest.raises(bf.FileRefused) as caught:
        spreadsheet.read_xlsx(raw, "Lembar3")
    assert caught.value.extra["sheets"] == ["Petunjuk", "Data"]


def test_a_workbook_that_unpacks_to_too_much_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (spreadsheet.MAX_UNPACKED + 1))
    with pytest.raises(bf.FileRefused) as caught:
        spreadsheet.read_xlsx(buffer.getvalue())
    assert caught.value.status == 413


def test_workbook_cells_keep_their_types():
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["nik", "kk", "nama", "alamat", "no_hp", "no_rekening", "nominal", "tgl_lahir"])
    ws.append(["3277031708900011", "3277030101200001", "Asep", "Jl. Baros 1", "081234567890"])
    ws["F2"], ws["G2"], ws["H2"] = 1234567890, 1500000, datetime(1990, 8, 17)
    buffer = io.BytesIO()
    book.save(buffer)
    table = spreadsheet.read_xlsx(buffer.getvalue())
    [row] = bf.rows_of(table, RULES, REGIONS, TODAY)
    assert row.ok, row.refusal()
    assert row.values["bank_account"] == "1234567890" and row.values["amount"] == "1500000"
