"""Reads of the whistleblowing service: what a case, a list, an inbox and the figures look like.

Nothing here changes state (the use cases are in `cases.py`); queries are in `repository.py`.
Free text comes out of its ciphertext here, and only for the callers entitled to it: the
reporter's inbox shows handlers only as roles; the officials' detail adds ids and recusals.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import Response
from sqlalchemy.orm import Session

from services.whistleblowing import attachments as files
from services.whistleblowing import reporter_contacts, repository
from services.whistleblowing.domain import access, clocks, codes, lifecycle, retention
from services.whistleblowing.domain import stats as stats_rules
from services.whistleblowing.models import Attachment, Report
from shared.actor import Actor
from shared.crypto import FieldCipher
from shared.i18n import label
from shared.problem import Refused
from shared.tenancy import Tenant, today

SERVICE = "whistleblowing"
# What a reporter reads for a system notice (pages translate the code).
NOTICES = {
    "identity_disclosed": "Your identity was disclosed to the handler of your report, "
    "after approval by the identity custodian.",
    "referral_proposed": "The Inspektorat asks your consent to refer your report to another "
    "city (see above).",
}
# The columns of the case list export: no content, no identity.
EXPORT_FIELDS = (
    "case_number",
    "category",
    "status",
    "outcome",
    "received_at",
    "acknowledge_by",
    "feedback_by",
    "overdue",
    "assignee",
)


def config(tenant: Tenant) -> dict[str, Any]:
    return tenant.service_config(SERVICE)


def categories(tenant: Tenant) -> list[dict[str, Any]]:
    return list(config(tenant).get("categories", []))


def category_labels(tenant: Tenant) -> dict[str, str]:
    """Category code → its label in the page's language (in the tenant's order)."""
    return {c["code"]: label(c.get("label"), c["code"]) for c in categories(tenant)}


def _text(session: Session, tenant: Tenant, table: str, row_id: Any, field: str, blob):
    return (
        None
        if blob is None
        else FieldCipher(session, tenant.id, table, row_id).decrypt_text(field, blob)
    )


# --- One case -------------------------------------------------------------------------------


def official_case(
    session: Session, actor: Actor, case_number: str, *, for_update: bool = False
) -> Report:
    """The case if this official may handle it; otherwise the same 404 as a missing case."""
    report = (
        repository.report_by_case(session, case_number, for_update=for_update)
        if codes.is_case_number(case_number)
        else None
    )
    if report is None or not access.may_handle(
        actor.roles,
        actor.official_id,
        report.assignee_id,
        repository.recused_officials(session, report.id),
    ):
        raise Refused(404, "No such report.")
    return report


def content_of(session: Session, tenant: Tenant, report: Report) -> dict[str, Any]:
    return FieldCipher(session, tenant.id, "wb_reports", report.id).decrypt_json(
        "content", report.content
    )


def report_flags(tenant: Tenant, report: Report) -> clocks.Flags:
    dues = clocks.DueDates(report.acknowledge_by, report.feedback_by)
    return clocks.flags(today(tenant), report.status, report.outcome, dues)


def expires_on(tenant: Tenant, report: Report) -> date | None:
    def local(t: datetime | None) -> date | None:
        return clocks.local_date(t, tenant.timezone) if t else None

    return retention.expires_on(
        report.status,
        local(report.archived_at),
        local(report.last_reporter_input_at),
        int(config(tenant).get("retention_days", retention.DEFAULT_RETENTION_DAYS)),
    )


def _basics(report: Report) -> dict[str, Any]:
    """What both the reporter and the handlers read first: the case and its due dates."""
    return {
        "case_number": report.case_number,
        "category": report.category,
        "status": report.status,
        "outcome": report.outcome,
        "received_at": report.received_at.isoformat(),
        "acknowledge_by": report.acknowledge_by.isoformat(),
        "feedback_by": report.feedback_by.isoformat(),
        "channel": report.channel,
        "transcript_confirmed_at": (
            report.transcript_confirmed_at.isoformat() if report.transcript_confirmed_at else None
        ),
    }


def summary(tenant: Tenant, report: Report) -> dict[str, Any]:
    f = report_flags(tenant, report)
    expiry = expires_on(tenant, report)
    return {
        **_basics(report),
        "clocks": {"acknowledge": f.acknowledge, "feedback": f.feedback},
        "overdue": f.overdue,
        "due_soon": f.due_soon,
        "assignee": str(report.assignee_id) if report.assignee_id else None,
        "expires_on": expiry.isoformat() if expiry else None,
        "retention": retention.state(today(tenant), expiry),
    }


def timeline_view(session: Session, tenant: Tenant, report: Report) -> list[dict[str, Any]]:
    return [
        {
            "at": h.at.isoformat(),
            "from": h.from_status,
            "status": h.to_status,
            "outcome": h.outcome,
            "by": h.actor_role,
            "reason": _text(session, tenant, "wb_report_history", h.id, "reason", h.reason),
            "referral": _text(session, tenant, "wb_report_history", h.id, "referral", h.referral),
        }
        for h in repository.timeline(session, report.id)
    ]


def messages_view(
    session: Session, tenant: Tenant, report: Report, *, for_official: bool
) -> list[dict[str, Any]]:
    out = []
    for m in repository.messages(session, report.id):
        item: dict[str, Any] = {"id": str(m.id), "at": m.at.isoformat(), "from": m.author_role}
        body = FieldCipher(session, tenant.id, "wb_messages", m.id).decrypt_json("body", m.body)
        if "notice" in body:
            item.update(notice=body["notice"], body=NOTICES.get(body["notice"], ""))
        else:
            item["body"] = body["text"]
        if for_official and m.author_id:
            item["official_id"] = str(m.author_id)
        out.append(item)
    return out


def attachments_view(session: Session, report: Report) -> list[dict[str, Any]]:
    return [
        {
            "id": str(a.id),
            "at": a.at.isoformat(),
            "media_type": a.media_type,
            "size": a.size,
            "by": a.uploaded_by,
        }
        for a in repository.attachments(session, report.id)
    ]


def inbox(session: Session, tenant: Tenant, report: Report) -> dict[str, Any]:
    """What the reporter sees: status, timeline, messages; handlers only as roles."""
    return {
        **_basics(report),
        "report": content_of(session, tenant, report),
        "confidential": report.sealed_identity is not None,
        "timeline": timeline_view(session, tenant, report),
        "messages": messages_view(session, tenant, report, for_official=False),
        "attachments": attachments_view(session, report),
        # the reporter's own notice contact, masked (officials' views never read it)
        "notify_contact": reporter_contacts.masked_for_reporter(session, tenant.id, report.id),
    }


def detail(session: Session, tenant: Tenant, report: Report) -> dict[str, Any]:
    """What a handler sees: the reporter's view plus ids, clocks, allowed steps, recusals."""
    return {
        **summary(tenant, report),
        "version": report.version,
        "allowed_transitions": lifecycle.allowed_targets(report.status, report.outcome),
        "report": content_of(session, tenant, report),
        "content_digest": report.content_digest,
        "confidential": report.sealed_identity is not None,
        "timeline": timeline_view(session, tenant, report),
        "messages": messages_view(session, tenant, report, for_official=True),
        "attachments": attachments_view(session, report),
        "recusals": [
            {
                "official_id": str(r.official_id),
                "at": r.at.isoformat(),
                "kind": r.kind,
                "reason": _text(session, tenant, "wb_recusals", r.id, "reason", r.reason),
            }
            for r in repository.recusals(session, report.id)
        ],
    }


