"""The transactional outbox: events written in the same transaction as the state change.

Nothing publishes to Kafka inside a request; the relay (`replika relay SERVICE`) reads this
table and publishes. Each service database has its own `outbox` table.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Identity, Index, String, Uuid, column, table, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from shared.db import utcnow

# Relays sleeping on LISTEN, one row each (migration o001, kept by shared/relay.py): a commit
# that writes outbox rows sends NOTIFY only while a row is here (shared/uow.py). A notifying
# commit holds a lock of the whole PostgreSQL cluster until its WAL record is flushed
# (async.c, PreCommit_Notify), so notifying every commit made every commit of every service
# wait for the one before; a relay that is busy polls instead.
LISTENERS = table("outbox_listeners", column("relay_id", Uuid), column("since"))


class OutboxRecord:
    """Columns of the per-service `outbox` table (mixed into each service's own Base).

    Not tenant-scoped by RLS: request code only inserts into it, and the relay reads every
    tenant's rows. Its payload holds ids, states, amounts and digests, never personal data.
    """

    __tablename__ = "outbox"
    seq: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    type: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(default=None)

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (Index("outbox_unpublished", "seq", postgresql_where=text("published_at is null")),)
