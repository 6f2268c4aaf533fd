"""Unit of work: one database transaction holding the state change and its outbox events.

Domain code never commits by itself and never talks to Kafka: it changes rows through the
session and calls `uow.emit(...)`; `uow.commit()` writes the events to the outbox in the same
transaction, so a state change without its event cannot happen. Each event is signed with the
service's key as its outbox row is written (shared/event_signing.py): what leaves the service is
what the service made, and the audit ledger refuses anything else.

Round trips (issue 22): new rows a use case hands to `add_new` (instead of `session.add`), the
keys of new records (shared/crypto.py) and the outbox rows are written at commit in ONE
statement (data-modifying CTEs), which also wakes a sleeping relay (pg_notify, only while a
relay asked for it: shared/outbox.LISTENERS; transactional, so only delivered if the
transaction commits). Row-level security applies to every one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, exists, func, insert, inspect, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from shared import crypto, event_signing, events
from shared.bounded_cache import BoundedCache
from shared.db import CrossTenantWrite
from shared.outbox import LISTENERS
from shared.tenancy import Tenant


class UnitOfWork:
    def __init__(self, session: Session, tenant: Tenant, service: str, outbox_model: type) -> None:
        self.session, self.tenant, self.service = session, tenant, service
        self.outbox_model = outbox_model
        self._pending: list[dict[str, Any]] = []
        self._new: list[Any] = []
        self._checks: list[tuple[Check, Callable[[Any], None]]] = []

    def emit(self, type_: str, subject: str, actor: str, data: dict[str, Any]) -> dict[str, Any]:
        """Queue one event (validated against its JSON Schema now, written at commit)."""
        event = events.build(self.service, type_, self.tenant, subject, actor, data)
        self._pending.append(event)
        return event

    def add_new(self, obj: Any) -> None:
        """A new row (an ORM object) written at commit, with the unit of work's other writes,
        as its attributes are then. Queries of this unit of work do not see it before:
        `write_new()` first when one must."""
        self._new.append(obj)

    def check_at_commit(self, check: Check, then: Callable[[Any], None]) -> None:
        """Read `check` (a scalar expression) in the commit's write statement, after its rows
        are written and before the transaction commits, and call `then(value)`: a cache used
        by the use case is checked without a round trip of its own, and `then` can still
        change state (its rows and events are written before the commit)."""
        self._checks.append((check, then))

    def is_new(self, obj: Any) -> bool:
        """Whether `obj` waits in `add_new` (not written yet)."""
        return any(o is obj for o in self._new)

    def write_new(self) -> None:
        """Hand the rows of `add_new` to the session now (flushed: queries see them)."""
        if self._new:
            new, self._new = self._new, []
            self.session.add_all(new)
            self.session.flush()

    def commit(self) -> None:
        checks, self._checks = self._checks, []
        self._write([check for check, _ in checks], [then for _, then in checks])
        if self._pending or self._new or crypto.has_new_record_keys(self.session):
            self._write([], [])  # what the checks added
        self.session.commit()
        self._pending.clear()

    def _write(self, checks: list[Check], thens: list[Callable[[Any], None]]) -> None:
        writes = self._new_rows() + self._outbox_rows()
        self._pending.clear()
        self.session.flush()  # changes to loaded rows first (the new rows may refer to them)
        if not writes and not checks:
            return
        channel = events.notify_channel(self.service)
        statement, params = write_statement(writes, channel, checks)
        row = self.session.execute(statement, params).one()
        for then, value in zip(thens, row[len(row) - len(checks) :], strict=True):
            then(value)

    def rollback(self) -> None:
        self._pending.clear()
        self._new.clear()
        self.session.rollback()

    # --- the rows of the one write statement ------------------------------------------------

    def _new_rows(self) -> list[tuple[Any, dict[str, Any]]]:
        rows = []
        for obj in self._new:
            tenant_id = getattr(obj, "tenant_id", None)
            if hasattr(obj, "tenant_id"):
                if tenant_id is None:
                    obj.tenant_id = self.tenant.id
                elif tenant_id != self.tenant.id:
                    raise CrossTenantWrite(type(obj).__name__)
            rows.append((type(obj).__table__, column_values(obj)))
        self._new.clear()
        rows += [(crypto.RECORD_KEYS, k) for k in crypto.take_new_record_keys(self.session)]
        return rows

    def _outbox_rows(self) -> list[tuple[Any, dict[str, Any]]]:
        rows = []
        table = self.outbox_model.__table__  # type: ignore[attr-defined]
        for event in self._pending:
            event_signing.sign(self.service, event)
            values = {
                "event_id": event["id"],
                "tenant_id": self.tenant.id,
                "type": event["type"],
                "key": f"{self.tenant.slug}:{event['subject']}",
                "payload": event,
            }
            rows.append((table, _with_defaults(table, values)))
        return rows


def column_values(obj: Any) -> dict[str, Any]:
    """The values to insert for a new ORM object: its column attributes, with the columns'
    Python defaults where it has none (server defaults are left to the server)."""
    mapper = inspect(type(obj))
    values = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        value = getattr(obj, prop.key)
        if value is None and column.server_default is not None:
            continue
        if value is None and column.default is not None:
            value = _default(column)
            setattr(obj, prop.key, value)
        values[column.key] = value
    return values


def _with_defaults(table: Any, values: dict[str, Any]) -> dict[str, Any]:
    for column in table.columns:
        if column.key not in values and column.default is not None:
            values[column.key] = _default(column)
    return values


def _default(column: Any) -> Any:
    default = column.default
    if default.is_sequence or default.is_clause_element:
        raise ValueError(f"{column}: a server-side default needs the ORM flush")
    return default.arg(None) if default.is_callable else default.arg


# Up to this many rows of one table, each row is an insert of its own in the write statement.
ROWS_PER_INSERT_CACHED = 16
TEMPLATES_KEPT = 256  # write statements by shape; a request path has one or two shapes


@dataclass(frozen=True)
class Check:
    """A scalar read in the commit's write statement (`UnitOfWork.check_at_commit`).
    `shape` names its form: the same shape, the same expression, built once by
    `build(name)` with bind parameters called `name(local)`; `params` holds their values
    for this request, by local name."""

    shape: Hashable
    build: Callable[[Callable[[str], str]], ColumnElement[Any]]
    params: dict[str, Any]


_templates: BoundedCache[Hashable, Select[Any]] = BoundedCache(TEMPLATES_KEPT)


def write_statement(
    writes: list[tuple[Any, dict[str, Any]]], channel: str, checks: Sequence[Check] = ()
) -> tuple[Select[Any], dict[str, Any]]:
    """One statement and its parameters: insert CTEs (see below), pg_notify(channel) once when
    the outbox got a row and a relay listens, then the checks' values (the last columns). The CTEs run whatever
    the outer select reads; each is referenced so that SQLAlchemy renders it."""
    # Building this statement and SQLAlchemy's cache key of it were a third of a worker's
    # time per report (issue 22 profile): a request's statement is built once per shape
    # (tables, columns, checks) with named bind parameters and reused, its values passed as
    # parameters. SQLAlchemy never caches a multi-row VALUES, so a request's few rows of a
    # table are one single-row insert each; a bulk write's many rows are one multi-row insert
    # with its values inline (built each time: its shape rarely repeats).
    # Foreign keys are checked at the statement's end, whatever the order of the inserts.
    groups: dict[tuple[Any, tuple[str, ...]], list[dict[str, Any]]] = {}
    for table, values in writes:
        groups.setdefault((table, tuple(sorted(values))), []).append(values)
    singles = [
        (table, columns, row)
        for (table, columns), rows in groups.items()
        if len(rows) <= ROWS_PER_INSERT_CACHED
        for row in rows
    ]
    bulks = [(t, rows) for (t, _), rows in groups.items() if len(rows) > ROWS_PER_INSERT_CACHED]
    params = {f"w{i}_{c}": row[c] for i, (_, columns, row) in enumerate(singles) for c in columns}
    for j, check in enumerate(checks):
        params.update({f"c{j}_{k}": v for k, v in check.params.items()})
    shape = (
        channel,
        tuple((table, columns) for table, columns, _ in singles),
        tuple(check.shape for check in checks),
    )
    if bulks:
        return _build(shape, checks, bulks), params
    statement = _templates.get(shape)
    if statement is None:
        statement = _templates[shape] = _build(shape, checks, [])
    return statement, params


def _build(
    shape: tuple[str, tuple[tuple[Any, tuple[str, ...]], ...], tuple[Hashable, ...]],
    checks: Sequence[Check],
    bulks: list[tuple[Any, list[dict[str, Any]]]],
) -> Select[Any]:
    channel, singles, _ = shape
    inserts: list[tuple[Any, Any]] = [
        (
            table,
            insert(table).values(
                {c: bindparam(f"w{i}_{c}", type_=table.c[c].type) for c in columns}
            ),
        )
        for i, (table, columns) in enumerate(singles)
    ]
    inserts += [(table, insert(table).values(rows)) for table, rows in bulks]
    ctes = []
    outbox = None
    for i, (table, values) in enumerate(inserts):
        cte = values.returning(literal_column("1").label("one")).cte(f"w{i}")
        ctes.append(cte)
        if table.name == "outbox" and outbox is None:
            outbox = cte
    columns: list[Any] = [
        select(func.count()).select_from(cte).scalar_subquery().label(f"n{i}")
        for i, cte in enumerate(ctes)
    ]
    if outbox is not None:
        columns.append(
            select(func.pg_notify(channel, ""))
            .select_from(outbox)
            .where(exists().select_from(LISTENERS))
            .limit(1)
            .scalar_subquery()
            .label("notified")
        )
    columns += [check.build(_names(f"c{j}_")).label(f"c{j}") for j, check in enumerate(checks)]
    return select(*columns)


def _names(prefix: str) -> Callable[[str], str]:
    """A check's bind parameter names: its own prefix, so that two checks never clash."""
    return lambda local: prefix + local
