"""Tables of the SP4N-LAPOR! bridge (migration p001), in the whistleblowing database.

Free text is a ciphertext under the tenant's data key (`shared.crypto.FieldCipher`, bound to
the row's id), like every text of the service: the forward's text (the official's draft, then
what the reporter approved), LAPOR!'s notes on its status updates, and the receipt of a case
that came in from LAPOR!, kept only until LAPOR! acknowledged it.
"""

from __future__ import annotations

import uuid as _uuid
from datetime import datetime as _datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from services.whistleblowing.models import Base
from shared.db import TenantOwned, utcnow


class LaporForward(TenantOwned, Base):
    """A case forwarded (or offered to be forwarded) to SP4N-LAPOR!; one per case."""

    __tablename__ = "wb_lapor_forwards"
    __table_args__ = (UniqueConstraint("report_id", name="wb_lapor_forwards_one_per_case"),)
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    report_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("wb_reports.id"))
    status: Mapped[str] = mapped_column(String(20))  # domain/lapor.py STATES
    text: Mapped[bytes] = mapped_column(LargeBinary)
    offered_by: Mapped[_uuid.UUID | None] = mapped_column(Uuid, default=None)
    offered_at: Mapped[_datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[_datetime | None] = mapped_column(default=None)
    sent_at: Mapped[_datetime | None] = mapped_column(default=None)
    tracking_id: Mapped[str | None] = mapped_column(String(40), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failed tries so far
    next_attempt_at: Mapped[_datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)
    updates_seen: Mapped[int] = mapped_column(Integer, default=0)  # LAPOR!'s last update seq
    polled_at: Mapped[_datetime | None] = mapped_column(default=None)


class LaporUpdate(TenantOwned, Base):
    """A status update LAPOR! gave on a forwarded complaint, shown in the reporter's inbox."""

    __tablename__ = "wb_lapor_updates"
    __table_args__ = (UniqueConstraint("forward_id", "seq", name="wb_lapor_updates_once"),)
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    forward_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("wb_lapor_forwards.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(60))
    at: Mapped[str] = mapped_column(String(40))  # as LAPOR! gave it
    note: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    received_at: Mapped[_datetime] = mapped_column(default=utcnow)


class LaporInbound(TenantOwned, Base):
    """A corruption report that came in from LAPOR! as a WBS case (taken once per LAPOR! id)."""

    __tablename__ = "wb_lapor_inbound"
    __table_args__ = (UniqueConstraint("tenant_id", "lapor_id", name="wb_lapor_inbound_once"),)
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    lapor_id: Mapped[str] = mapped_column(String(60))
    report_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("wb_reports.id"))
    receipt: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # until acked
    received_at: Mapped[_datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[_datetime | None] = mapped_column(default=None)
