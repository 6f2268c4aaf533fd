"""The ledger in its database: append events to per-tenant chains, checkpoint, read back.

The ledger role may only INSERT and SELECT, so a chain's head is never a row to lock and
update: appends to one tenant's chain are serialised by a transaction-scoped advisory lock,
and the head is the entry with the highest seq. The primary key (tenant, seq) and the unique
event id are the backstop: a racing writer fails rather than forking the chain.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.audit import anchor, chain, keys
from services.audit.models import CheckpointRow, LedgerEntryRow, TenantRow
from shared.db import utcnow

log = logging.getLogger(__name__)


class UnknownTenant(LookupError):
    """An event names a tenant the audit database does not know (not applied yet)."""


def lock_chain(session: Session, tenant_id: uuid.UUID) -> None:
    key = int.from_bytes(
        hashlib.sha256(b"replika.audit.chain|" + tenant_id.bytes).digest()[:8], "big", signed=True
    )
    session.execute(text("select pg_advisory_xact_lock(:k)"), {"k": key})


def to_entry(row: LedgerEntryRow) -> chain.Entry:
    return chain.Entry(
        tenant_id=str(row.tenant_id),
        seq=row.seq,
        event_id=row.event_id,
        type=row.type,
        subject=row.subject,
        time=chain.normalize_time(row.time),
        actor=row.actor,
        digest=row.digest,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def head(session: Session, tenant_id: uuid.UUID) -> chain.Entry | None:
    row = session.execute(
        select(LedgerEntryRow)
        .where(LedgerEntryRow.tenant_id == tenant_id)
        .order_by(LedgerEntryRow.seq.desc())
        .limit(1)
    ).scalar_one_or_none()
    return None if row is None else to_entry(row)


def tenant_ids(session: Session) -> dict[str, uuid.UUID]:
    return dict(session.execute(select(TenantRow.slug, TenantRow.id)).all())


def recorded(session: Session, event_ids: Iterable[str]) -> set[str]:
    ids = list(event_ids)
    if not ids:
        return set()
    return set(
        session.execute(
            select(LedgerEntryRow.event_id).where(LedgerEntryRow.event_id.in_(ids))
        ).scalars()
    )


@dataclass
class AppendResult:
    appended: int = 0
    duplicates: int = 0


def append_events(session: Session, events: list[dict[str, Any]]) -> AppendResult:
    """Append `events` (in the order given per tenant) within the caller's transaction.

    An event whose id is already in the ledger is skipped: the relay delivers at least once.
    Tenants are locked in a fixed order (by id) so two consumers never deadlock.
    """
    result = AppendResult()
    ids = tenant_ids(session)
    by_tenant: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for event in events:
        tenant_id = ids.get(event.get("tenant", ""))
        if tenant_id is None:
            raise UnknownTenant(event.get("tenant"))
        by_tenant.setdefault(tenant_id, []).append(event)
    for tenant_id in sorted(by_tenant):
        lock_chain(session, tenant_id)
        batch = by_tenant[tenant_id]
        seen = recorded(session, (e["id"] for e in batch))
        prev = head(session, tenant_id)
        for event in batch:
            if event["id"] in seen:
                result.duplicates += 1
                continue
            seen.add(event["id"])
            entry = chain.next_entry(str(tenant_id), prev, event)
            session.add(
                LedgerEntryRow(
                    tenant_id=tenant_id,
                    seq=entry.seq,
                    event_id=entry.event_id,
                    type=entry.type,
                    subject=entry.subject,
                    time=datetime.fromisoformat(entry.time),
                    actor=entry.actor,
                    digest=entry.digest,
                    prev_hash=entry.prev_hash,
                    hash=entry.hash,
                    event=event,
                )
            )
            prev = entry
            result.appended += 1
        session.flush()
    return result


# --- checkpoints -------------------------------------------------------------------------


def write_checkpoint(session: Session, tenant_id: uuid.UUID) -> chain.Checkpoint | None:
    """Sign the tenant's current head (None when the chain is empty or already signed) and
    append it to the tenant's heads file outside the database."""
    lock_chain(session, tenant_id)
    top = head(session, tenant_id)
    if top is None:
        return None
    signing = keys.signing_key(session, tenant_id)
    cp = chain.sign_checkpoint(signing.private, str(tenant_id), top, utcnow())
    inserted = session.execute(
        insert(CheckpointRow)
        .values(
            tenant_id=tenant_id,
            seq=cp.seq,
            head_hash=cp.head_hash,
            time=datetime.fromisoformat(cp.time),
            signature=cp.signature,
            key_id=signing.key_id,
        )
        .on_conflict_do_nothing()
        .returning(CheckpointRow.seq)
    ).scalar()
    if inserted is None:
        return None
    # anchored outside the database before the checkpoint commits (services/audit/anchor.py);
    # the pin is the key actually signing, not the database's copy of its public half
    slug = session.execute(select(TenantRow.slug).where(TenantRow.id == tenant_id)).scalar_one()
    anchor.append(slug, cp, str(signing.key_id), keys.raw_public(signing.private.public_key()))
    return cp


