"""Duplicate-aid tokens and matches between linked cities (issue 23; tables of migration l001).

`aid_tokens` holds this city's own tokens (one per active bansos application and agreement)
and the tokens a linked city published to it; `aid_matches` the applications whose token a
linked city also holds. A token is an HMAC under a key only the two cities of the agreement
hold (operations/links/tokens.py): no NIK, name or plain hash of a NIK is stored here or sent.
The match says only which city and which aid category and year: the cities resolve it through
a referral, not by revealing data in the warning. The rows are written by operations/links;
the officials' application page only reads `warnings_of`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, String, Uuid, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.db import TYPE_ANNOTATION_MAP, TenantOwned, utcnow


class Base(DeclarativeBase):
    # Own metadata: these tables are written by operator code (operations/links).
    type_annotation_map = TYPE_ANNOTATION_MAP


class AidToken(TenantOwned, Base):
    __tablename__ = "aid_tokens"
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agreement_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    origin: Mapped[str] = mapped_column(String(10), primary_key=True)  # own | partner
    token: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex HMAC-SHA-256
    application_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, default=None)  # own only
    category: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AidMatch(TenantOwned, Base):
    __tablename__ = "aid_matches"
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    agreement_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    application_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    partner_name: Mapped[str] = mapped_column(String(200))  # public, e.g. "Kota Bandung"
    category: Mapped[str] = mapped_column(String(40))
    year: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def warnings_of(session: Session, application_id: uuid.UUID) -> list[AidMatch]:
    """The duplicate-aid warnings of one application, oldest first."""
    return list(
        session.scalars(
            select(AidMatch)
            .where(AidMatch.application_id == application_id)
            .order_by(AidMatch.created_at)
        )
    )
