"""The audit ledger's hash chain: canonical digests, entry hashes, checkpoints, verification.

Pure domain logic (no database, Flask or Kafka), so the rules can be read and tested alone.

Each tenant has one chain. Entry `seq` (1, 2, 3, ...) commits to the event through the digest
of its RFC 8785 canonical JSON, and to the entry before it through `prev_hash`; its `hash`
covers every field, the tenant and its own `seq`, so editing, removing, inserting or reordering
an entry breaks the chain at that point. Checkpoints sign (tenant, seq, head hash, time) with
the tenant's Ed25519 audit key, so rewriting the whole chain is caught too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared import event_signing

GENESIS_HASH = "0" * 64  # prev_hash of seq 1


def canonical(obj: Any) -> bytes:
    """RFC 8785 JSON (a fast path for float-free events; the same bytes as rfc8785.dumps)."""
    return event_signing.canonical(obj)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def event_digest(event: dict[str, Any]) -> str:
    return sha256_hex(canonical(event))


def normalize_time(value: str | datetime) -> str:
    """One spelling of an instant (UTC, microseconds), whatever the database hands back."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("naive time")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Entry:
    tenant_id: str
    seq: int
    event_id: str
    type: str
    subject: str
    time: str
    actor: str
    digest: str
    prev_hash: str
    hash: str

    def hashed_fields(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "seq": self.seq,
            "event_id": self.event_id,
            "type": self.type,
            "subject": self.subject,
            "time": normalize_time(self.time),
            "actor": self.actor,
            "digest": self.digest,
            "prev_hash": self.prev_hash,
        }


def entry_hash(fields: dict[str, Any]) -> str:
    return sha256_hex(canonical(fields))


def next_entry(tenant_id: str, prev: Entry | None, event: dict[str, Any]) -> Entry:
    """The entry that appends `event` after `prev` (None: the chain is empty)."""
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS_HASH if prev is None else prev.hash
    fields = {
        "tenant_id": tenant_id,
        "seq": seq,
        "event_id": event["id"],
        "type": event["type"],
        "subject": event["subject"],
        "time": normalize_time(event["time"]),
        "actor": event.get("actor", ""),
        "digest": event_digest(event),
        "prev_hash": prev_hash,
    }
    return Entry(**fields, hash=entry_hash(fields))


# --- checkpoints -------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    tenant_id: str
    seq: int
    head_hash: str
    time: str
    signature: bytes

    def message(self) -> bytes:
        return checkpoint_message(self.tenant_id, self.seq, self.head_hash, self.time)


def checkpoint_message(tenant_id: str, seq: int, head_hash: str, time: str) -> bytes:
    return canonical(
        {
            "purpose": "replika.audit.checkpoint.v1",
            "tenant_id": tenant_id,
            "seq": seq,
            "head_hash": head_hash,
            "time": normalize_time(time),
        }
    )


def sign_checkpoint(
    key: Ed25519PrivateKey, tenant_id: str, head: Entry, time: str | datetime
) -> Checkpoint:
    t = normalize_time(time)
    sig = key.sign(checkpoint_message(tenant_id, head.seq, head.hash, t))
    return Checkpoint(tenant_id, head.seq, head.hash, t, sig)


# --- verification ------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    seq: int
    reason: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.reason}"


def verify(
    tenant_id: str,
    entries: Iterable[Entry],
    events: dict[str, dict[str, Any]] | None = None,
    checkpoints: Iterable[Checkpoint] = (),
    public_key: Ed25519PublicKey | None = None,
) -> Problem | None:
    """The first broken seq of a tenant's chain, or None when chain and checkpoints hold.

    `entries` in the order stored (by seq). `events` (event id -> stored event), when given,
    lets the digest be recomputed from the event itself. Reports the lowest seq at which
    something does not verify: for an entry inserted with a correct hash of its own, that is
    the next entry, which no longer links.
    """
    problems: list[Problem] = []
    hashes: dict[int, str] = {}
    prev_hash, expected = GENESIS_HASH, 1
    for e in entries:
        if e.tenant_id != tenant_id:
            problems.append(Problem(e.seq, "entry of another tenant"))
            break
        if e.seq != expected:
            # a gap (removed entry) or a repeated/backwards seq (reordered or inserted)
            problems.append(
                Problem(min(e.seq, expected), f"expected seq {expected}, found seq {e.seq}")
            )
            break
        if e.prev_hash != prev_hash:
            problems.append(Problem(e.seq, "prev_hash does not match the entry before"))
            break
        if entry_hash(e.hashed_fields()) != e.hash:
            problems.append(Problem(e.seq, "hash does not match the entry's fields"))
            break
        if events is not None:
            event = events.get(e.event_id)
            if event is None or event_digest(event) != e.digest:
                problems.append(Problem(e.seq, "digest does not match the stored event"))
                break
        hashes[e.seq] = e.hash
        prev_hash, expected = e.hash, e.seq + 1
    last_good, last_matching = expected - 1, 0
    for cp in sorted(checkpoints, key=lambda c: c.seq):
        if cp.tenant_id != tenant_id:
            problems.append(Problem(cp.seq, "checkpoint of another tenant"))
            continue
        if public_key is None:
            problems.append(Problem(cp.seq, "no public key to check the checkpoint"))
            continue
        try:
            public_key.verify(cp.signature, cp.message())
        except InvalidSignature:
            problems.append(Problem(cp.seq, "checkpoint signature is invalid"))
            continue
        if cp.seq in hashes and hashes[cp.seq] != cp.head_hash:
            # the chain links, so it was rewritten: somewhere after the last matching head
            problems.append(
                Problem(
                    cp.seq,
                    "entry hash differs from the signed checkpoint "
                    f"(rewritten after seq {last_matching})",
                )
            )
        elif cp.seq in hashes:
            last_matching = cp.seq
        elif cp.seq > last_good and not problems:
            # the chain ends before a signed head: its tail was removed
            problems.append(
                Problem(
                    last_good + 1,
                    f"signed checkpoint at seq {cp.seq} but the chain ends at seq {last_good}",
                )
            )
    return min(problems, key=lambda p: p.seq) if problems else None
