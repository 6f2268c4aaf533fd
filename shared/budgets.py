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

from sqlalchemy import (
    DateTime,
    Integer,
    Interval,
    String,
    Uuid,
    bindparam,
    case,
    cast,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from shared.db import utcnow
from shared.uow import Check


@dataclass(frozen=True)
class Budget:
    allowance: int  # units per window
    window: timedelta


def _spent(table, window_open: ColumnElement[bool], now: Any) -> dict[str, Any]:
    """The row of a key spent once more: in an open window one failure more from the same
    start, else a new window of one failure from `now`."""
    return {
        "failures": case((window_open, table.c.failures + 1), else_=1),
        "last_failure_at": case((window_open, table.c.last_failure_at), else_=now),
    }


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
                index_elements=[table.c.key], set_=_spent(table, window_open, now)
            )
            .returning(table.c.failures, table.c.last_failure_at)
        )
        spent, started = session.execute(upsert).one()
        if spent > budget.allowance:
            return max(1, int((started + budget.window - now).total_seconds()) + 1)
    return 0


def spend_in_statement(
    model: type[Any],
    tenant_id,
    keyed: list[tuple[str, Budget]],
    now: datetime | None = None,
) -> Check:
    """`spend` as a check in another statement (issue 22: counted inside the unit of work's
    one write statement, shared.uow.UnitOfWork.check_at_commit): an upsert CTE per key, each
    one only when the keys before it allowed, and the value is what `spend` returns (0, or the
    seconds to wait). The count is in the caller's transaction: a caller that refuses must
    count again apart (`spend`, committed) once it rolled back."""
    params: dict[str, Any] = {"tenant": tenant_id, "now": now or utcnow()}
    for i, (k, budget) in enumerate(keyed):
        params |= {f"key{i}": k, f"window{i}": budget.window, f"allowance{i}": budget.allowance}
    table = model.__table__

    def build(name) -> ColumnElement[int]:
        now = bindparam(name("now"), type_=DateTime(timezone=True))
        allowed: ColumnElement[bool] = true()
        waits: list[Any] = []
        for i in range(len(keyed)):
            window = bindparam(name(f"window{i}"), type_=Interval())
            window_open = table.c.last_failure_at > now - window
            row = select(
                bindparam(name("tenant"), type_=Uuid()),
                bindparam(name(f"key{i}"), type_=String()),
                cast(literal(1), Integer),
                now,
            ).where(allowed)
            upsert = (
                insert(table)
                .from_select(["tenant_id", "key", "failures", "last_failure_at"], row)
                .on_conflict_do_update(
                    index_elements=[table.c.key], set_=_spent(table, window_open, now)
                )
                .returning(table.c.failures, table.c.last_failure_at)
                .cte(f"budget{i}")
            )
            exhausted = upsert.c.failures > bindparam(name(f"allowance{i}"), type_=Integer())
            seconds = func.floor(func.extract("epoch", upsert.c.last_failure_at + window - now))
            wait = case((exhausted, func.greatest(1, cast(seconds, Integer) + 1)), else_=None)
            waits.append(select(wait).select_from(upsert).scalar_subquery())
            allowed = select(~exhausted).select_from(upsert).scalar_subquery()
        return func.coalesce(*waits, 0)

    return Check(("budgets", table, len(keyed)), build, params)
