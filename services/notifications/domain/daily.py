"""The daily notices, as pure rules: when a tenant's day has come, what an official's digest
counts, and which applicants are told of their LPJ. The standard library only.

- **When.** From the tenant's `notifications.digest_at` (local time, default 07:00) on a
  working day of its calendar; never on a weekend or a day off.
- **Digest.** An official's cases (assigned to them; for intake officials also the cases no
  one holds yet) are *overdue* when a pending clock's due date has passed, *due soon* when
  not overdue and a pending clock falls due within DUE_SOON_WORKING_DAYS working days
  (today counts as 0). Counted in working days, so a case due after a long weekend or a
  holiday is "due soon" as early as the working days say, not the calendar.
- **LPJ.** The applicant is told once when the due date is `lpj_notice_working_days` working
  days away or nearer (default 7), and once when it has passed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from services.notifications.deadlines import CaseClock, WorkingDays

DEFAULT_DIGEST_AT = "07:00"
DEFAULT_LPJ_NOTICE_WORKING_DAYS = 7
DUE_SOON_WORKING_DAYS = 2


def local_day(now: datetime, timezone: str, digest_at: str | None) -> date | None:
    """The tenant's local date when its daily notices are due at `now`, else None (too early)."""
    local = now.astimezone(ZoneInfo(timezone))
    hour, minute = (int(p) for p in (digest_at or DEFAULT_DIGEST_AT).split(":"))
    return local.date() if local.time() >= time(hour, minute) else None


@dataclass(frozen=True)
class Counts:
    due_soon: int = 0
    overdue: int = 0

    def __bool__(self) -> bool:
        return bool(self.due_soon or self.overdue)

    def figures(self) -> dict[str, int]:
        return {"due_soon": self.due_soon, "overdue": self.overdue}


def state(clock: CaseClock, today: date, calendar: WorkingDays) -> str:
    """'overdue' | 'due_soon' | 'ok' of one case."""
    dues = [d for d in (clock.acknowledge_by, clock.feedback_by) if d is not None]
    if any(today > d for d in dues):
        return "overdue"
    if any(calendar.working_days_between(today, d) <= DUE_SOON_WORKING_DAYS for d in dues):
        return "due_soon"
    return "ok"


def digests(
    clocks: Iterable[CaseClock],
    today: date,
    calendar: WorkingDays,
    intake: Iterable[uuid.UUID] = (),
) -> dict[uuid.UUID, Counts]:
    """Each official's counts (only officials with something due): assignees of their cases,
    `intake` officials of the unassigned ones as well."""
    intake = list(intake)
    due_soon: dict[uuid.UUID, int] = {}
    overdue: dict[uuid.UUID, int] = {}
    for clock in clocks:
        s = state(clock, today, calendar)
        if s == "ok":
            continue
        holders = [clock.assignee_id] if clock.assignee_id is not None else intake
        into = overdue if s == "overdue" else due_soon
        for official in holders:
            into[official] = into.get(official, 0) + 1
    return {o: Counts(due_soon.get(o, 0), overdue.get(o, 0)) for o in sorted({*due_soon, *overdue})}


def lpj_notice(due: date, today: date, calendar: WorkingDays, working_days: int) -> str | None:
    """'overdue' | 'due' | None: which LPJ notice is owed today."""
    if today > due:
        return "overdue"
    if calendar.working_days_between(today, due) <= working_days:
        return "due"
    return None
