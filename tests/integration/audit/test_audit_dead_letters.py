"""The ledger trusts only what it can prove: records straight to the topic (forged, unsigned,
poisoned) become dead letters, never chain entries, and never stop the stream; an operator
re-drives one after the fix. Real Kafka, real PostgreSQL."""

from __future__ import annotations

import copy
import json
import logging
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from prometheus_client import REGISTRY

from tests.support.eventing import (
    ROOT,
    consumer,
    emit,
    fresh_tenant,
    in_thread,
    ledger_rows,
    relay,
    wait_until,
)


@pytest.fixture
def tenant(stack, demo_tenants):
    return fresh_tenant("dl")


def cli(*args: str):
    from operations.cli import main

    return CliRunner().invoke(main, list(args))


def unapplied_tenant():
    """A city's configuration that no database knows yet (applied later, as a fix)."""
    from shared.tenant_config import parse

    data = copy.deepcopy(yaml.safe_load((ROOT / "tenants" / "cimahi.yaml").read_text()))
    data.pop("id", None)
    data["slug"] = f"late-{uuid.uuid4().hex[:10]}"
    return parse(data, "test")


def signed_event(service: str, tenant, subject: str, **changes) -> dict:
    from shared import event_signing, events

    event = events.build(
        service, "test.thing.changed.v1", tenant, subject, "system", {"state": "x", "n": 0}
    )
    event.update(changes)
    return event_signing.sign(service, event)


def produce(records: list[tuple[str, bytes, bytes]]) -> list[tuple[str, int, int]]:
    """Send (topic, key, value) straight to the broker with the topic's relay credentials (the
    most a forger who stole them could do: without credentials the broker refuses); where they
    landed."""
    from kafka import KafkaProducer

    from shared.settings import kafka_client_config

    producers: dict[str, KafkaProducer] = {}
    try:
        metas = []
        for topic, key, value in records:
            service = topic.removesuffix(".events")
            if service not in producers:
                producers[service] = KafkaProducer(
                    **kafka_client_config(f"relay-{service}"), acks="all"
                )
            metas.append(producers[service].send(topic, key=key, value=value).get(timeout=30))
    finally:
        for producer in producers.values():
            producer.close(timeout=5)
    return [(m.topic, m.partition, m.offset) for m in metas]


def letters_at(places: list[tuple[str, int, int]]) -> dict[tuple[str, int, int], object]:
    from services.audit import dead_letters
    from shared.db import service_engine, session_factory

    with session_factory(service_engine("audit"))() as session:
        rows = dead_letters.listing(session, include_settled=True)
    wanted = set(places)
    return {
        (r.topic, r.partition, r.offset): r
        for r in rows
        if (r.topic, r.partition, r.offset) in wanted
    }


def dead_letter_count(reason: str) -> float:
    return REGISTRY.get_sample_value("replika_audit_dead_letters_total", {"reason": reason}) or 0.0


def test_one_poisoned_record_then_1000_good_ones_all_in_the_ledger(tenant, caplog):
    caplog.set_level(logging.INFO)
    ghost = unapplied_tenant()  # signed by the real service, but no such city in the ledger
    from shared.tenancy import Tenant

    poison = signed_event(
        "whistleblowing", Tenant(ghost.id, ghost.slug), "WBS-POISON-unique-marker"
    )
    [place] = produce(
        [
            (
                "whistleblowing.events",
                f"{ghost.slug}:WBS-POISON".encode(),
                json.dumps(poison).encode(),
            )
        ]
    )
    expected: set[str] = set()
    for batch in range(10):
        expected |= set(
            emit("whistleblowing", tenant, [(f"WBS-G{i % 7}", f"s{batch}-{i}") for i in range(100)])
        )
    before = dead_letter_count("unknown_tenant")
    audit = consumer()
    with in_thread(relay("whistleblowing"), "relay-wb"), in_thread(audit, "audit"):
        took = wait_until(lambda: len(ledger_rows(tenant)) >= 1000, 180, "1,000 good events")
        wait_until(lambda: letters_at([place]), 30, "the dead letter")
    print(f"\n1 poisoned + 1,000 good records: all 1,000 in the ledger in {took:.1f} s")
    rows = ledger_rows(tenant)
    assert {r.event_id for r in rows} == expected and len(rows) == 1000
    letter = letters_at([place])[place]
    assert letter.reason == "unknown_tenant" and letter.event_id == poison["id"]
    assert letter.tenant == ghost.slug and len(letter.record_sha256) == 64
    assert dead_letter_count("unknown_tenant") >= before + 1
    assert any(
        r.levelno == logging.ERROR and f"@{place[2]}: unknown_tenant" in r.getMessage()
        for r in caplog.records
    )
    assert not any("unique-marker" in r.getMessage() for r in caplog.records)  # no content
    assert cli("audit", "verify", "--tenant", tenant.slug).exit_code == 0


