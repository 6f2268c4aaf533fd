"""Data layer: SQLAlchemy 2 engines and tenant-scoped sessions.

Isolation is by construction, twice over:
1. Every ORM query on a `TenantOwned` model gets `tenant_id = <session's tenant>` added by a
   session event, so no query has to remember to filter.
2. Every transaction sets the PostgreSQL setting `app.tenant_id`, and row-level security
   policies (see `tenant_rls_sql`) hide other tenants' rows from the app role underneath.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import DateTime, Uuid, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    mapped_column,
    sessionmaker,
    with_loader_criteria,
)

from shared import settings


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
    # SQL, never its bound values (password hashes, blind indexes, reasons, personal data)
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=10,
        pool_pre_ping=True,
        pool_recycle=1800,
        hide_parameters=True,
    )


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
    if tenant_id is not None:
        connection.execute(
            text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
        )


@event.listens_for(Session, "do_orm_execute")
def _scope_queries(state: ORMExecuteState) -> None:
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None or not (state.is_select or state.is_update or state.is_delete):
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
