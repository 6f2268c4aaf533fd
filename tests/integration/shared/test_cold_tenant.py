"""A report to a tenant this worker has not seen for a while (issue 22, goal 4: on a deployment
of 514 cities most requests find every per-tenant cache cold; docs/benchmarks-profile-514.md).
The cold path has a round-trip budget of its own, and the caches that make it long-lived stay
safe: a stale entry is caught by the write statement's check."""

from __future__ import annotations

import uuid

from sqlalchemy import event

from services.whistleblowing import cases
from shared import crypto, identity
from shared.db import count_round_trips
from tests.support.change_feeds import settled

# The tenant row (pre-ping, the one statement; counted with the engine's logical BEGIN and
# ROLLBACK, which autocommit does not send), then the filing: pre-ping, BEGIN, the tenant's
# active keys (every purpose in one statement), the custodian key, the handler profiles'
# fingerprint and rows, the write statement, COMMIT.
COLD_CONFIDENTIAL_REPORT_BUDGET = 12


def _report(**over) -> dict:
    return {
        "category": "korupsi",
        "what": f"Pungutan di loket pelayanan {uuid.uuid4().hex}.",
        "reported_persons": [{"name": "Pak X", "position": "Staf", "work_unit": "Disdukcapil"}],
        "identity": {"name": "Siti Rahmawati", "nik": "3277014509870001"},
        **over,
    }


def _forget_everything(app) -> None:
    """As a worker that has not seen the tenant for longer than any cache lives."""
    app.extensions["replika"]["tenants"].clear()
    crypto.forget_cached_keys()
    identity.forget_public_keys()
    cases._profile_cache.clear()


def test_a_report_to_a_cold_tenant_stays_within_its_round_trip_budget(wb_app):
    client = wb_app.test_client()
    assert client.post("/t/cimahi/api/v1/reports", json=_report()).status_code == 201
    _forget_everything(wb_app)
    with count_round_trips(wb_app.extensions["replika"]["engine"]) as trips:
        resp = client.post("/t/cimahi/api/v1/reports", json=_report())
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert trips.count <= COLD_CONFIDENTIAL_REPORT_BUDGET, f"{trips.count} round trips:\n{trips}"
    key_reads = [s for s in trips.sent if "from tenant_keys" in s]
    assert len(key_reads) == 1, f"the tenant's keys in one statement:\n{trips}"


def test_the_tenant_look_up_runs_in_autocommit(wb_app):
    """No BEGIN and ROLLBACK around the one statement that reads the tenant row."""
    engine = wb_app.extensions["replika"]["engine"]
    seen: list[bool] = []

    def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM tenants" in statement:
            seen.append(conn.connection.driver_connection.autocommit)

    wb_app.extensions["replika"]["tenants"].clear()
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        assert wb_app.test_client().get("/t/cimahi/api/v1/tenant").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    assert seen == [True]
    with engine.connect() as conn:  # the pooled connection is back to transactions
        assert conn.connection.driver_connection.autocommit is False


def test_one_miss_caches_the_keys_of_every_purpose(wb_app, demo_tenants):
    from shared.db import tenant_session

    tenant_id = demo_tenants["cimahi"].id
    engine = wb_app.extensions["replika"]["engine"]
    factory = wb_app.extensions["replika"]["sessions"]
    crypto.forget_cached_keys()
    with tenant_session(factory, tenant_id) as session:
        for purpose in crypto.PURPOSES:  # each exists (made on first use)
            crypto._active_tenant_key(session, tenant_id, purpose)
    # a key made just now is notified (shared/change_feed.py) after its commit: the count
    # must not start before that notification arrived, or it drops the entries mid-count
    settled(engine)
    crypto.forget_cached_keys()
    with tenant_session(factory, tenant_id) as session:
        first = crypto._active_tenant_key(session, tenant_id, "data")
        with count_round_trips(engine) as trips:
            others = [crypto._active_tenant_key(session, tenant_id, p) for p in crypto.PURPOSES]
    assert trips.count == 0, str(trips)
    assert others[0] == first
    assert len({key_id for key_id, _ in others}) == len(crypto.PURPOSES)


def test_the_handler_profile_cache_is_bounded():
    assert cases.PROFILE_CACHE_SIZE >= 514
    for i in range(cases.PROFILE_CACHE_SIZE + 10):
        cases._profile_cache[uuid.UUID(int=i)] = (0.0, "0/", ())
    assert len(cases._profile_cache) == cases.PROFILE_CACHE_SIZE
    cases._profile_cache.clear()


def test_handler_profiles_a_minute_old_are_used_without_a_read(wb_app, demo_tenants):
    """A minute-old entry (past the 5 s the cache used to live) is still used: the write
    statement's fingerprint check, not the age, is what keeps it honest (a change made through
    another worker is caught: test_round_trip_budgets, the handler profile test)."""
    import time

    client = wb_app.test_client()
    assert client.post("/t/cimahi/api/v1/reports", json=_report()).status_code == 201
    tenant_id = demo_tenants["cimahi"].id
    entry = cases._profile_cache.get(tenant_id)
    assert entry is not None
    cases._profile_cache[tenant_id] = (time.monotonic() - 60, entry[1], entry[2])
    assert client.get("/t/cimahi/api/v1/tenant").status_code == 200  # the tenant row warm
    with count_round_trips(wb_app.extensions["replika"]["engine"]) as trips:
        resp = client.post("/t/cimahi/api/v1/reports", json=_report())
    assert resp.status_code == 201, resp.get_data(as_text=True)
    profile_reads = [s for s in trips.sent if s.startswith("SELECT wb_handler_profiles.")]
    assert not profile_reads, str(trips)
    assert trips.count <= 4, str(trips)  # the warm report's budget (test_round_trip_budgets)