def checkpoints_due(session: Session, every: int, max_age_seconds: float) -> list[uuid.UUID]:
    """Tenants whose head is `every` entries past their last checkpoint, or unsigned for
    longer than `max_age_seconds` since that checkpoint."""
    heads = dict(
        session.execute(
            select(LedgerEntryRow.tenant_id, func.max(LedgerEntryRow.seq)).group_by(
                LedgerEntryRow.tenant_id
            )
        ).all()
    )
    signed = {
        t: (s, at)
        for t, s, at in session.execute(
            select(
                CheckpointRow.tenant_id, func.max(CheckpointRow.seq), func.max(CheckpointRow.time)
            ).group_by(CheckpointRow.tenant_id)
        ).all()
    }
    now = utcnow()
    due = []
    for tenant_id, top in heads.items():
        seq, at = signed.get(tenant_id, (0, None))
        if top > seq and (
            top - seq >= every or at is None or (now - at).total_seconds() >= max_age_seconds
        ):
            due.append(tenant_id)
    return sorted(due)


# --- reading -----------------------------------------------------------------------------


@dataclass
class StoredChain:
    entries: list[chain.Entry]
    events: dict[str, dict[str, Any]]
    checkpoints: list[chain.Checkpoint]
    public_key: bytes | None


def load_chain(session: Session, tenant_id: uuid.UUID) -> StoredChain:
    rows = (
        session.execute(
            select(LedgerEntryRow)
            .where(LedgerEntryRow.tenant_id == tenant_id)
            .order_by(LedgerEntryRow.seq)
        )
        .scalars()
        .all()
    )
    cps = (
        session.execute(
            select(CheckpointRow)
            .where(CheckpointRow.tenant_id == tenant_id)
            .order_by(CheckpointRow.seq)
        )
        .scalars()
        .all()
    )
    pub = keys.public_key(session, tenant_id)
    return StoredChain(
        entries=[to_entry(r) for r in rows],
        events={r.event_id: r.event for r in rows},
        checkpoints=[to_checkpoint(c) for c in cps],
        public_key=None if pub is None else pub[1],
    )


def to_checkpoint(row: CheckpointRow) -> chain.Checkpoint:
    return chain.Checkpoint(
        str(row.tenant_id),
        row.seq,
        row.head_hash,
        chain.normalize_time(row.time),
        bytes(row.signature),
    )


def subject_entries(session: Session, tenant_id: uuid.UUID, subject: str) -> list[LedgerEntryRow]:
    return list(
        session.execute(
            select(LedgerEntryRow)
            .where(LedgerEntryRow.tenant_id == tenant_id, LedgerEntryRow.subject == subject)
            .order_by(LedgerEntryRow.seq)
        ).scalars()
    )


def checkpoint_rows(session: Session, tenant_id: uuid.UUID) -> list[CheckpointRow]:
    return list(
        session.execute(
            select(CheckpointRow)
            .where(CheckpointRow.tenant_id == tenant_id)
            .order_by(CheckpointRow.seq)
        ).scalars()
    )
