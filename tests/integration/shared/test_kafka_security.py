"""Kafka is authenticated and authorised (issue 15, item 3) and its records follow the
CloudEvents Kafka binding (item 4), on the real broker `make test` starts (SASL_SSL, SCRAM).

A client without credentials is refused; each principal may do only its own part: a relay
writes its own topic, the audit consumer reads, the health principal only connects. The
official CloudEvents Java SDK decodes every record the relays send."""

from __future__ import annotations

import json
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from shared.relay import CONTENT_TYPE
from shared.settings import kafka_client_config
from tests.support.eventing import emit, fresh_tenant, records_on_topic, relay

WB_TOPIC, HB_TOPIC = "whistleblowing.events", "hibah_bansos.events"
FAIL_FAST = {"max_block_ms": 5000, "request_timeout_ms": 5000, "bootstrap_timeout_ms": 5000}


@pytest.fixture(scope="module")
def tenant(stack):
    return fresh_tenant("kafka")


def forged(tenant) -> tuple[bytes, bytes]:
    """A made-up identity view of a made-up official: what an attacker would inject."""
    event = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "type": "whistleblowing.identity.viewed.v1",
        "source": f"/replika/whistleblowing/{tenant.slug}",
        "subject": "WBS-FORGED",
        "time": "2020-01-01T00:00:00+00:00",
        "tenant": tenant.slug,
        "data": {},
    }
    return f"{tenant.slug}:WBS-FORGED".encode(), json.dumps(event).encode()


def produce(config: dict, topic: str, key: bytes, value: bytes) -> None:
    producer = KafkaProducer(**config, acks="all", **FAIL_FAST)
    try:
        producer.send(topic, key=key, value=value).get(timeout=10)
    finally:
        producer.close(timeout=2)


def no_credentials(kafka_bootstrap: str) -> list[dict]:
    """Clients that reach the broker without SASL: plaintext, and TLS trusting the broker."""
    with_tls = kafka_client_config("health", kafka_bootstrap)
    return [
        {"bootstrap_servers": kafka_bootstrap, "security_protocol": "PLAINTEXT"},
        {
            "bootstrap_servers": kafka_bootstrap,
            "security_protocol": "SSL",
            "ssl_cafile": with_tls["ssl_cafile"],
        },
    ]


def test_the_broker_requires_sasl_over_tls(kafka_bootstrap):
    config = kafka_client_config("health", kafka_bootstrap)
    assert config["security_protocol"] == "SASL_SSL"
    assert config["sasl_mechanism"] == "SCRAM-SHA-512"


@pytest.mark.parametrize("which", ["plaintext", "tls-without-sasl"])
def test_a_producer_without_credentials_cannot_produce(kafka_bootstrap, tenant, which):
    config = no_credentials(kafka_bootstrap)[["plaintext", "tls-without-sasl"].index(which)]
    key, value = forged(tenant)
    with pytest.raises(KafkaError):
        produce(config, WB_TOPIC, key, value)
    assert records_on_topic(WB_TOPIC, f"{tenant.slug}:WBS-FORGED") == []


def test_a_wrong_password_is_refused(kafka_bootstrap, tenant):
    config = dict(kafka_client_config("relay-whistleblowing", kafka_bootstrap))
    config["sasl_plain_password"] = "not-the-password"
    with pytest.raises(KafkaError):
        produce(config, WB_TOPIC, *forged(tenant))
    assert records_on_topic(WB_TOPIC, f"{tenant.slug}:WBS-FORGED") == []


def refused_for_authorization(exc: BaseException) -> bool:
    """Topic or cluster authorization failed (an idempotent producer with no WRITE anywhere
    is stopped at InitProducerId, before it names a topic)."""
    return "AuthorizationFailed" in f"{type(exc).__name__} {exc}"


@pytest.mark.parametrize("role", ["relay-hibah_bansos", "audit-consumer", "health"])
def test_only_the_whistleblowing_relay_may_write_its_topic(kafka_bootstrap, tenant, role):
    with pytest.raises(KafkaError) as refused:
        produce(kafka_client_config(role, kafka_bootstrap), WB_TOPIC, *forged(tenant))
    assert refused_for_authorization(refused.value), refused.value
    assert records_on_topic(WB_TOPIC, f"{tenant.slug}:WBS-FORGED") == []


def test_the_whistleblowing_relay_may_not_write_the_hibah_bansos_topic(kafka_bootstrap, tenant):
    with pytest.raises(KafkaError) as refused:
        produce(kafka_client_config("relay-whistleblowing", kafka_bootstrap), HB_TOPIC, b"k", b"{}")
    assert refused_for_authorization(refused.value), refused.value


