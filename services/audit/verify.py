"""`replika audit verify`: check one tenant's stored chain and signed checkpoints, optionally
against heads anchored outside the database and a pinned public key (services/audit/anchor.py).

Without a pinned key the database's own public key checks the checkpoints: that catches edits
of entries, not an owner who rewrites the chain, re-signs it and replaces the key. With
`--heads FILE` (the auditors' copy from `replika audit export-heads`) and the key pinned in it or
given as `--public-key`, truncation, rewriting and a swapped key are caught too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import anchor, chain, ledger
from services.audit.models import TenantRow


@dataclass(frozen=True)
class Report:
    tenant: str
    entries: int
    checkpoints: int
    problems: list[chain.Problem] = field(default_factory=list)
    heads: int | None = None  # anchored heads checked (None: no list given)
    pinned_key: bool = False

    @property
    def problem(self) -> chain.Problem | None:
        return self.problems[0] if self.problems else None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_tenant(
    session: Session,
    slug: str,
    heads: anchor.Heads | None = None,
    public_key: bytes | None = None,
) -> Report:
    """`public_key` (raw Ed25519) pins the key; else a heads list's own pin does; else the
    database's key is used."""
    tenant_id = session.execute(select(TenantRow.id).where(TenantRow.slug == slug)).scalar()
    if tenant_id is None:
        raise ledger.UnknownTenant(slug)
    stored = ledger.load_chain(session, tenant_id)
    pinned = public_key or (heads.pinned_key if heads is not None else None)
    if heads is not None and pinned is None:
        raise anchor.HeadsError("the heads list pins no key: give --public-key")
    trusted = pinned if pinned is not None else stored.public_key
    pub = None if trusted is None else Ed25519PublicKey.from_public_bytes(trusted)
    first = chain.verify(str(tenant_id), stored.entries, stored.events, stored.checkpoints, pub)
    problems = [] if first is None else [first]
    if pinned is not None:
        problems += anchor.check_heads(
            str(tenant_id), stored.entries, heads, pinned, stored.public_key
        )
    problems.sort(key=lambda p: p.seq)
    return Report(
        slug,
        len(stored.entries),
        len(stored.checkpoints),
        problems,
        None if heads is None else len(heads.heads),
        pinned is not None,
    )
