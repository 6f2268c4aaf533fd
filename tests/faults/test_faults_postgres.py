"""Fault: PostgreSQL stopped and started again while requests flow.

The test stack's own PostgreSQL (`make test` records its data directory in REPLIKA_TEST_STATE)
is stopped with `pg_ctl stop -m fast` under load on the whistleblowing service (gunicorn, the
production flags), with an outbox relay and the audit consumer running. Meanwhile /readyz
answers 503 naming the database and requests are refused with 503, never accepted. Once the
server is back, the same gunicorn, relay and consumer carry on without a restart; every 2xx is
in the database, the refused requests sent again with their Idempotency-Key are filed once, and
every state change has exactly one ledger entry.

Its own module because it stops the server every other test uses; the server is running again
when the test ends, whatever happens.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.support.eventing import (
    consumer,
    fresh_tenant,
    in_thread,
    ledger_holds_exactly,
    relay,
    wait_until,
)
from tests.support.faults import (
    SERVICE,
    Gunicorn,
    Load,
    assert_no_half_written_case,
    consistency,
    ok,
)

OUTAGE_SECONDS = 5.0


class StackPostgres:
    """The PostgreSQL server `make test` started: stop it and start it again on the same data
    directory and port (pids.json is kept current so `make test` still stops it at the end)."""

    def __init__(self) -> None:
        state = os.environ.get("REPLIKA_TEST_STATE")
        assert state, "run with `make test` (REPLIKA_TEST_STATE names the stack's state dir)"
        self.state = Path(state)
        self.datadir = self.state / "pgdata"
        self.port = make_url(os.environ["WHISTLEBLOWING_MIGRATION_DATABASE_URL"]).port
        assert (self.datadir / "PG_VERSION").exists(), "the stack's PostgreSQL is not embedded"

    def running(self) -> bool:
        from infra import postgres

        return postgres.running_pid(self.datadir) is not None

    def stop(self) -> None:
        from infra import postgres

        postgres.stop(self.datadir)  # pg_ctl stop -m fast -w
        assert not self.running()

    def start(self) -> None:
        from infra import postgres
        from infra.local import Pids

        pid = postgres.start(self.datadir, self.port, self.state / "postgres.log")
        Pids(self.state).add("postgres", pid)


@pytest.fixture
def pg(stack, demo_tenants):
    server = StackPostgres()
    yield server
    if not server.running():  # never leave the session without its database
        server.start()


def readiness(server: Gunicorn) -> tuple[int, dict]:
    try:
        return server.request("GET", "/readyz", timeout=10)
    except OSError as exc:
        return 0, {"error": type(exc).__name__}


def test_postgres_restarted_under_load_the_service_recovers_by_itself(pg, tmp_path):
    tenant = fresh_tenant("pg")
    with (
        Gunicorn(SERVICE, tmp_path / "gunicorn.log") as server,
        in_thread(relay(SERVICE), "relay"),
        in_thread(consumer(), "audit"),
    ):
        master, workers = server.proc.pid, server.workers()
        assert readiness(server)[0] == 200
        with Load(server, tenant.slug, clients=4) as load:
            wait_until(lambda: load.count(ok) >= 20, 120, "load to be flowing")
            stopped = time.monotonic()
            pg.stop()
            accepted_at_stop = load.count(ok)
            status, problem = readiness(server)
            assert status == 503, (status, problem)
            assert "database" in problem["failed"] and "database" in problem["detail"], problem
            time.sleep(OUTAGE_SECONDS)
            status, problem = readiness(server)
            assert status == 503 and "database" in problem["failed"], (status, problem)
            # a request may still finish right at the stop; none is accepted afterwards
            accepted_in_outage = load.count(ok) - accepted_at_stop
            pg.start()
            restarted = time.monotonic()
            ready_in = wait_until(lambda: readiness(server)[0] == 200, 60, "/readyz to be 200")
            ok_at_ready = load.count(ok)
            serving_in = wait_until(
                lambda: load.count(ok) >= ok_at_ready + 20, 60, "requests to succeed again"
            )
        # recovered by itself: the same gunicorn master and workers, nothing restarted
        assert server.proc.poll() is None and server.proc.pid == master
        assert server.workers() == workers

        results = list(load.results)
        accepted = {key: case for key, outcome, case in results if ok(outcome)}
        failed = [(key, outcome) for key, outcome, _ in results if not ok(outcome)]
        kinds = sorted({str(o) for _, o in failed})
        assert {o for _, o in failed} <= {503}, f"refused otherwise than 503: {kinds}"
        assert accepted_in_outage <= 4, accepted_in_outage  # at most the ones in flight
        before_retry = consistency(tenant)
        assert set(accepted.values()) <= set(before_retry["reports"])
        assert_no_half_written_case(tenant, before_retry)
        for key, _ in failed:  # the clients try again with the same key
            outcome, case = load.file(key)
            assert outcome == 201, (key, outcome)
            accepted[key] = case
        final = consistency(tenant)
        assert_no_half_written_case(tenant, final)
        assert len(set(accepted.values())) == len(accepted) == len(final["reports"])

        # the relay and the audit consumer lived through the outage too
        expected = {event_id for event_id, _, _ in final["events"]}
        took = ledger_holds_exactly(tenant, expected)
    print(
        f"\nPostgreSQL restart: {len(results)} requests by 4 clients; {len(accepted) - len(failed)}"
        f" 2xx, {len(failed)} refused {kinds} during the {OUTAGE_SECONDS:.0f}s outage "
        f"({accepted_in_outage} finished right at the stop); /readyz 200 {ready_in:.1f}s and "
        f"requests succeeding {serving_in:.1f}s after the server was back "
        f"(outage {restarted - stopped:.1f}s); refused requests retried: {len(failed)} filed "
        f"once; {len(final['reports'])} reports, {len(expected)} events, ledger complete "
        f"{took:.1f}s after the last retry"
    )


def test_a_request_while_the_database_is_unreachable_is_503_not_500(stack):
    """Regression: a refused or dropped database connection used to answer 500 (a bug) and is
    now 503 with Retry-After, naming the database (an outage: the client should retry)."""
    from sqlalchemy import create_engine

    from services.whistleblowing.models import TenantRow
    from shared.web import ServiceModels, create_service_app
    from tests.support.faults import free_port

    nowhere = create_engine(
        f"postgresql+psycopg://replika@127.0.0.1:{free_port()}/replika", pool_pre_ping=True
    )
    app = create_service_app(SERVICE, __name__, nowhere, ServiceModels(TenantRow))
    client = app.test_client()
    resp = client.get("/t/cimahi/api/v1/tenant")
    assert resp.status_code == 503, resp.get_data(as_text=True)
    assert resp.headers["Retry-After"] == "5" and resp.json["failed"] == ["database"]
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["failed"] == ["database"], ready.json
