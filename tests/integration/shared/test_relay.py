"""The outbox relay against the real PostgreSQL and the real Kafka broker."""

from __future__ import annotations

import time
import urllib.request
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest

from tests.support.eventing import (
    emit,
    fresh_tenant,
    in_thread,
    records_on_topic,
    relay,
    unpublished,
    wait_until,
)


@pytest.fixture
def tenant(stack, demo_tenants):
    return fresh_tenant("rl")


def test_published_rows_reach_their_topic_with_tenant_subject_keys(tenant):
    ids = emit("whistleblowing", tenant, [("WBS-1", "new"), ("WBS-2", "new")])
    ids += emit("hibah_bansos", tenant, [("HB-1", "applied")])
    for service in ("whistleblowing", "hibah_bansos"):
        relay(service).drain()
        assert unpublished(service, tenant) == 0
    wb = records_on_topic("whistleblowing.events", f"{tenant.slug}:")
    hb = records_on_topic("hibah_bansos.events", f"{tenant.slug}:")
    assert sorted(k for k, *_ in wb) == [f"{tenant.slug}:WBS-1", f"{tenant.slug}:WBS-2"]
    assert [k for k, *_ in hb] == [f"{tenant.slug}:HB-1"]
    assert {v["id"] for _, v, *_ in wb + hb} == set(ids)
    assert all(v["tenant"] == tenant.slug and v["specversion"] == "1.0" for _, v, *_ in wb + hb)


def test_the_relay_wakes_on_notify_not_on_its_poll(tenant):
    r = relay("whistleblowing", poll_seconds=60)
    r.drain()
    with in_thread(r, "relay"):
        time.sleep(1.0)  # let it reach its wait
        emit("whistleblowing", tenant, [("WBS-N", "new")])
        took = wait_until(
            lambda: unpublished("whistleblowing", tenant) == 0, 10, "publish", interval=0.02
        )
    print(f"\nNOTIFY to published: {took * 1000:.0f} ms (poll interval 60 s)")
    assert took < 5


def _owner_sql(service: str, sql: str, params: dict | None = None) -> list:
    from sqlalchemy import text

    from shared.db import service_engine

    with service_engine(service, migration=True).begin() as conn:
        result = conn.execute(text(sql), params or {})
        return result.all() if result.returns_rows else []


@contextmanager
def _listening(service: str) -> Iterator[psycopg.Connection]:
    from shared import events
    from shared.db import service_engine

    url = service_engine(service, migration=True).url
    conn = psycopg.connect(url.set(drivername="postgresql").render_as_string(False))
    conn.autocommit = True
    conn.execute(f'listen "{events.notify_channel(service)}"')
    try:
        yield conn
    finally:
        conn.close()


def test_a_commit_notifies_only_while_a_relay_asks_for_it(tenant):
    """A notifying commit holds a cluster-wide lock through its WAL flush, so writers notify
    only while a relay sleeps and has said so in outbox_listeners."""
    _owner_sql("whistleblowing", "delete from outbox_listeners")
    with _listening("whistleblowing") as conn:
        emit("whistleblowing", tenant, [("WBS-Q1", "new")])
        assert list(conn.notifies(timeout=0.5)) == []
        _owner_sql(
            "whistleblowing",
            "insert into outbox_listeners (relay_id, since) values (gen_random_uuid(), now())",
        )
        try:
            emit("whistleblowing", tenant, [("WBS-Q2", "new")])
            assert len(list(conn.notifies(timeout=5, stop_after=1))) == 1
        finally:
            _owner_sql("whistleblowing", "delete from outbox_listeners")
    relay("whistleblowing").drain()


def test_a_relay_asks_for_notify_only_while_it_sleeps(tenant):
    r = relay("whistleblowing", poll_seconds=60)
    r.drain()
    killed_asleep = "00000000-0000-4000-8000-000000000001"
    _owner_sql(
        "whistleblowing",
        "insert into outbox_listeners (relay_id, since) values (:id, now() - interval '1 hour')",
        {"id": killed_asleep},
    )

    def listeners() -> set[str]:
        return {
            str(i) for (i,) in _owner_sql("whistleblowing", "select relay_id from outbox_listeners")
        }

    with in_thread(r, "relay"):
        wait_until(lambda: listeners() == {str(r.id)}, 10, "the sleeping relay's row alone")
        emit("whistleblowing", tenant, [("WBS-S", "new")])
        wait_until(lambda: unpublished("whistleblowing", tenant) == 0, 10, "publish")
        # woken, it published, polled once more and went back to sleep
        wait_until(lambda: listeners() == {str(r.id)}, 10, "its row again")
    assert listeners() == set()  # stopped: writers no longer notify


