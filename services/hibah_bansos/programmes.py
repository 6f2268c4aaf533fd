"""Programmes: synced from the tenant configuration into the `programmes` table (the ledger of
ceiling, allocated and disbursed rupiah), on first use per tenant and configuration.

The sync never touches `allocated` or `disbursed`, and never lowers a ceiling below what is
already allocated (the table's CHECK would refuse it anyway).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from services.hibah_bansos.models import Programme
from shared.tenancy import Tenant

SERVICE = "hibah_bansos"
_synced: dict[uuid.UUID, str] = {}  # tenant id -> digest of the programme config last synced


def ensure_synced(session: Session, tenant: Tenant) -> None:
    programmes = tenant.service_config(SERVICE).get("programmes", [])
    digest = hashlib.sha256(json.dumps(programmes, sort_keys=True).encode()).hexdigest()
    if _synced.get(tenant.id) == digest:
        return
    for p in programmes:
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
    session.commit()
    _synced[tenant.id] = digest


def forget_sync() -> None:
    _synced.clear()


def by_code(session: Session, code: str, *, for_update: bool = False) -> Programme | None:
    q = select(Programme).where(Programme.code == code)
    if for_update:
        q = q.with_for_update()
    return session.execute(q).scalar_one_or_none()


def is_open(programme: Programme, today: date) -> bool:
    return (programme.opens is None or programme.opens <= today) and (
        programme.closes is None or today <= programme.closes
    )


def open_programmes(session: Session, today: date) -> list[Programme]:
    rows = session.execute(
        select(Programme).order_by(Programme.fiscal_year.desc(), Programme.code)
    ).scalars()
    return [p for p in rows if is_open(p, today)]


def public_view(p: Programme, locale: str = "id") -> dict:
    c = p.config
    name = c.get("name", {})
    return {
        "code": p.code,
        "kind": p.kind,
        "fiscal_year": p.fiscal_year,
        "name": name.get(locale) or name.get("id"),
        "opd": c.get("opd"),
        "ceiling": p.ceiling,
        "opens": p.opens and p.opens.isoformat(),
        "closes": p.closes and p.closes.isoformat(),
        "required_documents": c.get("required_documents", []),
        "eligibility": c.get("eligibility", {}),
    }


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
