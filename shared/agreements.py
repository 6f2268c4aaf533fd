"""Agreements between cities (issue 23): which linked city shares what with this tenant.

A tenant admin proposes a link to another tenant of this deployment (partner = its slug) or to
a tenant of another deployment (partner = that deployment's instance key id, the fingerprint of
its Ed25519 signing key, `operations/tenant_move.fingerprint`); the other side's admin accepts
or declines; either side can end it. An agreement names the scopes shared (`SCOPES`).

Each side keeps its own row of the agreement (table `link_agreements`, whistleblowing database,
migration l001; tenant-owned with row-level security), both with the same `id`: on one
deployment the use cases in `operations/links/` write the two rows, across deployments each
deployment writes its own. `active_agreement` is the one check every feature that crosses a
city's border makes before it sends or accepts anything (aid tokens, referrals, statistics).

The agreement's aid-token key (HMAC-SHA-256, made at acceptance) is stored only encrypted under
the row's record key (shared.crypto.FieldCipher, table `link_agreements`, field `aid_key`),
which the tenant's data key wraps: it moves with a tenant move and is shredded with the tenant.
It never appears in an event, a log or an API body.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, LargeBinary, String, Uuid, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.db import TYPE_ANNOTATION_MAP, TenantOwned, utcnow

SCOPES = ("aid_tokens", "referrals", "statistics")
STATUSES = ("proposed", "active", "declined", "ended")
LIVE = ("proposed", "active")
PARTNER_KINDS = ("tenant", "instance")  # same deployment | another deployment
DIRECTIONS = ("outgoing", "incoming")  # this side proposed | the partner proposed
TABLE = "link_agreements"


class Base(DeclarativeBase):
    # Own metadata: the table lives in the whistleblowing database but is shared code.
    type_annotation_map = TYPE_ANNOTATION_MAP


class Agreement(TenantOwned, Base):
    __tablename__ = TABLE
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    partner: Mapped[str] = mapped_column(String(100))  # slug | instance key id
    partner_kind: Mapped[str] = mapped_column(String(10))
    # across deployments: the partner's tenant slug there, its base URL and its Ed25519
    # signing public key (raw 32 bytes); requests from it are checked against this key only
    partner_tenant: Mapped[str | None] = mapped_column(String(63), default=None)
    partner_url: Mapped[str | None] = mapped_column(String(300), default=None)
    partner_signing_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # and its HPKE public key (ML-KEM-768 + X25519, migration l002): the aid-token key made at
    # acceptance is sealed to it
    partner_transport_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    partner_name: Mapped[str] = mapped_column(String(200))  # public name, e.g. "Kota Bandung"
    direction: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    scopes: Mapped[list[str]] = mapped_column(JSON)
    aid_key: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # encrypted
    proposed_by: Mapped[str] = mapped_column(String(80))  # pseudonyms, never names
    decided_by: Mapped[str | None] = mapped_column(String(80), default=None)
    ended_by: Mapped[str | None] = mapped_column(String(80), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)

    def shares(self, scope: str) -> bool:
        return self.status == "active" and scope in self.scopes


class SeenNonce(TenantOwned, Base):
    """A nonce of a signed request from another deployment, kept while its timestamp is
    fresh (operations/links/remote.py): the same request is never taken twice."""

    __tablename__ = "link_nonces"
    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    signer: Mapped[str] = mapped_column(String(80), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


def active_agreement(
    session: Session, tenant_id: uuid.UUID, partner: str, scope: str
) -> Agreement | None:
    """The active agreement of `tenant_id` with `partner` (a tenant slug of this deployment,
    or another deployment's instance key id) that shares `scope`, or None. `session` is a
    whistleblowing-database session (RLS: a tenant session sees its own rows only)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown agreement scope {scope!r}")
    rows = session.scalars(
        select(Agreement).where(
            Agreement.tenant_id == tenant_id,
            Agreement.partner == partner,
            Agreement.status == "active",
        )
    ).all()
    for row in rows:
        if scope in row.scopes:
            return row
    return None


def active_agreements(session: Session, tenant_id: uuid.UUID, scope: str) -> list[Agreement]:
    """Every active agreement of `tenant_id` sharing `scope`."""
    if scope not in SCOPES:
        raise ValueError(f"unknown agreement scope {scope!r}")
    rows = session.scalars(
        select(Agreement)
        .where(Agreement.tenant_id == tenant_id, Agreement.status == "active")
        .order_by(Agreement.created_at)
    ).all()
    return [r for r in rows if scope in r.scopes]
