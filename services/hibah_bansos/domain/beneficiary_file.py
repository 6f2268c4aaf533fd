"""A bansos beneficiary file, as officials really have it, read into rows and judged row by row.

Files come from the social service's extract (DTKS/DTSEN) or were typed in Excel, saved in an
Indonesian locale: `;` or `,` or tab between fields, UTF-8 with or without a BOM or Windows-1252,
CRLF line ends, Indonesian headers (`nama`, `no_kk`, `alamat`, `no_hp`, `no_rekening`,
`nominal`, ...), amounts written `Rp 1.500.000` or `1.500.000`, and numbers that Excel
mangled (a NIK shown as `3.27701E+15`, a phone number without its leading 0). XLSX workbooks are
read into the same `Table` by `services/hibah_bansos/spreadsheet.py`.

Pure: bytes or a table in, rows with their problems out; no database, no Flask. A file that
cannot be read at all raises `FileRefused` (nothing is imported); otherwise every row is
judged, and every problem names the row and the column as Excel shows them (the header row
counts as row 1 in a file that starts with it; columns are letters, A, B, ..., AA).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.hibah_bansos.domain import eligibility
from services.hibah_bansos.domain import nik as nik_rules
from services.hibah_bansos.domain.money import InvalidAmount, rupiah

# the fields of a beneficiary, in the order the personal record keeps them; phone is optional
COLUMNS = ("nik", "kk", "name", "address", "phone", "bank_account", "amount")
REQUIRED = ("nik", "kk", "name", "address", "bank_account", "amount")
OPTIONAL = ("phone", "birth_date")
ALIASES: dict[str, tuple[str, ...]] = {
    "nik": ("nik", "no_nik", "nomor_nik", "nik_ktp", "no_ktp", "nomor_ktp"),
    "kk": ("kk", "no_kk", "nomor_kk", "nkk", "no_kartu_keluarga", "nomor_kartu_keluarga"),
    "name": ("name", "nama", "nama_lengkap", "nama_penerima", "nama_kpm", "nama_pm"),
    "address": ("address", "alamat", "alamat_lengkap", "alamat_domisili", "alamat_ktp"),
    "phone": (
        "phone",
        "no_hp",
        "nomor_hp",
        "hp",
        "no_telp",
        "no_telepon",
        "nomor_telepon",
        "telepon",
        "no_wa",
        "nomor_wa",
        "whatsapp",
    ),
    "bank_account": ("bank_account", "no_rekening", "nomor_rekening", "rekening", "no_rek"),
    "amount": (
        "amount",
        "nominal",
        "jumlah",
        "jumlah_bantuan",
        "besaran",
        "besaran_bantuan",
        "nilai_bantuan",
        "nilai",
    ),
    "birth_date": ("birth_date", "tanggal_lahir", "tgl_lahir", "tgllahir", "tanggal_lahir_kpm"),
}
_FIELD_OF = {alias: f for f, names in ALIASES.items() for alias in names}
MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
HEADER_SEARCH_ROWS = 10  # a title or a blank line may stand above the header
DELIMITERS = (",", ";", "\t")

Cell = str | int | float | bool | date | datetime | None


class FileRefused(ValueError):
    """The file as a whole cannot be read: nothing is imported. `status` 413 or 422; `extra`
    members for the problem document."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.field, self.extra = status, "file", extra


@dataclass(frozen=True)
class Table:
    """Rows of cells with the row numbers Excel shows. `ragged`: a CSV, where a row with a
    different number of fields than the header is a row to refuse (in a workbook cells are
    where they are)."""

    rows: list[tuple[int, list[Cell]]]
    ragged: bool = True


@dataclass(frozen=True)
class Problem:
    column: str | None  # "A", "B", ... or None (a rule about the whole row)
    header: str | None  # the column's header as the file writes it
    reason: str

    def text(self) -> str:
        if self.column is None:
            return self.reason
        return f"column {self.column} ({self.header}): {self.reason}"


