"""Fault: a service worker SIGKILLed mid-request, under concurrent load.

The whistleblowing service runs under gunicorn with the production flags (infra/local.py
`web_argv`) against the test stack. Reporters keep filing reports, each with its own
Idempotency-Key; one worker process is SIGKILLed while requests are in flight. Afterwards:
every 2xx is in the database; a request cut off by the kill, sent again with its key, is filed
exactly once; no report exists without its outbox event nor an event without its report; every
event reaches the audit ledger exactly once; gunicorn replaces the worker by itself.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.support.eventing import (
    consumer,
    fresh_tenant,
    in_thread,
    ledger_holds_exactly,
    relay,
    wait_until,
)
from tests.support.faults import (
    CLIENTS,
    SERVICE,
    Gunicorn,
    Load,
    a_serving_worker,
    assert_no_half_written_case,
    consistency,
    ok,
)


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
            # kill a worker while it holds an accepted connection, until a request was really
            # cut off mid-flight (almost always the first time)
            for _ in range(3):
                victim = a_serving_worker(server, exclude=set(kills))
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
