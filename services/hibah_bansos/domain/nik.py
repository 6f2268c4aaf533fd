"""NIK (Nomor Induk Kependudukan, the 16-digit national identity number) and KK (Kartu
Keluarga, family card number) checks. NIK layout: PP KK CC DDMMYY SSSS: province, regency/city,
district of first registration, birth date (+40 on the day for women), serial."""

from __future__ import annotations

from datetime import date

# Province codes (BPS), including the 2022 Papua provinces.
PROVINCES = {
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "17",
    "18",
    "19",
    "21",
    "31",
    "32",
    "33",
    "34",
    "35",
    "36",
    "51",
    "52",
    "53",
    "61",
    "62",
    "63",
    "64",
    "65",
    "71",
    "72",
    "73",
    "74",
    "75",
    "76",
    "81",
    "82",
    "91",
    "92",
    "93",
    "94",
    "95",
    "96",
}


def _digits16(value: object) -> bool:
    return isinstance(value, str) and len(value) == 16 and value.isascii() and value.isdigit()


def nik_problems(value: str, today: date) -> list[str]:
    """Every rule `value` breaks, in words an applicant can act on (empty: a valid NIK)."""
    if not _digits16(value):
        return ["a NIK has exactly 16 digits"]
    problems = []
    if value[:2] not in PROVINCES:
        problems.append(f"digits 1-2 ({value[:2]}) are not an Indonesian province code")
    if value[2:4] == "00" or value[4:6] == "00":
        problems.append("digits 3-6 must name a regency/city and a district (not 00)")
    if value[12:16] == "0000":
        problems.append("digits 13-16 (serial) start at 0001")
    if birth_of(value, today) is None:
        problems.append("digits 7-12 are not a real birth date (DDMMYY, +40 on the day for women)")
    return problems


def birth_of(nik: str, today: date) -> date | None:
    """The birth date digits 7-12 of a 16-digit NIK give, or None if they are no real date."""
    day, month, year2 = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    if day > 40:
        day -= 40  # women
    try:
        return birth_date(year2, month, day, today)
    except ValueError:
        return None


def birth_date(year2: int, month: int, day: int, today: date) -> date:
    """Two-digit years: 20YY unless that date is still to come, then 19YY. So 15-12-26 read
    on 1 December 2026 is 15 December 1926 (a woman of 99, the kind of person bansos for the
    elderly is for), and 01-01-05 is 2005. A NIK's birth date is never in the future."""
    try:
        recent = date(2000 + year2, month, day)
    except ValueError:
        recent = None  # 29 February of a year 20YY that is not a leap year: so is 19YY
    if recent is not None and recent <= today:
        return recent
    return date(1900 + year2, month, day)


def kk_problems(value: str) -> list[str]:
    if not _digits16(value):
        return ["a family card (KK) number has exactly 16 digits"]
    if value[:2] not in PROVINCES:
        return [f"digits 1-2 ({value[:2]}) are not an Indonesian province code"]
    return []


def region_of(nik: str) -> str:
    """The 4-digit regency/city code of first registration (not proof of domicile)."""
    return nik[:4]
