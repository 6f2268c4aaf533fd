"""Use cases of the whistleblowing service: each one is a single unit of work.

Handlers parse input, build an `Actor`, call one function here and commit the unit of work;
the functions apply domain rules, write rows (ciphertexts only for free text) and emit
events carrying ids, states and keyed digests, never text, names or receipts.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from services.whistleblowing import attachments as files
from services.whistleblowing import holiday_calendar, protect, repository
from services.whistleblowing.domain import clocks, codes, lifecycle, recusal, retention
from services.whistleblowing.models import (
    Assignment,
    Attachment,
    HandlerProfile,
    IdempotentSubmission,
    IdentityRequest,
    Message,
    OfficialRow,
    ReceiptThrottle,
    Recusal,
    Report,
    ReportHistory,
)
from shared.db import utcnow
from shared.separation import check_separation
from shared.tenancy import Tenant

SERVICE = "whistleblowing"
IDEMPOTENCY_WINDOW = timedelta(hours=24)
RECEIPT_FAILURES_ALLOWED = 10
RECEIPT_WINDOW = timedelta(minutes=15)
HANDLER_ROLE_ORDER = ("wbs_supervisor", "wbs_investigator", "wbs_intake", "identity_custodian")
SEE_ALL = frozenset({"wbs_intake", "wbs_supervisor"})
# What a reporter reads for a system notice (pages translate the code).
NOTICES = {
    "identity_disclosed": "Your identity was disclosed to the handler of your report, "
    "after approval by the identity custodian."
}


class Refused(Exception):
    """A request the rules refuse; `status` is the HTTP answer, `field` the input at fault."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        self.status, self.field = status, field
        super().__init__(message)


@dataclass(frozen=True)
class Actor:
    kind: str  # "reporter" | "official"
    pseudonym: str  # for events: "reporter" or "official:<hmac>"
    official_id: uuid.UUID | None = None
    roles: frozenset[str] = frozenset()

    @property
    def role(self) -> str:
        """How the reporter sees this actor: only a role, never a person."""
        if self.kind != "official":
            return self.kind
        return next((r for r in HANDLER_ROLE_ORDER if r in self.roles), "official")


REPORTER = Actor("reporter", "reporter")
SYSTEM = Actor("system", "system")


def _config(tenant: Tenant) -> dict:
    return tenant.service_config(SERVICE)


def today(tenant: Tenant, now: datetime | None = None) -> date:
    return clocks.local_date(now or utcnow(), tenant.timezone)


def categories(tenant: Tenant) -> list[dict]:
    return list(_config(tenant).get("categories", []))


def dues(report: Report) -> clocks.DueDates:
    return clocks.DueDates(report.acknowledge_by, report.feedback_by)


def report_flags(tenant: Tenant, report: Report) -> clocks.Flags:
    return clocks.flags(today(tenant), report.status, report.outcome, dues(report))


# --- Filing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filed:
    report: Report
    receipt: str
    replayed: bool = False


