"""The outbox row is written in the same transaction as the state change (real PostgreSQL)."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from shared import events
from shared.tenancy import Tenant


def test_the_outbox_row_is_written_in_the_state_change_transaction(stack, demo_tenants):
    """A rolled-back unit of work leaves no event; a committed one leaves exactly its events."""
    from services.whistleblowing.models import OutboxRow
    from shared.db import service_engine, session_factory, tenant_session
    from shared.uow import UnitOfWork

    cfg = demo_tenants["cimahi"]
    tenant = Tenant(cfg.id, cfg.slug, cfg.data)
    factory = session_factory(service_engine("whistleblowing"))
    subject = f"T-{uuid.uuid4().hex[:8]}"
    with tenant_session(factory, tenant.id) as session:
        uow = UnitOfWork(session, tenant, "whistleblowing", OutboxRow)
        uow.emit("test.thing.changed.v1", subject, "system", {"state": "a", "n": 1})
        uow.rollback()
        uow.emit("test.thing.changed.v1", subject, "system", {"state": "b", "n": 2})
        uow.emit("test.thing.changed.v1", subject, "system", {"state": "c", "n": 3})
        uow.commit()
    with service_engine("whistleblowing", migration=True).connect() as conn:
        rows = conn.execute(
            select(OutboxRow.key, OutboxRow.payload)
            .where(OutboxRow.key == f"cimahi:{subject}")
            .order_by(OutboxRow.seq)
        ).all()
    assert [r.payload["data"]["state"] for r in rows] == ["b", "c"]
    assert all(events.problems(r.payload) == [] for r in rows)
