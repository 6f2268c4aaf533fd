"""`replika audit consume`: the consumer group "audit" of every service's events topic.

At least once in, exactly once in the ledger: a poll's records are appended in one database
transaction (duplicates skipped by event id), and Kafka offsets are committed only after that
transaction commits. If the process dies between the two, the records come again and are
skipped as duplicates. One consumer per partition set (Kafka's group assignment); several
consumers may run, the per-tenant advisory lock orders their appends.

Only what passes services/audit/intake.py is chained (signature of the topic's service,
source, type, schema, time with an offset) and only for a tenant the audit database knows;
every other record becomes a dead letter in the same transaction (services/audit/dead_letters.py)
and the consumer commits past it. Only outages (database, broker) are retried. The poll,
check and commit loop is shared with the notifications consumer (shared/event_consumer.py).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.engine import Engine

from infra.topics import topic_for
from services.audit import dead_letters, intake, ledger
from shared import event_consumer
from shared.db import session_factory
from shared.event_consumer import BACKOFF_MAX, is_db_error
from shared.event_signing import TrustedKeys

log = logging.getLogger(__name__)

GROUP = "audit"
SOURCE_SERVICES = intake.SOURCE_SERVICES


class AuditConsumer:
    def __init__(
        self,
        engine: Engine,
        bootstrap: str,
        *,
        group: str = GROUP,
        topics: tuple[str, ...] | None = None,
        checkpoint_every: int = 100,
        checkpoint_seconds: float = 60.0,
        keys: TrustedKeys | None = None,
    ) -> None:
        self.sessions = session_factory(engine)
        self.bootstrap, self.group = bootstrap, group
        self.topics = topics or tuple(topic_for(s) for s in SOURCE_SERVICES)
        self.checkpoint_every, self.checkpoint_seconds = checkpoint_every, checkpoint_seconds
        self.keys = keys or TrustedKeys()
        self.appended = self.duplicates = self.dead_lettered = 0

    def _consumer(self):
        return event_consumer.kafka_consumer(
            "audit-consumer", self.bootstrap, self.group, self.topics
        )

    def store(
        self, accepted: list[tuple[Any, dict[str, Any]]], letters: list[dead_letters.DeadLetter]
    ) -> ledger.AppendResult:
        """Append one poll's accepted events and record its dead letters, in one transaction.
        An event of a tenant the audit database does not know joins the dead letters."""
        letters = list(letters)
        with self.sessions() as session, session.begin():
            # the tenants of the poll, their chains locked (one statement)
            known = ledger.lock_chains(session, (event["tenant"] for _, event in accepted))
            events = []
            for record, event in accepted:
                if event["tenant"] in known:
                    events.append(event)
                else:
                    rejected = intake.Rejected(
                        "unknown_tenant", "the tenant is not in the audit database"
                    )
                    letters.append(dead_letters.of_record(record, rejected, event))
            result = ledger.append_events(session, events, known)
            dead_letters.record(session, letters)
        dead_letters.report(letters)
        self.dead_lettered += len(letters)
        return result

    def checkpoint_due(self) -> int:
        written = 0
        with self.sessions() as session:
            with session.begin():
                due = ledger.checkpoints_due(
                    session, self.checkpoint_every, self.checkpoint_seconds
                )
            for tenant_id in due:
                try:
                    with session.begin():
                        if ledger.write_checkpoint(session, tenant_id):
                            written += 1
                except Exception as exc:
                    if is_db_error(exc):
                        raise  # an outage: the run loop backs off
                    # one tenant's key or heads file must not stop the others or the stream
                    log.error(
                        "audit: checkpoint of tenant %s failed: %s", tenant_id, type(exc).__name__
                    )
        return written

    def handle(self, batch: dict) -> None:
        accepted, rejected = event_consumer.check_batch(batch, self.keys)
        letters = [dead_letters.of_record(record, why) for record, why in rejected]
        result = self.store(accepted, letters)
        self.appended += result.appended
        self.duplicates += result.duplicates
        if result.appended or result.duplicates:
            log.info(
                "audit: appended %d, skipped %d duplicates", result.appended, result.duplicates
            )

    def run(self, stop: threading.Event) -> None:
        # checkpoints off the hot path: signed and anchored by a thread of their own, so a
        # poll's append never waits for them (their lock per tenant orders them with appends)
        checkpoints = threading.Thread(
            target=self._checkpoint_loop, args=(stop,), name="audit-checkpoints", daemon=True
        )
        checkpoints.start()
        event_consumer.run(
            stop, name="audit", log=log, open_consumer=self._consumer, handle=self.handle
        )
        checkpoints.join(timeout=BACKOFF_MAX)

    def _checkpoint_loop(self, stop: threading.Event) -> None:
        """Checkpoints due, at once and then every few seconds until `stop`; an outage is
        retried the next time round."""
        interval = min(5.0, self.checkpoint_seconds)
        while not stop.is_set():
            try:
                self.checkpoint_due()
            except Exception as exc:  # database trouble: the next round tries again
                log.warning("audit: checkpoints: %s: %s", type(exc).__name__, exc)
            stop.wait(interval)
