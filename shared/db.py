"""Data layer: SQLAlchemy 2 engines and tenant-scoped sessions.

Isolation is by construction, twice over:
1. Every ORM query on a `TenantOwned` model gets `tenant_id = <session's tenant>` added by a
   session event, so no query has to remember to filter.
2. Every transaction sets the PostgreSQL setting `app.tenant_id`, and row-level security
   policies (see `tenant_rls_sql`) hide other tenants' rows from the app role underneath.
"""

from __future__ import annotations

import select
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

import psycopg
from psycopg import _queries as psycopg_queries
from sqlalchemy import DateTime, Uuid, create_engine, event, exc, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)
from sqlalchemy.pool import Pool

from shared import settings

# psycopg turns a query's %(name)s placeholders into $n on every execution unless the query is
# at most 4,096 bytes with at most 50 parameters (then an LRU of 128 queries keeps the result).
# The unit of work's write statement (a report: ~4,900 bytes, 71 parameters) was parsed anew
# each time, about 0.6 ms per report (issue 22 profile). Its shapes are few (shared/uow.py
# keeps 256 at most); a bulk insert's hundreds of parameters still go uncached.
# tests/integration/shared/test_round_trip_budgets.py fails if a psycopg upgrade drops these.
psycopg_queries.MAX_CACHED_STATEMENT_LENGTH = 16 * 1024
psycopg_queries.MAX_CACHED_STATEMENT_PARAMS = 200


def utcnow() -> datetime:
    return datetime.now(UTC)


class TenantOwned:
    """Mixin for every table that belongs to one tenant."""

    tenant_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True, nullable=False)


class CrossTenantWrite(Exception):
    """A session tried to write a row of a tenant other than its own."""


@cache
def engine_for(url: str, pool_size: int = 5) -> Engine:
    # hide_parameters: a failed statement's message (logged, and in a traceback) names the
    # SQL, never its bound values (password hashes, blind indexes, reasons, personal data).
    # No pool pre-ping (a round trip per checkout): `_discard_if_dead` checks the socket at
    # checkout instead, and a connection that dies unseen fails its request with 503
    # (shared/web.py) and is replaced, with every other connection of the pool
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=10,
        pool_recycle=1800,
        hide_parameters=True,
    )
    event.listen(engine.pool, "connect", _mark_fresh)
    event.listen(engine.pool, "checkout", _discard_if_dead)
    return engine


_FRESH = "replika_fresh_connection"


def _mark_fresh(dbapi_conn, record) -> None:
    record.info[_FRESH] = True


def _discard_if_dead(dbapi_conn, record, proxy) -> None:
    """At checkout, without a round trip: a pooled connection is idle, so the server has
    nothing to say to it; a socket with something to read means the server closed it (a
    restart, an administrator's terminate: the FATAL message and the end of the stream) or
    is in a state no request should inherit. SQLAlchemy then replaces it and every pooled
    connection older than it (as the pre-ping did: a restart ends them all). A connection
    just opened is not checked (nor was it pinged): if the server ends it at once, its
    request fails with 503 (shared/web.py), never with the pool's "attempts exhausted"."""
    if record.info.pop(_FRESH, False) or not isinstance(dbapi_conn, psycopg.Connection):
        return
    if dbapi_conn.closed or dbapi_conn.broken:
        raise exc.InvalidatePoolError("connection closed")
    try:
        readable, _, _ = select.select([dbapi_conn.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error) as error:
        raise exc.InvalidatePoolError(f"unusable: {error}") from error
    if readable:
        raise exc.InvalidatePoolError("the server wrote to an idle connection")


def service_engine(service: str, *, migration: bool = False) -> Engine:
    return engine_for(settings.database_url(service, migration=migration))


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def tenant_session(factory: sessionmaker[Session], tenant_id: uuid.UUID) -> Iterator[Session]:
    """A session that can only see and write rows of `tenant_id`."""
    session = factory()
    session.info["tenant_id"] = tenant_id
    try:
        yield session
    finally:
        session.close()


@event.listens_for(Session, "after_begin")
def _set_tenant_setting(session: Session, transaction, connection) -> None:
    tenant_id = session.info.get("tenant_id")
    if tenant_id is None:
        return
    raw = connection.connection.driver_connection
    if (
        isinstance(raw, psycopg.Connection)
        and not raw.autocommit
        and not raw.pgconn.pipeline_status
    ):
        # psycopg sends BEGIN before a transaction's first statement; in a pipeline the
        # setting travels with it, and the pipeline stays open until the transaction's first
        # statement is sent too (`_close_pipeline`, after it): one round trip for the three,
        # answered in order, so every statement of the transaction sees the tenant setting
        # and RLS applies (a failed BEGIN or setting fails the statement: nothing runs
        # without it)
        pipeline = raw.pipeline()
        pipeline.__enter__()
        try:
            raw.execute("select set_config('app.tenant_id', %s, true)", (str(tenant_id),))
        except BaseException as error:
            pipeline.__exit__(type(error), error, error.__traceback__)  # ends it, keeps error
            raise
        connection.info[_PIPELINE] = pipeline
        return
    connection.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})


