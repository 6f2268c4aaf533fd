"""Use cases of the SP4N-LAPOR! bridge (see `lapor.py` for the port and `domain/lapor.py` for
the rules). Each runs in the caller's unit of work; the calls to LAPOR! happen only in the job
(`lapor_job.py`), never inside a request: a reporter's consent is queued, and the job sends it,
retrying while LAPOR! is down.

- `offer`: an official (the intake roles, who triage) offers to forward a case triaged as a
  public-service complaint ("not a WBS matter"), with a draft text they may shorten.
- `decide`: the reporter, in the inbox, reads the text that would leave, edits it and consents
  (queued), or declines. The text must hold no NIK, phone number or e-mail address.
- `send_due`: the job files queued forwards at LAPOR! (the approved text and the category,
  nothing else: no name, NIK, contact, case number or receipt), records the tracking ID.
- `poll_updates`: the job fetches LAPOR!'s status updates of sent forwards for the inbox.
- `take_referrals` / `acknowledge_referrals`: corruption reports LAPOR! passes on become new
  WBS cases (channel `lapor`), their identity, if any, sealed to the custodian like any other;
  LAPOR! is then given the case number and the receipt, for its reporter.

Events carry ids, states, keyed digests and the tracking ID: never the text.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from services.whistleblowing import cases, schemas, views
from services.whistleblowing.domain import access, channels
from services.whistleblowing.domain import lapor as rules
from services.whistleblowing.lapor import LaporGateway, LaporUnavailable
from services.whistleblowing.lapor_models import LaporForward, LaporInbound, LaporUpdate
from services.whistleblowing.models import Report
from shared import event_types as ev
from shared.actor import REPORTER, SYSTEM, Actor
from shared.crypto import FieldCipher
from shared.db import utcnow
from shared.problem import Problem, Refused
from shared.tenancy import Tenant
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)
FORWARDS, UPDATES, INBOUND = "wb_lapor_forwards", "wb_lapor_updates", "wb_lapor_inbound"
INBOUND_NOTE = "Diteruskan oleh SP4N-LAPOR! (laporan korupsi yang tidak ditangani LAPOR!)."


def agency_of(tenant: Tenant) -> str:
    """The city's agency code at LAPOR! (`whistleblowing.lapor_agency`, else its slug)."""
    return str(views.config(tenant).get("lapor_agency") or tenant.slug)


def forward_of(session: Session, report_id: uuid.UUID, *, for_update: bool = False):
    query = select(LaporForward).where(LaporForward.report_id == report_id)
    if for_update:
        query = query.with_for_update()
    return session.execute(query).scalars().first()


def _cipher(session: Session, tenant: Tenant, fwd: LaporForward, new: bool = False):
    return FieldCipher(session, tenant.id, FORWARDS, fwd.id, new_row=new)


def text_of(session: Session, tenant: Tenant, fwd: LaporForward) -> str:
    return _cipher(session, tenant, fwd).decrypt_text("text", fwd.text)


class PersonalDataInText(Refused):
    """The text would tell who the reporter is (a 422 naming `text` and what it holds)."""

    def __init__(self, kinds: list[str]) -> None:
        self.kinds = kinds
        super().__init__(
            422, "The text would tell who you are (" + ", ".join(kinds) + "): remove it.", "text"
        )


def checked_text(typed: str) -> str:
    """The text that may leave for LAPOR!, or a 422 naming `text` and what it holds."""
    text = (typed or "").replace("\r\n", "\n").strip()
    if not rules.MIN_TEXT <= len(text) <= rules.MAX_TEXT:
        raise Refused(
            422, f"The text needs {rules.MIN_TEXT} to {rules.MAX_TEXT} characters.", "text"
        )
    found = rules.personal_data_in(text)
    if found:
        raise PersonalDataInText(found)
    return text


def draft_of(session: Session, tenant: Tenant, report: Report) -> str:
    """What the official's form proposes: the report's what, where and when."""
    content = views.content_of(session, tenant, report)
    parts = [content.get("what", ""), content.get("where", ""), content.get("when", "")]
    return "\n".join(p for p in parts if p).strip()