@dataclass(frozen=True)
class Download:
    case_number: str
    attachment: Attachment
    data: bytes

    @property
    def filename(self) -> str:
        """Generated, never the uploader's: `<case number>-<id>.<type's extension>`."""
        att = self.attachment
        return f"{self.case_number}-{att.id}.{files.EXTENSIONS.get(att.media_type, 'bin')}"

    def response(self) -> Response:
        """The file as a download that no browser runs or renders inline."""
        return Response(
            self.data,
            mimetype=self.attachment.media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{self.filename}"',
                "Content-Security-Policy": "default-src 'none'; sandbox",
            },
        )


def attachment(
    session: Session, tenant: Tenant, actor: Actor, case_number: str, attachment_id: uuid.UUID
) -> Download:
    """One evidence file of a case the official may handle (404 for another case's file, like
    a missing one)."""
    report = official_case(session, actor, case_number)
    att = session.get(Attachment, attachment_id)
    if att is None or att.report_id != report.id:
        raise Refused(404, "No such attachment.")
    data = FieldCipher(session, tenant.id, "wb_attachments", att.id).decrypt("content", att.content)
    return Download(report.case_number, att, data)


# --- the officials' workspace (pages) ------------------------------------------------------


def steps_for(status: str, outcome: str | None, roles: frozenset[str]) -> list[str]:
    """The next states this official's roles may move a case to: the lifecycle's edges from
    (status, outcome) that name one of the roles. The case page offers these and no other."""
    return [
        e.target.value
        for e in lifecycle.EDGES
        if e.source == status and e.requires_outcome in (None, outcome) and roles & e.roles
    ]


