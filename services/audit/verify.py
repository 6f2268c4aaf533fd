"""`replika audit verify`: check one tenant's stored chain and signed checkpoints."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import chain, ledger
from services.audit.models import TenantRow


@dataclass(frozen=True)
class Report:
    tenant: str
    entries: int
    checkpoints: int
    problem: chain.Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_tenant(session: Session, slug: str) -> Report:
    tenant_id = session.execute(select(TenantRow.id).where(TenantRow.slug == slug)).scalar()
    if tenant_id is None:
        raise ledger.UnknownTenant(slug)
    stored = ledger.load_chain(session, tenant_id)
    pub = (
        None if stored.public_key is None else Ed25519PublicKey.from_public_bytes(stored.public_key)
    )
    problem = chain.verify(str(tenant_id), stored.entries, stored.events, stored.checkpoints, pub)
    return Report(slug, len(stored.entries), len(stored.checkpoints), problem)
