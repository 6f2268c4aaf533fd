"""Helpers for the event, relay and audit tests: fresh tenants, emitting through the unit of
work, relay and consumer threads, the real broker stopped and restarted."""

from __future__ import annotations

import copy
import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from shared.tenancy import Tenant
from tests.support import ROOT

SOURCE_SERVICES = ("whistleblowing", "hibah_bansos")


def fresh_tenant(prefix: str = "ev") -> Tenant:
    """A new city (copy of cimahi's configuration) applied to every database, audit included."""
    import yaml

    from operations import tenant_apply
    from shared.tenant_config import parse

    data = copy.deepcopy(yaml.safe_load((ROOT / "tenants" / "cimahi.yaml").read_text()))
    data.pop("id", None)
    data["slug"] = f"{prefix}-{uuid.uuid4().hex[:10]}"
    config = parse(data, "test")
    tenant_apply.apply(config)
    return Tenant(config.id, config.slug, config.data)


def outbox_model(service: str) -> type:
    import importlib

    return importlib.import_module(f"services.{service}.models").OutboxRow


def emit(service: str, tenant: Tenant, changes: list[tuple[str, str]]) -> list[str]:
    """One committed unit of work emitting `changes` [(subject, state), ...]; returns event ids."""
    from shared.db import service_engine, session_factory, tenant_session
    from shared.uow import UnitOfWork

    factory = session_factory(service_engine(service))
    with tenant_session(factory, tenant.id) as session:
        uow = UnitOfWork(session, tenant, service, outbox_model(service))
        ids = [
            uow.emit("test.thing.changed.v1", subject, "system", {"state": state, "n": i})["id"]
            for i, (subject, state) in enumerate(changes)
        ]
        uow.commit()
    return ids


def unpublished(service: str, tenant: Tenant | None = None) -> int:
    from shared.db import service_engine

    sql = "select count(*) from outbox where published_at is null"
    params = {}
    if tenant is not None:
        sql += " and tenant_id = :t"
        params["t"] = tenant.id
    with service_engine(service, migration=True).connect() as conn:
        return conn.execute(text(sql), params).scalar()


def ledger_rows(tenant: Tenant) -> list:
    """(seq, event_id, subject, type) of the tenant's chain, read as the audit DB owner."""
    from shared.db import service_engine

    with service_engine("audit", migration=True).connect() as conn:
        return conn.execute(
            text(
                "select seq, event_id, subject, type from audit_ledger "
                "where tenant_id = :t order by seq"
            ),
            {"t": tenant.id},
        ).all()


def ledger_holds_exactly(tenant: Tenant, expected: set[str], timeout: float = 180) -> float:
    """Wait until the tenant's chain has `expected` event ids, then assert it holds each once
    and nothing else; returns the seconds waited. (The relay and consumer must be running.)"""
    took = wait_until(lambda: len(ledger_rows(tenant)) >= len(expected), timeout, "the ledger")
    time.sleep(1.0)  # a late duplicate would land now
    ledger = [r.event_id for r in ledger_rows(tenant)]
    assert len(ledger) == len(set(ledger)) == len(expected) and set(ledger) == expected
    return took


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.2
) -> float:
    """Seconds it took for `predicate` to hold; fails the test after `timeout`."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - started


@contextmanager
def in_thread(worker, name: str) -> Iterator:
    """Run `worker.run(stop)` in a thread for the duration of the block; stop and join after."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def target():
        try:
            worker.run(stop)
        except BaseException as exc:  # surfaced to the test below
            errors.append(exc)

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(timeout=60)
        assert not thread.is_alive(), f"{name} did not stop"
    assert not errors, f"{name} crashed: {errors[0]!r}"


def relay(service: str, **kwargs):
    from shared.db import service_engine
    from shared.relay import Relay

    kwargs.setdefault("send_timeout_seconds", 10.0)
    return Relay(
        service,
        service_engine(service, migration=True),
        os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        **kwargs,
    )


def consumer(**kwargs):
    from services.audit.consumer import AuditConsumer
    from shared.db import service_engine

    return AuditConsumer(service_engine("audit"), os.environ["KAFKA_BOOTSTRAP_SERVERS"], **kwargs)


def records_on_topic(
    topic: str, key_prefix: str, timeout: float = 10.0, *, with_headers: bool = False
) -> list:
    """Every record of `topic` whose key starts with `key_prefix`, read by assignment from the
    start (no consumer group, so the audit group's offsets are untouched), as (key, event,
    partition, offset), and the record's headers {name: bytes} last when `with_headers`."""
    from kafka import KafkaConsumer, TopicPartition

    from shared.settings import kafka_client_config

    c = KafkaConsumer(
        **kafka_client_config("admin"),
        enable_auto_commit=False,
        consumer_timeout_ms=int(timeout * 1000),
    )
    try:
        parts = [TopicPartition(topic, p) for p in sorted(c.partitions_for_topic(topic))]
        c.assign(parts)
        c.seek_to_beginning(*parts)
        ends = c.end_offsets(parts)
        out = []
        deadline = time.monotonic() + timeout
        while any(c.position(tp) < ends[tp] for tp in parts) and time.monotonic() < deadline:
            for recs in c.poll(timeout_ms=500).values():
                out.extend(r for r in recs if r.key and r.key.decode().startswith(key_prefix))
        return [
            (r.key.decode(), json.loads(r.value), r.partition, r.offset)
            + ((dict(r.headers),) if with_headers else ())
            for r in out
        ]
    finally:
        c.close()


class Broker:
    """The real Kafka broker `make test` started: stop it and start it again on the same data
    directory and port (pids.json is kept current so `make test` still stops it at the end)."""

    def __init__(self) -> None:
        state = os.environ.get("REPLIKA_TEST_STATE")
        assert state, "run with `make test` (REPLIKA_TEST_STATE names the stack's state dir)"
        self.state = Path(state)
        self.port = int(os.environ["KAFKA_BOOTSTRAP_SERVERS"].rsplit(":", 1)[1])

    def stop(self) -> None:
        from infra.local import Pids, _terminate, _wait_gone, alive

        pid = Pids(self.state).load()["kafka"]
        _terminate(pid)
        _wait_gone([pid], timeout=30)
        assert not alive(pid)

    def start(self) -> None:
        from infra import kafka
        from infra.local import CACHE, Pids, broker_secrets, load_secrets
        from shared.settings import kafka_client_config

        pid = kafka.start(
            CACHE / "kafka",
            self.state / "kafka",
            self.port,
            self.state / "kafka.log",
            broker_secrets(load_secrets(self.state)),
            kafka_client_config("admin"),
        )
        Pids(self.state).add("kafka", pid)


def insert_ledger_entry(conn, tenant_id: uuid.UUID, entry, event: dict) -> None:
    """Write `entry` (a services.audit.chain.Entry) and its `event` straight into audit_ledger,
    as someone with database access could: the tamper tests forge a consistent chain with it."""
    conn.execute(
        text(
            "insert into audit_ledger (tenant_id, seq, event_id, type, subject, time, actor,"
            " digest, prev_hash, hash, event) values (:t, :seq, :eid, :type, :subject, "
            ":time, :actor, :digest, :prev, :hash, cast(:event as json))"
        ),
        {
            "t": tenant_id,
            "seq": entry.seq,
            "eid": entry.event_id,
            "type": entry.type,
            "subject": entry.subject,
            "time": entry.time,
            "actor": entry.actor,
            "digest": entry.digest,
            "prev": entry.prev_hash,
            "hash": entry.hash,
            "event": json.dumps(event),
        },
    )
