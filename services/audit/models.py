"""Tables of the audit ledger database."""
from __future__ import annotations

from sqlalchemy.orm import DeclarativeBase

from shared.db import TYPE_ANNOTATION_MAP
from shared.tenancy import TenantRecord


class Base(DeclarativeBase):
    type_annotation_map = TYPE_ANNOTATION_MAP


class TenantRow(TenantRecord, Base):
    pass
