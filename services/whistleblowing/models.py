"""Database tables of the whistleblowing service (its own database; no other service reads it)."""

from __future__ import annotations

import uuid as _uuid
from datetime import date as _date
from datetime import datetime as _datetime

from sqlalchemy import JSON, Date, ForeignKey, Integer, LargeBinary, String, UniqueConstraint, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import TYPE_ANNOTATION_MAP, TenantOwned, utcnow
from shared.key_tables import (
    CustodianKeyRecord,
    CustodianPassphraseWrapRecord,
    RecordKeyRecord,
    TenantKeyRecord,
)
from shared.login_throttle import LoginThrottleRecord
from shared.officials import OfficialRecord
from shared.outbox import OutboxRecord
from shared.tenancy import TenantRecord


class Base(DeclarativeBase):
    type_annotation_map = TYPE_ANNOTATION_MAP


class TenantRow(TenantRecord, Base):
    pass


class OutboxRow(OutboxRecord, Base):
    pass


# Officials sign in to each service against its own database (shared/officials.py).


class OfficialRow(OfficialRecord, Base):
    pass


class LoginThrottleRow(LoginThrottleRecord, Base):
    pass


# --- Reports (issue 6). Every free-text or personal value is a ciphertext (`bytes`) from
# shared.crypto.encrypt_field, bound to its tenant, table, row and field; the reporter's identity
# is sealed to the identity custodian (shared.identity). Receipts exist only as keyed hashes.


class Report(TenantOwned, Base):
    __tablename__ = "wb_reports"
    __table_args__ = (
        UniqueConstraint("tenant_id", "case_number", name="wb_reports_case_number"),
        UniqueConstraint("tenant_id", "receipt_hash", name="wb_reports_receipt"),
    )
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    case_number: Mapped[str] = mapped_column(String(32))
    receipt_hash: Mapped[str] = mapped_column(String(128))
    category: Mapped[str] = mapped_column(String(63), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    outcome: Mapped[str | None] = mapped_column(String(40), default=None)
    content: Mapped[bytes] = mapped_column(LargeBinary)  # what, who, where, when, how known
    content_digest: Mapped[str] = mapped_column(String(128))
    sealed_identity: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    assignee_id: Mapped[_uuid.UUID | None] = mapped_column(Uuid, default=None, index=True)
    received_at: Mapped[_datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[_datetime | None] = mapped_column(default=None)
    triaged_at: Mapped[_datetime | None] = mapped_column(default=None)
    concluded_at: Mapped[_datetime | None] = mapped_column(default=None)
    archived_at: Mapped[_datetime | None] = mapped_column(default=None)
    acknowledge_by: Mapped[_date] = mapped_column(Date)
    feedback_by: Mapped[_date] = mapped_column(Date)
    last_reporter_input_at: Mapped[_datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # keyed hashes of the reported units and people (domain/recusal.py), for conflict checks
    reported_marks: Mapped[list[str]] = mapped_column(JSON, default=list)
    # assisted intake (assisted_intake.py): how the report came in ("online" when the reporter
    # filed it), the intake official who entered it, when the reporter confirmed the transcript
    channel: Mapped[str] = mapped_column(String(20), default="online")
    entered_by: Mapped[_uuid.UUID | None] = mapped_column(Uuid, default=None)
    transcript_confirmed_at: Mapped[_datetime | None] = mapped_column(default=None)


class ReportHistory(TenantOwned, Base):
    """The status timeline (the reporter sees it with handlers named only by role)."""

    __tablename__ = "wb_report_history"
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    report_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("wb_reports.id"), index=True)
    at: Mapped[_datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(40), default=None)
    actor_role: Mapped[str] = mapped_column(String(40))
    actor_id: Mapped[_uuid.UUID | None] = mapped_column(Uuid, default=None)
    reason: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    referral: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class Message(TenantOwned, Base):
    __tablename__ = "wb_messages"
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    report_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("wb_reports.id"), index=True)
    at: Mapped[_datetime] = mapped_column(default=utcnow)
    author_role: Mapped[str] = mapped_column(String(40))  # "reporter", a role, or "system"
    author_id: Mapped[_uuid.UUID | None] = mapped_column(Uuid, default=None)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class Attachment(TenantOwned, Base):
    __tablename__ = "wb_attachments"
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    report_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("wb_reports.id"), index=True)
    at: Mapped[_datetime] = mapped_column(default=utcnow)
    uploaded_by: Mapped[str] = mapped_column(String(40))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(128))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class Assignment(TenantOwned, Base):
    __tablename__ = "wb_assignments"
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    report_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("wb_reports.id"), index=True)
    official_id: Mapped[_uuid.UUID] = mapped_column(Uuid)
    assigned_by: Mapped[_uuid.UUID] = mapped_column(Uuid)
    at: Mapped[_datetime] = mapped_column(default=utcnow)


class Recusal(TenantOwned, Base):
    """An official excluded from a case (reported, or in a reported unit); recorded for audit."""

    __tablename__ = "wb_recusals"
    __table_args__ = (UniqueConstraint("report_id", "official_id", name="wb_recusals_once"),)
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    report_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("wb_reports.id"), index=True)
    official_id: Mapped[_uuid.UUID] = mapped_column(Uuid)
    recorded_by: Mapped[_uuid.UUID | None] = mapped_column(Uuid)  # None: found automatically
    kind: Mapped[str] = mapped_column(String(20), default="declared")  # or reported_unit/_person
    reason: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[_datetime] = mapped_column(default=utcnow)


