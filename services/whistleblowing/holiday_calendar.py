"""A tenant's days off, for the working-day clocks: Indonesia's national calendar from the
`holidays` package (public holidays, and the government's *cuti bersama*, the joint leave days
its ministers decree each year), plus the days the tenant file adds (regional days such as the
city's anniversary) and minus those it removes.

The tenant file's `holidays` setting (schema: shared/schemas/tenant.schema.json):

    holidays:
      national: true              # Indonesia's public holidays (default true)
      cuti_bersama: true          # the government's joint leave days (default true)
      add:                        # the city's own days off
        - {annual: "06-21", name: Hari Jadi Kota Cimahi}
        - {date: "2027-01-04", name: Cuti bersama daerah}
      remove: ["2026-12-24"]      # national days the city's offices work
      covered_years: [2028]       # years whose cuti bersama the city entered in `add` itself

A bare list of dates (the old form) is read as `add`. Cuti bersama are decreed a year at a time,
so a year is *covered* only when the package knows that year's decree (or the tenant vouches for
it in `covered_years`); `uncovered_years` names the coming years that are not, and building a
calendar for them logs a warning, because their deadlines would count cuti bersama as working
days.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any

import holidays as holidays_package

from services.whistleblowing.domain.clocks import Calendar

log = logging.getLogger(__name__)
_warned: set[tuple[str, int]] = set()


@lru_cache(maxsize=64)
def _national(year: int, public: bool, cuti_bersama: bool) -> tuple[tuple[date, str], ...]:
    categories = tuple(c for c, on in (("public", public), ("government", cuti_bersama)) if on)
    if not categories:
        return ()
    days = holidays_package.country_holidays("ID", years=year, categories=categories, language="id")
    return tuple(sorted(days.items()))


@lru_cache(maxsize=64)
def _has_cuti_bersama(year: int) -> bool:
    return bool(holidays_package.country_holidays("ID", years=year, categories=("government",)))


def settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The tenant's `holidays` setting in its full form (a bare list of dates is `add`)."""
    raw = config.get("holidays") or {}
    if isinstance(raw, list):
        raw = {"add": raw}
    return {
        "national": bool(raw.get("national", True)),
        "cuti_bersama": bool(raw.get("cuti_bersama", True)),
        "add": list(raw.get("add", [])),
        "remove": [d for d in map(_date, raw.get("remove", [])) if d is not None],
        "covered_years": [int(y) for y in raw.get("covered_years", [])],
    }


def _date(value: Any) -> date | None:
    """A configured date, or None (logged) for one the schema's pattern let through, such as
    2026-02-31: a typo in the tenant file must not stop reports from being received."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        log.warning("holidays: %r is not a date; ignored", value)
        return None


def _added(entries: Iterable[Any], year: int) -> dict[date, str]:
    out: dict[date, str] = {}
    for entry in entries:
        if isinstance(entry, str | date):
            entry = {"date": entry}
        name = str(entry.get("name", "Hari libur daerah"))
        if "annual" in entry:
            month, day = (int(part) for part in str(entry["annual"]).split("-"))
            try:
                out[date(year, month, day)] = name
            except ValueError:  # 29 February outside a leap year
                continue
        elif (when := _date(entry.get("date"))) is not None and when.year == year:
            out[when] = name
    return out


def days_off(config: Mapping[str, Any], year: int) -> dict[date, str]:
    """Every day off of `year` for this tenant (weekends aside), with its name."""
    s = settings(config)
    days = dict(_national(year, s["national"], s["cuti_bersama"]))
    days.update(_added(s["add"], year))
    for day in s["remove"]:
        days.pop(day, None)
    return dict(sorted(days.items()))


def is_covered(config: Mapping[str, Any], year: int) -> bool:
    """Whether `year`'s days off are known: the government's cuti bersama for it are in the
    `holidays` package (or the tenant does not take cuti bersama, or vouches for the year)."""
    s = settings(config)
    return year in s["covered_years"] or not s["cuti_bersama"] or _has_cuti_bersama(year)


def uncovered_years(config: Mapping[str, Any], today: date, ahead: int = 1) -> list[int]:
    """The years from `today`'s to `ahead` years later whose cuti bersama are not known, e.g.
    [2028] on 1 October 2027 if the package has no 2028 decree yet. Pure: no I/O, no logging."""
    return [y for y in range(today.year, today.year + ahead + 1) if not is_covered(config, y)]


def coverage_warning(config: Mapping[str, Any], today: date) -> str | None:
    """A sentence for an operator (log line, admin home, readiness detail), or None."""
    years = uncovered_years(config, today)
    if not years:
        return None
    listed = ", ".join(str(y) for y in years)
    return (
        f"No cuti bersama are known for {listed}: deadlines there count those days as working "
        "days. Update the `holidays` package, or add the decreed days to the tenant file's "
        "holidays.add and list the year in holidays.covered_years."
    )


def for_tenant(config: Mapping[str, Any], today: date) -> Calendar:
    """The working-day calendar of a tenant; warns (once per tenant and year in this process)
    when the coming year is not covered."""
    warning = coverage_warning(config, today)
    if warning is not None:
        key = (str(config.get("slug", "")), today.year)
        if key not in _warned:
            _warned.add(key)
            log.warning("tenant %s: %s", key[0], warning)
    return Calendar(year_days_off=lambda year: days_off(config, year))
