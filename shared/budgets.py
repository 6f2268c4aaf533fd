"""Budgets of anonymous actions (filing a report): at most `allowance` per fixed window per key.

Counted in the service's `login_throttle` table (PostgreSQL, so every worker and replica sees
the same count), in rows of their own: `failures` holds the units spent in the window and
`last_failure_at` the window's start; `locked_until` stays empty, so the sign-in throttle never
reads a budget as a lock. The caller passes keyed hashes (shared.crypto.keyed_hash, under the
tenant's key, of the budget's name and the client address): no address is ever kept in clear.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from shared.db import utcnow


@dataclass(frozen=True)
class Budget:
    allowance: int  # units per window
    window: timedelta


def spend(
    session: Session,
    model: type[Any],
    tenant_id,
    keyed: list[tuple[str, Budget]],
    now: datetime | None = None,
) -> int:
    """Spend one unit against each key in turn (atomic upserts: safe across workers); 0 when
    every budget allows it, else the seconds until the first exhausted budget's window ends
    (the keys after it are not spent). The caller commits, so the count survives a refusal."""
    now = now or utcnow()
    table = model.__table__
    for k, budget in keyed:
        window_open = table.c.last_failure_at > now - budget.window
        upsert = (
            insert(table)
            .values(tenant_id=tenant_id, key=k, failures=1, last_failure_at=now, locked_until=None)
            .on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "failures": case((window_open, table.c.failures + 1), else_=1),
                    "last_failure_at": case((window_open, table.c.last_failure_at), else_=now),
                },
            )
            .returning(table.c.failures, table.c.last_failure_at)
        )
        spent, started = session.execute(upsert).one()
        if spent > budget.allowance:
            return max(1, int((started + budget.window - now).total_seconds()) + 1)
    return 0