class IdentityRequest(TenantOwned, Base):
    __tablename__ = "wb_identity_requests"
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    report_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("wb_reports.id"), index=True)
    requested_by: Mapped[_uuid.UUID] = mapped_column(Uuid)
    reason: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    approvals: Mapped[list[str]] = mapped_column(JSON, default=list)  # approvers' official ids
    created_at: Mapped[_datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[_datetime | None] = mapped_column(default=None)
    # The opened identity, re-encrypted for the requester, kept until they read it once.
    disclosure: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    viewed_at: Mapped[_datetime | None] = mapped_column(default=None)


class IdempotentSubmission(TenantOwned, Base):
    """`Idempotency-Key` of a filed report: a replay within the window gets the same answer.

    The receipt is kept encrypted here (and only here) for that window, then wiped, so a client
    whose first response was lost can still learn it; see services/whistleblowing/README.md.
    """

    __tablename__ = "wb_idempotency"
    key_hash: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(128))
    report_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("wb_reports.id"))
    receipt: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    created_at: Mapped[_datetime] = mapped_column(default=utcnow)


class ReceiptThrottle(TenantOwned, Base):
    """Failed receipt checks per client address and per (address, receipt prefix), as keyed
    hashes, in a fixed window."""

    __tablename__ = "wb_receipt_throttle"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[_datetime] = mapped_column(default=utcnow)


class SigningKey(TenantOwned, Base):
    """The tenant's Ed25519 key for reporters' acknowledgements; the private half is a
    ciphertext under the tenant's data key (shared.crypto), the public half is published."""

    __tablename__ = "wb_signing_keys"
    __table_args__ = (UniqueConstraint("tenant_id", name="wb_signing_keys_one_per_tenant"),)
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[_datetime] = mapped_column(default=utcnow)


class HandlerProfile(TenantOwned, Base):
    """What a handler could be in conflict with: keyed hashes of their work unit and name
    (never the text), set by a supervisor; reports are matched against it."""

    __tablename__ = "wb_handler_profiles"
    official_id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True)
    marks: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[_datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReporterContactRow(TenantOwned, Base):
    """A reporter's contact for "ada balasan baru" notices, given only by choice (issue 20).

    The address is a ciphertext under the tenant's data key bound to this row's id
    (`shared.crypto.FieldCipher`); forgetting it shreds that row's key and deletes the row
    (`reporter_contacts.forget`). One per case; never shown to officials, never in an event.
    """

    __tablename__ = "wb_reporter_contacts"
    __table_args__ = (UniqueConstraint("report_id", name="wb_reporter_contacts_one_per_case"),)
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    report_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("wb_reports.id"))
    kind: Mapped[str] = mapped_column(String(10))  # email | phone
    address: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[_datetime] = mapped_column(default=utcnow)


# Envelope-encryption keys and the identity custodian key (shared/crypto.py, shared/identity.py;
# migrations k001, k002).


class TenantKeyRow(TenantKeyRecord, Base):
    pass


class RecordKeyRow(RecordKeyRecord, Base):
    pass


class CustodianKeyRow(CustodianKeyRecord, Base):
    pass


class CustodianPassphraseWrapRow(CustodianPassphraseWrapRecord, Base):
    pass


class Referral(TenantOwned, Base):
    """A case referred between linked cities (issue 23 item 3; `referrals.py`).

    One row on each side, each in its own tenant: `direction` "out" in the sending city (its
    `report_id` is the original case, the one the reporter's receipt opens) and "in" in the
    receiving city (its `report_id` is the new case there). `partner_referral_id` names the
    other side's row, so a hand-over interrupted between the two cities' commits is completed,
    never repeated (`wb_referrals_partner_once`). `reason` is a ciphertext under the tenant's
    data key: the Inspektorat's explanation, shown to the reporter when their consent is asked.
    """

    __tablename__ = "wb_referrals"
    __table_args__ = (
        UniqueConstraint(
            "tenant_id",
            "partner_tenant_id",
            "partner_referral_id",
            name="wb_referrals_partner_once",
        ),
    )
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    report_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("wb_reports.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # out | in
    partner_tenant_id: Mapped[_uuid.UUID] = mapped_column(Uuid)
    partner_slug: Mapped[str] = mapped_column(String(63))
    partner_referral_id: Mapped[_uuid.UUID | None] = mapped_column(Uuid, default=None)
    partner_report_id: Mapped[_uuid.UUID | None] = mapped_column(Uuid, default=None)
    partner_case_number: Mapped[str | None] = mapped_column(String(32), default=None)
    # awaiting_consent -> moved | refused (out); moved (in)
    status: Mapped[str] = mapped_column(String(20))
    # the reporter's sealed identity: none (anonymous) | awaiting_reseal | resealed
    identity: Mapped[str] = mapped_column(String(20), default="none")
    reason: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    requested_by: Mapped[_uuid.UUID | None] = mapped_column(Uuid, default=None)
    created_at: Mapped[_datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[_datetime | None] = mapped_column(default=None)
