"""Round trips of the ledger's appends (issue 22, goal 3): a poll's events are appended with a
constant number of round trips, whatever their number and however many tenants they name (one
statement locks the chains, one reads the heads and the events recorded already, one inserts
the entries), and the chains stay verifiable."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from shared.db import count_round_trips
from tests.support.eventing import fresh_tenant, ledger_rows

# the pool's pre-ping, BEGIN, the tenants looked up with their chains locked, the heads with
# the events recorded already, the insert of every entry, COMMIT
POLL_BUDGET = 6


@pytest.fixture
def tenants(stack, demo_tenants):
    return fresh_tenant("rt"), fresh_tenant("rt")


def _events(tenant, n: int, tag: str) -> list[dict]:
    from shared import events

    return [
        events.build(
            "whistleblowing",
            "test.thing.changed.v1",
            tenant,
            f"WBS-{tag}-{i % 7}",
            "system",
            {"state": f"s{i}", "n": i},
        )
        for i in range(n)
    ]


def _stored(consumer, evs):
    from services.audit.consumer import AuditConsumer

    assert isinstance(consumer, AuditConsumer)
    return consumer.store([(None, e) for e in evs], [])


def test_a_poll_of_many_events_costs_a_constant_number_of_round_trips(tenants):
    from services.audit.consumer import AuditConsumer
    from shared.db import service_engine

    engine = service_engine("audit")
    consumer = AuditConsumer(engine, "unused:9092")  # store() alone: no broker needed
    one, other = tenants
    counts = []
    for evs in (
        _events(one, 1, "a"),
        _events(one, 300, "b"),
        _events(one, 120, "c") + _events(other, 180, "d"),
    ):
        with count_round_trips(engine) as trips:
            result = _stored(consumer, evs)
        assert (result.appended, result.duplicates) == (len(evs), 0)
        assert trips.count <= POLL_BUDGET, f"{trips.count} round trips:\n{trips}"
        counts.append(trips.count)
    assert len(set(counts)) == 1, counts  # the count does not grow with the events
    # a poll delivered again: all duplicates, same cost, nothing appended
    again = _events(one, 5, "e")
    _stored(consumer, again)
    with count_round_trips(engine) as trips:
        result = _stored(consumer, again + again[:2])
    assert (result.appended, result.duplicates) == (0, 7)
    assert trips.count <= POLL_BUDGET, f"{trips.count} round trips:\n{trips}"
    # the chains are whole and verify
    assert [r.seq for r in ledger_rows(one)] == list(range(1, 1 + 300 + 120 + 5 + 1))
    assert [r.seq for r in ledger_rows(other)] == list(range(1, 181))
    from operations.cli import main

    for tenant in tenants:
        out = CliRunner().invoke(main, ["audit", "verify", "--tenant", tenant.slug])
        assert out.exit_code == 0, out.output


def test_the_chain_lock_key_computed_by_postgresql_is_the_one_computed_before(tenants):
    """The lock key is now computed in SQL (so one statement looks tenants up and locks them);
    it is the key earlier versions computed in Python, so a consumer of either kind, during a
    rolling deploy, takes the same lock."""
    import hashlib

    from sqlalchemy import text

    from services.audit import ledger
    from shared.db import service_engine

    for tenant in tenants:
        before = int.from_bytes(
            hashlib.sha256(b"replika.audit.chain|" + tenant.id.bytes).digest()[:8],
            "big",
            signed=True,
        )
        sql = ledger._CHAIN_KEY.format(tenant="cast(:t as uuid)")
        with service_engine("audit").connect() as conn:
            assert conn.execute(text(f"select {sql}"), {"t": str(tenant.id)}).scalar() == before
