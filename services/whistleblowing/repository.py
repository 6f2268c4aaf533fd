"""Queries of the whistleblowing tables. Tenant scoping is added by shared/db.py (and RLS)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from services.whistleblowing.domain import clocks
from services.whistleblowing.models import (
    Attachment,
    HandlerProfile,
    IdentityRequest,
    Message,
    OfficialRow,
    Recusal,
    Report,
    ReportHistory,
)
from shared.officials import name_of


def _report_where(session: Session, condition: Any, for_update: bool) -> Report | None:
    q = select(Report).where(condition)
    return session.execute(q.with_for_update() if for_update else q).scalar_one_or_none()


def report_by_case(
    session: Session, case_number: str, *, for_update: bool = False
) -> Report | None:
    return _report_where(session, Report.case_number == case_number, for_update)


def report_by_receipt_hash(
    session: Session, receipt_hash: str, *, for_update: bool = False
) -> Report | None:
    return _report_where(session, Report.receipt_hash == receipt_hash, for_update)


def handler_profiles(session: Session) -> list[HandlerProfile]:
    """Every handler's conflict marks (the recusal check of each new report)."""
    return list(session.execute(select(HandlerProfile)).scalars())


def _of_case(session: Session, model: Any, report_id: uuid.UUID, *order: Any) -> list[Any]:
    """A case's rows of `model` (history, messages, files, recusals), oldest first."""
    return list(
        session.execute(select(model).where(model.report_id == report_id).order_by(*order))
        .scalars()
        .all()
    )


def timeline(session: Session, report_id: uuid.UUID) -> list[ReportHistory]:
    return _of_case(session, ReportHistory, report_id, ReportHistory.at, ReportHistory.id)


def messages(session: Session, report_id: uuid.UUID) -> list[Message]:
    return _of_case(session, Message, report_id, Message.at, Message.id)


def attachments(session: Session, report_id: uuid.UUID) -> list[Attachment]:
    return _of_case(session, Attachment, report_id, Attachment.at, Attachment.id)


def attachment_count(session: Session, report_id: uuid.UUID) -> int:
    return session.execute(
        select(func.count()).select_from(Attachment).where(Attachment.report_id == report_id)
    ).scalar_one()


def recused_officials(session: Session, report_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        session.execute(select(Recusal.official_id).where(Recusal.report_id == report_id)).scalars()
    )


def recusals(session: Session, report_id: uuid.UUID) -> list[Recusal]:
    return _of_case(session, Recusal, report_id, Recusal.at)


def identity_request(
    session: Session, request_id: uuid.UUID, *, for_update: bool = False
) -> IdentityRequest | None:
    q = select(IdentityRequest).where(IdentityRequest.id == request_id)
    if for_update:
        q = q.with_for_update()
    return session.execute(q).scalar_one_or_none()


def overdue_clause(today: date):
    """SQL twin of domain.clocks.flags(...).overdue (same pending-state sets)."""
    feedback_pending = or_(
        Report.status.in_(clocks.FEEDBACK_PENDING),
        and_(Report.status == "triaged", Report.outcome == "accepted"),
    )
    return or_(
        and_(Report.status.in_(clocks.ACK_PENDING), Report.acknowledge_by < today),
        and_(feedback_pending, Report.feedback_by < today),
    )


def due_soon_clause(today: date):
    """SQL twin of domain.clocks.flags(...).due_soon: a pending clock due within
    DUE_SOON_DAYS, and nothing overdue."""
    soon = today + timedelta(days=clocks.DUE_SOON_DAYS)
    feedback_pending = or_(
        Report.status.in_(clocks.FEEDBACK_PENDING),
        and_(Report.status == "triaged", Report.outcome == "accepted"),
    )
    return and_(
        ~overdue_clause(today),
        or_(
            and_(Report.status.in_(clocks.ACK_PENDING), Report.acknowledge_by <= soon),
            and_(feedback_pending, Report.feedback_by <= soon),
        ),
    )


def _list_conditions(
    today: date,
    *,
    status: str | None = None,
    statuses: tuple[str, ...] | None = None,
    category: str | None = None,
    overdue: bool | None = None,
    due_soon: bool = False,
    case_number: str | None = None,
    assignee: uuid.UUID | None = None,
    unassigned: bool = False,
    hide_from: uuid.UUID | None = None,
    only_assigned_to: uuid.UUID | None = None,
) -> list[Any]:
    conditions: list[Any] = []
    if case_number:  # the number people quote, whole or its start (case-insensitive)
        conditions.append(
            Report.case_number.startswith(case_number.strip().upper(), autoescape=True)
        )
    if statuses:
        conditions.append(Report.status.in_(statuses))
    if due_soon:
        conditions.append(due_soon_clause(today))
    if status:
        conditions.append(Report.status == status)
    if category:
        conditions.append(Report.category == category)
    if overdue is not None:
        clause = overdue_clause(today)
        conditions.append(clause if overdue else ~clause)
    if assignee is not None:
        conditions.append(Report.assignee_id == assignee)
    if unassigned:
        conditions.append(Report.assignee_id.is_(None))
    if only_assigned_to is not None:
        conditions.append(Report.assignee_id == only_assigned_to)
    if hide_from is not None:  # an official never sees cases they are recused from
        # NOT IN (report_id is never null): a hashed subplan that keeps the list's index order,
        # where NOT EXISTS became one recusal index probe per skipped row on deep pages
        conditions.append(
            Report.id.not_in(select(Recusal.report_id).where(Recusal.official_id == hide_from))
        )
    return conditions


