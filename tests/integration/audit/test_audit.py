"""The audit ledger end to end: outbox -> relay -> real Kafka -> consumer -> hash chain; the
broker stopped and restarted; a relay killed before marking; tampering caught by verify."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections import defaultdict

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from tests.support.eventing import (
    Broker,
    consumer,
    emit,
    fresh_tenant,
    in_thread,
    insert_ledger_entry,
    ledger_holds_exactly,
    ledger_rows,
    records_on_topic,
    relay,
    unpublished,
    wait_until,
)


@pytest.fixture
def tenant(stack, demo_tenants):
    return fresh_tenant("au")


def verify_cli(slug: str):
    from operations.cli import main

    return CliRunner().invoke(main, ["audit", "verify", "--tenant", slug])


def scripted_scenario(tenant) -> dict[str, list[str]]:
    """State changes of several cases in both services, some commits holding several events;
    returns {subject: [event ids in the order the changes happened]}."""
    emitted: dict[str, list[str]] = defaultdict(list)

    def step(service, changes):
        for (subject, _), event_id in zip(changes, emit(service, tenant, changes), strict=True):
            emitted[subject].append(event_id)

    for case in ("WBS-A", "WBS-B", "WBS-C"):
        step("whistleblowing", [(case, "submitted")])
    step("whistleblowing", [("WBS-A", "acknowledged"), ("WBS-B", "acknowledged")])
    step("hibah_bansos", [("HB-1", "applied"), ("HB-2", "applied")])
    for state in ("verified", "evaluated", "approved", "agreement_signed", "disbursed"):
        step("hibah_bansos", [("HB-1", state)])
    step("whistleblowing", [("WBS-A", "investigating"), ("WBS-C", "rejected")])
    step("hibah_bansos", [("HB-2", "rejected")])
    step("whistleblowing", [("WBS-A", "closed")])
    return dict(emitted)


def assert_ledger_matches(tenant, emitted: dict[str, list[str]]) -> None:
    rows = ledger_rows(tenant)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    ids = [r.event_id for r in rows]
    assert len(ids) == len(set(ids)), "an event was recorded twice"
    assert sorted(ids) == sorted(i for v in emitted.values() for i in v), "missing events"
    per_subject: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        per_subject[r.subject].append(r.event_id)
    assert per_subject == emitted, "a case's events are out of order"


def test_every_state_change_of_a_scenario_is_one_ledger_entry_in_order(tenant):
    emitted = scripted_scenario(tenant)
    total = sum(map(len, emitted.values()))
    started = time.monotonic()
    with (
        in_thread(relay("whistleblowing"), "relay-wb"),
        in_thread(relay("hibah_bansos"), "relay-hb"),
        in_thread(consumer(checkpoint_every=5), "audit"),
    ):
        took = wait_until(lambda: len(ledger_rows(tenant)) >= total, 90, "the ledger")
        time.sleep(1.0)  # anything extra (a double) would show up now
    print(
        f"\nscenario: {total} events outbox -> ledger in {took:.2f} s "
        f"(including the consumer joining its group) [{time.monotonic() - started:.1f}s]"
    )
    assert_ledger_matches(tenant, emitted)
    result = verify_cli(tenant.slug)
    assert result.exit_code == 0, result.output
    assert f"OK, {total} entries" in result.output


def test_with_the_broker_stopped_commits_succeed_and_the_backlog_drains_exactly_once(tenant):
    broker = Broker()
    with (
        in_thread(relay("whistleblowing"), "relay-wb"),
        in_thread(relay("hibah_bansos"), "relay-hb"),
        in_thread(consumer(), "audit"),
    ):
        first = emit("whistleblowing", tenant, [("WBS-K", "submitted")])
        wait_until(lambda: len(ledger_rows(tenant)) == 1, 90, "the first event")
        broker.stop()
        emitted = {"WBS-K": first}
        started = time.monotonic()
        for i in range(60):  # requests go on: each a committed unit of work
            service, subject = (
                ("whistleblowing", f"WBS-K{i % 4}") if i % 3 else ("hibah_bansos", f"HB-K{i % 5}")
            )
            emitted.setdefault(subject, []).extend(emit(service, tenant, [(subject, f"s{i}")]))
        commit_time = time.monotonic() - started
        time.sleep(3)  # the relays are failing and backing off now
        waiting = unpublished("whistleblowing", tenant) + unpublished("hibah_bansos", tenant)
        assert waiting == 60
        assert len(ledger_rows(tenant)) == 1
        broker.start()
        restarted = time.monotonic()
        published = wait_until(
            lambda: (
                unpublished("whistleblowing", tenant) + unpublished("hibah_bansos", tenant) == 0
            ),
            180,
            "the outbox",
        )
        wait_until(lambda: len(ledger_rows(tenant)) >= 61, 180, "the backlog to drain")
        drained = time.monotonic() - restarted
        time.sleep(1.0)
    print(
        f"\nbroker down: 60 commits in {commit_time:.2f} s; after the broker was ready again "
        f"the outbox was empty in {published:.1f} s and the ledger had all 61 events in "
        f"{drained:.1f} s"
    )
    assert_ledger_matches(tenant, emitted)
    assert verify_cli(tenant.slug).exit_code == 0


class SimulatedCrash(Exception):
    pass


def test_a_relay_killed_before_marking_doubles_on_kafka_but_not_in_the_ledger(tenant):
    from shared.relay import Relay

    class DiesBeforeMarking(Relay):
        def mark(self, conn, seqs):
            raise SimulatedCrash()  # the process died after the broker acknowledged

    emitted: dict[str, list[str]] = defaultdict(list)
    for i in range(5):
        subject = f"WBS-D{i % 2}"
        emitted[subject].extend(emit("whistleblowing", tenant, [(subject, f"s{i}")]))
    dying = DiesBeforeMarking(
        "whistleblowing", relay("whistleblowing").engine, relay("whistleblowing").bootstrap
    )
    with pytest.raises(SimulatedCrash):
        while True:
            dying.run_pipelined(threading.Event())
    dying.close()
    assert unpublished("whistleblowing", tenant) == 5  # the rows were never marked
    relay("whistleblowing").drain()  # the restarted relay sends them again
    on_kafka = records_on_topic("whistleblowing.events", f"{tenant.slug}:")
    copies = defaultdict(int)
    for _, value, *_ in on_kafka:
        copies[value["id"]] += 1
    assert sorted(copies.values()) == [2] * 5, "each event should be on Kafka twice"
    audit = consumer()
    with in_thread(audit, "audit"):
        wait_until(lambda: len(ledger_rows(tenant)) >= 5, 90, "the ledger")
        wait_until(lambda: audit.duplicates >= 5, 30, "the doubles to be read and skipped")
    assert_ledger_matches(tenant, dict(emitted))


# --- the ledger in its database, without the broker ------------------------------------


def append(tenant, n: int, subject: str = "WBS-T") -> list[str]:
    from services.audit import ledger
    from shared import events
    from shared.db import service_engine, session_factory

    evs = [
        events.build(
            "whistleblowing",
            "test.thing.changed.v1",
            tenant,
            subject,
            "system",
            {"state": f"s{i}", "n": i},
        )
        for i in range(n)
    ]
    with session_factory(service_engine("audit"))() as session, session.begin():
        result = ledger.append_events(session, evs)
    assert result.appended == n
    return [e["id"] for e in evs]


def checkpoint(tenant):
    from services.audit import ledger
    from shared.db import service_engine, session_factory

    with session_factory(service_engine("audit"))() as session, session.begin():
        return ledger.write_checkpoint(session, tenant.id)


def as_owner(sql: str, **params) -> None:
    """Tampering needs the owner: the ledger's own role cannot UPDATE or DELETE."""
    from shared.db import service_engine

    with service_engine("audit", migration=True).begin() as conn:
        conn.execute(text(sql), params)


