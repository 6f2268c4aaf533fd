"""Tables of the audit ledger database."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Identity,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import TYPE_ANNOTATION_MAP, utcnow
from shared.tenancy import TenantRecord


class Base(DeclarativeBase):
    type_annotation_map = TYPE_ANNOTATION_MAP


class TenantRow(TenantRecord, Base):
    pass


# --- the ledger (append-only: the app role may only INSERT and SELECT) ----------------------


class LedgerEntryRow(Base):
    """One event in a tenant's hash chain (see services/audit/chain.py)."""

    __tablename__ = "audit_ledger"
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)  # an event is recorded once
    type: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    time: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    event: Mapped[dict[str, Any]] = mapped_column(JSON)  # ids, states, digests: no personal data
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class CheckpointRow(Base):
    """A signed head of a tenant's chain."""

    __tablename__ = "audit_checkpoints"
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    time: Mapped[datetime]
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    key_id: Mapped[uuid.UUID] = mapped_column(Uuid)


class AuditKeyRow(Base):
    """A tenant's Ed25519 audit signing key: public key in the clear, private key wrapped."""

    __tablename__ = "audit_keys"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    wrapping: Mapped[str] = mapped_column(String(64))  # how the private key is wrapped
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- dead letters (append-only too: a re-drive is a row of its own, never an UPDATE) ---------


class DeadLetterRow(Base):
    """A record the ledger could not chain (services/audit/intake.py names the reasons).

    Holds the raw record (for a re-drive after the fix) and its SHA-256; logs carry only the
    digest, the reason and where the record is on Kafka."""

    __tablename__ = "audit_dead_letters"
    __table_args__ = (UniqueConstraint("topic", "kafka_partition", "kafka_offset"),)
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    topic: Mapped[str] = mapped_column(String(249))
    kafka_partition: Mapped[int]
    kafka_offset: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(String(500))
    record_sha256: Mapped[str] = mapped_column(String(64))
    record_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    record_value: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    event_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # when readable
    tenant: Mapped[str | None] = mapped_column(String(63), nullable=True)  # when readable
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class RedriveRow(Base):
    """One re-drive of a dead letter: `appended` (now in the chain), `duplicate` (it already
    was) or `rejected` (still failing, with the reason)."""

    __tablename__ = "audit_dead_letter_redrives"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    dead_letter_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("audit_dead_letters.id"))
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)