def count_reports(session: Session, *, today: date, **filters: Any) -> int:
    """How many cases match the list's filters (the officials' home counts)."""
    conditions = _list_conditions(today, **filters)
    return session.execute(select(func.count()).select_from(Report).where(*conditions)).scalar_one()


def list_reports(
    session: Session,
    *,
    today: date,
    page: int = 1,
    per_page: int = 20,
    **filters: Any,
) -> tuple[list[Report], int]:
    """One page of cases (newest first) and the total; `filters` as `_list_conditions`."""
    conditions = _list_conditions(today, **filters)
    total = session.execute(
        select(func.count()).select_from(Report).where(*conditions)
    ).scalar_one()
    # the page's ids first (an index-only scan of wb_reports_case_list, migration w004), then
    # only those rows: OFFSET then skips narrow index entries, not wide rows
    offset, limit = (page - 1) * per_page, per_page
    order: tuple[Any, ...] = (Report.received_at.desc(), Report.id)
    if offset >= total:
        return [], total
    if offset > total // 2:  # past the middle: the same rows, walking from the oldest end
        limit = min(per_page, total - offset)
        offset = total - offset - limit
        order = (Report.received_at.asc(), Report.id.desc())
    page_ids = (
        select(Report.id).where(*conditions).order_by(*order).limit(limit).offset(offset)
    ).subquery()
    rows = session.execute(
        select(Report)
        .join(page_ids, Report.id == page_ids.c.id)
        .order_by(Report.received_at.desc(), Report.id)
    ).scalars()
    return list(rows), total


def _median_days(start, end):
    days = func.extract("epoch", end - start) / 86400.0
    return func.percentile_cont(0.5).within_group(days)


def stats(session: Session, *, today: date, tz: str) -> dict[str, Any]:
    by = {}
    for name, col in (
        ("category", Report.category),
        ("status", Report.status),
        ("channel", Report.channel),
        ("month", func.to_char(func.timezone(tz, Report.received_at), "YYYY-MM")),
    ):
        by[name] = {
            k: n
            for k, n in session.execute(
                select(col, func.count()).select_from(Report).group_by(col).order_by(col)
            )
        }
    ack = session.execute(
        select(
            _median_days(Report.received_at, Report.acknowledged_at),
            func.count(Report.acknowledged_at),
        ).where(Report.acknowledged_at.is_not(None))
    ).one()
    con = session.execute(
        select(
            _median_days(Report.received_at, Report.concluded_at), func.count(Report.concluded_at)
        ).where(Report.concluded_at.is_not(None))
    ).one()
    overdue = session.execute(
        select(func.count()).select_from(Report).where(overdue_clause(today))
    ).scalar_one()
    return {
        "total": sum(by["status"].values()),
        "by_category": by["category"],
        "by_status": by["status"],
        "by_month": by["month"],
        "by_channel": by["channel"],
        "median_days_to_acknowledge": None if ack[0] is None else round(float(ack[0]), 1),
        "acknowledged_count": ack[1],
        "median_days_to_conclude": None if con[0] is None else round(float(con[0]), 1),
        "concluded_count": con[1],
        "overdue": overdue,
    }


def pending_identity_requests(session: Session) -> list[tuple[IdentityRequest, Report]]:
    return list(
        session.execute(
            select(IdentityRequest, Report)
            .join(Report, Report.id == IdentityRequest.report_id)
            .where(IdentityRequest.status == "pending")
            .order_by(IdentityRequest.created_at)
        ).all()
    )


def open_identity_requests(
    session: Session, report_id: uuid.UUID, states: tuple[str, ...]
) -> list[IdentityRequest]:
    """The case's identity requests in `states`, locked (a recusal cancels them)."""
    return list(
        session.execute(
            select(IdentityRequest)
            .where(IdentityRequest.report_id == report_id, IdentityRequest.status.in_(states))
            .with_for_update()
        ).scalars()
    )


