"""Kafka client settings from one place, and the topic declaration per environment."""

from __future__ import annotations

import pytest

from infra import kafka
from infra.topics import declared_topics
from shared.settings import KAFKA_ROLES, kafka_client_config, kafka_password_var


def test_every_role_has_its_own_password_variable():
    names = {kafka_password_var(role) for role in KAFKA_ROLES}
    assert len(names) == len(KAFKA_ROLES)
    assert kafka_password_var("relay-hibah_bansos") == "KAFKA_RELAY_HIBAH_BANSOS_PASSWORD"
    with pytest.raises(ValueError):
        kafka_password_var("intruder")


def test_sasl_over_tls_is_the_default_and_a_missing_password_is_an_error(monkeypatch):
    for var in ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SSL_CAFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("KAFKA_AUDIT_CONSUMER_PASSWORD", raising=False)
    with pytest.raises(RuntimeError, match="KAFKA_AUDIT_CONSUMER_PASSWORD"):
        kafka_client_config("audit-consumer")
    monkeypatch.setenv("KAFKA_AUDIT_CONSUMER_PASSWORD", "s3cret")
    monkeypatch.setenv("KAFKA_SSL_CAFILE", "/tmp/ca.pem")
    config = kafka_client_config("audit-consumer", "broker:9093")
    assert config == {
        "bootstrap_servers": "broker:9093",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "replika-audit-consumer",
        "sasl_plain_password": "s3cret",
        "ssl_cafile": "/tmp/ca.pem",
        "ssl_check_hostname": True,
    }


def test_plaintext_must_be_asked_for_and_carries_no_credentials(monkeypatch):
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    monkeypatch.setenv("KAFKA_ADMIN_PASSWORD", "s3cret")
    config = kafka_client_config("admin", "127.0.0.1:9092")
    assert config == {"bootstrap_servers": "127.0.0.1:9092", "security_protocol": "PLAINTEXT"}
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SSL-ish")
    with pytest.raises(RuntimeError, match="KAFKA_SECURITY_PROTOCOL"):
        kafka_client_config("admin")


def test_a_java_client_gets_the_same_principal_and_trust():
    props = kafka.java_client_properties(
        {
            "bootstrap_servers": "127.0.0.1:1",
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": "replika-audit-consumer",
            "sasl_plain_password": "pw",
            "ssl_cafile": "/x/ca.pem",
        }
    )
    assert "security.protocol=SASL_SSL\n" in props
    assert 'ScramLoginModule required username="replika-audit-consumer" password="pw";' in props
    assert "ssl.truststore.location=/x/ca.pem\n" in props
    with pytest.raises(ValueError):
        kafka.java_client_properties(
            {
                "bootstrap_servers": "b",
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "PLAIN",
                "sasl_plain_username": "u",
                "sasl_plain_password": 'x" user_admin="x',
            }
        )


def test_topics_have_values_per_environment():
    local = {t["name"]: t for t in declared_topics("local")}
    production = {t["name"]: t for t in declared_topics("production")}
    assert set(local) == set(production) == {"whistleblowing.events", "hibah_bansos.events"}
    for name in local:
        assert local[name]["replication_factor"] == 1
        assert local[name]["config"]["min.insync.replicas"] == "1"
        assert production[name]["replication_factor"] == 3
        assert production[name]["config"]["min.insync.replicas"] == "2"
        assert production[name]["partitions"] == local[name]["partitions"]
        assert production[name]["config"]["retention.ms"] == local[name]["config"]["retention.ms"]
    with pytest.raises(RuntimeError, match="KAFKA_TOPICS_ENVIRONMENT"):
        declared_topics("staging")


def test_kafka_python_sums_record_batches_with_the_c_crc32c():
    # the pure-Python fallback costs about 100 us per event in the relay and in each consumer
    import crc32c
    from kafka.record import util

    assert util._crc32c is crc32c.crc32c
    data = memoryview(b"123456789")
    assert util.calc_crc32c(data) == 0xE3069283  # the CRC-32C check value (RFC 3720)
