"""Tables of the audit ledger database."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, LargeBinary, String, Uuid
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
