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
    from kafka import KafkaAdminClient
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=timeout_ms,
                                 reconnect_backoff_max_ms=500)
        try:
            admin.describe_cluster()
        finally:
            admin.close()
        return None
    except Exception as exc:
        return type(exc).__name__
