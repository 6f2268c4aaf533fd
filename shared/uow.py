"""Unit of work: one database transaction holding the state change and its outbox events.

Domain code never commits by itself and never talks to Kafka: it changes rows through the
session and calls `uow.emit(...)`; `uow.commit()` writes the events to the outbox in the same
transaction, so a state change without its event cannot happen. Each event is signed with the
service's key as its outbox row is written (shared/event_signing.py): what leaves the service is
what the service made, and the audit ledger refuses anything else.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from shared import event_signing, events
from shared.tenancy import Tenant


class UnitOfWork:
    def __init__(self, session: Session, tenant: Tenant, service: str, outbox_model: type) -> None:
        self.session, self.tenant, self.service = session, tenant, service
        self.outbox_model = outbox_model
        self._pending: list[dict[str, Any]] = []

    def emit(self, type_: str, subject: str, actor: str, data: dict[str, Any]) -> dict[str, Any]:
        """Queue one event (validated against its JSON Schema now, written at commit)."""
        event = events.build(self.service, type_, self.tenant, subject, actor, data)
        self._pending.append(event)
        return event

    def commit(self) -> None:
        for event in self._pending:
            event_signing.sign(self.service, event)
            self.session.add(
                self.outbox_model(
                    event_id=event["id"],
                    tenant_id=self.tenant.id,
                    type=event["type"],
                    key=f"{self.tenant.slug}:{event['subject']}",
                    payload=event,
                )
            )
        if self._pending:
            # wake the relay at commit (NOTIFY is transactional: delivered only if we commit)
            self.session.execute(
                text("select pg_notify(:ch, '')"), {"ch": events.notify_channel(self.service)}
            )
        self.session.commit()
        self._pending.clear()

    def rollback(self) -> None:
        self._pending.clear()
        self.session.rollback()
