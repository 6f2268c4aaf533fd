"""Database tables of the whistleblowing service (its own database; no other service reads it)."""
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


# Officials sign in to each service against its own database (shared/officials.py).
from shared.login_throttle import LoginThrottleRecord  # noqa: E402
from shared.officials import OfficialRecord  # noqa: E402


class OfficialRow(OfficialRecord, Base):
    pass


class LoginThrottleRow(LoginThrottleRecord, Base):
    pass
