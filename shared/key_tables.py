"""Columns of the key tables (migration k001 in each keyed service), as mixins for each
service's own Base. shared/crypto.py and shared/identity.py use plain SQL on them; the models
keep the schema visible next to the service's other tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, LargeBinary, String, Uuid, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from shared.db import TenantOwned, utcnow


class TenantKeyRecord(TenantOwned):
    """A tenant key (purpose data, index or hash) wrapped by a master key; `wrapped` is NULL
    once the tenant is shredded. One active key per tenant and purpose."""

    __tablename__ = "tenant_keys"

    @declared_attr.directive
    def __table_args__(cls):
        return (
            Index(
                "tenant_keys_one_active",
                "tenant_id",
                "purpose",
                unique=True,
                postgresql_where=text("active"),
            ),
        )

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(10))
    master_key_id: Mapped[str] = mapped_column(String(60))
    wrapped: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecordKeyRecord(TenantOwned):
    """One record's key, wrapped by the tenant data key `data_key_id`; deleting it shreds the
    record."""

    __tablename__ = "record_keys"
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(63), primary_key=True)
    row_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data_key_id: Mapped[str] = mapped_column(String(40))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)


class CustodianKeyRecord(TenantOwned):
    """The identity custodian's HPKE key: public half in the clear (authenticated by
    `public_key_mac`), private half only wrapped (Argon2id passphrase key; offline recovery
    key). Whistleblowing database only; the application role may not UPDATE it (k002)."""

    __tablename__ = "custodian_keys"
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    public_key_mac: Mapped[str | None] = mapped_column(String(64), nullable=True)
    passphrase_salt: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_by_passphrase: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_by_recovery: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustodianPassphraseWrapRecord(TenantOwned):
    """A later wrap of the custodian's private key under a new passphrase (a change or a
    recovery), appended; the highest version wins over the key row's first wrap."""

    __tablename__ = "custodian_passphrase_wraps"
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    passphrase_salt: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_by_passphrase: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