def submit(
    uw,
    form,
    uploads: list[bytes],
    *,
    idempotency_key: str | None = None,
    request_digest_source: Any = None,
) -> Filed:
    """File a report (anonymous unless `form.identity`), with optional evidence files."""
    session, tenant = uw.session, uw.tenant
    if form.category not in {c["code"] for c in categories(tenant)}:
        raise Refused(422, "Unknown category for this city.", "category")
    policy = files.Policy.from_config(_config(tenant))
    try:
        files.check_count(0, len(uploads), policy)
        cleaned = [files.inspect(data, policy) for data in uploads]
    except files.AttachmentRejected as exc:
        raise Refused(exc.status, str(exc), "file") from None

    key_hash = request_digest = None
    if idempotency_key:
        key_hash = protect.keyed_hash(session, tenant.id, "wb-idempotency", idempotency_key)
        request_digest = protect.digest(session, tenant.id, request_digest_source)
        replay = _replay(session, tenant, key_hash, request_digest)
        if replay:
            return replay

    now = utcnow()
    report_id = uuid.uuid4()
    receipt = codes.new_receipt()
    case_number = codes.new_case_number(clocks.local_date(now, tenant.timezone).year)
    while repository.case_number_taken(session, case_number):
        case_number = codes.new_case_number(clocks.local_date(now, tenant.timezone).year)
    sla = clocks.Sla.from_config(_config(tenant))
    calendar = holiday_calendar.for_tenant(tenant.config, clocks.local_date(now, tenant.timezone))
    due = clocks.due_dates(now, tenant.timezone, sla, calendar)
    content = form.content()
    report = Report(
        id=report_id,
        tenant_id=tenant.id,
        case_number=case_number,
        receipt_hash=protect.keyed_hash(session, tenant.id, "receipt", receipt),
        category=form.category,
        status=lifecycle.Status.RECEIVED.value,
        received_at=now,
        content=protect.encrypt_json(
            session, tenant.id, "wb_reports", report_id, "content", content
        ),
        content_digest=protect.digest(session, tenant.id, {"category": form.category, **content}),
        sealed_identity=_seal(session, tenant, report_id, form.identity),
        acknowledge_by=due.acknowledge_by,
        feedback_by=due.feedback_by,
        last_reporter_input_at=now,
        version=1,
        reported_marks=_hashed_marks(
            session, tenant, recusal.report_marks(content["reported_persons"])
        ),
    )
    session.add(report)
    session.add(
        ReportHistory(
            tenant_id=tenant.id,
            report_id=report_id,
            at=now,
            from_status=None,
            to_status=report.status,
            actor_role="reporter",
        )
    )
    session.flush()
    added = [_store_attachment(uw, report, f, REPORTER) for f in cleaned]
    uw.emit(
        "whistleblowing.report.submitted.v1",
        subject=case_number,
        actor="reporter",
        data={
            "report_id": str(report_id),
            "case_number": case_number,
            "category": form.category,
            "status": report.status,
            "confidential": form.identity is not None,
            "content_digest": report.content_digest,
            "attachment_count": len(added),
            "acknowledge_by": due.acknowledge_by.isoformat(),
            "feedback_by": due.feedback_by.isoformat(),
        },
    )
    for att in added:
        _emit_attachment(uw, report, att, REPORTER)
    for profile in session.execute(select(HandlerProfile)).scalars():
        _recuse_if_conflicted(uw, report, profile)
    if sla.auto_acknowledge:
        _apply(
            uw,
            report,
            lifecycle.decide(report.status, None, "acknowledged", roles=lifecycle.INTAKE),
            SYSTEM,
        )
    if key_hash:
        session.add(
            IdempotentSubmission(
                key_hash=key_hash,
                tenant_id=tenant.id,
                request_digest=request_digest,
                report_id=report_id,
                created_at=now,
                receipt=protect.encrypt_text(
                    session, tenant.id, "wb_idempotency", report_id, "receipt", receipt
                ),
            )
        )
    return Filed(report, receipt)


def _seal(session: Session, tenant: Tenant, report_id: uuid.UUID, identity) -> bytes | None:
    if identity is None:
        return None
    try:
        return protect.seal_identity(
            session, tenant.id, report_id, identity.model_dump(exclude_none=True)
        )
    except protect.identity_errors()["no_custodian"]:
        raise Refused(
            422,
            "This city has no identity custodian yet, so it cannot keep an "
            "identity safely: leave the identity out to report anonymously.",
            "identity",
        ) from None


def _replay(session: Session, tenant: Tenant, key_hash: str, request_digest: str) -> Filed | None:
    # Receipts of keys past the window are wiped: the copy lives no longer than promised.
    session.execute(
        update(IdempotentSubmission)
        .where(
            IdempotentSubmission.created_at < utcnow() - IDEMPOTENCY_WINDOW,
            IdempotentSubmission.receipt.is_not(None),
        )
        .values(receipt=None)
    )
    row = session.get(IdempotentSubmission, key_hash, with_for_update=True)
    if row is None or row.tenant_id != tenant.id:
        return None
    if not hmac.compare_digest(row.request_digest, request_digest):
        raise Refused(
            422, "This Idempotency-Key was used for a different report.", "Idempotency-Key"
        )
    if row.receipt is None:
        raise Refused(
            409,
            "This Idempotency-Key was used more than 24 hours ago; send the report with a new key.",
            "Idempotency-Key",
        )
    report = session.get(Report, row.report_id)
    receipt = protect.decrypt_text(
        session, tenant.id, "wb_idempotency", row.report_id, "receipt", row.receipt
    )
    return Filed(report, receipt, replayed=True)


