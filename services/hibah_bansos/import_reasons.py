"""The beneficiary import's reasons in the page's language.

`domain/beneficiary_file.py` (and the NIK and eligibility rules it calls) say why a row or a
file is refused in English, the API's language, with the values at fault inside the text. The
import page shows them in the official's language: each English reason is matched against the
patterns below and rebuilt from a catalogue message with the same values. A reason no pattern
knows is shown as the domain wrote it (a new rule is then visible, in English, rather than
hidden); tests/integration/hibah_bansos/test_hibah_import_pages.py checks the common ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

_WHAT = {
    "NIK": _l("NIK"),
    "family card (KK) number": _l("family card (KK) number"),
    "account number": _l("account number"),
}
_RULES = {
    "applicant_types": _l("applicant type"),
    "domicile_required": _l("domicile"),
    "max_amount": _l("maximum amount"),
    "social_registry_required": _l("social registry"),
}


def _fixed(message) -> Callable[[re.Match[str]], str]:
    return lambda m: str(message)


_ROW: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"a NIK has exactly 16 digits"), _fixed(_l("a NIK has exactly 16 digits"))),
    (
        re.compile(r"a family card \(KK\) number has exactly 16 digits"),
        _fixed(_l("a family card (KK) number has exactly 16 digits")),
    ),
    (
        re.compile(r"digits 1-2 \((?P<code>[^)]*)\) are not an Indonesian province code"),
        lambda m: _("digits 1-2 (%(code)s) are not an Indonesian province code", code=m["code"]),
    ),
    (
        re.compile(r"digits 3-6 must name a regency/city and a district \(not 00\)"),
        _fixed(_l("digits 3-6 must name a regency/city and a district (not 00)")),
    ),
    (
        re.compile(r"digits 13-16 \(serial\) start at 0001"),
        _fixed(_l("digits 13-16 (serial) start at 0001")),
    ),
    (
        re.compile(r"digits 7-12 are not a real birth date.*"),
        _fixed(_l("digits 7-12 are not a real birth date (DDMMYY, +40 on the day for women)")),
    ),
    (
        re.compile(r"Excel turned this (?P<what>.+?) into a number: format the column as Text.*"),
        lambda m: _(
            "Excel turned this %(what)s into a number: format the column as Text",
            what=str(_WHAT.get(m["what"], m["what"])),
        ),
    ),
    (re.compile(r"required"), _fixed(_l("required"))),
    (re.compile(r"digits only"), _fixed(_l("digits only"))),
    (
        re.compile(r"a whole, positive number of rupiah.*"),
        _fixed(_l("a whole, positive number of rupiah (1500000, 1.500.000 or Rp 1.500.000)")),
    ),
    (
        re.compile(r"a phone number has digits only.*"),
        _fixed(_l("a phone number has digits only (spaces, dashes and +62 allowed)")),
    ),
    (
        re.compile(
            r"(Excel dropped the leading 0|the leading 0 is missing) of this phone number.*"
        ),
        _fixed(_l("the leading 0 of this phone number is missing: format the column as Text")),
    ),
    (
        re.compile(r"not an Indonesian phone number.*"),
        _fixed(
            _l(
                "not an Indonesian phone number: a mobile number 08... of 10-13 digits, or a "
                "landline with its area code (022...)"
            )
        ),
    ),
    (
        re.compile(r"a date as DD/MM/YYYY.*"),
        _fixed(_l("a date as DD/MM/YYYY (or YYYY-MM-DD)")),
    ),
    (
        re.compile(r"(?P<date>\S+) is in the future"),
        lambda m: _("%(date)s is in the future", date=m["date"]),
    ),
    (
        re.compile(r"(?P<date>\S+) is not the birth date in the NIK.*"),
        lambda m: _("%(date)s is not the birth date in the NIK", date=m["date"]),
    ),
    (
        re.compile(r"expected (?P<want>\d+) fields, found (?P<got>\d+).*"),
        lambda m: _(
            "expected %(want)s fields, found %(got)s (a separator too many or too few?)",
            want=m["want"],
            got=m["got"],
        ),
    ),
    (
        re.compile(r"the same NIK as line (?P<row>\d+)"),
        lambda m: _("the same NIK as row %(row)s", row=m["row"]),
    ),
    (
        re.compile(r"eligibility\.(?P<rule>\w+): (?P<because>.*)"),
        lambda m: _(
            "eligibility (%(rule)s): %(because)s",
            rule=str(_RULES.get(m["rule"], m["rule"])),
            because=_eligibility(m["because"]),
        ),
    ),
]

_ELIGIBILITY: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"at most (?P<cap>\d+) rupiah may be requested"),
        lambda m: _(
            "at most %(cap)s rupiah may be requested", cap=f"{int(m['cap']):,}".replace(",", ".")
        ),
    ),
    (
        re.compile(r"the applicant must be registered in this city"),
        _fixed(_l("the NIK must be registered in this city")),
    ),
    (
        re.compile(r"the person must be in the social registry.*"),
        _fixed(_l("the person must be in the social registry (DTKS/DTSEN)")),
    ),
]

_FILE: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (re.compile(r"The file is empty\."), _fixed(_l("The file is empty."))),
    (
        re.compile(r"The file is larger than 20 MB\."),
        _fixed(_l("The file is larger than 20 MB.")),
    ),
    (
        re.compile(r"The file is UTF-16 text.*"),
        _fixed(
            _l(
                "The file is UTF-16 text (Excel's 'Unicode Text'): save it as 'CSV UTF-8' or as "
                "an .xlsx workbook."
            )
        ),
    ),
    (
        re.compile(r"The file is an old Excel workbook.*"),
        _fixed(_l("The file is an old Excel workbook (.xls): save it as .xlsx or CSV.")),
    ),
    (
        re.compile(r"The file is neither UTF-8 nor Windows-1252.*|The file is not a CSV.*"),
        _fixed(_l("The file is not a CSV text file or an .xlsx workbook.")),
    ),
    (
        re.compile(r"The file is not a valid CSV.*"),
        _fixed(_l("The file is not a valid CSV.")),
    ),
    (
        re.compile(r"The header \(row (?P<row>\d+)\) lacks column\(s\) (?P<cols>[^;]+);.*"),
        lambda m: _(
            "The header (row %(row)s) lacks the column(s) %(cols)s. Accepted names: nik; kk or "
            "no_kk; name or nama; address or alamat; bank_account or no_rekening; amount or "
            "nominal (optional: phone or no_hp, birth_date or tanggal_lahir).",
            row=m["row"],
            cols=m["cols"],
        ),
    ),
    (
        re.compile(r"Columns (?P<cols>.+?) are both (?P<f>\w+) .*"),
        lambda m: _(
            "Columns %(cols)s are both %(field)s: keep one.",
            cols=m["cols"].replace(" and ", " & "),
            field=m["f"],
        ),
    ),
    (
        re.compile(r"More than (?P<n>\d+) rows.*"),
        lambda m: _("More than %(n)s rows.", n=m["n"]),
    ),
    (
        re.compile(r"The file is not a readable \.xlsx workbook.*"),
        _fixed(_l("The file is not a readable .xlsx workbook.")),
    ),
    (
        re.compile(r"The workbook unpacks to more than 200 MB.*"),
        _fixed(_l("The workbook unpacks to more than 200 MB.")),
    ),
    (re.compile(r"The workbook has no sheet;.*"), _fixed(_l("The workbook has no sheet."))),
    (
        re.compile(r"The workbook has no sheet named (?P<name>.+); its sheets: (?P<all>.+)\."),
        lambda m: _(
            "The workbook has no sheet named %(name)s; its sheets: %(all)s.",
            name=m["name"],
            all=m["all"],
        ),
    ),
]


def _match(table, text: str) -> str:
    for pattern, build in table:
        m = pattern.fullmatch(text)
        if m:
            return build(m)
    return text


def _eligibility(text: str) -> str:
    return _match(_ELIGIBILITY, text)


def row_reason(text: str) -> str:
    """One problem of a row (`Problem.reason`) in the page's language."""
    return _match(_ROW, text)


def file_reason(text: str) -> str:
    """Why a file was refused whole (`Refused.message` with field `file`), in the page's
    language, with "nothing was imported" said by the page."""
    return _match(_FILE, text)