def test_two_relays_share_the_outbox_without_doubles_and_keep_each_case_in_order(tenant):
    subjects = [f"WBS-{i}" for i in range(12)]
    emitted: dict[str, list[str]] = defaultdict(list)
    for round_ in range(25):  # 300 events in 25 commits
        changes = [(s, f"s{round_}") for s in subjects]
        for (s, _), event_id in zip(changes, emit("whistleblowing", tenant, changes), strict=True):
            emitted[s].append(event_id)
    a, b = relay("whistleblowing", batch_size=7), relay("whistleblowing", batch_size=11)
    started = time.monotonic()
    with in_thread(a, "relay-a"), in_thread(b, "relay-b"):
        wait_until(lambda: unpublished("whistleblowing", tenant) == 0, 60, "drain")
    took = time.monotonic() - started
    print(f"\n300 events, 2 relays: drained in {took:.2f} s")
    records = records_on_topic("whistleblowing.events", f"{tenant.slug}:")
    ids = [v["id"] for _, v, *_ in records]
    assert len(ids) == len(set(ids)) == 300  # each row published once in normal operation
    by_key: dict[str, list] = defaultdict(list)
    for key, value, _partition, _offset in sorted(records, key=lambda r: (r[2], r[3])):
        by_key[key.split(":", 1)[1]].append(value["id"])
    assert dict(by_key) == dict(emitted)  # Kafka holds each case's events in emission order


def test_lag_metrics_count_the_backlog_and_its_age_and_are_served(tenant):
    import socket

    from prometheus_client import REGISTRY

    from shared.relay import serve_metrics

    r = relay("hibah_bansos")
    r.drain()
    emit("hibah_bansos", tenant, [("HB-L1", "a"), ("HB-L2", "a"), ("HB-L3", "a")])
    time.sleep(1.1)
    lag = r.lag()
    assert lag.backlog >= 3 and lag.oldest_age_seconds >= 1.0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert serve_metrics(port)
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert 'replika_outbox_backlog{service="hibah_bansos"}' in body
    assert 'replika_outbox_oldest_unpublished_age_seconds{service="hibah_bansos"}' in body
    r.drain()
    lag = r.lag()
    assert (lag.backlog, lag.oldest_age_seconds) == (0, 0.0)
    assert REGISTRY.get_sample_value("replika_outbox_backlog", {"service": "hibah_bansos"}) == 0
    assert (
        REGISTRY.get_sample_value("replika_outbox_published_total", {"service": "hibah_bansos"})
        >= 3
    )


def test_one_relay_overlaps_its_batches_and_marks_each_in_one_statement(tenant):
    """run_pipelined claims and sends the next batch while the last waits for the broker:
    its own rows in flight hold nothing back, each case stays in order, and each batch is
    marked published in one statement."""
    import threading

    from shared.db import count_round_trips

    subjects = [f"WBS-P{i}" for i in range(5)]
    emitted: dict[str, list[str]] = defaultdict(list)
    r = relay("whistleblowing", batch_size=10)
    r.drain()
    for round_ in range(19):  # 95 events: nine full batches and a short one
        changes = [(s, f"s{round_}") for s in subjects]
        for (s, _), event_id in zip(changes, emit("whistleblowing", tenant, changes), strict=True):
            emitted[s].append(event_id)
    with count_round_trips(r.engine) as trips:
        marked = r.run_pipelined(threading.Event())
    assert marked == 95 and unpublished("whistleblowing", tenant) == 0
    marks = [s for s in trips.sent if s.startswith("update outbox set published_at")]
    assert len(marks) == 10  # one per batch
    records = records_on_topic("whistleblowing.events", f"{tenant.slug}:")
    by_key: dict[str, list] = defaultdict(list)
    for key, value, _partition, _offset in sorted(records, key=lambda x: (x[2], x[3])):
        by_key[key.split(":", 1)[1]].append(value["id"])
    assert dict(by_key) == dict(emitted)


def test_the_last_batch_of_a_round_goes_to_the_broker_without_lingering(tenant):
    """A batch shorter than a claim is the round's last: the relay flushes the producer
    instead of letting its records wait out linger_ms, so when it has been claimed and sent,
    the broker has answered for every record of it."""
    r = relay("whistleblowing", batch_size=10)
    r.drain()
    emit("whistleblowing", tenant, [(f"WBS-L{i}", "received") for i in range(3)])
    batch = r._claim_and_send(frozenset())
    assert batch is not None and len(batch.rows) == 3
    try:
        assert all(future.is_done for _, future in batch.futures)
    finally:
        assert r._settle(batch) == 3
    assert unpublished("whistleblowing", tenant) == 0
    r.close()