# --- Reporter access ----------------------------------------------------------------------


class ReceiptRejected(Refused):
    def __init__(
        self,
        status: int = 401,
        message: str = "This receipt is not recognised.",
        retry_after: int | None = None,
    ) -> None:
        super().__init__(status, message)
        self.retry_after = retry_after


def _dummy_receipt() -> str:
    return "0" * codes.RECEIPT_CHARS


def open_with_receipt(
    session: Session, tenant: Tenant, typed: str | None, client: str, *, for_update: bool = False
) -> Report:
    """The report a receipt opens. Unknown and malformed receipts take the same path (hash,
    look-up, compare, count) so neither timing nor answer tells them apart; failures are
    counted per client address, and too many lock that address out for a while."""
    throttle_key = protect.keyed_hash(session, tenant.id, "wb-receipt-client", client)
    row = session.get(ReceiptThrottle, throttle_key)
    now = utcnow()
    if (
        row is not None
        and row.window_started_at > now - RECEIPT_WINDOW
        and row.failures >= RECEIPT_FAILURES_ALLOWED
    ):
        wait = int((row.window_started_at + RECEIPT_WINDOW - now).total_seconds()) + 1
        raise ReceiptRejected(429, "Too many wrong receipts; try again later.", wait)
    receipt = codes.normalise_receipt(typed or "")
    wanted = protect.keyed_hash(session, tenant.id, "receipt", receipt or _dummy_receipt())
    report = repository.report_by_receipt_hash(session, wanted, for_update=for_update)
    if (
        report is not None
        and receipt is not None
        and hmac.compare_digest(report.receipt_hash, wanted)
    ):
        return report
    _count_failure(session, tenant, throttle_key, now)
    raise ReceiptRejected()


def _count_failure(session: Session, tenant: Tenant, key: str, now: datetime) -> None:
    window_open = ReceiptThrottle.window_started_at > now - RECEIPT_WINDOW
    stmt = pg_insert(ReceiptThrottle).values(
        key=key, tenant_id=tenant.id, failures=1, window_started_at=now
    )

    stmt = stmt.on_conflict_do_update(
        index_elements=["key"],
        set_={
            "failures": case((window_open, ReceiptThrottle.failures + 1), else_=1),
            "window_started_at": case((window_open, ReceiptThrottle.window_started_at), else_=now),
        },
    )
    session.execute(stmt)
    session.commit()  # on purpose: the count must survive the refused request


# --- Reading a case -------------------------------------------------------------------------


def _text(session, tenant, table, row_id, field, blob) -> str | None:
    return (
        None
        if blob is None
        else protect.decrypt_text(session, tenant.id, table, row_id, field, blob)
    )


def content_of(session: Session, tenant: Tenant, report: Report) -> dict:
    return protect.decrypt_json(
        session, tenant.id, "wb_reports", report.id, "content", report.content
    )


def timeline_view(session: Session, tenant: Tenant, report: Report) -> list[dict]:
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
) -> list[dict]:
    out = []
    for m in repository.messages(session, report.id):
        item: dict[str, Any] = {"id": str(m.id), "at": m.at.isoformat(), "from": m.author_role}
        body = protect.decrypt_json(session, tenant.id, "wb_messages", m.id, "body", m.body)
        if "notice" in body:
            item.update(notice=body["notice"], body=NOTICES.get(body["notice"], ""))
        else:
            item["body"] = body["text"]
        if for_official and m.author_id:
            item["official_id"] = str(m.author_id)
        out.append(item)
    return out


