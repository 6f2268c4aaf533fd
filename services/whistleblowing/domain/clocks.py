"""Legal clocks: when a report must be acknowledged and when the reporter is owed feedback.

Acknowledgement is due within N *working* days of receipt (weekends and the tenant's days off
do not count: Indonesia's public holidays and cuti bersama, with the tenant's own additions and
removals, assembled by `services/whistleblowing/holiday_calendar.py`); feedback within M calendar days of receipt. Both are counted on the
tenant's local calendar. A clock stops when its obligation is met: acknowledgement by leaving
`received`; feedback by a decision the reporter can read (not a WBS matter, or a conclusion).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DUE_SOON_DAYS = 2
DEFAULT_ACK_WORKING_DAYS, DEFAULT_FEEDBACK_DAYS = 7, 90
ACK_PENDING = frozenset({"received"})
FEEDBACK_PENDING = frozenset({"received", "acknowledged", "investigating"})  # + triaged/accepted


@dataclass(frozen=True)
class Sla:
    acknowledge_working_days: int = DEFAULT_ACK_WORKING_DAYS
    feedback_days: int = DEFAULT_FEEDBACK_DAYS
    auto_acknowledge: bool = False

    @classmethod
    def from_config(cls, service_config: dict[str, Any]) -> Sla:
        sla = service_config.get("sla", {}) or {}
        return cls(
            int(sla.get("acknowledge_working_days", DEFAULT_ACK_WORKING_DAYS)),
            int(sla.get("feedback_days", DEFAULT_FEEDBACK_DAYS)),
            bool(sla.get("auto_acknowledge", False)),
        )


class Calendar:
    """Working days: Monday to Friday, minus the days off.

    `holidays`: fixed dates off. `year_days_off`: a function giving one year's dates off, asked
    once per year the calendar meets (so a count across a year end reads both years)."""

    def __init__(
        self,
        holidays: Iterable[str | date] = (),
        *,
        year_days_off: Callable[[int], Iterable[date]] | None = None,
    ) -> None:
        self.holidays = frozenset(
            h if isinstance(h, date) else date.fromisoformat(h) for h in holidays
        )
        self._year_days_off = year_days_off
        self._years: dict[int, frozenset[date]] = {}

    def is_day_off(self, day: date) -> bool:
        if day in self.holidays:
            return True
        if self._year_days_off is None:
            return False
        if day.year not in self._years:
            self._years[day.year] = frozenset(self._year_days_off(day.year))
        return day in self._years[day.year]

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.is_day_off(day)

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (the day of receipt itself does not count)."""
        day, left = start, n
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; 0 when end <= start."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count


def local_date(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


@dataclass(frozen=True)
class DueDates:
    acknowledge_by: date
    feedback_by: date


def due_dates(received_at: datetime, tz: str, sla: Sla, calendar: Calendar) -> DueDates:
    received = local_date(received_at, tz)
    return DueDates(
        calendar.add_working_days(received, sla.acknowledge_working_days),
        received + timedelta(days=sla.feedback_days),
    )


def feedback_pending(status: str, outcome: str | None) -> bool:
    return status in FEEDBACK_PENDING or (status == "triaged" and outcome == "accepted")


def clock_state(today: date, due: date, pending: bool) -> str:
    """'met' | 'ok' | 'due_soon' | 'overdue' (due on `due` itself is not yet overdue)."""
    if not pending:
        return "met"
    if today > due:
        return "overdue"
    if (due - today).days <= DUE_SOON_DAYS:
        return "due_soon"
    return "ok"


@dataclass(frozen=True)
class Flags:
    acknowledge: str
    feedback: str

    @property
    def overdue(self) -> bool:
        return "overdue" in (self.acknowledge, self.feedback)

    @property
    def due_soon(self) -> bool:
        return not self.overdue and "due_soon" in (self.acknowledge, self.feedback)


def flags(today: date, status: str, outcome: str | None, dues: DueDates) -> Flags:
    return Flags(
        clock_state(today, dues.acknowledge_by, status in ACK_PENDING),
        clock_state(today, dues.feedback_by, feedback_pending(status, outcome)),
    )