@dataclass
class Row:
    """One data row: the cleaned values (`nik`, `kk`, `name`, `address`, `phone`,
    `bank_account`, `amount` as digits) when it is good, its problems when it is not."""

    row: int
    values: dict[str, str]
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def amount(self) -> int:
        return int(self.values["amount"])

    def refusal(self) -> dict[str, Any]:
        """The row as the import's answer lists it (`line` = `row`, the Excel row number)."""
        return {
            "line": self.row,
            "row": self.row,
            "reason": "; ".join(p.text() for p in self.problems),
            "problems": [
                {"column": p.column, "header": p.header, "reason": p.reason} for p in self.problems
            ],
        }


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA (Excel's column names)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def header_key(text: Cell) -> str:
    """`No. KK ` -> `no_kk`, `Nominal (Rp)` -> `nominal`: how a header is matched to a field."""
    key = re.sub(r"[^a-z0-9]+", "_", str(text or "").strip().lower()).strip("_")
    return key.removesuffix("_rp").removesuffix("_idr")


# --- reading a CSV -----------------------------------------------------------------------


def is_xlsx(raw: bytes) -> bool:
    return raw[:4] == b"PK\x03\x04"


def decode(raw: bytes) -> str:
    """UTF-8 (with or without a BOM), else Windows-1252, the two encodings Excel saves CSV in."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise FileRefused(
            422,
            "The file is UTF-16 text (Excel's 'Unicode Text'); save it as 'CSV UTF-8' or as an "
            ".xlsx workbook; nothing was imported.",
        )
    if raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FileRefused(
            422,
            "The file is an old Excel workbook (.xls); save it as .xlsx or CSV; nothing was "
            "imported.",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise FileRefused(
                422,
                "The file is neither UTF-8 nor Windows-1252 text; nothing was imported.",
            ) from None
    if "\x00" in text:
        raise FileRefused(422, "The file is not a CSV text file; nothing was imported.")
    return text


def _records(text: str, delimiter: str) -> list[tuple[int, list[Cell]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[tuple[int, list[Cell]]] = []
    try:
        for number, values in enumerate(reader, start=1):
            out.append((number, list(values)))
            if len(out) > MAX_ROWS + HEADER_SEARCH_ROWS:
                raise FileRefused(413, f"More than {MAX_ROWS} rows; nothing was imported.")
    except csv.Error as exc:
        raise FileRefused(
            422, f"The file is not a valid CSV ({exc}); nothing was imported."
        ) from None
    return out


def read_csv(raw: bytes) -> Table:
    """The CSV's records, with the delimiter (`,` `;` or tab) that makes the best header."""
    text = decode(raw)
    first, _, rest = text.partition("\n")
    hint = re.fullmatch(r"sep=(.)\r?", first)  # Excel's own delimiter line, not shown as a row
    if hint:
        return Table(_records(rest, hint.group(1)))
    head = "\n".join(text.splitlines()[:HEADER_SEARCH_ROWS])
    best = max(DELIMITERS, key=lambda d: _header_score(head, d))  # ties: the first listed
    return Table(_records(text, best))


def _header_score(head: str, delimiter: str) -> tuple[int, int]:
    """(fields the best header row names, its width) with this delimiter."""
    if delimiter not in head:
        return (-1, 0)
    try:
        records = _records(head, delimiter)
    except FileRefused:  # a quoted field cut where the first rows end
        return (-1, 0)
    return max(((len(_matched(c)), len(c)) for _, c in records), default=(0, 0))


def _matched(cells: Sequence[Cell]) -> dict[str, list[int]]:
    fields: dict[str, list[int]] = {}
    for i, cell in enumerate(cells):
        f = _FIELD_OF.get(header_key(cell))
        if f is not None:
            fields.setdefault(f, []).append(i)
    return fields


# --- the header --------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    row: int
    width: int
    columns: dict[str, int]  # field -> 0-based column index
    written: dict[str, str]  # field -> the header as the file writes it

    def place(self, f: str) -> tuple[str, str]:
        return column_letter(self.columns[f]), self.written[f]


def find_header(table: Table) -> tuple[Header, list[tuple[int, list[Cell]]]]:
    """The header row (the first of the first rows that names the most fields) and the rows
    below it; FileRefused when it lacks a required column or names one twice."""
    rows = table.rows
    if not any(any(_text(c) for c in cells) for _, cells in rows):
        raise FileRefused(422, "The file is empty.")
    candidates = [(i, _matched(cells)) for i, (_, cells) in enumerate(rows[:HEADER_SEARCH_ROWS])]
    at, fields = max(candidates, key=lambda c: (len(c[1]), -c[0]))
    number, cells = rows[at]
    if not fields:
        at, number, cells = 0, rows[0][0], rows[0][1]
    missing = [f for f in REQUIRED if f not in fields]
    if missing:
        raise FileRefused(
            422,
            f"The header (row {number}) lacks column(s) {', '.join(missing)}; nothing was "
            "imported. Accepted names: "
            + "; ".join(f"{f}: {', '.join(ALIASES[f])}" for f in REQUIRED + OPTIONAL)
            + ".",
            expected_columns=list(COLUMNS),
            header_row=number,
        )
    twice = {f: idx for f, idx in fields.items() if len(idx) > 1}
    if twice:
        f, idx = next(iter(twice.items()))
        letters = " and ".join(column_letter(i) for i in idx)
        raise FileRefused(
            422,
            f"Columns {letters} are both {f} ({', '.join(_text(cells[i]) for i in idx)}): keep "
            "one; nothing was imported.",
            header_row=number,
        )
    header = Header(
        number,
        len(cells),
        {f: idx[0] for f, idx in fields.items()},
        {f: _text(cells[idx[0]]) for f, idx in fields.items()},
    )
    return header, rows[at + 1 :]


# --- cells -------------------------------------------------------------------------------

_SCIENTIFIC = re.compile(r"^[0-9]([.,][0-9]+)?[eE]\+?[0-9]+$")
_DIGITS = re.compile(r"^[0-9]{1,16}$")
_GROUPED = re.compile(r"^[0-9]{1,3}(\.[0-9]{3}){1,5}$")
_CURRENCY = re.compile(r"^(rp\.?|idr)", re.IGNORECASE)
_MOBILE = re.compile(r"^08[1-9][0-9]{7,10}$")  # 10-13 digits
_LANDLINE = re.compile(r"^0[2-79][0-9]{7,10}$")  # area code and number, 9-12 digits
_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y/%m/%d")
AMOUNT_FORMATS = "1500000, 1.500.000 or Rp 1.500.000"


def _text(cell: Cell) -> str:
    """A cell as text, NFKC-normalised: fullwidth digits (`３２７７…`) are the ASCII digits
    they look like, so one NIK typed two ways is one NIK (digits of other scripts stay, and
    are refused as no digits)."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return unicodedata.normalize("NFKC", str(cell).replace("\xa0", " ")).strip()


def _excel_number(what: str) -> str:
    return (
        f"Excel turned this {what} into a number: format the column as Text "
        f"(and type the {what}s again: Excel keeps only 15 digits)"
    )


def _id_number(cell: Cell, what: str) -> tuple[str, str | None]:
    """A 16-digit NIK or KK as text; (text, reason) when Excel made a number of it."""
    if isinstance(cell, int | float) and not isinstance(cell, bool):
        return _text(cell), _excel_number(what)
    value = _text(cell).lstrip("'")
    if _SCIENTIFIC.match(value):
        return value, _excel_number(what)
    return re.sub(r"[ \-]", "", value), None


def _bank_account(cell: Cell) -> tuple[str, str | None]:
    value = _text(cell).lstrip("'")
    if isinstance(cell, float) and not cell.is_integer() or _SCIENTIFIC.match(value):
        return value, _excel_number("account number")
    value = re.sub(r"[ \-.]", "", value)
    if not (value.isascii() and value.isdigit()):
        return value, "digits only"
    return value, None


def amount_of(cell: Cell) -> tuple[int | None, str | None]:
    """Whole rupiah as the pages accept them (1500000, 1.500.000, Rp 1.500.000; a trailing
    ",-" or ",00" is read as no sen) or an Excel number cell."""
    reason = f"a whole, positive number of rupiah ({AMOUNT_FORMATS}; no decimals)"
    if isinstance(cell, bool):
        return None, reason
    if isinstance(cell, float):
        if not cell.is_integer():
            return None, reason
        cell = int(cell)
    if isinstance(cell, int):
        value = cell
    else:
        text = re.sub(r"\s", "", _text(cell))
        text = _CURRENCY.sub("", text)
        for tail in (",-", ",00"):
            text = text.removesuffix(tail)
        if _DIGITS.match(text):
            value = int(text)
        elif _GROUPED.match(text):
            value = int(text.replace(".", ""))
        else:
            return None, reason
    try:
        return rupiah(value), None
    except InvalidAmount as exc:
        return None, f"{reason}: {exc}"


def phone_of(cell: Cell) -> tuple[str, str | None]:
    """An Indonesian phone number in its national form (08..., 022...), or a reason."""
    if cell is None or _text(cell) == "":
        return "", None
    numeric = isinstance(cell, int | float) and not isinstance(cell, bool)
    value = _text(cell).lstrip("'")
    if _SCIENTIFIC.match(value):
        return value, "Excel turned this phone number into a number: format the column as Text"
    value = re.sub(r"[ \-.()/]", "", value)
    if value.startswith("+62"):
        value = "0" + value[3:]
    elif value.startswith("62") and len(value) >= 11:
        value = "0" + value[2:]
    if not (value.isascii() and value.isdigit()):
        return value, "a phone number has digits only (spaces, dashes and +62 allowed)"
    if value.startswith("8") and 9 <= len(value) <= 12:
        why = "Excel dropped the leading 0" if numeric else "the leading 0 is missing"
        return value, f"{why} of this phone number: format the column as Text and write 08..."
    if _MOBILE.match(value) or _LANDLINE.match(value):
        return value, None
    return value, (
        "not an Indonesian phone number: a mobile number 08... of 10-13 digits, or a "
        "landline with its area code (022...)"
    )


def date_of(cell: Cell) -> date | None:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    text = _text(cell)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def birth_date_problem(cell: Cell, nik: str, today: date) -> str | None:
    """The birth-date column against digits 7-12 of the NIK (day + 40 for women)."""
    if cell is None or _text(cell) == "":
        return None
    born = date_of(cell)
    if born is None:
        return "a date as DD/MM/YYYY (or YYYY-MM-DD)"
    if born > today:
        return f"{born:%d/%m/%Y} is in the future"
    from_nik = nik_rules.birth_of(nik, today)
    if from_nik is None:
        return None  # the NIK column already says why
    if (born.day, born.month, born.year % 100) != (
        from_nik.day,
        from_nik.month,
        from_nik.year % 100,
    ):
        return (
            f"{born:%d/%m/%Y} is not the birth date in the NIK "
            f"(digits 7-12 {nik[6:12]}: {from_nik:%d/%m}/..{from_nik:%y})"
        )
    return None


# --- rows --------------------------------------------------------------------------------

# eligibility rules about a column of the file
_RULE_COLUMN = {"domicile_required": "nik", "max_amount": "amount"}


def judge(
    header: Header,
    row: int,
    cells: list[Cell],
    rules: dict[str, Any],
    regions: list[str],
    today: date,
    *,
    ragged: bool = True,
) -> Row:
    """One data row: its cleaned values and every problem, each naming its column."""
    problems: list[Problem] = []

    def at(f: str, reason: str) -> None:
        letter, written = header.place(f)
        problems.append(Problem(letter, written, reason))

    if ragged and len(cells) != header.width:
        extra = cells[header.width :]
        if len(cells) < header.width or any(_text(c) for c in extra):
            letter = column_letter(min(len(cells), header.width))
            problems.append(
                Problem(
                    letter,
                    None,
                    f"expected {header.width} fields, found {len(cells)} "
                    "(a separator too many or too few in this row?)",
                )
            )
            return Row(row, {}, problems)
    cells = list(cells) + [None] * (header.width - len(cells))

    def cell(f: str) -> Cell:
        return cells[header.columns[f]] if f in header.columns else None

    nik, why = _id_number(cell("nik"), "NIK")
    if why:
        at("nik", why)
    else:
        for p in nik_rules.nik_problems(nik, today):
            at("nik", p)
    kk, why = _id_number(cell("kk"), "family card (KK) number")
    if why:
        at("kk", why)
    else:
        for p in nik_rules.kk_problems(kk):
            at("kk", p)
    name, address = _text(cell("name")), _text(cell("address"))
    for f, value in (("name", name), ("address", address)):
        if not value:
            at(f, "required")
    phone, why = phone_of(cell("phone"))
    if why:
        at("phone", why)
    account, why = _bank_account(cell("bank_account"))
    if why:
        at("bank_account", why)
    amount, why = amount_of(cell("amount"))
    if why:
        at("amount", why)
    nik_ok = not any(p.column == header.place("nik")[0] for p in problems)
    if "birth_date" in header.columns and nik_ok:
        why = birth_date_problem(cell("birth_date"), nik, today)
        if why:
            at("birth_date", why)
    if nik_ok and amount is not None:
        facts = eligibility.Facts(
            "individual",
            amount,
            nik_region=nik_rules.region_of(nik),
            in_social_registry=True,
        )
        for rule, because in eligibility.failed_rules(rules, facts, regions, today):
            about = _RULE_COLUMN.get(rule)
            reason = f"eligibility.{rule}: {because}"
            if about is None:
                problems.append(Problem(None, None, reason))
            else:
                at(about, reason)
    values = {
        "nik": nik,
        "kk": kk,
        "name": name,
        "address": address,
        "phone": phone,
        "bank_account": account,
        "amount": str(amount or ""),
    }
    return Row(row, values, problems)


def rows_of(table: Table, rules: dict[str, Any], regions: list[str], today: date) -> list[Row]:
    """Every data row of the table (blank rows skipped), judged; a NIK seen on an earlier good
    row makes a later row bad. FileRefused if the table cannot be read."""
    header, data = find_header(table)
    out: list[Row] = []
    first_row: dict[str, int] = {}
    for number, cells in data:
        if not any(_text(c) for c in cells):
            continue
        if len(out) >= MAX_ROWS:
            raise FileRefused(413, f"More than {MAX_ROWS} rows; nothing was imported.")
        row = judge(header, number, cells, rules, regions, today, ragged=table.ragged)
        if row.ok:
            nik = row.values["nik"]
            if nik in first_row:
                letter, written = header.place("nik")
                row.problems.append(
                    Problem(letter, written, f"the same NIK as line {first_row[nik]}")
                )
            else:
                first_row[nik] = number
        out.append(row)
    return out


def parse(raw: bytes, rules: dict[str, Any], regions: list[str], today: date) -> list[Row]:
    """A CSV file's rows (see `rows_of`); size limits checked first."""
    check_size(raw)
    return rows_of(read_csv(raw), rules, regions, today)


def check_size(raw: bytes) -> None:
    if not raw.strip():
        raise FileRefused(422, "The file is empty.")
    if len(raw) > MAX_BYTES:
        raise FileRefused(413, "The file is larger than 20 MB.")