def attachments_view(session: Session, report: Report) -> list[dict]:
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


def inbox(session: Session, tenant: Tenant, report: Report) -> dict:
    """What the reporter sees: status, timeline, messages; handlers only as roles."""
    return {
        "case_number": report.case_number,
        "category": report.category,
        "status": report.status,
        "outcome": report.outcome,
        "received_at": report.received_at.isoformat(),
        "acknowledge_by": report.acknowledge_by.isoformat(),
        "feedback_by": report.feedback_by.isoformat(),
        "report": content_of(session, tenant, report),
        "confidential": report.sealed_identity is not None,
        "timeline": timeline_view(session, tenant, report),
        "messages": messages_view(session, tenant, report, for_official=False),
        "attachments": attachments_view(session, report),
    }


def expires_on(tenant: Tenant, report: Report) -> date | None:
    def local(t):
        return clocks.local_date(t, tenant.timezone) if t else None

    return retention.expires_on(
        report.status,
        local(report.archived_at),
        local(report.last_reporter_input_at),
        int(_config(tenant).get("retention_days", retention.DEFAULT_RETENTION_DAYS)),
    )


def summary(tenant: Tenant, report: Report) -> dict:
    f = report_flags(tenant, report)
    expiry = expires_on(tenant, report)
    return {
        "case_number": report.case_number,
        "category": report.category,
        "status": report.status,
        "outcome": report.outcome,
        "received_at": report.received_at.isoformat(),
        "acknowledge_by": report.acknowledge_by.isoformat(),
        "feedback_by": report.feedback_by.isoformat(),
        "clocks": {"acknowledge": f.acknowledge, "feedback": f.feedback},
        "overdue": f.overdue,
        "due_soon": f.due_soon,
        "assignee": str(report.assignee_id) if report.assignee_id else None,
        "expires_on": expiry.isoformat() if expiry else None,
        "retention": retention.state(today(tenant), expiry),
    }


def detail(session: Session, tenant: Tenant, report: Report) -> dict:
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


def official_case(
    session: Session, actor: Actor, case_number: str, *, for_update: bool = False
) -> Report:
    """The case if this official may handle it; otherwise the same 404 as a missing case."""
    report = (
        repository.report_by_case(session, case_number, for_update=for_update)
        if codes.is_case_number(case_number)
        else None
    )
    if report is None or not may_handle(session, actor, report):
        raise Refused(404, "No such report.")
    return report


def may_handle(session: Session, actor: Actor, report: Report) -> bool:
    """Intake and supervisors see every case, investigators their assigned ones; nobody sees
    a case they are recused from."""
    if actor.official_id in repository.recused_officials(session, report.id):
        return False
    return bool(actor.roles & SEE_ALL) or report.assignee_id == actor.official_id


# --- Changing a case ------------------------------------------------------------------------


def transition(
    uw,
    actor: Actor,
    report: Report,
    to: str,
    *,
    outcome: str | None = None,
    reason: str | None = None,
    referral: str | None = None,
) -> Report:
    step = lifecycle.decide(
        report.status,
        report.outcome,
        to,
        roles=actor.roles,
        new_outcome=outcome,
        reason=reason,
        referral=referral,
    )
    return _apply(uw, report, step, actor)