_PIPELINE = "replika_open_pipeline"


def pipeline_open(connection: Connection) -> bool:
    """Whether BEGIN and the tenant setting wait in a pipeline for the transaction's first
    statement (they are sent with it, in one round trip)."""
    info = _info(connection)
    return info is not None and _PIPELINE in info


def _info(connection: Connection) -> dict | None:
    # an invalidated connection (a dropped one) has no pipeline any more, and asking it for
    # its info would try to reconnect inside its failed transaction
    if connection.closed or connection.invalidated:
        return None
    return connection.info


def _close_pipeline(info: dict) -> None:
    """Send what the pipeline holds and wait for every answer (one round trip); raises the
    first error among them (wrapped by SQLAlchemy when called from a statement's events)."""
    pipeline = info.pop(_PIPELINE, None)
    if pipeline is not None:
        pipeline.__exit__(None, None, None)


@event.listens_for(Engine, "after_cursor_execute")
def _send_with_first_statement(conn, cursor, statement, parameters, context, executemany):
    # inside SQLAlchemy's handling of the statement: an error of BEGIN, the setting or the
    # statement is wrapped as the statement's (IntegrityError, a dropped connection, ...),
    # and the cursor has its result before SQLAlchemy reads it
    if (info := _info(conn)) is not None and _PIPELINE in info:
        _close_pipeline(info)


@event.listens_for(Engine, "commit")
@event.listens_for(Engine, "rollback")
def _end_with_transaction(conn) -> None:
    # a transaction that ends before any statement: the pipeline ends with it
    if (info := _info(conn)) is not None and _PIPELINE in info:
        try:
            _close_pipeline(info)
        except psycopg.Error:
            pass  # nothing ran; the COMMIT or ROLLBACK that follows reports the connection


@event.listens_for(Pool, "reset")
def _end_on_reset(dbapi_conn, record, reset_state) -> None:
    # a connection going back to the pool never keeps a pipeline open
    if _PIPELINE in record.info:
        try:
            _close_pipeline(record.info)
        except psycopg.Error:
            pass  # the pool's rollback that follows finds the connection as it is


@event.listens_for(Session, "do_orm_execute")
def _scope_queries(state: ORMExecuteState) -> None:
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    # The criteria apply to ORM entities only: a statement of Core tables (the unit of work's
    # write statement, the fingerprint and budget checks) is left as it is, scoped by
    # row-level security and its own tenant terms. Adding the option anyway made a new
    # statement each time, whose cache key SQLAlchemy then built anew: about 1 ms per report.
    if not state.is_orm_statement:
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantOwned, lambda cls: cls.tenant_id == tenant_id, include_aliases=True
        )
    )


