"""The ledger in its database: append events to per-tenant chains, checkpoint, read back.

The ledger role may only INSERT and SELECT, so a chain's head is never a row to lock and
update: appends to one tenant's chain are serialised by a transaction-scoped advisory lock,
and the head is the entry with the highest seq. The primary key (tenant, seq) and the unique
event id are the backstop: a racing writer fails rather than forking the chain.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.audit import anchor, chain, keys
from services.audit.models import CheckpointRow, LedgerEntryRow, TenantRow
from shared.db import utcnow

log = logging.getLogger(__name__)


class UnknownTenant(LookupError):
    """An event names a tenant the audit database does not know (not applied yet)."""


# the advisory lock key of a tenant's chain, computed by PostgreSQL (from `{tenant}`: a uuid
# expression), so one statement can look tenants up by slug and lock their chains: the first
# 8 bytes of SHA-256("replika.audit.chain|" + the id's 16 bytes), as a signed bigint
_CHAIN_KEY = (
    "('x' || left(encode(sha256('replika.audit.chain|'::bytea || uuid_send({tenant})), 'hex'),"
    " 16))::bit(64)::bigint"
)


def lock_chain(session: Session, tenant_id: uuid.UUID) -> None:
    key = _CHAIN_KEY.format(tenant="cast(:t as uuid)")
    session.execute(text(f"select pg_advisory_xact_lock({key})"), {"t": str(tenant_id)})


def lock_chains(session: Session, slugs: Iterable[str]) -> dict[str, uuid.UUID]:
    """Look the tenants named by `slugs` up and lock their chains, in one statement: the
    known ones (slug -> id), locked in a fixed order (by id) so two consumers never deadlock.
    (Their heads are read by a later statement: this one's snapshot predates its locks.)"""
    wanted = sorted(set(slugs))
    if not wanted:
        return {}
    rows = session.execute(
        text(
            "select t.slug, t.id, pg_advisory_xact_lock(t.k) from (select slug, id, "
            f"{_CHAIN_KEY.format(tenant='id')} as k from tenants where slug = any(:slugs) "
            "order by id) as t"
        ),
        {"slugs": wanted},
    ).all()
    return {slug: tenant_id for slug, tenant_id, _ in rows}


def to_entry(row: Any, tenant_id: uuid.UUID | None = None) -> chain.Entry:
    """The chain entry of a ledger row, or of any row with its columns (a head read with its
    tenant's id: `tenant_id` given)."""
    return chain.Entry(
        tenant_id=str(row.tenant_id if tenant_id is None else tenant_id),
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


@dataclass
class AppendResult:
    appended: int = 0
    duplicates: int = 0


_HEADS_AND_DUPLICATES = text(
    "select t.id, h.seq, h.event_id, h.type, h.subject, h.time, h.actor, h.digest, "
    "h.prev_hash, h.hash, (select coalesce(array_agg(event_id), '{}') from audit_ledger "
    "where event_id = any(:event_ids)) as recorded "
    "from unnest(cast(:tenant_ids as uuid[])) as t(id) left join lateral (select * from "
    "audit_ledger where tenant_id = t.id order by seq desc limit 1) as h on true"
)


def append_events(
    session: Session, events: list[dict[str, Any]], locked: dict[str, uuid.UUID] | None = None
) -> AppendResult:
    """Append `events` (in the order given per tenant) within the caller's transaction.

    An event whose id is already in the ledger is skipped: the relay delivers at least once.
    Tenants are locked in a fixed order (by id) so two consumers never deadlock.

    Round trips (issue 22) do not grow with the events or their tenants: one statement looks
    the tenants up and locks their chains, one reads every chain's head and which events are
    recorded already, and one executemany inserts every new entry; the hash chains
    are extended in between, in Python. `locked`: what `lock_chains` answered for these
    events' tenants in this transaction (the caller looked them up already).
    """
    result = AppendResult()
    if not events:
        return result
    ids = (
        locked
        if locked is not None
        else lock_chains(session, (e.get("tenant", "") for e in events))
    )
    by_tenant: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for event in events:
        tenant_id = ids.get(event.get("tenant", ""))
        if tenant_id is None:
            raise UnknownTenant(event.get("tenant"))
        by_tenant.setdefault(tenant_id, []).append(event)
    heads: dict[uuid.UUID, chain.Entry | None] = {}
    seen: set[str] = set()
    for row in session.execute(
        _HEADS_AND_DUPLICATES,
        {"event_ids": [e["id"] for e in events], "tenant_ids": [str(t) for t in by_tenant]},
    ):
        seen.update(row.recorded)
        heads[row.id] = None if row.seq is None else to_entry(row, row.id)
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for tenant_id in sorted(by_tenant):
        prev = heads[tenant_id]
        for event in by_tenant[tenant_id]:
            if event["id"] in seen:
                result.duplicates += 1
                continue
            seen.add(event["id"])
            entry = chain.next_entry(str(tenant_id), prev, event)
            rows.append(
                {
                    "tenant_id": tenant_id,
                    "seq": entry.seq,
                    "event_id": entry.event_id,
                    "type": entry.type,
                    "subject": entry.subject,
                    "time": datetime.fromisoformat(entry.time),
                    "actor": entry.actor,
                    "digest": entry.digest,
                    "prev_hash": entry.prev_hash,
                    "hash": entry.hash,
                    "event": event,
                    "recorded_at": now,
                }
            )
            prev = entry
    if rows:
        # an executemany of one statement, compiled once (psycopg sends the rows in one
        # pipeline): a multi-row VALUES of the poll's entries was compiled anew on every poll,
        # a third of the consumer's time in the issue 22 profile
        session.execute(insert(cast(Table, LedgerEntryRow.__table__)), rows)
    result.appended = len(rows)
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
    longer than `max_age_seconds` since that checkpoint. One statement, by index per tenant
    (the head's seq and the last checkpoint), never a scan of the ledger."""
    rows = session.execute(
        text(
            "select t.id, (select max(seq) from audit_ledger where tenant_id = t.id) as top, "
            "c.seq, c.time from tenants as t left join lateral (select seq, time from "
            "audit_checkpoints where tenant_id = t.id order by seq desc limit 1) as c on true"
        )
    ).all()
    now = utcnow()
    due = []
    for tenant_id, top, seq, at in rows:
        seq = seq or 0
        if (
            top is not None
            and top > seq
            and (top - seq >= every or at is None or (now - at).total_seconds() >= max_age_seconds)
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
