"""Working days against the `holidays` package's Indonesian calendar (public holidays and cuti
bersama), in every tenant zone, across the 2026→2027 year end and around Lebaran; the tenant
file's additions and removals; years the package does not cover yet."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import holidays
import pytest

from services.whistleblowing import holiday_calendar
from services.whistleblowing.domain import clocks
from shared.tenant_config import load_file

ZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")  # WIB, WITA, WIT
ROOT = Path(__file__).resolve().parents[2]


def expected_ack(local_day: date, n: int) -> date:
    """The n-th working day after `local_day`, counted straight off the package's calendar."""
    off = holidays.country_holidays(
        "ID", years=range(local_day.year, local_day.year + 2), categories=("public", "government")
    )
    day, left = local_day, n
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in off:
            left -= 1
    return day


def moments() -> list[datetime]:
    """Receipts every 7 hours from mid-December 2026 to mid-January 2027 and around both
    Lebaran cuti bersama (March 2026 and March 2027): every hour of a day, in every zone."""
    out = []
    for start, days in (
        (datetime(2026, 12, 15, tzinfo=UTC), 32),
        (datetime(2026, 3, 10, tzinfo=UTC), 24),
        (datetime(2027, 3, 1, tzinfo=UTC), 24),
    ):
        out += [start + timedelta(hours=7 * k) for k in range(days * 24 // 7)]
    return out


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("working_days", [1, 7])
def test_due_dates_match_the_holidays_package_in_every_zone(tz, working_days):
    calendar = holiday_calendar.for_tenant({"slug": "t"}, date(2026, 12, 1))
    sla = clocks.Sla(working_days, 90)
    for received in moments():
        local = clocks.local_date(received, tz)
        dues = clocks.due_dates(received, tz, sla, calendar)
        assert dues.acknowledge_by == expected_ack(local, working_days), (tz, received)


def test_known_dates_around_the_year_end_and_lebaran():
    cal = holiday_calendar.for_tenant({"slug": "t"}, date(2026, 12, 1))
    # Tue 17 Mar 2026: Nyepi cuti bersama 18, Nyepi 19, Lebaran cuti 20, weekend, cuti 23-24
    assert cal.add_working_days(date(2026, 3, 17), 1) == date(2026, 3, 25)
    # Wed 23 Dec 2026: Christmas cuti 24, Christmas 25, New Year 1 Jan, Isra Mi'raj 5 Jan 2027
    assert cal.add_working_days(date(2026, 12, 23), 7) == date(2027, 1, 7)
    # Lebaran 2027: cuti 9 Mar, Idul Fitri 10-11, cuti 12 and 15 Mar
    assert cal.add_working_days(date(2027, 3, 8), 1) == date(2027, 3, 16)
    sla = clocks.Sla(1, 90)
    # 16:30 UTC on 31 Dec 2026 is still 31 Dec in WIB but already 1 Jan 2027 in WITA and WIT
    at = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)
    assert clocks.due_dates(at, "Asia/Jakarta", sla, cal).acknowledge_by == date(2027, 1, 4)
    assert clocks.due_dates(at, "Asia/Makassar", sla, cal).acknowledge_by == date(2027, 1, 4)
    wib = clocks.due_dates(datetime(2026, 12, 30, 16, 30, tzinfo=UTC), "Asia/Jakarta", sla, cal)
    wit = clocks.due_dates(datetime(2026, 12, 30, 16, 30, tzinfo=UTC), "Asia/Jayapura", sla, cal)
    assert (wib.acknowledge_by, wit.acknowledge_by) == (date(2026, 12, 31), date(2027, 1, 4))


def test_tenant_additions_annual_days_and_removals():
    config = {
        "holidays": {
            "add": [
                {"annual": "06-22", "name": "Hari Jadi Kota"},
                {"date": "2027-01-04", "name": "Cuti daerah"},
                "2026-07-01",
            ],
            "remove": ["2026-12-24"],
        }
    }
    days = holiday_calendar.days_off(config, 2026)
    assert days[date(2026, 6, 22)] == "Hari Jadi Kota" and date(2026, 7, 1) in days
    assert date(2026, 12, 24) not in days and date(2026, 12, 25) in days
    assert date(2027, 6, 22) in holiday_calendar.days_off(config, 2027)
    cal = holiday_calendar.for_tenant(config, date(2026, 12, 1))
    assert cal.is_working_day(date(2026, 12, 24)) and not cal.is_working_day(date(2026, 6, 22))
    assert cal.add_working_days(date(2026, 12, 31), 1) == date(
        2027, 1, 6
    )  # 1 Jan, weekend, 4 (added), 5 off
    # without cuti bersama the joint leave days are working days; public holidays stay off
    public_only = {"holidays": {"cuti_bersama": False}}
    assert date(2026, 3, 23) not in holiday_calendar.days_off(public_only, 2026)
    assert date(2026, 3, 19) in holiday_calendar.days_off(public_only, 2026)


def test_old_list_form_is_read_as_additions_and_bad_dates_are_skipped(caplog):
    days = holiday_calendar.days_off({"holidays": ["2026-07-02", "2026-02-31"]}, 2026)
    assert date(2026, 7, 2) in days and date(2026, 8, 17) in days
    assert "2026-02-31" in caplog.text


def test_uncovered_years_and_the_warning(caplog):
    # the package (0.109) has the cuti bersama decrees up to 2027, not 2028
    assert holiday_calendar.uncovered_years({}, date(2026, 12, 1)) == []
    assert holiday_calendar.uncovered_years({}, date(2027, 10, 1)) == [2028]
    assert holiday_calendar.uncovered_years({}, date(2028, 1, 2)) == [2028, 2029]
    vouched = {"holidays": {"covered_years": [2028]}}
    assert holiday_calendar.uncovered_years(vouched, date(2027, 10, 1)) == []
    assert holiday_calendar.coverage_warning({}, date(2026, 12, 1)) is None
    assert "2028" in (holiday_calendar.coverage_warning({}, date(2027, 10, 1)) or "")
    with caplog.at_level(logging.WARNING, logger=holiday_calendar.__name__):
        for _ in range(3):
            holiday_calendar.for_tenant({"slug": "kota-uji"}, date(2027, 10, 1))
    lines = [r for r in caplog.records if "kota-uji" in r.getMessage()]
    assert len(lines) == 1 and "2028" in lines[0].getMessage()


@pytest.mark.parametrize("slug", ["bandung", "cimahi"])
def test_demo_tenant_files_add_their_anniversary(slug):
    config = load_file(ROOT / "tenants" / f"{slug}.yaml").data
    days = holiday_calendar.days_off(config, 2027)
    assert any("Hari Jadi" in name for name in days.values())
    assert date(2027, 3, 10) in days  # Idul Fitri, from the package
