"""The per-process caches of tenant rows, tenant keys and custodian keys live until the
database says one changed (shared/change_feed.py; issue 22, goal 4), and only the short life
they had before while a process does not hear it."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import text

from shared import crypto, identity
from shared.change_feed import APPLICATION_NAME, feed_for
from shared.db import count_round_trips, service_engine, tenant_session


def _until(condition, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.02)


def _listening_feed(engine):
    feed = feed_for(engine)
    feed.stamp()  # starts it
    _until(lambda: feed.listening)
    return feed


@pytest.fixture
def tenants(wb_app):
    cache = wb_app.extensions["replika"]["tenants"]
    engine = wb_app.extensions["replika"]["engine"]
    cache.clear()
    _listening_feed(engine)

    def warm() -> bool:  # notices of what earlier tests changed may still be on their way
        with count_round_trips(engine) as trips:
            cache.get("cimahi")
        return trips.count == 0

    _until(warm)
    return cache


def test_a_tenant_change_reaches_the_cached_row_at_once(wb_app, tenants, monkeypatch):
    from shared import web

    monkeypatch.setattr(web, "TENANT_CACHE_SECONDS", 3600.0)  # only the notice can refresh it
    mark = uuid.uuid4().hex
    assert tenants.get("cimahi").config.get("change_feed_test") != mark
    owner = service_engine("whistleblowing", migration=True)
    with owner.begin() as conn:
        conn.execute(
            text(
                "update tenants set config = (config::jsonb || jsonb_build_object("
                "'change_feed_test', cast(:m as text)))::json where slug = 'cimahi'"
            ),
            {"m": mark},
        )
    try:
        _until(lambda: tenants.get("cimahi").config.get("change_feed_test") == mark)
    finally:
        with owner.begin() as conn:
            conn.execute(
                text(
                    "update tenants set config = (config::jsonb - 'change_feed_test')::json "
                    "where slug = 'cimahi'"
                )
            )


def test_an_entry_past_the_short_life_is_used_without_a_read_while_the_feed_listens(
    wb_app, tenants
):
    from shared import web

    tenant = tenants.get("cimahi")
    loaded, stamp, cached = tenants._entries.get("cimahi")
    tenants._entries["cimahi"] = (loaded - 10 * web.TENANT_CACHE_SECONDS, stamp, cached)
    with count_round_trips(wb_app.extensions["replika"]["engine"]) as trips:
        assert tenants.get("cimahi") == tenant
    assert trips.count == 0, str(trips)


def test_a_lost_feed_connection_drops_what_was_cached_and_comes_back(wb_app, tenants):
    engine = wb_app.extensions["replika"]["engine"]
    feed = feed_for(engine)
    tenants.get("cimahi")
    before = feed.generation
    with engine.connect() as conn:  # what a restarted PostgreSQL does to the feed's connection
        ended = conn.execute(
            text(
                "select pg_terminate_backend(pid) from pg_stat_activity "
                "where application_name = :a and datname = current_database() "
                "and usename = current_user"
            ),
            {"a": APPLICATION_NAME},
        ).scalars()
        assert any(ended)
    _until(lambda: feed.generation >= before + 2 and feed.listening)  # lost, then back
    with count_round_trips(engine) as trips:
        assert tenants.get("cimahi") is not None
    assert trips.count >= 1, "an entry loaded before the gap is read again"


def test_a_new_tenant_key_and_custodian_key_reach_the_caches_at_once(wb_app, demo_tenants):
    """A tenant key row made by another process (or a rotation, or shredding) is a change:
    the next look-up reads the keys again instead of serving them for CACHE_SECONDS."""
    engine = wb_app.extensions["replika"]["engine"]
    factory = wb_app.extensions["replika"]["sessions"]
    tenant_id = demo_tenants["cimahi"].id
    feed = _listening_feed(engine)
    with tenant_session(factory, tenant_id) as session:

        def warm() -> bool:  # a first use may make a key, itself a change: until it settles
            with count_round_trips(engine) as trips:
                crypto._active_tenant_key(session, tenant_id, "data")
                identity.authenticated_public_key(session, tenant_id)
            return trips.count == 0

        _until(warm)
        before = feed.generation
        owner = service_engine("whistleblowing", migration=True)
        with owner.begin() as conn:  # a statement that changes no row still notifies
            conn.execute(text("update tenant_keys set active = active where false"))
        _until(lambda: feed.generation > before)
        with count_round_trips(engine) as cold:
            crypto._active_tenant_key(session, tenant_id, "data")
            identity.authenticated_public_key(session, tenant_id)
        assert [s for s in cold.sent if "from tenant_keys" in s], str(cold)
        assert [s for s in cold.sent if "custodian_keys" in s.lower()], str(cold)