def _emit(uw: UnitOfWork, type_: str, report: Report, actor: Actor, **data: Any) -> None:
    uw.emit(
        type_,
        subject=report.case_number,
        actor=actor.pseudonym,
        data={"report_id": str(report.id), "case_number": report.case_number, **data},
    )


# --- Offer and consent ---------------------------------------------------------------------


def offer(uw: UnitOfWork, actor: Actor, report: Report, typed: str) -> LaporForward:
    """An official offers the reporter to forward the case to LAPOR! with `typed` as the text
    (the reporter may edit it). Again while only offered: the draft is replaced."""
    if not access.holds(actor.roles, access.INTAKE):
        raise Refused(403, "Offering a forward to SP4N-LAPOR! needs an intake role.")
    if not rules.may_forward(report.status, report.outcome):
        raise Refused(
            409,
            "Only a case triaged as a public-service complaint (not a WBS matter) can be "
            "forwarded to SP4N-LAPOR!.",
        )
    session, tenant = uw.session, uw.tenant
    text = checked_text(typed)
    fwd = forward_of(session, report.id, for_update=True)
    if fwd is not None and fwd.status != rules.OFFERED:
        raise Refused(409, f"The forward was already {fwd.status}.")
    if fwd is None:
        fwd = LaporForward(
            id=uuid.uuid4(), tenant_id=tenant.id, report_id=report.id, status=rules.OFFERED
        )
        fwd.text = _cipher(session, tenant, fwd, new=True).encrypt("text", text)
        uw.add_new(fwd)
    else:
        fwd.text = _cipher(session, tenant, fwd).encrypt("text", text)
    fwd.offered_by, fwd.offered_at = actor.official_id, utcnow()
    _emit(
        uw,
        ev.WB_LAPOR_FORWARD_OFFERED,
        report,
        actor,
        text_digest=cases.digest(session, tenant, text),
    )
    return fwd


def decide(uw: UnitOfWork, report: Report, consent: bool, typed: str | None) -> LaporForward:
    """The reporter consents to forward with the text as they approved it (queued for the
    job), or declines. Once: a decided forward is not decided again."""
    session, tenant = uw.session, uw.tenant
    fwd = forward_of(session, report.id, for_update=True)
    if fwd is None:
        raise Refused(404, "No forward to SP4N-LAPOR! was offered for this report.")
    if fwd.status != rules.OFFERED:
        raise Refused(409, f"The forward was already {fwd.status}.")
    data: dict[str, Any] = {}
    if consent:
        text = checked_text(typed or "")
        fwd.text = _cipher(session, tenant, fwd).encrypt("text", text)
        fwd.status, fwd.next_attempt_at = rules.QUEUED, None
        data["text_digest"] = cases.digest(session, tenant, text)
    else:
        fwd.status = rules.DECLINED
    fwd.decided_at = utcnow()
    _emit(uw, ev.WB_LAPOR_FORWARD_DECIDED, report, REPORTER, decision=fwd.status, **data)
    return fwd


# --- The job's side: send, poll, take referrals ----------------------------------------------


def send_due(uw: UnitOfWork, gateway: LaporGateway, now: datetime | None = None) -> int:
    """File every queued forward whose next try is due; a failure waits (domain BACKOFF)."""
    session, tenant = uw.session, uw.tenant
    now = now or utcnow()
    due = session.execute(
        select(LaporForward)
        .where(
            LaporForward.status == rules.QUEUED,
            or_(LaporForward.next_attempt_at.is_(None), LaporForward.next_attempt_at <= now),
        )
        .with_for_update(skip_locked=True)
    ).scalars()
    sent = 0
    for fwd in due:
        try:
            tracking = gateway.file_complaint(
                agency_of(tenant), str(fwd.id), text_of(session, tenant, fwd), rules.CATEGORY
            )
        except LaporUnavailable as exc:
            fwd.attempts += 1
            fwd.next_attempt_at = now + rules.wait_after(fwd.attempts)
            fwd.last_error = str(exc)[:200]
            log.warning("lapor: forward %s waits (%s)", fwd.id, exc)
            continue
        fwd.status, fwd.tracking_id, fwd.sent_at = rules.SENT, tracking, now
        fwd.next_attempt_at, fwd.last_error = None, None
        report = session.get(Report, fwd.report_id)
        assert report is not None  # the forward's foreign key
        _emit(
            uw,
            ev.WB_LAPOR_FORWARDED,
            report,
            SYSTEM,
            tracking_id=tracking,
            attempts=fwd.attempts + 1,
        )
        sent += 1
    return sent