def _apply(uw, report: Report, step: lifecycle.Step, actor: Actor) -> Report:
    session, tenant = uw.session, uw.tenant
    now = utcnow()
    history = ReportHistory(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        report_id=report.id,
        at=now,
        from_status=step.source.value,
        to_status=step.target.value,
        outcome=step.outcome,
        actor_role=actor.role,
        actor_id=actor.official_id,
    )
    if step.reason:
        history.reason = protect.encrypt_text(
            session, tenant.id, "wb_report_history", history.id, "reason", step.reason
        )
    if step.referral:
        history.referral = protect.encrypt_text(
            session, tenant.id, "wb_report_history", history.id, "referral", step.referral
        )
    session.add(history)
    report.status = step.target.value
    if step.outcome is not None:
        report.outcome = step.outcome
    stamp = {
        "acknowledged": "acknowledged_at",
        "triaged": "triaged_at",
        "concluded": "concluded_at",
        "archived": "archived_at",
    }.get(step.target.value)
    if stamp:
        setattr(report, stamp, now)
    report.version += 1
    data = {
        "report_id": str(report.id),
        "case_number": report.case_number,
        "from": step.source.value,
        "to": step.target.value,
        "outcome": step.outcome,
        "referred": step.referral is not None,
        "version": report.version,
    }
    if step.reason:
        data["reason_digest"] = protect.digest(session, tenant.id, step.reason)
    uw.emit(
        "whistleblowing.report.transitioned.v1",
        subject=report.case_number,
        actor=actor.pseudonym,
        data=data,
    )
    return report


def _open_for_input(report: Report) -> None:
    if report.status == lifecycle.Status.ARCHIVED:
        raise Refused(409, "This report is archived and takes no more messages or files.")


def post_message(uw, actor: Actor, report: Report, text: str) -> Message:
    _open_for_input(report)
    session, tenant = uw.session, uw.tenant
    msg = Message(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        report_id=report.id,
        at=utcnow(),
        author_role=actor.role,
        author_id=actor.official_id,
    )
    msg.body = protect.encrypt_json(
        session, tenant.id, "wb_messages", msg.id, "body", {"text": text}
    )
    session.add(msg)
    if actor.kind == "reporter":
        report.last_reporter_input_at = msg.at
    uw.emit(
        "whistleblowing.message.posted.v1",
        subject=report.case_number,
        actor=actor.pseudonym,
        data={
            "report_id": str(report.id),
            "case_number": report.case_number,
            "message_id": str(msg.id),
            "author_role": actor.role,
            "body_digest": protect.digest(session, tenant.id, text),
        },
    )
    return msg


def add_attachment(uw, actor: Actor, report: Report, data: bytes) -> Attachment:
    _open_for_input(report)
    policy = files.Policy.from_config(_config(uw.tenant))
    try:
        files.check_count(repository.attachment_count(uw.session, report.id), 1, policy)
        clean = files.inspect(data, policy)
    except files.AttachmentRejected as exc:
        raise Refused(exc.status, str(exc), "file") from None
    att = _store_attachment(uw, report, clean, actor)
    if actor.kind == "reporter":
        report.last_reporter_input_at = att.at
    _emit_attachment(uw, report, att, actor)
    return att


def _store_attachment(uw, report: Report, clean: files.CleanFile, actor: Actor) -> Attachment:
    session, tenant = uw.session, uw.tenant
    att = Attachment(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        report_id=report.id,
        at=utcnow(),
        uploaded_by=actor.role,
        media_type=clean.media_type,
        size=len(clean.data),
        digest=protect.digest(session, tenant.id, hashlib.sha256(clean.data).hexdigest()),
    )
    att.content = protect.encrypt_bytes(
        session, tenant.id, "wb_attachments", att.id, "content", clean.data
    )
    session.add(att)
    return att


def _emit_attachment(uw, report: Report, att: Attachment, actor: Actor) -> None:
    uw.emit(
        "whistleblowing.attachment.added.v1",
        subject=report.case_number,
        actor=actor.pseudonym,
        data={
            "report_id": str(report.id),
            "case_number": report.case_number,
            "attachment_id": str(att.id),
            "media_type": att.media_type,
            "size": att.size,
            "digest": att.digest,
            "uploaded_by": actor.role,
        },
    )


def attachment_content(
    session: Session, tenant: Tenant, report: Report, attachment_id: uuid.UUID
) -> tuple[Attachment, bytes]:
    att = session.get(Attachment, attachment_id)
    if att is None or att.report_id != report.id:
        raise Refused(404, "No such attachment.")
    return att, protect.decrypt_bytes(
        session, tenant.id, "wb_attachments", att.id, "content", att.content
    )


