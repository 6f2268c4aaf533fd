"""The connection mechanics behind the round-trip budgets (issue 22, shared/db.py).

- A tenant session's BEGIN and tenant setting wait in a psycopg pipeline and go with the
  transaction's first statement: that statement already sees the setting (row-level security
  applies to it), an error in it is SQLAlchemy's error of that statement, and no pipeline is
  left open on the connection afterwards (whatever ends the transaction).
- No pool pre-ping: a pooled connection the server closed is found out at checkout from its
  socket, without a round trip, and replaced; the request never sees it.
"""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
from sqlalchemy import create_engine, pool, text
from sqlalchemy.exc import DBAPIError

from shared.db import count_round_trips, engine_for, session_factory, tenant_session

SETTING = "select current_setting('app.tenant_id', true)"


@pytest.fixture
def engine(stack):
    # its own pool (engine_for is cached by url and pool size; no other caller uses 1)
    made = engine_for(stack["WHISTLEBLOWING_DATABASE_URL"], pool_size=1)
    made.dispose()
    yield made
    made.dispose()


def _pipeline_left_open(engine) -> bool:
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert isinstance(raw, psycopg.Connection)
        return bool(raw.pgconn.pipeline_status)


def test_the_first_statement_goes_with_begin_and_already_sees_the_tenant_setting(engine):
    tenant_id = uuid.uuid4()
    with tenant_session(session_factory(engine), tenant_id) as session:
        with count_round_trips(engine) as trips:
            assert session.execute(text(SETTING)).scalar_one() == str(tenant_id)
            assert session.execute(text(SETTING)).scalar_one() == str(tenant_id)
            session.commit()
        assert trips.sent == [f"BEGIN + tenant setting + {SETTING}", SETTING, "COMMIT"], trips
        # the next transaction of the session sets it again, with its first statement
        assert session.execute(text(SETTING)).scalar_one() == str(tenant_id)
        session.rollback()
    assert not _pipeline_left_open(engine)


def test_an_error_in_the_first_statement_is_that_statements_error(engine):
    tenant_id = uuid.uuid4()
    with tenant_session(session_factory(engine), tenant_id) as session:
        with pytest.raises(DBAPIError) as raised:
            session.execute(text("select 1 / 0"))
        assert isinstance(raised.value.orig, psycopg.errors.DivisionByZero)
        session.rollback()
        assert session.execute(text(SETTING)).scalar_one() == str(tenant_id)
        session.commit()
    assert not _pipeline_left_open(engine)


def test_a_transaction_that_ends_before_any_statement_leaves_no_pipeline(engine):
    with tenant_session(session_factory(engine), uuid.uuid4()) as session:
        session.connection()  # begins: BEGIN and the setting wait for a statement
        session.commit()
    assert not _pipeline_left_open(engine)
    with tenant_session(session_factory(engine), uuid.uuid4()) as session:
        session.connection()
    # closed without commit or rollback: the pool's reset ends it
    assert not _pipeline_left_open(engine)


def test_a_pooled_connection_the_server_closed_is_replaced_at_checkout_without_a_ping(
    engine, stack
):
    with engine.connect() as conn:
        dead = conn.execute(text("select pg_backend_pid()")).scalar_one()
    # a role may end its own backends: as an administrator's terminate or a restart would
    other = create_engine(stack["WHISTLEBLOWING_DATABASE_URL"], poolclass=pool.NullPool)
    with other.connect() as conn:
        assert conn.execute(text("select pg_terminate_backend(:p)"), {"p": dead}).scalar_one()
        for _ in range(50):  # until the backend is gone (its socket is closed by then)
            gone = conn.execute(
                text("select count(*) = 0 from pg_stat_activity where pid = :p"), {"p": dead}
            ).scalar_one()
            if gone:
                break
            time.sleep(0.1)
    other.dispose()
    time.sleep(0.2)
    with count_round_trips(engine) as trips, engine.connect() as conn:
        fresh = conn.execute(text("select pg_backend_pid()")).scalar_one()
    assert fresh != dead
    assert "PING" not in trips.sent, trips