def poll_updates(uw: UnitOfWork, gateway: LaporGateway, now: datetime | None = None) -> int:
    """Fetch new status updates of every sent forward; kept for the reporter's inbox."""
    session, tenant = uw.session, uw.tenant
    now = now or utcnow()
    added = 0
    sent = session.execute(
        select(LaporForward)
        .where(LaporForward.status == rules.SENT)
        .with_for_update(skip_locked=True)
    ).scalars()
    for fwd in sent:
        assert fwd.tracking_id is not None  # sent forwards have one
        try:
            updates = gateway.updates(agency_of(tenant), fwd.tracking_id, fwd.updates_seen)
        except LaporUnavailable as exc:
            log.warning("lapor: updates of %s not fetched (%s)", fwd.tracking_id, exc)
            continue
        new = 0
        for u in updates:
            if u.seq <= fwd.updates_seen:
                continue
            row = LaporUpdate(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                forward_id=fwd.id,
                seq=u.seq,
                status=u.status,
                at=u.at,
                received_at=now,
            )
            if u.note:
                row.note = FieldCipher(session, tenant.id, UPDATES, row.id, new_row=True).encrypt(
                    "note", u.note
                )
            uw.add_new(row)
            fwd.updates_seen = u.seq
            added += 1
            new += rules.is_news(u.seq)
        if new:
            # the reporter who left a contact is told there is news (the rules of the
            # notifications consumer); the event holds counts and ids, not LAPOR!'s words
            report = session.get_one(Report, fwd.report_id)
            _emit(
                uw,
                ev.WB_LAPOR_STATUS_UPDATED,
                report,
                SYSTEM,
                updates=new,
                latest_seq=fwd.updates_seen,
            )
        fwd.polled_at = now
    return added


def _corruption_category(tenant: Tenant) -> str:
    codes = [c["code"] for c in views.categories(tenant)]
    return "korupsi" if "korupsi" in codes else codes[0]


def _identity(given: dict[str, str] | None) -> schemas.Identity | None:
    """LAPOR!'s reporter's identity as the WBS seals it; fields that do not parse are left
    out (a name alone is still sealed)."""
    if not given or not given.get("name"):
        return None
    fields = {k: given[k] for k in ("name", "nik", "phone", "email") if given.get(k)}
    for key in (None, "email", "phone", "nik"):
        fields.pop(key or "", None)
        try:
            return schemas.Identity.model_validate(fields)
        except ValidationError:
            continue
    return None


def take_referrals(uw: UnitOfWork, gateway: LaporGateway) -> list[str]:
    """Open each new corruption report LAPOR! passes on as a sealed WBS case (channel
    `lapor`); its receipt is kept encrypted until LAPOR! acknowledged it. The case numbers."""
    session, tenant = uw.session, uw.tenant
    try:
        referrals = gateway.referrals(agency_of(tenant))
    except LaporUnavailable as exc:
        log.warning("lapor: referrals not fetched (%s)", exc)
        return []
    opened = []
    for ref in referrals:
        known = session.execute(
            select(LaporInbound.id).where(LaporInbound.lapor_id == ref.id)
        ).scalar()
        if known is not None:
            continue
        body: dict[str, Any] = {
            "category": _corruption_category(tenant),
            "what": ref.text,
            "where": ref.where,
            "when": ref.when,
            "how_known": INBOUND_NOTE,
        }
        identity = _identity(ref.identity)
        if identity is not None:
            body["identity"] = identity.model_dump(exclude_none=True)
        try:
            form = schemas.parse(schemas.ReportIn, body)
        except (Problem, Refused):
            log.warning("lapor: referral %s is not a report the WBS can take; skipped", ref.id)
            continue
        filed = cases.submit(uw, form, [], channel=channels.LAPOR)
        uw.write_new()  # the inbound row refers to the case
        row = LaporInbound(
            id=uuid.uuid4(), tenant_id=tenant.id, lapor_id=ref.id, report_id=filed.report.id
        )
        row.receipt = FieldCipher(session, tenant.id, INBOUND, row.id, new_row=True).encrypt(
            "receipt", filed.receipt
        )
        uw.add_new(row)
        opened.append(filed.report.case_number)
    return opened


