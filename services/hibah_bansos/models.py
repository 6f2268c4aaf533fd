"""Database tables of the hibah_bansos service (its own database; no other service reads it)."""
from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import TYPE_ANNOTATION_MAP
from shared.outbox import OutboxRecord
from shared.tenancy import TenantRecord


class Base(DeclarativeBase):
    type_annotation_map = TYPE_ANNOTATION_MAP


class TenantRow(TenantRecord, Base):
    pass


class OutboxRow(OutboxRecord, Base):
    pass
