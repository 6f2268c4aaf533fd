"""The local runner: `make run`, `make stop`, `make test` all come through here.

    python -m infra.local up      # provision PostgreSQL + Kafka, databases, topics, migrate
    python -m infra.local run     # up, seed demo tenants, start services and workers; Ctrl-C stops
    python -m infra.local stop    # stop, by pid, every process the runner started
    python -m infra.local test -- [pytest args]   # a throw-away stack for one pytest run

Anything already given in the environment is used instead of being provisioned:
`DATABASE_URL` (an admin URL of a server we create databases on), the per-service
`*_DATABASE_URL`s (used as they are), `KAFKA_BOOTSTRAP_SERVERS`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from infra import (
    fake_registry,
    gateway_stub,
    kafka,
    kafka_access,
    lapor_stub,
    mail_catcher,
    postgres,
    topics,
)
from shared.files import write_private
from shared.settings import (
    DATABASES,
    KAFKA_ROLES,
    LEDGER_DIRS,
    env_prefix,
    kafka_client_config,
    kafka_password_var,
    project_root,
)

ROOT = project_root()
LOCAL = ROOT / ".local"
CACHE = LOCAL / "cache"
VENV_BIN = Path(sys.executable).parent

DEFAULT_PG_PORT = 54329
DEFAULT_KAFKA_PORT = 29092
WEB_SERVICES = {
    "whistleblowing": ("WHISTLEBLOWING", 8001),
    "hibah_bansos": ("HIBAH_BANSOS", 8002),
    "audit": ("AUDIT", 8003),
}
# Long-running workers started by `run` next to the web services: (name, argv).
WORKERS: list[tuple[str, list[str]]] = [
    # Prometheus metrics (outbox backlog, oldest unpublished age) on 9101 and 9102
    (
        "relay-whistleblowing",
        [str(VENV_BIN / "replika"), "relay", "whistleblowing", "--metrics-port", "9101"],
    ),
    (
        "relay-hibah_bansos",
        [str(VENV_BIN / "replika"), "relay", "hibah_bansos", "--metrics-port", "9102"],
    ),
    ("audit-consumer", [str(VENV_BIN / "replika"), "audit", "consume"]),
    # SP4N-LAPOR! bridge: forwards, status updates, corruption reports passed on (every 15 s)
    (
        "lapor-job",
        [str(VENV_BIN / "python"), "-m", "services.whistleblowing.lapor_job", "--every", "15"],
    ),
    (
        "notifications",
        [str(VENV_BIN / "replika"), "notifications", "consume", "--metrics-port", "9103"],
    ),
    # linked cities: each city's duplicate-aid round (operations/links/cli.py)
    ("links-sync", [str(VENV_BIN / "replika"), "links", "sync", "--every", "30"]),
]
MAIL_DIR = LOCAL / "mail"  # the local mail catcher's .eml files
MESSAGES_DIR = LOCAL / "messages"  # the local WhatsApp/SMS gateway stub's JSON files


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_pair() -> int:
    """A port p such that p and p+1 are free (Kafka's broker and controller listeners)."""
    for _ in range(50):
        p = free_port()
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", p + 1))
            return p
        except OSError:
            continue
    raise RuntimeError("no free port pair")


def load_secrets(state: Path) -> dict[str, str]:
    """The runner's generated secrets (state/secrets.json, 0600); any missing one (a state
    directory from before it existed) is generated and added."""
    path = state / "secrets.json"
    values = json.loads(path.read_text()) if path.exists() else {}
    wanted = {
        **{f"db_{svc}_{kind}": 24 for svc in DATABASES for kind in ("owner", "app")},
        "secret_key": 48,
        "gateway_token": 24,
        "kafka_broker": 24,
        **{f"kafka_{role}": 24 for role in KAFKA_ROLES},
    }
    missing = {k: secrets.token_urlsafe(n) for k, n in wanted.items() if k not in values}
    if missing or not path.exists():
        values.update(missing)
        write_private(path, json.dumps(values, indent=2))
    return values


def kafka_env(sec: dict[str, str], bootstrap: str, cafile: Path) -> dict[str, str]:
    """The Kafka settings of the runner's own broker: SASL_SSL, SCRAM, every role's password."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SSL_CAFILE": str(cafile),
    }
    env.update({kafka_password_var(role): sec[f"kafka_{role}"] for role in KAFKA_ROLES})
    return env


def broker_secrets(sec: dict[str, str]) -> kafka.BrokerSecrets:
    return kafka.BrokerSecrets(sec["kafka_broker"], sec["kafka_admin"])


class Pids:
    """Every process the runner started, by pid, so that `stop` ends exactly those."""

    def __init__(self, state: Path) -> None:
        self.path = state / "pids.json"

    def load(self) -> dict[str, int]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def add(self, name: str, pid: int) -> None:
        data = self.load()
        data[name] = pid
        self.path.write_text(json.dumps(data, indent=2))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still answers kill(0); treat it as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def up(
    state: Path,
    *,
    pg_port: int = DEFAULT_PG_PORT,
    kafka_port: int = DEFAULT_KAFKA_PORT,
    quiet: bool = False,
) -> dict[str, str]:
    """Provision (or reuse) PostgreSQL, Kafka, databases, roles and topics; migrate.

    Returns the effective settings, also written to `state/run.env`.
    """
    state.mkdir(parents=True, exist_ok=True)
    pids = Pids(state)
    sec = load_secrets(state)
    env: dict[str, str] = {}
    say = (lambda *a: None) if quiet else (lambda *a: print("replika:", *a, flush=True))

    # PostgreSQL
    given = {
        f"{env_prefix(s)}_DATABASE_URL": os.environ.get(f"{env_prefix(s)}_DATABASE_URL")
        for s in DATABASES
    }
    if all(given.values()):
        say("using the database URLs from the environment")
        for s in DATABASES:
            for var in (f"{env_prefix(s)}_DATABASE_URL", f"{env_prefix(s)}_MIGRATION_DATABASE_URL"):
                if os.environ.get(var):
                    env[var] = os.environ[var]
    else:
        admin = os.environ.get("DATABASE_URL")
        if admin:
            say("creating Replika's databases on DATABASE_URL's server")
        else:
            pid = postgres.start(state / "pgdata", pg_port, state / "postgres.log")
            pids.add("postgres", pid)
            admin = postgres.admin_url(pg_port)
            say(f"PostgreSQL (embedded) on 127.0.0.1:{pg_port}, pid {pid}, data {state / 'pgdata'}")
        env.update(provision_databases(admin, sec))

    # Kafka
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        # someone else's broker: its KAFKA_* settings (protocol, CA, passwords) come with it
        env.update({k: v for k, v in os.environ.items() if k.startswith("KAFKA_")})
        say(f"using Kafka at {env['KAFKA_BOOTSTRAP_SERVERS']}")
        kafka_provisioned = bool(os.environ.get(kafka_password_var("admin")))
    else:
        bootstrap = f"127.0.0.1:{kafka_port}"
        existing = pids.load().get("kafka")
        kafka_provisioned = True
        if kafka.java_available():
            env.update(kafka_env(sec, bootstrap, kafka.ensure_tls(state / "kafka" / "tls")))
            os.environ.update(env)
            if existing and alive(existing):
                kafka.wait_ready(kafka_client_config("admin"))
                say(f"Kafka already running, pid {existing}")
            else:
                pid = kafka.start(
                    CACHE / "kafka",
                    state / "kafka",
                    kafka_port,
                    state / "kafka.log",
                    broker_secrets(sec),
                    kafka_client_config("admin"),
                )
                pids.add("kafka", pid)
                say(f"Apache Kafka (KRaft, SASL_SSL + SCRAM-SHA-512) on {bootstrap}, pid {pid}")
        else:  # Tansu has no authentication: say so (start_tansu warns loudly too)
            env.update(
                {"KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"}
            )
            kafka_provisioned = False
            if not (existing and alive(existing)):
                pid = kafka.start_tansu(kafka_port, state / "kafka.log")
                pids.add("kafka", pid)
    os.environ.update(env)
    if kafka_provisioned:
        granted = kafka_access.ensure_access(
            kafka_client_config("admin"),
            {r: os.environ[v] for r in KAFKA_ROLES if (v := kafka_password_var(r)) in os.environ},
        )
        if granted:
            say(f"created {len(granted)} Kafka ACLs")
    report = topics.ensure_topics(kafka_client_config("admin"))
    if report.created:
        say("created topics:", ", ".join(report.created))
    for line in report.drift:
        print(f"replika: WARNING: topic drift: {line}", file=sys.stderr, flush=True)

    env["REPLIKA_SECRET_KEY"] = os.environ.get("REPLIKA_SECRET_KEY", sec["secret_key"])
    env["REPLIKA_MASTER_KEY_FILE"] = os.environ.get(
        "REPLIKA_MASTER_KEY_FILE", str(state / "master-keys.json")
    )
    env["REPLIKA_TENANTS_DIR"] = os.environ.get("REPLIKA_TENANTS_DIR", str(ROOT / "tenants"))
    for var, default in LEDGER_DIRS.items():  # event signing keys; heads outside the database
        env[var] = os.environ.get(var, str(state / default))
    env["REPLIKA_INSECURE_COOKIES"] = os.environ.get("REPLIKA_INSECURE_COOKIES", "1")
    os.environ.update(env)

    from shared.migrations import upgrade_all

    upgrade_all()
    say("migrated all databases")
    write_env(state / "run.env", env)
    return env


def provision_databases(admin_url: str, sec: dict[str, str]) -> dict[str, str]:
    from infra.databases import provision

    # one password per role: no service's credentials open another service's database
    return provision(
        admin_url,
        {
            f"{svc}_{kind}": sec[f"db_{svc}_{kind}"]
            for svc in DATABASES
            for kind in ("owner", "app")
        },
    )


def write_env(path: Path, env: dict[str, str]) -> None:
    lines = [f"{k}={v}" for k, v in sorted(env.items())]
    write_private(path, "\n".join(lines) + "\n")


def stop(state: Path, quiet: bool = False) -> None:
    """Stop every process recorded in `state/pids.json` (and only those)."""
    pids = Pids(state)
    recorded = pids.load()
    others = {n: p for n, p in recorded.items() if n not in ("postgres", "kafka")}
    for pid in others.values():
        _terminate(pid)
    _wait_gone(list(others.values()))
    if "kafka" in recorded:
        _terminate(recorded["kafka"])
        _wait_gone([recorded["kafka"]], timeout=30)
    if "postgres" in recorded:
        postgres.stop(state / "pgdata")
        _wait_gone([recorded["postgres"]], timeout=30)
    pids.clear()
    if not quiet and recorded:
        print("replika: stopped", ", ".join(f"{n} ({p})" for n, p in recorded.items()))


def _terminate(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGTERM), lambda: os.kill(pid, signal.SIGTERM)):
        try:
            target()
            return
        except (ProcessLookupError, PermissionError):
            continue


def _wait_gone(pids: list[int], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    for p in pids:
        if alive(p):
            for kill in (os.killpg, os.kill):
                try:
                    kill(p, signal.SIGKILL)
                    break
                except (ProcessLookupError, PermissionError):
                    continue


def seed_demo(state: Path) -> None:
    """Demo tenants and their officials (never on the production path): the operator
    command `replika demo seed`, run as a process with the settings `up` put in the
    environment."""
    subprocess.run(
        [str(VENV_BIN / "replika"), "demo", "seed", "--state", str(state)], check=True, cwd=ROOT
    )


def start_process(name: str, argv: list[str], state: Path, env: dict[str, str]) -> subprocess.Popen:
    log = state / "logs" / f"{name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        argv,
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=ROOT,
    )
    Pids(state).add(name, proc.pid)
    return proc


def web_argv(service: str, host: str, port: int) -> list[str]:
    return [
        str(VENV_BIN / "gunicorn"),
        "--bind",
        f"{host}:{port}",
        "--workers",
        "2",
        "--threads",
        "4",
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "5",
        # gunicorn 27's control socket has one default path per machine: parallel runs
        # (make run, make test, make bench) would take it from each other; nothing uses it
        "--no-control-socket",
        "--config",
        "python:operations.gunicorn_conf",
        f"operations.apps:{service}()",  # the service's composition root
    ]


def start_fake_registry(state: Path, env: dict[str, str], port: int) -> str | None:
    """The local fake social registry (infra/fake_registry.py), unless a registry URL is given;
    its URL goes into `env` as REPLIKA_SOCIAL_REGISTRY_URL. Returns the URL it started on."""
    if os.environ.get("REPLIKA_SOCIAL_REGISTRY_URL"):
        env["REPLIKA_SOCIAL_REGISTRY_URL"] = os.environ["REPLIKA_SOCIAL_REGISTRY_URL"]
        return None
    proc = fake_registry.start(port, state / "logs" / "fake-registry.log", ROOT)
    Pids(state).add("fake-registry", proc.pid)
    url = f"http://127.0.0.1:{port}"
    if not wait_http(url + "/healthz", timeout=20):
        raise RuntimeError(f"the fake social registry did not start; see {state / 'logs'}")
    env["REPLIKA_SOCIAL_REGISTRY_URL"] = url
    return url


def start_lapor_stub(state: Path, env: dict[str, str], port: int) -> str | None:
    """The local fake SP4N-LAPOR! (infra/lapor_stub.py), unless a LAPOR! URL is given; its
    URL and a fresh token go into `env` (REPLIKA_LAPOR_URL, REPLIKA_LAPOR_TOKEN)."""
    if os.environ.get("REPLIKA_LAPOR_URL"):
        env["REPLIKA_LAPOR_URL"] = os.environ["REPLIKA_LAPOR_URL"]
        env["REPLIKA_LAPOR_TOKEN"] = os.environ.get("REPLIKA_LAPOR_TOKEN", "")
        return None
    token = secrets.token_urlsafe(24)
    proc = lapor_stub.start(port, state / "logs" / "lapor-stub.log", ROOT, token)
    Pids(state).add("lapor-stub", proc.pid)
    url = f"http://127.0.0.1:{port}"
    if not wait_http(url + "/healthz", timeout=20):
        raise RuntimeError(f"the fake SP4N-LAPOR! did not start; see {state / 'logs'}")
    env.update(REPLIKA_LAPOR_URL=url, REPLIKA_LAPOR_TOKEN=token)
    return url


def start_notice_sinks(state: Path, env: dict[str, str], sec: dict[str, str]) -> list[str]:
    """The local mail catcher (infra/mail_catcher.py, writes MAIL_DIR) and WhatsApp/SMS gateway
    stub (infra/gateway_stub.py, writes MESSAGES_DIR), unless an SMTP host or a gateway URL is
    given; their settings go into `env`. Returns what was started, to print."""
    started = []
    if os.environ.get("REPLIKA_SMTP_HOST"):
        for var in ("HOST", "PORT", "SECURITY", "USER", "PASSWORD", "FROM", "CAFILE"):
            if os.environ.get(f"REPLIKA_SMTP_{var}"):
                env[f"REPLIKA_SMTP_{var}"] = os.environ[f"REPLIKA_SMTP_{var}"]
    else:
        port = int(os.environ.get("MAIL_CATCHER_PORT", 8025))
        proc = mail_catcher.start(port, MAIL_DIR, state / "logs" / "mail-catcher.log", ROOT)
        Pids(state).add("mail-catcher", proc.pid)
        env.update(
            REPLIKA_SMTP_HOST="127.0.0.1",
            REPLIKA_SMTP_PORT=str(port),
            REPLIKA_SMTP_SECURITY="none",  # loopback only
            REPLIKA_SMTP_FROM="noreply@replika.localhost",
        )
        started.append(f"mail catcher smtp://127.0.0.1:{port}: e-mails in {MAIL_DIR}/*.eml")
    if os.environ.get("REPLIKA_GATEWAY_URL"):
        env["REPLIKA_GATEWAY_URL"] = os.environ["REPLIKA_GATEWAY_URL"]
        env["REPLIKA_GATEWAY_TOKEN"] = os.environ.get("REPLIKA_GATEWAY_TOKEN", "")
    else:
        port = int(os.environ.get("GATEWAY_STUB_PORT", 8026))
        log = state / "logs" / "gateway-stub.log"
        proc = gateway_stub.start(port, MESSAGES_DIR, log, ROOT, sec["gateway_token"])
        Pids(state).add("gateway-stub", proc.pid)
        env.update(
            REPLIKA_GATEWAY_URL=f"http://127.0.0.1:{port}/",
            REPLIKA_GATEWAY_TOKEN=sec["gateway_token"],
        )
        started.append(
            f"WhatsApp/SMS gateway stub http://127.0.0.1:{port}: messages in {MESSAGES_DIR}/*.json"
        )
    return started


def wait_http(url: str, timeout: float = 60) -> bool:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def run(state: Path) -> int:
    started = time.monotonic()
    recorded = Pids(state).load()
    if any(alive(p) for n, p in recorded.items() if n not in ("postgres", "kafka")):
        print("replika: already running (see .local/pids.json); `make stop` first", file=sys.stderr)
        return 1
    env = up(state)
    registry = start_fake_registry(state, env, int(os.environ.get("FAKE_REGISTRY_PORT", 8009)))
    lapor_url = start_lapor_stub(state, env, int(os.environ.get("LAPOR_STUB_PORT", 8027)))
    sinks = start_notice_sinks(state, env, load_secrets(state))
    seed_demo(state)
    host = os.environ.get("REPLIKA_HOST", "127.0.0.1")
    procs: dict[str, subprocess.Popen] = {}
    urls = {}
    for service, (prefix, default_port) in WEB_SERVICES.items():
        port = int(os.environ.get(f"{prefix}_PORT", default_port))
        procs[service] = start_process(service, web_argv(service, host, port), state, env)
        urls[service] = f"http://{host}:{port}"
        env[f"{prefix}_URL"] = urls[service]
    for name, argv in WORKERS:
        procs[name] = start_process(name, argv, state, env)
    write_env(state / "run.env", env)
    for service, url in urls.items():
        if not wait_http(url + "/healthz"):
            print(
                f"replika: {service} did not start; see {state / 'logs' / (service + '.log')}",
                file=sys.stderr,
            )
            stop(state)
            return 1
    print(f"replika: up in {time.monotonic() - started:.1f}s")
    if registry:
        print(f"replika: fake social registry (DTKS/DTSEN) {registry}")
    if lapor_url:
        print(f"replika: fake SP4N-LAPOR! {lapor_url}")
    for line in sinks:
        print(f"replika: {line}")
    for service, url in urls.items():
        print(f"replika: {service:15s} {url}/t/bandung/   {url}/t/cimahi/")
    for name in procs:
        print(f"replika: started {name} (pid {procs[name].pid}, log .local/logs/{name}.log)")
    print(
        f"replika: settings in {state / 'run.env'}, demo accounts in "
        f"{state / 'demo-credentials.json'}; Ctrl-C or `make stop` stops everything"
    )
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stopping:
        dead = [n for n, p in procs.items() if p.poll() is not None]
        if dead:
            print(
                f"replika: {', '.join(dead)} exited; stopping (see .local/logs/)", file=sys.stderr
            )
            break
        time.sleep(0.5)
    stop(state)
    return 0


def test(pytest_args: list[str]) -> int:
    """A fresh, throw-away stack on free ports for one pytest run (parallel runs don't clash)."""
    state = LOCAL / "test-runs" / f"{os.getpid()}"
    if state.exists():
        shutil.rmtree(state)
    keep = os.environ.get("REPLIKA_KEEP_TEST_STATE") == "1"
    started = time.monotonic()
    try:
        env = up(state, pg_port=free_port(), kafka_port=free_port_pair())
        start_fake_registry(state, env, free_port())
        start_lapor_stub(state, env, free_port())
        print(f"replika: test stack ready in {time.monotonic() - started:.1f}s", flush=True)
        env["REPLIKA_TEST_STATE"] = str(state)
        # the suite files hundreds of reports from few addresses in minutes: its budgets are
        # raised here (tests of the budgets set their own, lower ones on the app)
        env.setdefault("REPLIKA_FILING_PER_ADDRESS_HOUR", "1000000")
        env.setdefault("REPLIKA_FILING_PER_TENANT_MINUTE", "1000000")
        rc = subprocess.call(
            [sys.executable, "-m", "pytest", *pytest_args], env={**os.environ, **env}, cwd=ROOT
        )
    finally:
        stop(state, quiet=True)
        if not keep:
            shutil.rmtree(state, ignore_errors=True)
    return rc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local")
    parser.add_argument("command", choices=["up", "run", "stop", "test"])
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    state = LOCAL
    if args.command == "up":
        up(state)
        return 0
    if args.command == "run":
        return run(state)
    if args.command == "stop":
        stop(state)
        return 0
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    return test(rest)


if __name__ == "__main__":
    sys.exit(main())
