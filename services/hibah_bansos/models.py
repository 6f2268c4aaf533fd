"""Database tables of the hibah_bansos service (its own database; no other service reads it)."""

from __future__ import annotations

import uuid as _uuid
from datetime import date as _date
from datetime import datetime as _datetime
from typing import Any as _Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import TYPE_ANNOTATION_MAP, TenantOwned, utcnow
from shared.key_tables import RecordKeyRecord, TenantKeyRecord
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


# --- hibah-bansos --------------------------------------------------------------------------


class Programme(TenantOwned, Base):
    """A hibah or bansos programme of one fiscal year, synced from the tenant configuration.
    `allocated` and `disbursed` are kept by guarded UPDATEs so they can never pass the
    ceiling (pagu), whatever runs concurrently."""

    __tablename__ = "programmes"
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    code: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    ceiling: Mapped[int] = mapped_column(BigInteger)
    allocated: Mapped[int] = mapped_column(BigInteger, default=0)
    disbursed: Mapped[int] = mapped_column(BigInteger, default=0)
    opens: Mapped[_date | None] = mapped_column(Date, nullable=True)
    closes: Mapped[_date | None] = mapped_column(Date, nullable=True)
    config: Mapped[dict[str, _Any]] = mapped_column(JSON)


class Applicant(TenantOwned, Base):
    """An organisation or a person. Personal fields are encrypted per record; NIK, bank
    account and e-mail are blind-indexed for log-in, look-ups and duplicate checks."""

    __tablename__ = "applicants"
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(20))
    organisation_name: Mapped[str | None] = mapped_column(String(200), nullable=True)  # public
    email_index: Mapped[str | None] = mapped_column(String(64), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    nik_index: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bank_account_index: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # blind index of the legal-entity registration number: one account per organisation, so
    # "no hibah two years running" cannot be dodged with a second account (migration h002)
    registration_index: Mapped[str | None] = mapped_column(String(64), nullable=True)
    nik_region: Mapped[str | None] = mapped_column(String(4), nullable=True)
    legal_entity_since: Mapped[_date | None] = mapped_column(Date, nullable=True)
    in_social_registry: Mapped[bool] = mapped_column(Boolean, default=False)
    # the pseudonym of the official who set in_social_registry (migration b002)
    social_registry_set_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    personal: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted JSON of personal fields
    created_at: Mapped[_datetime] = mapped_column(default=utcnow)
    # None until the e-mail link is followed (self-registered) or an official registered the
    # account at the counter; an unconfirmed account cannot sign in and its NIK can be claimed
    confirmed_at: Mapped[_datetime | None] = mapped_column(nullable=True)
    # the one-time link (confirmation or activation) as a SHA-256 digest, and its expiry
    link_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    link_expires_at: Mapped[_datetime | None] = mapped_column(nullable=True)


class Application(TenantOwned, Base):
    __tablename__ = "applications"
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    number: Mapped[str] = mapped_column(String(32))
    programme_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("programmes.id"))
    applicant_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("applicants.id"))
    status: Mapped[str] = mapped_column(String(20))
    requested: Mapped[int] = mapped_column(BigInteger)
    recommended: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    approved: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    disbursed: Mapped[int] = mapped_column(BigInteger, default=0)
    nik_index: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Free text is encrypted under the application's record key (shared.crypto.FieldCipher,
    # table "applications"): the proposal, the RAB, the LPJ and every step's reason (migration
    # h005). Amounts the budget needs in the clear are columns: requested, approved,
    # disbursed, lpj_spent.
    # The budget plan is BudgetLineRow rows (migration h012); `rab` holds the encrypted JSON
    # [{"item", "amount"}] of applications made before them (and of imported bansos lists).
    rab: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    proposal: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted
    decree_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    decree_date: Mapped[_date | None] = mapped_column(Date, nullable=True)
    nphd_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    nphd_date: Mapped[_date | None] = mapped_column(Date, nullable=True)
    lpj_due: Mapped[_date | None] = mapped_column(Date, nullable=True)
    lpj: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # encrypted JSON
    lpj_spent: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # the unspent balance returned to the kas daerah with the LPJ (migration h012)
    refund_amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    refund_date: Mapped[_date | None] = mapped_column(Date, nullable=True)
    refund_reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    actors: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[_datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[_datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __mapper_args__ = {"version_id_col": version}


class ProgrammeStatusCount(TenantOwned, Base):
    """Delta rows of applications per programme and status, written only by the triggers on
    `applications` (migration h013); a programme's count of a status is the sum of its rows."""

    __tablename__ = "programme_status_counts"
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    programme_id: Mapped[_uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(20))
    n: Mapped[int] = mapped_column(BigInteger)


class BudgetLineRow(TenantOwned, Base):
    """One line of an application's budget plan (RAB): volume x unit price = amount, integer
    rupiah; `actual` is what the accountability report (LPJ) says was spent on it. The item
    is encrypted under the application's record key, field `rab_lines.<id>.item`."""

    __tablename__ = "application_rab_lines"
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    application_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("applications.id"))
    position: Mapped[int] = mapped_column(Integer)
    item: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted
    volume: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    unit: Mapped[str | None] = mapped_column(String(40), nullable=True)
    unit_price: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    actual: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ApplicationStep(TenantOwned, Base):
    """The history of an application: every transition, who (pseudonym), why, how much.
    `reason` is encrypted under the application's record key, field `steps.<id>.reason`
    (a rejection reason in a disability programme is health data)."""

    __tablename__ = "application_steps"
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    application_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("applications.id"))
    at: Mapped[_datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(20))
    target: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(80))
    reason: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # encrypted
    amount: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reference: Mapped[str | None] = mapped_column(String(100), nullable=True)


