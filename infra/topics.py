"""Create the topics declared in `infra/topics.yaml`, idempotently, and report drift.

A declared topic that exists already is compared with the broker (partitions, replication
factor, the declared configs); differences are reported, never applied silently: the operator
decides (more partitions would move keys, and so one case's order, between partitions).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

TOPICS_FILE = Path(__file__).parent / "topics.yaml"
ENVIRONMENT_VAR = "KAFKA_TOPICS_ENVIRONMENT"


def environment() -> str:
    return os.environ.get(ENVIRONMENT_VAR, "local").strip() or "local"


def declared_topics(env: str | None = None) -> list[dict]:
    """The topics of `env` (default: $KAFKA_TOPICS_ENVIRONMENT or "local"), each with its
    `name`, `partitions`, `replication_factor` and merged `config`."""
    data = yaml.safe_load(TOPICS_FILE.read_text())
    env = env or environment()
    if env not in data["environments"]:
        raise RuntimeError(
            f"{ENVIRONMENT_VAR}={env!r}: not one of {', '.join(data['environments'])} "
            f"in {TOPICS_FILE.name}"
        )
    profile = data["environments"][env]
    return [
        {
            "name": t["name"],
            "partitions": t["partitions"],
            "replication_factor": profile["replication_factor"],
            "config": {**t.get("config", {}), **profile.get("config", {})},
        }
        for t in data["topics"]
    ]


def topic_for(service: str) -> str:
    return f"{service}.events"


@dataclass
class TopicsReport:
    created: list[str] = field(default_factory=list)
    drift: list[str] = field(default_factory=list)  # "topic: what differs"


def ensure_topics(admin_config: dict, env: str | None = None) -> TopicsReport:
    """Create missing topics and compare existing ones with the declaration.

    `admin_config` is shared.settings.kafka_client_config("admin")."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    report = TopicsReport()
    admin = KafkaAdminClient(**admin_config, request_timeout_ms=15000)
    try:
        existing = set(admin.list_topics())
        declared = declared_topics(env)
        for t in declared:
            if t["name"] in existing:
                continue
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            t["name"],
                            t["partitions"],
                            t["replication_factor"],
                            topic_configs=t["config"],
                        )
                    ]
                )
                report.created.append(t["name"])
            except TopicAlreadyExistsError:
                pass  # another process won the race: fine
        old = [t for t in declared if t["name"] in existing]
        if old:
            report.drift = drift(admin, old)
        return report
    finally:
        admin.close()


def drift(admin, declared: list[dict]) -> list[str]:
    """What differs between the broker and `declared` (existing topics only)."""
    from kafka.admin import ConfigResource, ConfigResourceType

    found: list[str] = []
    described = {d["name"]: d for d in admin.describe_topics([t["name"] for t in declared])}
    for t in declared:
        partitions = described[t["name"]]["partitions"]
        if len(partitions) != t["partitions"]:
            found.append(
                f"{t['name']}: {len(partitions)} partitions on the broker, {t['partitions']} declared"
            )
        factors = sorted({len(p["replica_nodes"]) for p in partitions})
        if factors != [t["replication_factor"]]:
            shown = "/".join(map(str, factors))
            found.append(
                f"{t['name']}: replication factor {shown} on the broker, "
                f"{t['replication_factor']} declared"
            )
    configs = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, t["name"]) for t in declared], config_filter="all"
    )["topic"]
    for t in declared:
        actual = configs.get(t["name"], {})
        for key, value in sorted(t["config"].items()):
            have = (actual.get(key) or {}).get("value")
            if have != str(value):
                found.append(f"{t['name']}: {key}={have} on the broker, {value} declared")
    return found