def test_forged_records_are_dead_letters_not_entries_and_verify_still_passes(tenant):
    from shared.tenancy import Tenant

    real = emit("whistleblowing", tenant, [("WBS-REAL", "submitted")])
    real += emit("hibah_bansos", tenant, [("HB-REAL", "applied")])
    official = "official:" + uuid.uuid4().hex[:16]  # a made-up official
    backdated = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"/replika/whistleblowing/{tenant.slug}",
        "type": "whistleblowing.identity.viewed.v1",
        "subject": "WBS-REAL",
        "time": "2024-01-01T00:00:00.000000+00:00",
        "datacontenttype": "application/json",
        "tenant": tenant.slug,
        "actor": official,
        "data": {},
    }
    genuine = signed_event("whistleblowing", tenant, "WBS-F")
    edited = dict(genuine, actor=official)  # a real signature, the content changed after
    from shared import event_signing

    stranger = event_signing.load_signer(
        "whistleblowing",
        Path(os.environ["REPLIKA_TEST_STATE"]) / f"stranger-{uuid.uuid4().hex[:6]}",
    )
    self_signed = stranger.sign(dict(backdated, id=str(uuid.uuid4())))
    naive = signed_event("whistleblowing", tenant, "WBS-N", time="2026-11-22T10:00:00.000001")
    late = unapplied_tenant()
    for_late = signed_event("whistleblowing", Tenant(late.id, late.slug), "WBS-LATE")
    key = f"{tenant.slug}:WBS-F".encode()
    forged = {
        "missing_signature": ("whistleblowing.events", backdated),
        "bad_signature": ("whistleblowing.events", edited),
        "unknown_key": ("whistleblowing.events", self_signed),
        "wrong_service": ("hibah_bansos.events", genuine),  # whistleblowing's key, hb's topic
        "not_json": ("whistleblowing.events", b"\x00\xffnot json"),
        "naive_time": ("whistleblowing.events", naive),
        "unknown_tenant": ("whistleblowing.events", for_late),
    }
    places = produce(
        [
            (topic, key, value if isinstance(value, bytes) else json.dumps(value).encode())
            for topic, value in forged.values()
        ]
    )
    with (
        in_thread(relay("whistleblowing"), "relay-wb"),
        in_thread(relay("hibah_bansos"), "relay-hb"),
        in_thread(consumer(), "audit"),
    ):
        wait_until(lambda: len(ledger_rows(tenant)) >= 2, 90, "the real events")
        wait_until(lambda: len(letters_at(places)) == len(places), 60, "the dead letters")
    assert sorted(r.event_id for r in ledger_rows(tenant)) == sorted(real)
    found = letters_at(places)
    reasons = {name: found[place].reason for name, place in zip(forged, places, strict=True)}
    assert reasons == {
        "missing_signature": "missing_signature",
        "bad_signature": "bad_signature",
        "unknown_key": "unknown_key",
        "wrong_service": "unknown_key",  # whistleblowing's key is not one of hibah_bansos's
        "not_json": "not_json",
        "naive_time": "naive_time",
        "unknown_tenant": "unknown_tenant",
    }
    verified = cli("audit", "verify", "--tenant", tenant.slug)
    assert verified.exit_code == 0 and "OK, 2 entries" in verified.output, verified.output

    listed = cli("audit", "dead-letters")
    assert listed.exit_code == 0
    late_letter = found[places[list(forged).index("unknown_tenant")]]
    bad_letter = found[places[list(forged).index("bad_signature")]]
    [late_line] = [x for x in listed.output.splitlines() if x.startswith(f"{late_letter.id}\t")]
    assert "\tunknown_tenant\topen\t" in late_line
    assert official not in listed.output  # listings never show a record's content

    # re-driving before the fix: still refused, and recorded
    refused = cli("audit", "redrive", str(late_letter.id))
    assert refused.exit_code == 1 and "still refused: unknown_tenant" in refused.output
    # the fix: the city is applied to every database; the dead letter re-driven joins the chain
    from operations import tenant_apply

    tenant_apply.apply(late)
    redriven = cli("audit", "redrive", str(late_letter.id))
    assert redriven.exit_code == 0 and "appended" in redriven.output, redriven.output
    assert [r.event_id for r in ledger_rows(Tenant(late.id, late.slug))] == [for_late["id"]]
    again = cli("audit", "redrive", str(late_letter.id))
    assert again.exit_code == 1 and "already re-driven" in again.output
    open_ids = [x.split("\t")[0] for x in cli("audit", "dead-letters").output.splitlines()]
    assert str(late_letter.id) not in open_ids
    [settled] = [
        x
        for x in cli("audit", "dead-letters", "--all").output.splitlines()
        if x.startswith(f"{late_letter.id}\t")
    ]
    assert "re-driven (appended)" in settled
    forged_again = cli("audit", "redrive", str(bad_letter.id))  # a forgery stays out
    assert forged_again.exit_code == 1 and "bad_signature" in forged_again.output
    assert cli("audit", "verify", "--tenant", late.slug).exit_code == 0