def days_left(tenant: Tenant, report: Report) -> int | None:
    """Days until the case's next pending clock (negative when overdue; None when met)."""
    f = report_flags(tenant, report)
    if f.acknowledge not in ("met",):
        due = report.acknowledge_by
    elif f.feedback not in ("met",):
        due = report.feedback_by
    else:
        return None
    return (due - today(tenant)).days


def office_row(tenant: Tenant, report: Report, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    """One case in the officials' list: the summary, its assignee's name and days left."""
    return {
        **summary(tenant, report),
        "received_on": clocks.local_date(report.received_at, tenant.timezone).isoformat(),
        "assignee_name": names.get(report.assignee_id) if report.assignee_id else None,
        "days_left": days_left(tenant, report),
    }


def office_detail(session: Session, tenant: Tenant, report: Report, actor: Actor) -> dict[str, Any]:
    """The case page: the handler's detail, with officials named to colleagues (the reporter
    as "reporter"), files with their generated names and sizes, the assignee and the steps
    this official may take."""
    names = repository.official_names(session)
    view = detail(session, tenant, report)
    for step, row in zip(view["timeline"], repository.timeline(session, report.id), strict=True):
        step["by_name"] = names.get(row.actor_id) if row.actor_id else None
    for m in view["messages"]:
        m["by_name"] = names.get(uuid.UUID(m["official_id"])) if m.get("official_id") else None
    for a in view["attachments"]:
        ext = files.EXTENSIONS.get(a["media_type"], "bin")
        a["filename"] = f"{report.case_number}-{a['id']}.{ext}"
        a["kb"] = max(1, round(a["size"] / 1024))
    for r in view["recusals"]:
        r["name"] = names.get(uuid.UUID(r["official_id"]))
    view.update(
        received_on=clocks.local_date(report.received_at, tenant.timezone).isoformat(),
        assignee_name=names.get(report.assignee_id) if report.assignee_id else None,
        days_left=days_left(tenant, report),
        steps=steps_for(report.status, report.outcome, actor.roles),
        may_assign=access.holds(actor.roles, access.ASSIGNERS)
        and not lifecycle.is_closed(report.status),
        may_message=lifecycle.takes_input(report.status),
    )
    return view


def home_counts(session: Session, tenant: Tenant, actor: Actor) -> dict[str, int]:
    """What waits for this official, counted in the cases they may see."""
    on = today(tenant)
    scope: dict[str, Any] = {
        "hide_from": actor.official_id,
        "only_assigned_to": None if access.sees_all(actor.roles) else actor.official_id,
    }
    out: dict[str, int] = {}
    if access.holds(actor.roles, access.HANDLERS):
        if access.holds(actor.roles, access.INTAKE):
            out["to_acknowledge"] = repository.count_reports(
                session, today=on, status="received", **scope
            )
            out["unassigned"] = repository.count_reports(
                session,
                today=on,
                statuses=("acknowledged", "triaged", "investigating"),
                unassigned=True,
                **scope,
            )
        out["mine"] = repository.count_reports(
            session,
            today=on,
            statuses=("received", "acknowledged", "triaged", "investigating"),
            assignee=actor.official_id,
            **scope,
        )
        out["due_soon"] = repository.count_reports(session, today=on, due_soon=True, **scope)
        out["overdue"] = repository.count_reports(session, today=on, overdue=True, **scope)
    if access.holds(actor.roles, access.CUSTODIANS):
        out["identity_requests"] = len(repository.pending_identity_requests(session))
    return out


# --- Lists and figures ----------------------------------------------------------------------


DEFAULT_DISCLOSURE_VALID_DAYS = 7


def disclosure_validity(tenant: Tenant) -> timedelta:
    """How long an approved identity copy waits for its requester (tenant setting
    `identity_disclosure_valid_days`); then it is wiped unread."""
    days = config(tenant).get("identity_disclosure_valid_days", DEFAULT_DISCLOSURE_VALID_DAYS)
    return timedelta(days=int(days))


def requester_standing(session: Session, requested_by: uuid.UUID, report: Report) -> str:
    """Whether the official who asked may still handle the case now: "may_handle", or why
    not ("inactive", "no_disclosure_role", "recused", "not_assigned")."""
    official = repository.active_official(session, requested_by)
    if official is None:
        return "inactive"
    return access.disclosure_standing(
        official.roles,
        requested_by,
        report.assignee_id,
        repository.recused_officials(session, report.id),
    )


def pending_identity_requests(session: Session, tenant: Tenant) -> list[dict[str, Any]]:
    """What a custodian decides on: the pending requests, with the requester's reason and
    current standing (`requester_standing`: may they still handle the case?)."""
    return [
        {
            "id": str(r.id),
            "case_number": report.case_number,
            "status": r.status,
            "created_at": r.created_at.isoformat(),
            "approvals": len(r.approvals),
            "reason": _text(session, tenant, "wb_identity_requests", r.id, "reason", r.reason),
            "requester_standing": requester_standing(session, r.requested_by, report),
        }
        for r, report in repository.pending_identity_requests(session)
    ]


def stats(session: Session, tenant: Tenant) -> dict[str, Any]:
    """Unsuppressed figures (handlers, auditors)."""
    return repository.stats(session, today=today(tenant), tz=tenant.timezone)


def public_stats(session: Session, tenant: Tenant) -> dict[str, Any]:
    """Figures anyone may read: cells below the small-cell threshold are hidden (None)."""
    s = stats(session, tenant)

    def enough(n: int, v: Any) -> Any:
        return v if n >= stats_rules.SMALL_CELL else None

    return {
        "total": stats_rules.suppress_total(s["total"]),
        "by_category": stats_rules.suppress(s["by_category"]),
        "by_status": stats_rules.suppress(s["by_status"]),
        "by_month": stats_rules.suppress(s["by_month"]),
        "by_channel": stats_rules.suppress(s["by_channel"]),
        "median_days_to_acknowledge": enough(
            s["acknowledged_count"], s["median_days_to_acknowledge"]
        ),
        "median_days_to_conclude": enough(s["concluded_count"], s["median_days_to_conclude"]),
        "small_cell_threshold": stats_rules.SMALL_CELL,
    }


def stats_rows(s: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """The figures as (dimension, key, value) rows, for a spreadsheet."""
    rows: list[tuple[str, str, Any]] = [
        (dim, key, n)
        for dim in ("category", "status", "month", "channel")
        for key, n in s[f"by_{dim}"].items()
    ]
    rows += [
        ("total", "", s["total"]),
        ("overdue", "", s["overdue"]),
        ("median_days_to_acknowledge", "", s["median_days_to_acknowledge"] or ""),
        ("median_days_to_conclude", "", s["median_days_to_conclude"] or ""),
    ]
    return rows