def records_read_as(role: str, kafka_bootstrap: str, topic: str) -> int | str:
    """How many records `role` reads from the start of `topic` by assignment in a few polls,
    or "refused" when the client raises an authorization error."""
    consumer = KafkaConsumer(**kafka_client_config(role, kafka_bootstrap), enable_auto_commit=False)
    try:
        parts = [TopicPartition(topic, p) for p in range(6)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        n = 0
        for _ in range(6):
            n += sum(len(r) for r in consumer.poll(timeout_ms=500).values())
        return n
    except KafkaError as exc:
        assert refused_for_authorization(exc), exc
        return "refused"
    finally:
        consumer.close()


@pytest.mark.parametrize("role", ["relay-whistleblowing", "relay-hibah_bansos", "health"])
def test_only_the_audit_consumer_may_read(kafka_bootstrap, role):
    city = fresh_tenant("read")
    emit("whistleblowing", city, [("WBS-R-1", "submitted")])
    relay("whistleblowing").drain()
    assert records_read_as("audit-consumer", kafka_bootstrap, WB_TOPIC) not in (0, "refused")
    assert records_read_as(role, kafka_bootstrap, WB_TOPIC) in (0, "refused")


def test_the_audit_consumer_may_join_only_its_own_group(kafka_bootstrap):
    from kafka.errors import GroupAuthorizationFailedError

    consumer = KafkaConsumer(
        WB_TOPIC,
        **kafka_client_config("audit-consumer", kafka_bootstrap),
        group_id="not-audit",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
    )
    try:
        with pytest.raises(GroupAuthorizationFailedError):
            for _ in range(10):
                consumer.poll(timeout_ms=1000)
    finally:
        consumer.close()


def test_relay_records_carry_the_cloudevents_structured_content_type(stack):
    city = fresh_tenant("ce")
    emit("whistleblowing", city, [("WBS-CE-1", "submitted")])
    relay("whistleblowing").drain()
    [(_key, event, _p, _o, headers)] = records_on_topic(
        WB_TOPIC, f"{city.slug}:", with_headers=True
    )
    assert headers == {"content-type": b"application/cloudevents+json; charset=UTF-8"}
    assert CONTENT_TYPE == "application/cloudevents+json; charset=UTF-8"
    assert event["specversion"] == "1.0"


def test_the_java_cloudevents_sdk_decodes_every_record_of_both_topics(stack):
    from tests.support.java_cloudevents import read_topics

    city = fresh_tenant("java")
    ids = emit("whistleblowing", city, [(f"WBS-J-{i}", "submitted") for i in range(5)])
    ids += emit("hibah_bansos", city, [(f"HB-J-{i}", "submitted") for i in range(5)])
    relay("whistleblowing").drain()
    relay("hibah_bansos").drain()
    records = read_topics("audit-consumer", [WB_TOPIC, HB_TOPIC])
    ours = [r for r in records if r.key.startswith(f"{city.slug}:")]
    assert {r.topic for r in ours} == {WB_TOPIC, HB_TOPIC}
    assert [r for r in ours if not r.ok] == []
    assert sorted(r.detail[0] for r in ours) == sorted(ids)
    assert {r.detail[1] for r in ours} == {"test.thing.changed.v1"}
    assert {r.detail[2] for r in ours} == {
        f"/replika/whistleblowing/{city.slug}",
        f"/replika/hibah_bansos/{city.slug}",
    }
    # and every record on either topic that says it is a structured CloudEvent (the relays'
    # records: other tests also put forged or broken records there on purpose) decodes too
    by_position = {(r.topic, r.partition, r.offset): r for r in records}
    read_up_to: dict[tuple[str, int], int] = {}
    for r in records:
        read_up_to[r.topic, r.partition] = max(r.offset, read_up_to.get((r.topic, r.partition), -1))
    structured = [  # what the Java read could see (later records may have come since)
        (t, p, o)
        for t, p, o in _structured_positions([WB_TOPIC, HB_TOPIC])
        if o <= read_up_to.get((t, p), -1)
    ]
    assert structured and set(structured) <= set(by_position)
    assert [p for p in structured if not by_position[p].ok] == []


def _structured_positions(topics: list[str]) -> list[tuple[str, int, int]]:
    """(topic, partition, offset) of every record whose content-type header is the binding's."""
    consumer = KafkaConsumer(**kafka_client_config("admin"), enable_auto_commit=False)
    try:
        parts = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t)]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        found = []
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            for recs in consumer.poll(timeout_ms=1000).values():
                found += [
                    (r.topic, r.partition, r.offset)
                    for r in recs
                    if dict(r.headers).get("content-type", b"").decode() == CONTENT_TYPE
                ]
        return found
    finally:
        consumer.close()


def test_ensure_topics_finds_no_drift_on_the_declared_topics(kafka_bootstrap):
    from infra.topics import ensure_topics

    report = ensure_topics(kafka_client_config("admin", kafka_bootstrap))
    assert report.created == [] and report.drift == []


def test_ensure_topics_reports_drift_instead_of_ignoring_it(kafka_bootstrap):
    from kafka.admin import KafkaAdminClient, NewTopic

    from infra.topics import drift

    name = f"test.drift.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**kafka_client_config("admin", kafka_bootstrap))
    try:
        admin.create_topics([NewTopic(name, 2, 1, topic_configs={"retention.ms": "60000"})])
        declared = {
            "name": name,
            "partitions": 3,
            "replication_factor": 1,
            "config": {"retention.ms": "2592000000", "cleanup.policy": "delete"},
        }
        found = drift(admin, [declared])
    finally:
        admin.delete_topics([name])
        admin.close()
    assert found == [
        f"{name}: 2 partitions on the broker, 3 declared",
        f"{name}: retention.ms=60000 on the broker, 2592000000 declared",
    ]