def _official(session: Session, official_id: uuid.UUID) -> OfficialRow | None:
    row = session.get(OfficialRow, official_id)
    return row if row is not None and row.active else None


def assign(uw, actor: Actor, report: Report, official_id: uuid.UUID) -> Report:
    if lifecycle.is_closed(report.status):
        raise Refused(409, f"A '{report.status}' report cannot be reassigned.")
    official = _official(uw.session, official_id)
    if official is None or not set(official.roles) & {"wbs_investigator", "wbs_supervisor"}:
        raise Refused(
            422, "Assign the report to an investigator or supervisor of this city.", "official_id"
        )
    if official_id in repository.recused_officials(uw.session, report.id):
        raise Refused(
            409, "This official is recused from the report and cannot handle it.", "official_id"
        )
    report.assignee_id = official_id
    report.version += 1
    uw.session.add(
        Assignment(
            tenant_id=uw.tenant.id,
            report_id=report.id,
            official_id=official_id,
            assigned_by=actor.official_id,
            at=utcnow(),
        )
    )
    uw.emit(
        "whistleblowing.report.assigned.v1",
        subject=report.case_number,
        actor=actor.pseudonym,
        data={
            "report_id": str(report.id),
            "case_number": report.case_number,
            "assignee_id": str(official_id),
        },
    )
    return report


def recuse(uw, actor: Actor, report: Report, official_id: uuid.UUID, reason: str) -> Recusal:
    """Exclude an official (reported, or in a reported unit) from the case; recorded."""
    if official_id != actor.official_id and "wbs_supervisor" not in actor.roles:
        raise Refused(403, "Only a supervisor can recuse another official.")
    if official_id in repository.recused_officials(uw.session, report.id):
        raise Refused(409, "This official is already recused from the report.", "official_id")
    return _record_recusal(uw, report, official_id, reason, kind="declared", actor=actor)


def _record_recusal(
    uw, report: Report, official_id: uuid.UUID, reason: str, *, kind: str, actor: Actor
) -> Recusal:
    session, tenant = uw.session, uw.tenant
    rec = Recusal(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        report_id=report.id,
        official_id=official_id,
        recorded_by=actor.official_id,
        kind=kind,
        at=utcnow(),
    )
    rec.reason = protect.encrypt_text(session, tenant.id, "wb_recusals", rec.id, "reason", reason)
    session.add(rec)
    if report.assignee_id == official_id:
        report.assignee_id = None
    report.version += 1
    uw.emit(
        "whistleblowing.report.recused.v1",
        subject=report.case_number,
        actor=actor.pseudonym,
        data={
            "report_id": str(report.id),
            "case_number": report.case_number,
            "official_id": str(official_id),
            "kind": kind,
            "reason_digest": protect.digest(session, tenant.id, reason),
        },
    )
    return rec


# --- Conflicts of interest -----------------------------------------------------------------

CONFLICT_REASONS = {
    "reported_unit": "Automatic: the handler works in a reported unit.",
    "reported_person": "Automatic: the handler is reported in this case.",
}


def _hashed_marks(session: Session, tenant: Tenant, marks: set[str]) -> list[str]:
    return sorted(protect.keyed_hash(session, tenant.id, "wb-conflict", m) for m in marks)


def _recuse_if_conflicted(uw, report: Report, profile: HandlerProfile) -> str | None:
    kind = recusal.conflict(set(profile.marks), set(report.reported_marks or []))
    if kind is None or profile.official_id in repository.recused_officials(uw.session, report.id):
        return None
    _record_recusal(
        uw, report, profile.official_id, CONFLICT_REASONS[kind], kind=kind, actor=SYSTEM
    )
    return kind


