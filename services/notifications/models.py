"""Tables of the notifications database: what was (or is to be) sent, never what it said.

A notification row names its recipient by a pseudonymous reference (`official:<uuid>`,
`applicant:<uuid>`, `reporter:<case uuid>`, `city:<request uuid>`), never an address: the
address is looked up through the recipients port when the notice is sent, so this database
holds no personal data and no message text.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Identity, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import TYPE_ANNOTATION_MAP, utcnow


class Base(DeclarativeBase):
    type_annotation_map = TYPE_ANNOTATION_MAP


# Statuses of a notification: waiting to be sent (or retried), sent, not sent on purpose
# (no contact, opted out), or given up after MAX_ATTEMPTS (a dead letter of delivery).
PENDING, SENT, SKIPPED, DEAD = "pending", "sent", "skipped", "dead"


class NotificationRow(Base):
    """One notice to one recipient over one channel for one event: sent at most once."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient", "channel", name="notifications_once"),
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(120))
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(20))  # "email" | "gateway" | "any" (chosen at send)
    link: Mapped[str] = mapped_column(String(500))  # where to sign in: public paths, no secrets
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)  # a class name
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # the counts a daily digest tells ({"due_soon": 2, "overdue": 1}; migration n002): numbers
    # only, never which case or whose
    figures: Mapped[dict[str, int] | None] = mapped_column(JSONB, nullable=True)


class DeadLetterRow(Base):
    """A record the consumer could not accept (forged, unsigned, malformed): kept, counted,
    never acted on, and the stream goes on past it."""

    __tablename__ = "notification_dead_letters"
    __table_args__ = (UniqueConstraint("topic", "kafka_partition", "kafka_offset"),)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    topic: Mapped[str] = mapped_column(String(249))
    kafka_partition: Mapped[int] = mapped_column(Integer)
    kafka_offset: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(500))
    record_sha256: Mapped[str] = mapped_column(String(64))
    record_value: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tenant: Mapped[str | None] = mapped_column(String(63), nullable=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
