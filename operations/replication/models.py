"""Tables of the replication portal, in the whistleblowing database (migration r001).

`replication_requests` belong to the hosting tenant; `replication_onboarding` links belong to
the new tenant. Both are tenant-owned with row-level security. The contact official's name
and e-mail are personal data: one AES-GCM ciphertext (shared.crypto), never in events or logs.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Date, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import TYPE_ANNOTATION_MAP, TenantOwned, utcnow


class Base(DeclarativeBase):
    # Own metadata: these tables live in the whistleblowing database but are shared code.
    type_annotation_map = TYPE_ANNOTATION_MAP


class ReplicationRequest(TenantOwned, Base):
    __tablename__ = "replication_requests"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    status: Mapped[str] = mapped_column(String(20))  # pending|approved|rejected|provisioned
    new_slug: Mapped[str] = mapped_column(String(63))
    region_name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(16))
    applications: Mapped[list[str]] = mapped_column(JSON)
    agreement_number: Mapped[str] = mapped_column(String(100))
    agreement_date: Mapped[date] = mapped_column(Date)
    template: Mapped[str] = mapped_column(String(63))
    contact: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted {"name", "email"}
    decision_reason: Mapped[str | None] = mapped_column(Text, default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)  # pseudonym
    steps: Mapped[list[str]] = mapped_column(JSON, default=list)  # provisioning progress
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    provisioned_at: Mapped[datetime | None] = mapped_column(default=None)


class OnboardingLink(TenantOwned, Base):
    __tablename__ = "replication_onboarding"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    official_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    request_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class TenantConfigVersion(TenantOwned, Base):
    """One saved version of a tenant's configuration (migration r002). Version 1 is the first
    edit through the admin page; before that the tenant file is the only version."""

    __tablename__ = "tenant_config_versions"
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    config: Mapped[dict] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the canonical JSON
    changed: Mapped[list[str]] = mapped_column(JSON)  # top-level keys that differ
    created_by: Mapped[str] = mapped_column(String(64))  # pseudonym of the tenant admin
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TenantConfigPending(TenantOwned, Base):
    """A change to security-relevant settings waiting for a second tenant admin (migration
    r003): the paths with their old and new values (settings only, never personal data), who
    proposed it and who decided. Approving saves it through `config_admin.update`."""

    __tablename__ = "tenant_config_pending"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    status: Mapped[str] = mapped_column(String(20))  # pending|approved|rejected
    base_version: Mapped[int] = mapped_column()  # the version the proposer edited
    changes: Mapped[list[dict]] = mapped_column(JSON)  # [{"path", "old", "new"}]
    proposed_by: Mapped[str] = mapped_column(String(64))  # pseudonym of the tenant admin
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    version: Mapped[int | None] = mapped_column(default=None)  # the version it was saved as