def set_handler_profile(
    uw, actor: Actor, official_id: uuid.UUID, *, work_unit: str, name: str = ""
) -> list[str]:
    """Record what a handler could be in conflict with (as keyed hashes only) and recuse them
    at once from every open case that reports their unit or them; returns those cases."""
    session, tenant = uw.session, uw.tenant
    if _official(session, official_id) is None:
        raise Refused(422, "No such official in this city.", "official_id")
    marks = _hashed_marks(session, tenant, recusal.marks([work_unit], [name] if name else []))
    profile = session.get(HandlerProfile, official_id)
    if profile is None:
        profile = HandlerProfile(official_id=official_id, tenant_id=tenant.id)
        session.add(profile)
    profile.marks, profile.updated_at = marks, utcnow()
    uw.emit(
        "whistleblowing.handler.profile_set.v1",
        subject=f"official:{official_id}",
        actor=actor.pseudonym,
        data={"official_id": str(official_id), "marks": len(marks)},
    )
    recused = []
    for report in session.execute(
        select(Report).where(Report.status != "archived").with_for_update()
    ).scalars():
        if _recuse_if_conflicted(uw, report, profile):
            recused.append(report.case_number)
    return recused


# --- Identity disclosure --------------------------------------------------------------------


def request_identity(uw, actor: Actor, report: Report, reason: str) -> IdentityRequest:
    session, tenant = uw.session, uw.tenant
    if report.sealed_identity is None:
        raise Refused(409, "The reporter stayed anonymous: there is no identity to disclose.")
    req = IdentityRequest(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        report_id=report.id,
        requested_by=actor.official_id,
        status="pending",
        approvals=[],
        created_at=utcnow(),
    )
    req.reason = protect.encrypt_text(
        session, tenant.id, "wb_identity_requests", req.id, "reason", reason
    )
    session.add(req)
    uw.emit(
        "whistleblowing.identity.requested.v1",
        subject=report.case_number,
        actor=actor.pseudonym,
        data={
            "report_id": str(report.id),
            "case_number": report.case_number,
            "request_id": str(req.id),
            "reason_digest": protect.digest(session, tenant.id, reason),
        },
    )
    return req


def decide_identity(
    uw, actor: Actor, request_id: uuid.UUID, decision: str, passphrase: str | None
) -> IdentityRequest:
    """A custodian approves or rejects. With enough approvals (tenant setting, 1 or 2) the
    last approver's passphrase opens the identity; the reporter is told in the same
    transaction, before the requester can read it (once)."""
    session, tenant = uw.session, uw.tenant
    req = repository.identity_request(session, request_id, for_update=True)
    if req is None:
        raise Refused(404, "No such identity request.")
    if req.status != "pending":
        raise Refused(409, f"This request is already {req.status}.")
    actor_key = str(actor.official_id)
    check_separation(
        {"request": str(req.requested_by)},
        "approve",
        actor_key,
        [frozenset({"request", "approve"})],
    )
    report = session.get(Report, req.report_id)
    needed = int(_config(tenant).get("identity_disclosure_approvers", 1))
    now = utcnow()
    if decision == "reject":
        req.status, req.decided_at = "rejected", now
    else:
        if actor_key in req.approvals:
            raise Refused(
                409,
                "You have already approved this request; another custodian must approve it too.",
            )
        approvals = [*req.approvals, actor_key]
        if len(approvals) >= needed:
            if not passphrase:
                raise Refused(
                    422, "The custodian's passphrase is needed to open the identity.", "passphrase"
                )
            errors = protect.identity_errors()
            try:
                identity = protect.open_identity(
                    session, tenant.id, report.id, report.sealed_identity, passphrase
                )
            except errors["wrong_passphrase"]:
                session.rollback()
                raise Refused(403, "The passphrase is not right.", "passphrase") from None
            except errors["does_not_open"]:
                session.rollback()
                raise Refused(
                    409,
                    "The sealed identity does not open; it may have been "
                    "altered. Nothing was disclosed.",
                ) from None
            req.disclosure = protect.encrypt_json(
                session, tenant.id, "wb_identity_requests", req.id, "disclosure", identity
            )
            req.status, req.decided_at = "approved", now
            notice = Message(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                report_id=report.id,
                at=now,
                author_role="system",
            )
            notice.body = protect.encrypt_json(
                session,
                tenant.id,
                "wb_messages",
                notice.id,
                "body",
                {"notice": "identity_disclosed"},
            )
            session.add(notice)
        req.approvals = approvals
    uw.emit(
        "whistleblowing.identity.decided.v1",
        subject=report.case_number,
        actor=actor.pseudonym,
        data={
            "report_id": str(report.id),
            "case_number": report.case_number,
            "request_id": str(req.id),
            "decision": decision,
            "status": req.status,
            "approvals": len(req.approvals),
            "approvals_needed": needed,
            "reporter_notified": req.status == "approved",
        },
    )
    return req