@event.listens_for(Session, "before_flush")
def _stamp_tenant(session: Session, flush_context, instances) -> None:
    tenant_id = session.info.get("tenant_id")
    if tenant_id is None:
        return
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, TenantOwned):
            if obj.tenant_id is None:
                obj.tenant_id = tenant_id
            elif obj.tenant_id != tenant_id:
                raise CrossTenantWrite(type(obj).__name__)


# -- round trips ------------------------------------------------------------------------------


@dataclass
class RoundTrips:
    """What an engine sent to PostgreSQL while counting, one entry per round trip: "PING"
    (a pool pre-ping at checkout, on engines made with one; `engine_for`'s have none),
    "BEGIN" (psycopg sends it before a transaction's first statement), each statement,
    "COMMIT" and "ROLLBACK". In a tenant session BEGIN and the tenant setting travel in a
    pipeline with the transaction's first statement (`_set_tenant_setting`): one entry,
    "BEGIN + tenant setting + <statement>". `compiled`: the statements SQLAlchemy compiled
    anew instead of taking from its cache (a warm path should have none: compiling a large
    statement costs more of a worker than sending it). `parsed`: the queries psycopg turned
    into $n placeholders anew, outside its cache (filled by the tests that watch for it)."""

    sent: list[str] = field(default_factory=list)
    compiled: list[str] = field(default_factory=list)
    parsed: list[bytes] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.sent)

    def clear(self) -> None:
        self.sent.clear()
        self.compiled.clear()

    def __str__(self) -> str:
        return "\n".join(f"{i}. {s.split(chr(10))[0][:120]}" for i, s in enumerate(self.sent, 1))


@contextmanager
def count_round_trips(engine: Engine) -> Iterator[RoundTrips]:
    """Count the round trips `engine` makes inside the block (tests hold budgets with it)."""
    trips = RoundTrips()

    def on_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        sent = " ".join(statement.split())
        if context is not None and context.compiled is not None:
            if context.cache_hit is not CacheStats.CACHE_HIT:
                trips.compiled.append(sent)
        if pipeline_open(conn) and trips.sent and trips.sent[-1] == "BEGIN":
            # BEGIN and the tenant setting wait in the pipeline: sent with this statement
            trips.sent[-1] = f"BEGIN + tenant setting + {sent}"
        else:
            trips.sent.append(sent)

    def on_begin(conn) -> None:
        trips.sent.append("BEGIN")

    def on_commit(conn) -> None:
        trips.sent.append("COMMIT")

    def on_rollback(conn) -> None:
        trips.sent.append("ROLLBACK")

    def on_checkout(dbapi_conn, record, proxy) -> None:
        if getattr(engine.pool, "_pre_ping", False):
            trips.sent.append("PING")

    hooks: list[tuple[object, str, Callable[..., None]]] = [
        (engine, "before_cursor_execute", on_execute),
        (engine, "begin", on_begin),
        (engine, "commit", on_commit),
        (engine, "rollback", on_rollback),
        (engine.pool, "checkout", on_checkout),
    ]
    for target, name, fn in hooks:
        event.listen(target, name, fn)
    try:
        yield trips
    finally:
        for target, name, fn in hooks:
            event.remove(target, name, fn)


def tenant_rls_sql(table: str) -> list[str]:
    """SQL for a migration: row-level security on `table` keyed by `app.tenant_id`."""
    cond = "tenant_id = nullif(current_setting('app.tenant_id', true), '')::uuid"
    return [
        f"alter table {table} enable row level security",
        f"create policy {table}_tenant_isolation on {table} using ({cond}) with check ({cond})",
    ]


# Each service declares its own `DeclarativeBase` (its own metadata, its own database) with
# this map, so every datetime column is timezone-aware (stored UTC).
TYPE_ANNOTATION_MAP = {datetime: DateTime(timezone=True)}
