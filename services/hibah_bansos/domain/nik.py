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


def nik_problems(value: str, today: date) -> list[str]:
    """Every rule `value` breaks, in words an applicant can act on (empty: a valid NIK)."""
    if not isinstance(value, str) or len(value) != 16 or not value.isdigit():
        return ["a NIK has exactly 16 digits"]
    problems = []
    if value[:2] not in PROVINCES:
        problems.append(f"digits 1-2 ({value[:2]}) are not an Indonesian province code")
    if value[2:4] == "00" or value[4:6] == "00":
        problems.append("digits 3-6 must name a regency/city and a district (not 00)")
    day, month, year2 = int(value[6:8]), int(value[8:10]), int(value[10:12])
    if day > 40:
        day -= 40  # women
    if value[12:16] == "0000":
        problems.append("digits 13-16 (serial) start at 0001")
    try:
        birth = birth_date(year2, month, day, today)
    except ValueError:
        problems.append("digits 7-12 are not a real birth date (DDMMYY, +40 on the day for women)")
    else:
        if birth > today:
            problems.append("digits 7-12 are a birth date in the future")
    return problems


def birth_date(year2: int, month: int, day: int, today: date) -> date:
    """Two-digit years: up to this year's are 20YY, later ones 19YY (so a date later this
    year is in the future, not a century ago)."""
    century = 2000 if year2 <= today.year % 100 else 1900
    return date(century + year2, month, day)


def kk_problems(value: str) -> list[str]:
    if not isinstance(value, str) or len(value) != 16 or not value.isdigit():
        return ["a family card (KK) number has exactly 16 digits"]
    if value[:2] not in PROVINCES:
        return [f"digits 1-2 ({value[:2]}) are not an Indonesian province code"]
    return []


def region_of(nik: str) -> str:
    """The 4-digit regency/city code of first registration (not proof of domicile)."""
    return nik[:4]
