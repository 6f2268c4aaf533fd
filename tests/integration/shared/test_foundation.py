"""Foundation: health, readiness, the real broker round trip, the database through a service."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text


@pytest.mark.parametrize("client_name", ["wb", "hb"])
def test_healthz_says_the_process_is_alive(request, client_name):
    client = request.getfixturevalue(client_name)
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json["status"] == "ok"


@pytest.mark.parametrize("client_name", ["wb", "hb"])
def test_readyz_is_200_when_database_and_kafka_answer(request, client_name):
    client = request.getfixturevalue(client_name)
    resp = client.get("/readyz")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert set(resp.json["checks"]) >= {"database", "kafka"}


def test_readyz_is_503_naming_kafka_when_the_broker_does_not_answer(wb, monkeypatch):
    import socket

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", dead)
    resp = wb.get("/readyz")
    assert resp.status_code == 503
    assert resp.mimetype == "application/problem+json"
    assert resp.json["failed"] == ["kafka"]
    assert "kafka" in resp.json["detail"]


def test_a_record_produced_to_the_real_broker_is_consumed_back(kafka_bootstrap):
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic

    from shared.settings import kafka_client_config

    config = kafka_client_config("admin", kafka_bootstrap)
    topic = f"test.roundtrip.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(**config)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    marker = uuid.uuid4().hex.encode()
    producer = KafkaProducer(**config, acks="all")
    producer.send(topic, key=b"k", value=marker).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(
        topic,
        **config,
        group_id=f"g-{topic}",
        auto_offset_reset="earliest",
        consumer_timeout_ms=20000,
    )
    seen = False
    for message in consumer:  # stops after 20 s without a message
        if message.value == marker:
            seen = True
            break
    consumer.close()
    assert seen


def test_declared_topics_exist_on_the_broker(kafka_bootstrap):
    from kafka.admin import KafkaAdminClient

    from infra.topics import declared_topics
    from shared.settings import kafka_client_config

    admin = KafkaAdminClient(**kafka_client_config("admin", kafka_bootstrap))
    names = set(admin.list_topics())
    admin.close()
    assert {t["name"] for t in declared_topics()} <= names


@pytest.mark.parametrize("client_name", ["wb", "hb"])
def test_service_reads_its_tenant_from_postgres(request, client_name):
    client = request.getfixturevalue(client_name)
    resp = client.get("/t/cimahi/api/v1/tenant")
    assert resp.status_code == 200
    assert resp.json["slug"] == "cimahi"
    assert resp.json["display_name"] == "Kota Cimahi"


def test_unknown_tenant_is_a_404_problem(wb):
    resp = wb.get("/t/atlantis/api/v1/tenant")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"


def test_service_role_owns_no_tables_and_is_no_superuser(stack):
    from shared.settings import SERVICES, env_prefix

    for svc in SERVICES:
        engine = create_engine(stack[f"{env_prefix(svc)}_DATABASE_URL"])
        with engine.connect() as conn:
            role = conn.execute(
                text("select rolsuper, rolbypassrls from pg_roles where rolname = current_user")
            ).one()
            owned = conn.execute(
                text("select count(*) from pg_tables where tableowner = current_user")
            ).scalar()
        engine.dispose()
        assert role == (False, False), svc
        assert owned == 0, svc


def test_security_headers_on_every_response(wb):
    resp = wb.get("/healthz")
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "max-age" in resp.headers["Strict-Transport-Security"]


def test_unknown_route_is_a_problem_document(wb):
    resp = wb.get("/no/such/route")
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
