"""Readiness checks: does the process's database and Kafka answer right now?"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine


def check_database(engine: Engine) -> str | None:
    """None when the database answers, else a short reason (never credentials)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return None
    except Exception as exc:  # any failure means not ready; the reason goes to the operator
        return type(exc).__name__


def check_kafka(bootstrap: str, timeout_ms: int = 2000) -> str | None:
    """None when the brokers answer an authenticated metadata request as the `health`
    principal (which no ACL allows anything more), else a short reason."""
    import socket

    from kafka import KafkaAdminClient

    reachable = False
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:  # fail fast on a refused connection instead of waiting out client retries
            socket.create_connection((host, int(port)), timeout=timeout_ms / 1000).close()
            reachable = True
            break
        except OSError:
            continue
    if not reachable:
        return "ConnectionRefused"
    try:
        from shared.settings import kafka_client_config

        admin = KafkaAdminClient(
            **kafka_client_config("health", bootstrap),
            request_timeout_ms=timeout_ms,
            reconnect_backoff_max_ms=500,
        )
        try:
            admin.describe_cluster()
        finally:
            admin.close()
        return None
    except Exception as exc:
        return type(exc).__name__
