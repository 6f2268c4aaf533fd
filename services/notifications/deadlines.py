"""The deadlines port: the clocks the daily notices are computed from, asked of the services.

The notifications database holds no cases and no applications: each day's digest and LPJ
notices are computed from what this port reads, then only the counts (`figures`) and a
pseudonymous recipient are stored. The adapter (operations/notify_recipients.py, the
composition root) reads the whistleblowing and hibah_bansos databases and builds the tenant's
working-day calendar with services/whistleblowing/holiday_calendar.py, the one calendar of the
SLA clocks, so a day off counts here as it counts there.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Protocol


class WorkingDays(Protocol):
    """A tenant's working-day calendar (services/whistleblowing/domain/clocks.Calendar)."""

    def is_working_day(self, day: date) -> bool: ...

    def working_days_between(self, start: date, end: date) -> int: ...


@dataclass(frozen=True)
class CaseClock:
    """The open clocks of one case: a due date per obligation still pending (None: met)."""

    assignee_id: uuid.UUID | None
    acknowledge_by: date | None
    feedback_by: date | None


@dataclass(frozen=True)
class LpjDue:
    """An application whose LPJ is owed (money promised or paid, no LPJ filed)."""

    application_id: uuid.UUID
    application_number: str
    due: date


class Deadlines(Protocol):
    def tenant_ids(self) -> list[uuid.UUID]:
        """The tenants open for business (enabled), whose daily notices are due."""
        ...

    def calendar(self, tenant_id: uuid.UUID, today: date) -> WorkingDays: ...

    def case_clocks(self, tenant_id: uuid.UUID) -> list[CaseClock]:
        """Every case of the tenant with a clock still running."""
        ...

    def lpj_dues(self, tenant_id: uuid.UUID) -> list[LpjDue]: ...
