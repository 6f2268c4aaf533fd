"""Create the topics declared in `infra/topics.yaml`, idempotently."""

from __future__ import annotations

from pathlib import Path

import yaml

TOPICS_FILE = Path(__file__).parent / "topics.yaml"


def declared_topics() -> list[dict]:
    return yaml.safe_load(TOPICS_FILE.read_text())["topics"]


def topic_for(service: str) -> str:
    return f"{service}.events"


def ensure_topics(bootstrap: str) -> list[str]:
    """Create missing topics; returns the names created now (empty when all existed)."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    try:
        existing = set(admin.list_topics())
        created = []
        for t in declared_topics():
            if t["name"] in existing:
                continue
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            t["name"],
                            t["partitions"],
                            t["replication_factor"],
                            topic_configs=t.get("config", {}),
                        )
                    ]
                )
                created.append(t["name"])
            except TopicAlreadyExistsError:
                pass  # another process won the race: fine
        return created
    finally:
        admin.close()
