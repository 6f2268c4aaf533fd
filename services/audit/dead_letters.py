"""Dead letters: records the ledger could not chain, kept so that the stream never stops.

A record failing a check of services/audit/intake.py (or naming a tenant the audit database
does not know) is written to `audit_dead_letters` in the same transaction as the poll's good
events, counted in `replika_audit_dead_letters_total{reason}` and logged as one error line
(topic, partition, offset, reason, the record's SHA-256: never its content); the consumer then
commits past it. Only outages (database, broker) make the consumer retry.

`replika audit dead-letters` lists them; `replika audit redrive ID` checks one again (after
the fix: the tenant applied, the key published) and appends it when it passes. Both tables
are append-only for the ledger's role: a re-drive is a row in `audit_dead_letter_redrives`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy import exists, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.audit import intake, ledger
from services.audit.models import DeadLetterRow, RedriveRow
from shared.event_signing import TrustedKeys

log = logging.getLogger(__name__)

DEAD_LETTERS = Counter(
    "replika_audit_dead_letters_total", "Records the audit ledger could not chain", ["reason"]
)
DONE = ("appended", "duplicate")  # outcomes after which a dead letter is settled


@dataclass(frozen=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    key: bytes | None
    value: bytes | None
    event_id: str | None = None
    tenant: str | None = None

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.value or b"").hexdigest()


def _clean(value: str, limit: int) -> str:
    """Printable text for a column and a listing (a forged record may hold NUL bytes)."""
    return "".join(c if c.isprintable() else "?" for c in value[:limit])


def _short(value: Any, limit: int) -> str | None:
    return _clean(value, limit) if isinstance(value, str) else None


def of_record(record: Any, rejected: intake.Rejected, event: dict[str, Any] | None = None):
    """The dead letter of a Kafka record (anything with topic, partition, offset, key, value)."""
    return DeadLetter(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        reason=rejected.reason,
        detail=_clean(rejected.detail, 500),
        key=record.key,
        value=record.value,
        event_id=_short((event or {}).get("id"), 64),
        tenant=_short((event or {}).get("tenant"), 63),
    )


def record(session: Session, letters: list[DeadLetter]) -> int:
    """Insert `letters` within the caller's transaction; a record already dead-lettered (read
    again after a restart) is not inserted twice. Returns how many are new."""
    if not letters:
        return 0
    rows = [
        {
            "topic": d.topic,
            "kafka_partition": d.partition,
            "kafka_offset": d.offset,
            "reason": d.reason,
            "detail": d.detail,
            "record_sha256": d.sha256,
            "record_key": d.key,
            "record_value": d.value,
            "event_id": d.event_id,
            "tenant": d.tenant,
        }
        for d in letters
    ]
    inserted = session.execute(
        insert(DeadLetterRow)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["topic", "kafka_partition", "kafka_offset"])
        .returning(DeadLetterRow.id)
    ).all()
    return len(inserted)


def report(letters: list[DeadLetter]) -> None:
    """Metric and error log line of each dead letter (after its transaction committed)."""
    for d in letters:
        DEAD_LETTERS.labels(d.reason).inc()
        log.error(
            "audit: dead letter %s[%d]@%d: %s (record sha256 %s)",
            d.topic,
            d.partition,
            d.offset,
            d.reason,
            d.sha256,
        )


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    id: int
    topic: str
    partition: int
    offset: int
    reason: str
    detail: str
    record_sha256: str
    event_id: str | None
    tenant: str | None
    received_at: datetime
    redriven: str | None  # outcome of the settling re-drive, None while open


def listing(session: Session, include_settled: bool = False) -> list[Listed]:
    settled = (
        select(RedriveRow.outcome)
        .where(RedriveRow.dead_letter_id == DeadLetterRow.id, RedriveRow.outcome.in_(DONE))
        .limit(1)
        .scalar_subquery()
    )
    query = select(DeadLetterRow, settled.label("settled")).order_by(DeadLetterRow.id)
    if not include_settled:
        query = query.where(
            ~exists().where(
                RedriveRow.dead_letter_id == DeadLetterRow.id, RedriveRow.outcome.in_(DONE)
            )
        )
    return [
        Listed(
            r.id,
            r.topic,
            r.kafka_partition,
            r.kafka_offset,
            r.reason,
            r.detail,
            r.record_sha256,
            r.event_id,
            r.tenant,
            r.received_at,
            outcome,
        )
        for r, outcome in session.execute(query).all()
    ]


# --- re-driving ----------------------------------------------------------------------------


class NoSuchDeadLetter(LookupError):
    pass


class AlreadyRedriven(ValueError):
    pass


@dataclass(frozen=True)
class Redriven:
    outcome: str  # appended | duplicate | rejected
    reason: str | None = None
    detail: str | None = None


def redrive(session: Session, dead_letter_id: int, keys: TrustedKeys, by: str) -> Redriven:
    """Check dead letter `dead_letter_id` again and append it when it passes; the attempt is
    recorded either way. Runs in the caller's transaction."""
    # one re-drive of a letter at a time (the role may not SELECT ... FOR UPDATE)
    session.execute(
        text("select pg_advisory_xact_lock(:k)"),
        {
            "k": int.from_bytes(
                hashlib.sha256(b"replika.audit.redrive|%d" % dead_letter_id).digest()[:8],
                "big",
                signed=True,
            )
        },
    )
    row = session.get(DeadLetterRow, dead_letter_id)
    if row is None:
        raise NoSuchDeadLetter(dead_letter_id)
    done = session.execute(
        select(RedriveRow.outcome, RedriveRow.at).where(
            RedriveRow.dead_letter_id == dead_letter_id, RedriveRow.outcome.in_(DONE)
        )
    ).first()
    if done is not None:
        raise AlreadyRedriven(
            f"dead letter {dead_letter_id} was already re-driven at {done.at} ({done.outcome})"
        )
    verdict = intake.check(row.topic, row.record_value, keys)
    if not isinstance(verdict, intake.Rejected) and verdict["tenant"] not in ledger.tenant_ids(
        session
    ):
        verdict = intake.Rejected("unknown_tenant", "the tenant is not in the audit database")
    if isinstance(verdict, intake.Rejected):
        outcome = Redriven("rejected", verdict.reason, verdict.detail)
    else:
        result = ledger.append_events(session, [verdict])
        outcome = Redriven("appended" if result.appended else "duplicate")
    session.add(
        RedriveRow(
            dead_letter_id=dead_letter_id,
            outcome=outcome.outcome,
            reason=outcome.reason,
            by=by[:100],
        )
    )
    session.flush()
    log.info("audit: dead letter %d re-driven: %s", dead_letter_id, outcome.outcome)
    return outcome
