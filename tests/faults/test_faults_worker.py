"""Fault: a service worker SIGKILLed mid-request, under concurrent load.

The whistleblowing service runs under gunicorn with the production flags (infra/local.py
`web_argv`) against the test stack. Reporters keep filing reports, each with its own
Idempotency-Key; one worker process is SIGKILLed while requests are in flight. Afterwards:
every 2xx is in the database; a request cut off by the kill, sent again with its key, is filed
exactly once; no report exists without its outbox event nor an event without its report; every
event reaches the audit ledger exactly once; gunicorn replaces the worker by itself.
"""

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

import pytest
from sqlalchemy import text

from tests.eventing import (
    consumer,
    fresh_tenant,
    in_thread,
    ledger_holds_exactly,
    relay,
    wait_until,
)

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


@pytest.fixture
def tenant(stack, demo_tenants):
    return fresh_tenant("wk")


def test_a_worker_sigkilled_mid_request_loses_no_accepted_report_and_is_replaced(tenant, tmp_path):
    started = time.monotonic()
    with Gunicorn(SERVICE, tmp_path / "gunicorn.log") as server:
        master, before = server.proc.pid, server.workers()
        with Load(server, tenant.slug) as load:
            wait_until(lambda: load.count(ok) >= 30, 120, "load to be flowing")
            kills: list[int] = []
            # kill until a request was really cut off mid-flight (almost always the first time)
            for _ in range(3):
                victim = min(server.workers() - set(kills))
                os.kill(victim, signal.SIGKILL)
                kills.append(victim)
                replaced = wait_until(
                    lambda: len(server.workers() - set(kills)) == 2,
                    60,
                    "gunicorn to replace the killed worker",
                )
                time.sleep(2.0)  # the load goes on against the replacement
                if load.count(lambda o: not isinstance(o, int)):
                    break
            ok_after_kill = load.count(ok)
            wait_until(
                lambda: load.count(ok) > ok_after_kill + 10,
                60,
                "the service to keep answering after the kill",
            )
        load_seconds = time.monotonic() - started
        # the same master (never restarted) runs two workers, none of them a killed one
        assert server.proc.poll() is None and server.proc.pid == master
        assert len(server.workers()) == 2 and not server.workers() & set(kills)
        assert before - set(kills) <= server.workers()

        results = list(load.results)
        accepted = {key: case for key, outcome, case in results if ok(outcome)}
        cut = [key for key, outcome, _ in results if not isinstance(outcome, int)]
        refused = [
            (key, outcome)
            for key, outcome, _ in results
            if isinstance(outcome, int) and not ok(outcome)
        ]
        before_retry = consistency(tenant)
        print(
            f"\nworker SIGKILL: {len(results)} requests by {CLIENTS} clients in "
            f"{load_seconds:.1f}s: {len(accepted)} 2xx, {len(cut)} cut off by the kill "
            f"{sorted({str(o) for _, o, _ in results if not isinstance(o, int)})}, "
            f"{len(refused)} other answers {sorted({o for _, o in refused})}; killed "
            f"{len(kills)} worker(s); replacement up {replaced:.1f}s after the kill; "
            f"{len(before_retry['reports'])} reports in the database"
        )
        assert cut, "no request was in flight on the killed worker"
        assert not [o for _, o in refused if o >= 500], refused

        # every 2xx is there, and nothing is half-written
        assert set(accepted.values()) <= set(before_retry["reports"])
        assert_no_half_written_case(tenant, before_retry)
        committed_unanswered = len(before_retry["reports"]) - len(accepted)
        assert 0 <= committed_unanswered <= len(cut)

        # the reporters whose request was cut off send it again with the same key
        for key in cut:
            outcome, case = load.file(key)
            assert outcome == 201, (key, outcome)
            accepted[key] = case
    assert server.proc.returncode == 0
    final = consistency(tenant)
    assert_no_half_written_case(tenant, final)
    assert len(set(accepted.values())) == len(accepted) == len(final["reports"]), (
        "a retried request was filed twice, or a report belongs to no request"
    )
    assert set(accepted.values()) == set(final["reports"])

    # every state change reaches the ledger exactly once
    expected = {event_id for event_id, _, _ in final["events"]}
    with in_thread(relay(SERVICE), "relay"), in_thread(consumer(), "audit"):
        took = ledger_holds_exactly(tenant, expected)
    print(
        f"worker SIGKILL: {committed_unanswered} cut-off requests had committed before the "
        f"kill (replayed on retry), {len(cut) - committed_unanswered} had not (filed on "
        f"retry); {len(final['reports'])} reports, {len(expected)} events, ledger complete "
        f"in {took:.1f}s"
    )