def unread_copies_decided_before(session: Session, cutoff: datetime) -> list[IdentityRequest]:
    """Approved identity requests whose copy is still unread and was made before `cutoff`."""
    return list(
        session.execute(
            select(IdentityRequest)
            .where(
                IdentityRequest.status == "approved",
                IdentityRequest.disclosure.is_not(None),
                IdentityRequest.decided_at < cutoff,
            )
            .with_for_update(skip_locked=True)
        ).scalars()
    )


def identity_requests_by(
    session: Session, report_id: uuid.UUID, official_id: uuid.UUID
) -> list[IdentityRequest]:
    return list(
        session.execute(
            select(IdentityRequest)
            .where(
                IdentityRequest.report_id == report_id, IdentityRequest.requested_by == official_id
            )
            .order_by(IdentityRequest.created_at)
        ).scalars()
    )


def active_official(session: Session, official_id: uuid.UUID) -> OfficialRow | None:
    row = session.get(OfficialRow, official_id)
    return row if row is not None and row.active else None


def active_officials(session: Session) -> list[OfficialRow]:
    return list(
        session.execute(
            select(OfficialRow).where(OfficialRow.active.is_(True)).order_by(OfficialRow.username)
        ).scalars()
    )


def official_names(session: Session) -> dict[uuid.UUID, str]:
    """Every official of the tenant by id → the name colleagues read (their display name, else
    the username)."""
    return {o.id: name_of(o) for o in session.execute(select(OfficialRow)).scalars()}


# --- the statistics pages -----------------------------------------------------------------------

OFFICIAL_AUTHORS_EXCLUDED = ("reporter", "system")


def _percentiles_days(start: Any, end: Any) -> tuple[Any, Any]:
    days = func.extract("epoch", end - start) / 86400.0
    return (
        func.percentile_cont(0.5).within_group(days),
        func.percentile_cont(0.9).within_group(days),
    )


def figures(
    session: Session, *, today: date, tz: str, start: datetime | None, end: datetime | None
) -> dict[str, Any]:
    """The officials' statistics of the cases received in [start, end) (every case when
    None): counts by category, status, month, outcome, channel and anonymity; median and
    90th percentile days to acknowledge, to the first official reply and to conclude; the
    overdue cases per handler (assignee id, None for unassigned)."""
    period = []
    if start is not None:
        period.append(Report.received_at >= start)
    if end is not None:
        period.append(Report.received_at < end)

    def grouped(col: Any, *where: Any) -> dict[Any, int]:
        q = select(col, func.count()).select_from(Report).where(*period, *where)
        return {k: n for k, n in session.execute(q.group_by(col).order_by(col))}

    month = func.to_char(func.timezone(tz, Report.received_at), "YYYY-MM")
    first_reply = (
        select(Message.report_id, func.min(Message.at).label("at"))
        .where(Message.author_role.not_in(OFFICIAL_AUTHORS_EXCLUDED))
        .group_by(Message.report_id)
        .subquery()
    )

    def durations(end_col: Any, *joins: Any) -> dict[str, Any]:
        p50, p90 = _percentiles_days(Report.received_at, end_col)
        q = select(p50, p90, func.count(end_col)).select_from(Report)
        for target, on in joins:
            q = q.join(target, on)
        r = session.execute(q.where(*period, end_col.is_not(None))).one()
        return {
            "median": None if r[0] is None else round(float(r[0]), 1),
            "p90": None if r[1] is None else round(float(r[1]), 1),
            "count": r[2],
        }

    anonymous = grouped(Report.sealed_identity.is_(None))
    return {
        "total": sum(grouped(Report.status).values()),
        "by_category": grouped(Report.category),
        "by_status": grouped(Report.status),
        "by_month": grouped(month),
        "by_outcome": grouped(Report.outcome, Report.concluded_at.is_not(None)),
        "by_channel": grouped(Report.channel),  # online, or the assisted intake's channel
        "anonymous": anonymous.get(True, 0),
        "confidential": anonymous.get(False, 0),
        "to_acknowledge": durations(Report.acknowledged_at),
        "to_first_reply": durations(
            first_reply.c.at, (first_reply, first_reply.c.report_id == Report.id)
        ),
        "to_conclude": durations(Report.concluded_at),
        "overdue_by_assignee": grouped(Report.assignee_id, overdue_clause(today)),
    }


def received_between(
    session: Session, start: datetime | None, end: datetime | None, limit: int
) -> list[Report]:
    """The cases received in [start, end), oldest first (the statistics page's case list)."""
    q = select(Report)
    if start is not None:
        q = q.where(Report.received_at >= start)
    if end is not None:
        q = q.where(Report.received_at < end)
    return list(session.execute(q.order_by(Report.received_at, Report.id).limit(limit)).scalars())


def received_years(session: Session, tz: str) -> list[int]:
    """The years (in the tenant's zone) in which cases were received, newest first."""
    year = func.extract("year", func.timezone(tz, Report.received_at))
    return [
        int(y) for y in session.execute(select(year).distinct().order_by(year.desc())).scalars()
    ]
