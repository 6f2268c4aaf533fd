"""Programmes: synced from the tenant configuration into the `programmes` table (the ledger of
ceiling, allocated and disbursed rupiah) when a tenant file is applied or its settings are
saved (`sync_programmes`, called by the code that applies them), never while serving a request.

The sync never touches `allocated` or `disbursed`, and never lowers a ceiling below what is
already allocated (the table's CHECK would refuse it anyway).
"""

from __future__ import annotations

import json
import uuid
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.hibah_bansos.models import Programme
from shared.tenancy import Tenant

SERVICE = "hibah_bansos"


def sync_programmes(session: Session, tenant: Tenant) -> None:
    """Write the tenant's configured programmes into `programmes`, in the caller's transaction
    (idempotent; the caller commits). `session` reaches the hibah_bansos database as the tenant
    or as its owner."""
    for p in tenant.service_config(SERVICE).get("programmes", []):
        session.execute(
            text(
                "insert into programmes (id, tenant_id, code, kind, fiscal_year, ceiling, allocated,"
                " disbursed, opens, closes, config) values (:id, :t, :code, :kind, :fy, :ceiling, 0, 0,"
                " :opens, :closes, cast(:config as json)) "
                "on conflict (tenant_id, code) do update set kind = excluded.kind,"
                " fiscal_year = excluded.fiscal_year, opens = excluded.opens,"
                " closes = excluded.closes, config = excluded.config,"
                " ceiling = greatest(excluded.ceiling, programmes.allocated)"
            ),
            {
                "id": uuid.uuid4(),
                "t": tenant.id,
                "code": p["code"],
                "kind": p["kind"],
                "fy": p["fiscal_year"],
                "ceiling": p["ceiling"],
                "opens": p.get("opens"),
                "closes": p.get("closes"),
                "config": json.dumps(p),
            },
        )


def is_open(programme: Programme, today: date) -> bool:
    """Open on `today`, the tenant's local date (shared.tenancy.today), both ends included."""
    return (programme.opens is None or programme.opens <= today) and (
        programme.closes is None or today <= programme.closes
    )


def allocate(session: Session, programme_id: uuid.UUID, amount: int) -> tuple[int, int] | None:
    """Reserve `amount` of the ceiling in the caller's transaction, or None when it does not
    fit. One guarded UPDATE: concurrent approvals queue on the row lock and each re-checks the
    condition against the committed total, so the ceiling can never be passed."""
    row = session.execute(
        text(
            "update programmes set allocated = allocated + :amt "
            "where id = :id and allocated + :amt <= ceiling returning allocated, ceiling"
        ),
        {"amt": amount, "id": programme_id},
    ).first()
    return None if row is None else (row.allocated, row.ceiling)


def record_disbursement(session: Session, programme_id: uuid.UUID, amount: int) -> bool:
    row = session.execute(
        text(
            "update programmes set disbursed = disbursed + :amt "
            "where id = :id and disbursed + :amt <= allocated returning disbursed"
        ),
        {"amt": amount, "id": programme_id},
    ).first()
    return row is not None


def totals(session: Session, programme_id: uuid.UUID) -> tuple[int, int, int]:
    row = session.execute(
        text("select ceiling, allocated, disbursed from programmes where id = :id"),
        {"id": programme_id},
    ).one()
    return row.ceiling, row.allocated, row.disbursed