def test_the_consumer_and_api_run_on_the_audit_database_s_settings_alone(tenant, tmp_path):
    """Least privilege: no other database, no services' private keys, no token secret. (The
    consumer still needs the keyring: its checkpoint keys are wrapped by the deployment's master
    key, which `replika keys rotate-master` re-wraps with everything else.)"""
    from shared import event_signing

    public = tmp_path / "event-keys"
    shutil.copytree(event_signing.public_dir(), public / "public")
    assert not list(public.rglob("*.key.json"))
    only = {
        "PATH": os.environ["PATH"],
        "AUDIT_DATABASE_URL": os.environ["AUDIT_DATABASE_URL"],
        "KAFKA_BOOTSTRAP_SERVERS": os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        **{  # the broker's protocol and CA, and the consumer group's own password only
            k: v
            for k, v in os.environ.items()
            if k in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SSL_CAFILE", "KAFKA_SASL_MECHANISM")
        },
        "KAFKA_AUDIT_CONSUMER_PASSWORD": os.environ["KAFKA_AUDIT_CONSUMER_PASSWORD"],
        "REPLIKA_MASTER_KEY_FILE": os.environ["REPLIKA_MASTER_KEY_FILE"],
        "REPLIKA_EVENT_KEYS_DIR": str(public),
        "REPLIKA_AUDIT_ANCHOR_DIR": str(tmp_path / "anchors"),
        "AUDIT_CHECKPOINT_SECONDS": "1",
    }
    ids = emit("hibah_bansos", tenant, [("HB-LP", "applied"), ("HB-LP", "verified")])
    relay("hibah_bansos").drain()
    replika = str(Path(sys.executable).parent / "replika")
    proc = subprocess.Popen(
        [replika, "audit", "consume"], env=only, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    heads = tmp_path / "anchors" / f"{tenant.slug}.heads.jsonl"
    try:
        wait_until(lambda: [r.event_id for r in ledger_rows(tenant)] == ids, 90, "the ledger")
        wait_until(heads.exists, 30, "the anchored head")
    finally:
        proc.terminate()
        output = proc.communicate(timeout=60)[0].decode()
    assert proc.returncode == 0 and "Traceback" not in output, output
    verified = cli("audit", "verify", "--tenant", tenant.slug, "--heads", str(heads))
    assert verified.exit_code == 0 and "pinned key" in verified.output, verified.output

    api = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from services.audit.app import create_app; "
            "c = create_app().test_client(); "
            f"r = c.get('/t/{tenant.slug}/api/v1/audit/public-key'); "
            "print(r.status_code, r.json['algorithm'])",
        ],
        env={
            "PATH": os.environ["PATH"],
            "AUDIT_DATABASE_URL": os.environ["AUDIT_DATABASE_URL"],
            "REPLIKA_SECRET_KEY": os.environ["REPLIKA_SECRET_KEY"],
        },
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert api.returncode == 0 and api.stdout.split() == ["200", "Ed25519"], api.stderr
