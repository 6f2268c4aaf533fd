"""An unreachable database is a 503, whether SQLAlchemy wrapped the driver's error or psycopg
raised it itself (the tenant setting goes out on the driver connection, with BEGIN)."""

from __future__ import annotations

import psycopg
from sqlalchemy.exc import OperationalError

from shared.web import database_unavailable


def test_a_refused_connection_is_an_outage_wrapped_or_raw():
    raw = psycopg.OperationalError("connection failed: Connection refused")
    assert database_unavailable(raw)
    assert database_unavailable(OperationalError("select 1", {}, raw))


def test_other_errors_are_not_an_outage():
    assert not database_unavailable(ValueError("no"))
    assert not database_unavailable(psycopg.errors.SerializationFailure("retry"))
