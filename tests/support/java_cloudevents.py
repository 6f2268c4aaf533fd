"""Read the events topics with the official CloudEvents Java SDK (io.cloudevents:cloudevents-kafka,
from Maven Central via infra/kafka/cloudevents/pom.xml): a consumer outside Python that follows
the Kafka protocol binding, authenticated like any other client (SASL on)."""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra import kafka
from infra.local import CACHE
from shared.settings import kafka_client_config

SOURCE = Path(kafka.__file__).parent / "kafka" / "cloudevents"


@dataclass(frozen=True)
class JavaRecord:
    topic: str
    partition: int
    offset: int
    key: str
    ok: bool
    detail: list[str]  # [id, type, source] when decoded, else [reason]


def classpath() -> str:
    """The SDK's jars (resolved once) and CheckTopics compiled against them (once per source)."""
    cache = CACHE / "cloudevents"
    libs = kafka.ensure_jars(cache, SOURCE / "pom.xml")
    classes = cache / "classes"
    source = SOURCE / "CheckTopics.java"
    stamp = classes / ".source"
    if not stamp.exists() or stamp.read_text() != source.read_text():
        classes.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["javac", "-d", str(classes), "-cp", f"{libs}/*", str(source)],
            check=True,
            capture_output=True,
        )
        stamp.write_text(source.read_text())
    return f"{libs}/*:{classes}"


def read_topics(role: str, topics: list[str]) -> list[JavaRecord]:
    """Every record of `topics`, decoded (or not) by the Java SDK's CloudEventDeserializer,
    read as the Kafka principal `role`."""
    cp = classpath()
    with tempfile.TemporaryDirectory() as tmp:
        props = Path(tmp) / "client.properties"
        fd = os.open(props, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(kafka.java_client_properties(kafka_client_config(role)))
        out = subprocess.run(
            ["java", "-Xmx256m", "-cp", cp, "CheckTopics", str(props), *topics],
            check=True,
            capture_output=True,
            text=True,
            timeout=180,
        ).stdout.splitlines()
    assert out and out[-1] == "END", out[-5:]
    records = []
    for line in out[:-1]:
        topic, partition, offset, key, verdict, *detail = line.split(" ")
        records.append(JavaRecord(topic, int(partition), int(offset), key, verdict == "OK", detail))
    return records
