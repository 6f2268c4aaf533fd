"""The loop every consumer of the event topics runs (the audit ledger, the notifications
consumer): poll, check each record (shared/event_intake.py), let the consumer store what it
accepted and the dead letters in its own transaction, and only then commit the Kafka offsets.

At least once in: if storing fails, the consumer seeks back to the poll's first offsets so the
same records come again after the backoff; if the process dies between the store and the
offset commit, they come again too and the consumer skips them as duplicates. A record that
fails a check is the consumer's to keep as a dead letter: the stream never stops for one.
Only outages (database, broker) are retried, with a doubling backoff up to BACKOFF_MAX; a
broker error also drops the Kafka client so the next round opens a fresh one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from shared import event_intake
from shared.event_signing import TrustedKeys
from shared.logging_setup import kafka_quiet_while_closing
from shared.settings import kafka_client_config

BACKOFF_MAX = 10.0  # short enough that a restarted broker is seen soon


def kafka_consumer(client: str, bootstrap: str, group: str, topics: tuple[str, ...]):
    """A Kafka consumer of `topics` in `group` that commits offsets only when told to."""
    from kafka import KafkaConsumer

    return KafkaConsumer(
        *topics,
        **kafka_client_config(client, bootstrap),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        request_timeout_ms=15000,
    )


def check_batch(
    batch: dict, keys: TrustedKeys
) -> tuple[list[tuple[Any, dict[str, Any]]], list[tuple[Any, event_intake.Rejected]]]:
    """A poll's records split into (record, event) accepted and (record, why not) rejected."""
    accepted: list[tuple[Any, dict[str, Any]]] = []
    rejected: list[tuple[Any, event_intake.Rejected]] = []
    for records in batch.values():
        for record in records:
            try:
                verdict = event_intake.check(record.topic, record.value, keys)
            except Exception as exc:  # a check's own bug must not stop the stream either
                verdict = event_intake.Rejected("unreadable", type(exc).__name__)
            if isinstance(verdict, event_intake.Rejected):
                rejected.append((record, verdict))
            else:
                accepted.append((record, verdict))
    return accepted, rejected


def run(
    stop: threading.Event,
    *,
    name: str,
    log: logging.Logger,
    open_consumer: Callable[[], Any],
    handle: Callable[[dict], Any],
    poll_timeout_ms: int = 500,
    after_poll: Callable[[Any], Any] | None = None,
) -> None:
    """Poll and `handle` until `stop`; offsets are committed after `handle` returns.
    `after_poll(consumer)` runs after every poll (work of the consumer's own between polls);
    its failure is retried like an outage. Log lines start with `name`."""
    backoff = 0.5
    consumer = None
    while not stop.is_set():
        try:
            if consumer is None:
                consumer = open_consumer()
            batch = consumer.poll(timeout_ms=poll_timeout_ms)
            if batch:
                try:
                    handle(batch)
                except Exception:
                    # not stored: rewind so the same records come again after the backoff
                    for tp, records in batch.items():
                        consumer.seek(tp, records[0].offset)
                    raise
                # only after the consumer's transaction committed; not waited for: a commit
                # lost (a crash, a rebalance, a broker error) only brings stored records
                # again, which the consumer skips as duplicates, and the next one covers it
                consumer.commit_async(callback=failed_commits_logged(log, name))
            if after_poll is not None:
                after_poll(consumer)
            backoff = 0.5
        except Exception as exc:  # database or broker trouble: wait and carry on
            log.warning("%s: %s: %s; retrying in %.1fs", name, type(exc).__name__, exc, backoff)
            if consumer is not None and not is_db_error(exc):
                close(consumer)
                consumer = None
            stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
    if consumer is not None:
        try:
            consumer.commit(timeout_ms=5000)  # what was stored: a restart need not bring it again
        except Exception as exc:
            log.warning("%s: last offset commit failed: %s", name, type(exc).__name__)
        close(consumer)


def failed_commits_logged(log: logging.Logger, name: str) -> Callable[[Any, Any], None]:
    def callback(_offsets: Any, response: Any) -> None:
        if isinstance(response, Exception):
            log.warning("%s: offset commit failed (the next one covers it): %s", name, response)

    return callback


def is_db_error(exc: Exception) -> bool:
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(exc, SQLAlchemyError)


def close(consumer) -> None:
    try:
        with kafka_quiet_while_closing():
            consumer.close(autocommit=False)
    except Exception:  # closing a consumer of a dead broker may fail too
        pass
