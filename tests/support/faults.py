"""The fault tests' rig: the whistleblowing service under gunicorn with the production flags,
reporters filing reports under load (each with its own Idempotency-Key), and the consistency
checks that hold afterwards (every report has exactly one submitted event and one history row)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from tests.support.eventing import wait_until

SERVICE = "whistleblowing"
CLIENTS = 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> set[int]:
    """Live child pids of `pid` (gunicorn's workers), read from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def _established_inodes(port: int) -> set[str]:
    """Socket inodes of established TCP connections whose local port is `port` (the
    server's side of a connection a client opened), from /proc/net/tcp."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def serving(pid: int, port: int) -> bool:
    """Whether process `pid` holds an accepted connection on `port`: a request is in flight
    on it (the load's clients open one connection per request and close it after)."""
    inodes = _established_inodes(port)
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def a_serving_worker(server: Gunicorn, exclude: set[int], timeout: float = 30) -> int:
    """A worker of `server` (not in `exclude`) caught holding an accepted connection."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in sorted(server.workers() - exclude):
            if serving(worker, server.port):
                return worker
        time.sleep(0.002)
    raise AssertionError(f"no worker was serving a request within {timeout}s")


class Gunicorn:
    """A service under gunicorn as `make run` starts it, in its own session (stopped by pid)."""

    def __init__(self, service: str, log: Path) -> None:
        from infra.local import web_argv
        from shared.keyring import keyring

        # the keyring file exists before servers start, as `make run` ensures: processes that
        # all find it missing would each create their own (a race in FileKeyring)
        keyring().current_key_id()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(
            web_argv(service, "127.0.0.1", self.port),
            env=dict(os.environ),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def __enter__(self) -> Gunicorn:
        from infra.local import wait_http

        assert wait_http(self.url + "/healthz", timeout=60), self.log.read_text()[-3000:]
        wait_until(lambda: len(self.workers()) == 2, 60, "two workers")
        return self

    def __exit__(self, *exc) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def workers(self) -> set[int]:
        return children(self.proc.pid)

    def request(
        self,
        method: str,
        path: str,
        body: dict | None = None,
        headers: dict | None = None,
        timeout: float = 30,
    ) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(
                method,
                path,
                body=None if body is None else json.dumps(body),
                headers={"Content-Type": "application/json", **(headers or {})},
            )
            resp = conn.getresponse()
            raw = resp.read()
            try:
                return resp.status, json.loads(raw) if raw else {}
            except ValueError:
                return resp.status, {"raw": raw[:200].decode(errors="replace")}
        finally:
            conn.close()


def report_body() -> dict:
    return {
        "category": "pungutan_liar",
        "what": "Petugas meminta uang tambahan untuk KTP.",
        "where": "Kecamatan Cimahi Tengah",
        "when": "Maret 2026",
        "how_known": "Saya mengalaminya",
    }


class Load:
    """`clients` threads filing reports as fast as the service answers; each attempt is
    recorded as (key, status or exception name, case number)."""

    def __init__(self, server: Gunicorn, slug: str, clients: int = CLIENTS) -> None:
        self.server, self.path = server, f"/t/{slug}/api/v1/reports"
        self.stop = threading.Event()
        self.results: list[tuple[str, object, str | None]] = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def file(self, key: str) -> tuple[object, str | None]:
        try:
            status, body = self.server.request(
                "POST", self.path, report_body(), {"Idempotency-Key": key}
            )
            return status, body.get("case_number")
        except (OSError, http.client.HTTPException) as exc:
            return type(exc).__name__, None

    def _client(self) -> None:
        while not self.stop.is_set():
            key = uuid.uuid4().hex
            outcome, case = self.file(key)
            with self.lock:
                self.results.append((key, outcome, case))
            if not ok(outcome):
                self.stop.wait(0.2)  # a client backs off a little after a failure

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)

    def count(self, predicate) -> int:
        with self.lock:
            return sum(1 for _, outcome, _ in self.results if predicate(outcome))


def ok(outcome) -> bool:
    return isinstance(outcome, int) and 200 <= outcome < 300


def consistency(tenant) -> dict:
    """Reports, their submitted events and the outbox of `tenant`, read as the DB owner."""
    from shared.db import service_engine

    with service_engine(SERVICE, migration=True).connect() as conn:
        reports = [
            r
            for (r,) in conn.execute(
                text("select case_number from wb_reports where tenant_id = :t"), {"t": tenant.id}
            )
        ]
        history = dict(
            conn.execute(
                text(
                    "select r.case_number, count(h.*) from wb_reports r left join wb_report_history h "
                    "on h.report_id = r.id where r.tenant_id = :t group by r.case_number"
                ),
                {"t": tenant.id},
            ).all()
        )
        events = conn.execute(
            text("select event_id, key, type from outbox where tenant_id = :t"), {"t": tenant.id}
        ).all()
    return {"reports": reports, "history": history, "events": events}


def assert_no_half_written_case(tenant, state: dict) -> None:
    reports = state["reports"]
    assert len(reports) == len(set(reports))
    submitted: dict[str, int] = {}
    for _event_id, key, type_ in state["events"]:
        assert type_ == "whistleblowing.report.submitted.v1", type_
        submitted[key.split(":", 1)[1]] = submitted.get(key.split(":", 1)[1], 0) + 1
    assert set(submitted) == set(reports), (
        "a report without its event, or an event without its report"
    )
    assert set(submitted.values()) <= {1}, "a report with more than one submitted event"
    assert set(state["history"].values()) <= {1}, "a report without (or with two) history rows"