def _audit_group_behind() -> dict:
    """Partitions of the events topics where the group "audit" has not committed up to the
    end: {partition: (committed, end)}."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient

    from services.audit.consumer import GROUP, SOURCE_SERVICES
    from shared.settings import kafka_client_config

    admin = KafkaAdminClient(**kafka_client_config("admin"))
    reader = KafkaConsumer(**kafka_client_config("admin"), enable_auto_commit=False)
    try:
        committed = admin.list_group_offsets(GROUP)[GROUP]
        parts = [
            TopicPartition(f"{service}.events", p)
            for service in SOURCE_SERVICES
            for p in sorted(reader.partitions_for_topic(f"{service}.events"))
        ]
        ends = reader.end_offsets(parts)
    finally:
        admin.close()
        reader.close()
    done = {tp: committed[tp].offset if tp in committed else 0 for tp in parts}
    return {tp: (done[tp], ends[tp]) for tp in parts if done[tp] < ends[tp]}


def test_the_consumer_commits_what_it_stored_while_it_runs(tenant):
    # commits are sent without waiting for the broker's answer: they must still arrive
    ids = set(emit("whistleblowing", tenant, [("WBS-OFS1", "submitted"), ("WBS-OFS2", "x")]))
    ids |= set(emit("hibah_bansos", tenant, [("HB-OFS", "applied")]))
    with (
        in_thread(relay("whistleblowing"), "relay-wb"),
        in_thread(relay("hibah_bansos"), "relay-hb"),
    ):
        with in_thread(consumer(), "consumer"):
            ledger_holds_exactly(tenant, ids)
            wait_until(lambda: not _audit_group_behind(), 30, "the audit group's offsets")


def test_the_ledger_role_may_only_insert_and_select(tenant):
    from sqlalchemy.exc import ProgrammingError

    from shared.db import service_engine

    append(tenant, 2)
    for sql in (
        "update audit_ledger set type = 'x' where tenant_id = :t",
        "delete from audit_ledger where tenant_id = :t",
        "delete from audit_checkpoints where tenant_id = :t",
        "update audit_keys set public_key = '' where tenant_id = :t",
        "truncate audit_ledger",
    ):
        with pytest.raises(ProgrammingError, match="permission denied"):
            with service_engine("audit").begin() as conn:
                conn.execute(text(sql), {"t": tenant.id})


def test_an_event_delivered_twice_is_recorded_once(tenant):
    from services.audit import ledger
    from shared import events
    from shared.db import service_engine, session_factory

    ev = events.build(
        "whistleblowing",
        "test.thing.changed.v1",
        tenant,
        "WBS-2x",
        "system",
        {"state": "a", "n": 1},
    )
    factory = session_factory(service_engine("audit"))
    for expected in ((1, 0), (0, 1)):
        with factory() as session, session.begin():
            r = ledger.append_events(session, [ev, ev] if expected == (1, 0) else [ev])
        assert (r.appended, r.duplicates) == ((1, 1) if expected == (1, 0) else (0, 1))
    assert len(ledger_rows(tenant)) == 1


TAMPERINGS = {
    "edited": (
        [
            "update audit_ledger set type = 'whistleblowing.report.deleted.v1' "
            "where tenant_id = :t and seq = 5"
        ],
        5,
    ),
    "edited event body": (
        ["update audit_ledger set event = cast(:forged as json) where tenant_id = :t and seq = 3"],
        3,
    ),
    "deleted": (["delete from audit_ledger where tenant_id = :t and seq = 4"], 4),
    "deleted tail": (["delete from audit_ledger where tenant_id = :t and seq >= 7"], 7),
    # a forged entry slipped in at 4: later entries renumbered to make room for it
    "inserted": (
        [
            "update audit_ledger set seq = seq + 100 where tenant_id = :t and seq >= 4",
            "update audit_ledger set seq = seq - 99 where tenant_id = :t and seq >= 104",
            "insert into audit_ledger (tenant_id, seq, event_id, type, subject, time, "
            "actor, digest, prev_hash, hash, event, recorded_at) "
            "select tenant_id, 4, :fake_id, type, subject, time, actor, digest, hash, "
            "hash, event, recorded_at from audit_ledger where tenant_id = :t and seq = 3",
        ],
        4,
    ),
    "swapped": (
        [
            "update audit_ledger set seq = -1 where tenant_id = :t and seq = 3",
            "update audit_ledger set seq = 3 where tenant_id = :t and seq = 6",
            "update audit_ledger set seq = 6 where tenant_id = :t and seq = -1",
        ],
        3,
    ),
}


@pytest.mark.parametrize("how", sorted(TAMPERINGS))
def test_verify_names_the_first_broken_seq(tenant, how):
    append(tenant, 8)
    assert checkpoint(tenant).seq == 8
    before = verify_cli(tenant.slug)
    assert before.exit_code == 0 and "OK, 8 entries, 1 checkpoints" in before.output
    statements, broken = TAMPERINGS[how]
    for sql in statements:
        as_owner(
            sql,
            t=tenant.id,
            fake_id=str(uuid.uuid4()),
            forged='{"id": "x", "data": {"state": "forged"}}',
        )
    result = verify_cli(tenant.slug)
    assert result.exit_code == 1, result.output
    assert f"BROKEN at seq {broken}:" in result.output, result.output


def test_a_consistently_rewritten_chain_is_caught_by_the_signed_checkpoint(tenant):
    """Whoever owns the tables can rehash every entry, but cannot sign a new head."""
    from services.audit import chain, ledger
    from shared.db import service_engine, session_factory

    append(tenant, 6)
    checkpoint(tenant)
    with session_factory(service_engine("audit", migration=True))() as session, session.begin():
        stored = ledger.load_chain(session, tenant.id)
        session.execute(
            text("delete from audit_ledger where tenant_id = :t and seq >= 3"), {"t": tenant.id}
        )
        prev = stored.entries[1]
        for old in stored.entries[2:]:
            event = dict(stored.events[old.event_id], data={"state": "forged", "n": 0})
            prev = chain.next_entry(str(tenant.id), prev, event)
            insert_ledger_entry(session, tenant.id, prev, event)
    result = verify_cli(tenant.slug)
    assert result.exit_code == 1 and "BROKEN at seq 6" in result.output, result.output
    assert "checkpoint" in result.output


def test_checkpoints_are_due_every_n_entries_and_on_a_timer(tenant):
    from services.audit import ledger
    from shared.db import service_engine, session_factory

    factory = session_factory(service_engine("audit"))
    append(tenant, 3)
    with factory() as session, session.begin():
        assert tenant.id in ledger.checkpoints_due(session, every=100, max_age_seconds=3600)
    checkpoint(tenant)  # the first one
    append(tenant, 2)
    with factory() as session, session.begin():
        assert tenant.id not in ledger.checkpoints_due(session, every=3, max_age_seconds=3600)
        assert tenant.id in ledger.checkpoints_due(session, every=2, max_age_seconds=3600)
        assert tenant.id in ledger.checkpoints_due(session, every=100, max_age_seconds=0)
    assert checkpoint(tenant).seq == 5
    assert checkpoint(tenant) is None  # nothing new to sign


# --- the auditor API ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def audit_app(stack, demo_tenants):
    from operations.apps import audit as create_app

    app = create_app()
    app.config.update(TESTING=True)
    return app


def test_auditors_read_a_case_its_checkpoints_and_the_public_key(tenant, audit_app, official_token):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from services.audit import chain

    client = audit_app.test_client()
    ids = append(tenant, 3, subject="WBS-API")
    append(tenant, 2, subject="WBS-OTHER")
    checkpoint(tenant)
    auditor = {"Authorization": official_token(audit_app, tenant, "auditor")}
    base = f"/t/{tenant.slug}/api/v1/audit"

    resp = client.get(f"{base}?subject=WBS-API", headers=auditor)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    entries = resp.json["entries"]
    assert [e["event_id"] for e in entries] == ids and [e["seq"] for e in entries] == [1, 2, 3]
    assert entries[1]["prev_hash"] == entries[0]["hash"] and len(entries[0]["digest"]) == 64

    cps = client.get(f"{base}/checkpoints", headers=auditor)
    assert cps.status_code == 200
    (cp,) = cps.json["checkpoints"]
    key = client.get(f"{base}/public-key")  # public: anyone may check a published head
    assert key.status_code == 200 and key.json["algorithm"] == "Ed25519"
    pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.json["public_key"]))
    pub.verify(
        base64.b64decode(cp["signature"]),
        chain.checkpoint_message(str(tenant.id), cp["seq"], cp["head_hash"], cp["time"]),
    )
    assert cp["seq"] == 5

    assert client.get(f"{base}?subject=WBS-API").status_code == 401
    other = {"Authorization": official_token(audit_app, tenant, "wbs_investigator")}
    assert client.get(f"{base}?subject=WBS-API", headers=other).status_code == 403
    assert client.get(f"{base}/checkpoints", headers=other).status_code == 403
    assert client.get(base, headers=auditor).status_code == 422  # subject is required
    assert client.post(f"/t/{tenant.slug}/api/v1/auth/token", json={}).status_code == 404
    foreign = {"Authorization": official_token(audit_app, fresh_tenant("fx"), "auditor")}
    assert client.get(f"{base}?subject=WBS-API", headers=foreign).status_code == 404


# --- the workers as `make run` starts them ----------------------------------------------


def test_the_relay_and_consumer_commands_run_publish_serve_metrics_and_stop_on_sigterm(tenant):
    import os
    import signal
    import socket
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    replika = str(Path(sys.executable).parent / "replika")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "AUDIT_CHECKPOINT_SECONDS": "1"}
    procs = [
        subprocess.Popen(
            [replika, "relay", "hibah_bansos", "--metrics-port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [replika, "audit", "consume"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        ),
    ]
    try:
        ids = emit("hibah_bansos", tenant, [("HB-P", "applied"), ("HB-P", "verified")])
        wait_until(lambda: [r.event_id for r in ledger_rows(tenant)] == ids, 90, "the ledger")
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        assert b'replika_outbox_backlog{service="hibah_bansos"}' in body
        from shared.db import service_engine

        with service_engine("audit", migration=True).connect() as conn:

            def signed() -> bool:
                max_seq = "select max(seq) from audit_checkpoints where tenant_id = :t"
                return conn.execute(text(max_seq), {"t": tenant.id}).scalar() == 2

            wait_until(signed, 30, "the timer's checkpoint")
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        outputs = [p.communicate(timeout=60)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all("Traceback" not in o for o in outputs), outputs