def view_identity(uw, actor: Actor, request_id: uuid.UUID) -> dict:
    """The requester reads the disclosed identity once; the copy is then wiped."""
    session, tenant = uw.session, uw.tenant
    req = repository.identity_request(session, request_id, for_update=True)
    if req is None or req.requested_by != actor.official_id:
        raise Refused(404, "No such identity request.")
    if req.status == "viewed":
        raise Refused(410, "The identity was already shown once.")
    if req.status != "approved" or req.disclosure is None:
        raise Refused(409, f"This request is {req.status}.")
    identity = protect.decrypt_json(
        session, tenant.id, "wb_identity_requests", req.id, "disclosure", req.disclosure
    )
    req.disclosure, req.status, req.viewed_at = None, "viewed", utcnow()
    report = session.get(Report, req.report_id)
    uw.emit(
        "whistleblowing.identity.viewed.v1",
        subject=report.case_number,
        actor=actor.pseudonym,
        data={
            "report_id": str(report.id),
            "case_number": report.case_number,
            "request_id": str(req.id),
        },
    )
    return identity


# --- Retention ------------------------------------------------------------------------------


def expire_due(uw, *, now: datetime | None = None) -> list[str]:
    """Delete the tenant's archived cases whose retention has run out; one event each.

    Every record key of the case is shredded first, then the rows (with the sealed identity)
    are deleted; the events in the ledger keep only ids and states. Rows locked by a request
    are skipped until the next run.
    """
    session, tenant = uw.session, uw.tenant
    day = today(tenant, now)
    expired = []
    for report in session.execute(
        select(Report).where(Report.status == "archived").with_for_update(skip_locked=True)
    ).scalars():
        if retention.state(day, expires_on(tenant, report)) != "expired":
            continue
        _shred_case(session, tenant, report)
        for model in (
            ReportHistory,
            Message,
            Attachment,
            Assignment,
            Recusal,
            IdentityRequest,
            IdempotentSubmission,
        ):
            session.execute(delete(model).where(model.report_id == report.id))
        session.delete(report)
        uw.emit(
            "whistleblowing.report.expired.v1",
            subject=report.case_number,
            actor="system",
            data={
                "report_id": str(report.id),
                "case_number": report.case_number,
                "archived_on": clocks.local_date(report.archived_at, tenant.timezone).isoformat(),
            },
        )
        expired.append(report.case_number)
    return expired


def _shred_case(session: Session, tenant: Tenant, report: Report) -> None:
    """Destroy the record key of every encrypted row of the case (and of its idempotency
    copy): the ciphertexts can no longer be opened anywhere, backups included."""
    owned = [("wb_reports", report.id), ("wb_idempotency", report.id)]
    for model, table in (
        (ReportHistory, "wb_report_history"),
        (Message, "wb_messages"),
        (Attachment, "wb_attachments"),
        (Recusal, "wb_recusals"),
        (IdentityRequest, "wb_identity_requests"),
    ):
        owned += [
            (table, row_id)
            for row_id in session.execute(
                select(model.id).where(model.report_id == report.id)
            ).scalars()
        ]
    for table, row_id in owned:
        protect.shred(session, tenant.id, table, row_id)


def purge_stale_throttles(uw, *, now: datetime | None = None) -> int:
    """Forget failed-receipt counts whose window has closed (they only slow guessing)."""
    result = uw.session.execute(
        delete(ReceiptThrottle).where(
            ReceiptThrottle.window_started_at < (now or utcnow()) - RECEIPT_WINDOW
        )
    )
    return result.rowcount or 0