def acknowledge_referrals(
    uw: UnitOfWork, gateway: LaporGateway, now: datetime | None = None
) -> int:
    """Give LAPOR! the case number and receipt of each referral not acknowledged yet; the
    receipt is then wiped here (the case keeps only its keyed hash, like every case)."""
    session, tenant = uw.session, uw.tenant
    done = 0
    pending = session.execute(
        select(LaporInbound, Report.case_number)
        .join(Report, Report.id == LaporInbound.report_id)
        .where(LaporInbound.acknowledged_at.is_(None))
        .with_for_update(of=LaporInbound, skip_locked=True)
    ).all()
    for row, case_number in pending:
        assert row.receipt is not None  # wiped only once acknowledged
        receipt = FieldCipher(session, tenant.id, INBOUND, row.id).decrypt_text(
            "receipt", row.receipt
        )
        try:
            gateway.acknowledge(agency_of(tenant), row.lapor_id, case_number, receipt)
        except LaporUnavailable as exc:
            log.warning("lapor: referral %s not acknowledged yet (%s)", row.lapor_id, exc)
            continue
        row.acknowledged_at, row.receipt = now or utcnow(), None
        FieldCipher(session, tenant.id, INBOUND, row.id).shred()
        done += 1
    return done


# --- Reads and retention ---------------------------------------------------------------------


@dataclass(frozen=True)
class ForwardView:
    status: str
    text: str
    tracking_id: str | None
    attempts: int
    waiting: bool  # queued and LAPOR! could not be reached yet
    next_attempt_at: datetime | None
    updates: list[dict[str, Any]]


def view(session: Session, tenant: Tenant, report_id: uuid.UUID) -> ForwardView | None:
    """The case's forward as the reporter's inbox and the case page show it."""
    fwd = forward_of(session, report_id)
    if fwd is None:
        return None
    updates = [
        {
            "seq": u.seq,
            "status": u.status,
            "at": u.at,
            "note": (
                FieldCipher(session, tenant.id, UPDATES, u.id).decrypt_text("note", u.note)
                if u.note
                else ""
            ),
        }
        for u in session.execute(
            select(LaporUpdate).where(LaporUpdate.forward_id == fwd.id).order_by(LaporUpdate.seq)
        ).scalars()
    ]
    return ForwardView(
        status=fwd.status,
        text=text_of(session, tenant, fwd),
        tracking_id=fwd.tracking_id,
        attempts=fwd.attempts,
        waiting=fwd.status == rules.QUEUED and fwd.attempts > 0,
        next_attempt_at=fwd.next_attempt_at,
        updates=updates,
    )


def forget_case(session: Session, tenant: Tenant, report_id: uuid.UUID) -> None:
    """At retention expiry: shred and delete the bridge's rows of the case."""
    fwd = forward_of(session, report_id)
    if fwd is not None:
        for update_id in session.execute(
            select(LaporUpdate.id).where(LaporUpdate.forward_id == fwd.id)
        ).scalars():
            FieldCipher(session, tenant.id, UPDATES, update_id).shred()
        session.execute(delete(LaporUpdate).where(LaporUpdate.forward_id == fwd.id))
        FieldCipher(session, tenant.id, FORWARDS, fwd.id).shred()
        session.delete(fwd)
    for row in session.execute(
        select(LaporInbound).where(LaporInbound.report_id == report_id)
    ).scalars():
        FieldCipher(session, tenant.id, INBOUND, row.id).shred()
        session.delete(row)
    session.flush()