class Document(TenantOwned, Base):
    __tablename__ = "application_documents"
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    application_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("applications.id"))
    code: Mapped[str] = mapped_column(String(40))
    media_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted
    at: Mapped[_datetime] = mapped_column(default=utcnow)


# Envelope-encryption keys (shared/crypto.py; migration k001).


class TenantKeyRow(TenantKeyRecord, Base):
    pass


class RecordKeyRow(RecordKeyRecord, Base):
    pass


# --- the social registry and account recovery (migrations h010, h011) ---------------------


class RegistryCheck(TenantOwned, Base):
    """What is known of a person's standing in the social registry (DTKS/DTSEN): the registry's
    yes/no and data period (`source` "registry"), or an official vouching for a person the
    registry does not list (`source` "official", `actor` the official's pseudonym). Never the
    registry's record. Append-only: the newest row of each source is the standing."""

    __tablename__ = "registry_checks"
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    applicant_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("applicants.id"))
    source: Mapped[str] = mapped_column(String(10))
    listed: Mapped[bool] = mapped_column(Boolean)
    period: Mapped[str | None] = mapped_column(String(7), nullable=True)
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[_datetime] = mapped_column(default=utcnow)


class PasswordReset(TenantOwned, Base):
    """A one-time, expiring password reset for an applicant: sent by e-mail, or issued by an
    official at the counter after checking the person's identity. Only a keyed hash of the
    code is stored."""

    __tablename__ = "applicant_password_resets"
    id: Mapped[_uuid.UUID] = mapped_column(Uuid, primary_key=True, default=_uuid.uuid4)
    applicant_id: Mapped[_uuid.UUID] = mapped_column(ForeignKey("applicants.id"))
    code_hash: Mapped[str] = mapped_column(String(64))
    issued_by: Mapped[str] = mapped_column(String(80))  # "email" or the official's pseudonym
    expires_at: Mapped[_datetime] = mapped_column()
    used_at: Mapped[_datetime | None] = mapped_column(nullable=True)
    at: Mapped[_datetime] = mapped_column(default=utcnow)
