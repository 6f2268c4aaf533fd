"""Referrals between linked cities (issue 23, item 3): a case moves to the city where the
reported official works, with the reporter's consent, and the reporter keeps following it with
their original receipt.

The story, each step one use case:
1. `propose`: an Inspektorat official (intake or supervisor) of the sending city refers a case
   to a partner city with which it has an active agreement for "referrals"
   (`shared.agreements.active_agreement`; none: 409, an unknown city: 404). Nothing moves: the
   reporter is asked in their inbox, with the official's reason.
2. `decide` (the reporter, with their receipt): "refuse" ends it; "consent" hands the case over:
   a new case in the receiving city (content re-encrypted under that city's data key, its own
   case number and clocks, conflicts checked against its handlers), one `wb_referrals` row on
   each side, and `referral.handed_over` in both cities' ledgers.
3. `reseal_identity` (a confidential report only): see "The identity" below.
4. Afterwards the original city's inbox shows the receiving case's status, timeline and
   messages (`for_reporter`, read from the receiving city), and what the reporter writes there
   is written into the receiving case (`post_reporter_message`): the receiving city's handlers
   answer on their own case as on any other, and the answer is in the reporter's inbox.

Two cities are two tenants of the same whistleblowing database: each side is written by a unit
of work of its own tenant (row-level security applies to both; no session ever holds two
tenants). The receiving side commits first, then the sending side. If the sending commit fails
after the receiving one, consenting again finds the receiving row by `partner_referral_id`
(unique per tenant and partner) and only completes the sending side: the case is never copied
twice.

The identity. Decided: **the sending city's identity custodian re-seals it, in their own
request, in one step** (`reseal_identity`, API `POST /referrals/<id>/identity` with the
custodian's passphrase). The sealed identity is opened with the sending custodian's key in
memory, sealed at once with HPKE to the receiving city's authenticated custodian public key
(bound to the receiving tenant and the new case id, as every sealed identity is), and the
plaintext is dropped when the function returns: nothing in clear is written to any row, log or
event, and the sending city's sealed copy is then deleted (the identity lives with one
custodian only). Until the custodian does it the receiving case is anonymous to its handlers
(its referral row says `awaiting_reseal`). A disclosure-request path across cities (the
identity kept sealed to the sender, opened on request) was the alternative; it would leave the
receiving Inspektorat dependent on the sending custodian for every request, so it was not
chosen. The sending server never holds the identity in clear except inside that one call,
exactly as it does for an approved disclosure.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.whistleblowing import attachments as files
from services.whistleblowing import cases, holiday_calendar, repository, views
from services.whistleblowing.domain import access, clocks, codes, lifecycle, recusal
from services.whistleblowing.models import (
    Attachment,
    Message,
    OutboxRow,
    Referral,
    Report,
    ReportHistory,
    TenantRow,
)
from shared import agreements
from shared import event_types as ev
from shared import identity as custody
from shared.actor import REPORTER, SYSTEM, Actor
from shared.crypto import FieldCipher, keyed_hash
from shared.db import tenant_session, utcnow
from shared.problem import Refused
from shared.tenancy import Tenant, load_tenant, today
from shared.uow import UnitOfWork

SCOPE = "referrals"
SERVICE = "whistleblowing"
PROPOSERS = access.INTAKE  # the Inspektorat's intake officers and supervisors
DECISIONS = ("consent", "refuse")


# --- The other city -------------------------------------------------------------------------


def _factory(session: Session) -> sessionmaker[Session]:
    """Sessions on the database of `session` (for the partner city's tenant)."""
    return sessionmaker(session.get_bind(), expire_on_commit=False)


def _partner_tenant(session: Session, slug: str) -> Tenant:
    """The linked city by its slug (read from the tenants table, which every tenant sees)."""
    with Session(session.get_bind()) as other:
        tenant = load_tenant(other, TenantRow, slug, SERVICE)
    if tenant is None:
        raise Refused(404, "No such city on this deployment.", "partner")
    return tenant


class _PartnerWork:
    """A unit of work in the partner city's tenant, on the same database (its own session and
    transaction, scoped to that tenant like any request's)."""

    def __init__(self, session: Session, partner: Tenant) -> None:
        self._cm = tenant_session(_factory(session), partner.id)
        self.uw = UnitOfWork(self._cm.__enter__(), partner, SERVICE, OutboxRow)

    def __enter__(self) -> UnitOfWork:
        return self.uw

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.uw.commit()
            else:
                self.uw.rollback()
        finally:
            self._cm.__exit__(None, None, None)


def _require_agreement(session: Session, tenant: Tenant, partner: Tenant) -> None:
    if partner.id == tenant.id:
        raise Refused(422, "A case cannot be referred to its own city.", "partner")
    if agreements.active_agreement(session, tenant.id, partner.slug, SCOPE) is None:
        raise Refused(
            409,
            "This city has no active agreement with that city for referrals.",
            "partner",
        )


# --- 1. Proposing -----------------------------------------------------------------------------


def _emit(uw: UnitOfWork, type_: str, report: Report, ref: Referral, actor: Actor, **data) -> None:
    uw.emit(
        type_,
        subject=report.case_number,
        actor=actor.pseudonym,
        data={
            "report_id": str(report.id),
            "case_number": report.case_number,
            "referral_id": str(ref.id),
            "partner": ref.partner_slug,
            **data,
        },
    )


def open_referral(session: Session, report_id: uuid.UUID) -> Referral | None:
    """The case's latest referral out of this city, if any."""
    return session.execute(
        select(Referral)
        .where(Referral.report_id == report_id, Referral.direction == "out")
        .order_by(Referral.created_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def _came_in(session: Session, report_id: uuid.UUID) -> bool:
    return (
        session.execute(
            select(Referral.id).where(Referral.report_id == report_id, Referral.direction == "in")
        ).first()
        is not None
    )


def came_from(session: Session, report_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(sending tenant id, original case id) of a case that came by referral, else None: where
    its reporter's receipt and sealed contact stay (the notifications consumer's question)."""
    row = session.execute(
        select(Referral.partner_tenant_id, Referral.partner_report_id).where(
            Referral.report_id == report_id, Referral.direction == "in"
        )
    ).first()
    if row is None or row.partner_report_id is None:
        return None
    return row.partner_tenant_id, row.partner_report_id


def propose(
    uw: UnitOfWork, actor: Actor, report: Report, partner_slug: str, reason: str
) -> Referral:
    """Refer the case to a linked city; the reporter is asked first (nothing moves yet)."""
    session, tenant = uw.session, uw.tenant
    if not access.holds(actor.roles, PROPOSERS):
        raise Refused(403, "Only intake officers and supervisors refer cases.")
    if not lifecycle.takes_input(report.status):
        raise Refused(409, "This report is archived and cannot be referred.")
    partner = _partner_tenant(session, partner_slug)
    _require_agreement(session, tenant, partner)
    if _came_in(session, report.id):
        # the reporter's receipt works in the city they filed in, which asks their consent
        raise Refused(
            409,
            "This case came by referral: the city that holds the reporter's receipt refers it.",
        )
    current = open_referral(session, report.id)
    if current is not None and current.status in ("awaiting_consent", "moved"):
        raise Refused(
            409,
            f"This case already has a referral ({current.status}).",
        )
    if report.sealed_identity is not None:
        _require_partner_custodian(session, partner)
    ref = Referral(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        report_id=report.id,
        direction="out",
        partner_tenant_id=partner.id,
        partner_slug=partner.slug,
        status="awaiting_consent",
        identity="none" if report.sealed_identity is None else "awaiting_reseal",
        requested_by=actor.official_id,
        created_at=utcnow(),
    )
    ref.reason = FieldCipher(session, tenant.id, "wb_referrals", ref.id, new_row=True).encrypt(
        "reason", reason
    )
    session.add(ref)
    _notice(uw, report, "referral_proposed")
    _emit(
        uw,
        ev.WB_REFERRAL_PROPOSED,
        report,
        ref,
        actor,
        reason_digest=cases.digest(session, tenant, reason),
        confidential=report.sealed_identity is not None,
    )
    return ref


def _require_partner_custodian(session: Session, partner: Tenant) -> None:
    with tenant_session(_factory(session), partner.id) as other:
        if not custody.has_custodian(other, partner.id):
            raise Refused(
                409,
                "The other city has no identity custodian, so it cannot keep this "
                "reporter's identity: the case cannot be referred there.",
                "partner",
            )


def _notice(uw: UnitOfWork, report: Report, notice: str) -> None:
    """A system message in the reporter's inbox (shown in their language, views.NOTICES)."""
    msg = Message(
        id=uuid.uuid4(), tenant_id=uw.tenant.id, report_id=report.id, author_role="system"
    )
    msg.at = utcnow()
    msg.body = FieldCipher(uw.session, uw.tenant.id, "wb_messages", msg.id).encrypt_json(
        "body", {"notice": notice}
    )
    uw.session.add(msg)


# --- 2. The reporter decides --------------------------------------------------------------------


def _awaiting(session: Session, report: Report, referral_id: uuid.UUID) -> Referral:
    ref = session.get(Referral, referral_id, with_for_update=True)
    if ref is None or ref.report_id != report.id or ref.direction != "out":
        raise Refused(404, "No such referral of this report.")
    return ref


def decide(uw: UnitOfWork, report: Report, referral_id: uuid.UUID, decision: str) -> Referral:
    """The reporter consents (the case is handed over now) or refuses (nothing moves)."""
    if decision not in DECISIONS:
        raise Refused(422, "Answer consent or refuse.", "decision")
    session, tenant = uw.session, uw.tenant
    ref = _awaiting(session, report, referral_id)
    if ref.status != "awaiting_consent":
        raise Refused(409, f"This referral is already {ref.status}.")
    ref.decided_at = utcnow()
    if decision == "refuse":
        ref.status = "refused"
        _emit(
            uw, ev.WB_REFERRAL_DECIDED, report, ref, REPORTER, decision=decision, status="refused"
        )
        return ref
    partner = _partner_tenant(session, ref.partner_slug)
    _require_agreement(session, tenant, partner)  # it may have ended since it was proposed
    content = views.content_of(session, tenant, report)
    evidence = [_evidence(session, tenant, a) for a in repository.attachments(session, report.id)]
    with _PartnerWork(session, partner) as theirs:
        incoming = _receive(theirs, tenant, report, ref, content, evidence)
        new_case = theirs.session.get_one(Report, incoming.report_id)
        new_case_number, content_digest = new_case.case_number, new_case.content_digest
    ref.status = "moved"
    ref.partner_referral_id = incoming.id
    ref.partner_report_id = incoming.report_id
    ref.partner_case_number = new_case_number
    _emit(uw, ev.WB_REFERRAL_DECIDED, report, ref, REPORTER, decision=decision, status="moved")
    _emit(
        uw,
        ev.WB_REFERRAL_HANDED_OVER,
        report,
        ref,
        SYSTEM,
        direction="out",
        partner_referral_id=str(incoming.id),
        partner_case_number=new_case_number,
        content_digest=content_digest,
        identity=ref.identity,
    )
    return ref


def _evidence(session: Session, tenant: Tenant, att: Attachment) -> tuple[str, files.CleanFile]:
    """An evidence file of the original case, opened to be re-encrypted for the receiving city
    (it was cleaned when it was uploaded)."""
    data = FieldCipher(session, tenant.id, "wb_attachments", att.id).decrypt("content", att.content)
    return att.uploaded_by, files.CleanFile(att.media_type, data)


def _receive(
    uw: UnitOfWork,
    sender: Tenant,
    original: Report,
    out: Referral,
    content: dict[str, Any],
    evidence: list[tuple[str, files.CleanFile]],
) -> Referral:
    """In the receiving city: the new case with the evidence files, and its referral row (or
    the ones an interrupted hand-over already wrote)."""
    session, tenant = uw.session, uw.tenant
    if agreements.active_agreement(session, tenant.id, sender.slug, SCOPE) is None:
        raise Refused(409, "The other city has no active agreement for referrals.", "partner")
    done = session.execute(
        select(Referral).where(
            Referral.partner_tenant_id == sender.id, Referral.partner_referral_id == out.id
        )
    ).scalar_one_or_none()
    if done is not None:
        return done
    now = utcnow()
    report_id = uuid.uuid4()
    category = original.category
    if category not in {c["code"] for c in views.categories(tenant)}:
        category = views.categories(tenant)[-1]["code"]  # the receiving city's last ("other")
    sla = clocks.Sla.from_config(views.config(tenant))
    calendar = holiday_calendar.for_tenant(tenant.config, today(tenant, now))
    due = clocks.due_dates(now, tenant.timezone, sla, calendar)
    report = Report(
        id=report_id,
        tenant_id=tenant.id,
        case_number=codes.new_case_number(today(tenant, now).year),
        # a receipt nobody holds: the reporter follows the case with their original receipt
        receipt_hash=keyed_hash(session, tenant.id, "receipt", codes.new_receipt()),
        category=category,
        status=lifecycle.Status.RECEIVED.value,
        received_at=now,
        content=FieldCipher(session, tenant.id, "wb_reports", report_id, new_row=True).encrypt_json(
            "content", content
        ),
        content_digest=cases.digest(session, tenant, {"category": category, **content}),
        sealed_identity=None,  # re-sealed by the sending custodian (module docstring)
        acknowledge_by=due.acknowledge_by,
        feedback_by=due.feedback_by,
        last_reporter_input_at=now,
        version=1,
        reported_marks=sorted(
            keyed_hash(session, tenant.id, "wb-conflict", m)
            for m in recusal.report_marks(content.get("reported_persons") or [])
        ),
        channel=original.channel,
    )
    session.add(report)
    session.flush()
    session.add(
        ReportHistory(
            id=uuid.uuid4(),
            tenant_id=tenant.id,
            report_id=report_id,
            at=now,
            from_status=None,
            to_status=report.status,
            actor_role="system",
        )
    )
    incoming = Referral(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        report_id=report_id,
        direction="in",
        partner_tenant_id=sender.id,
        partner_slug=sender.slug,
        partner_referral_id=out.id,
        partner_report_id=original.id,
        partner_case_number=original.case_number,
        status="moved",
        identity=out.identity,
        created_at=now,
        decided_at=now,
    )
    session.add(incoming)
    session.flush()
    _emit(
        uw,
        ev.WB_REFERRAL_HANDED_OVER,
        report,
        incoming,
        SYSTEM,
        direction="in",
        partner_referral_id=str(out.id),
        partner_case_number=original.case_number,
        content_digest=report.content_digest,
        identity=incoming.identity,
    )
    for uploaded_by, clean in evidence:
        att = cases._store_attachment(uw, report, clean, SYSTEM)
        att.uploaded_by = uploaded_by  # as it was uploaded in the sending city
        cases._emit_attachment(uw, report, att, SYSTEM)
    cases._recuse_conflicted_handlers(uw, report)
    return incoming


# --- 3. The identity ------------------------------------------------------------------------------


def reseal_identity(
    uw: UnitOfWork, actor: Actor, referral_id: uuid.UUID, passphrase: str | None
) -> Referral:
    """The sending city's custodian re-seals a moved case's identity to the receiving city's
    custodian in one step (module docstring); the sending copy is then deleted."""
    session, tenant = uw.session, uw.tenant
    if not access.holds(actor.roles, access.CUSTODIANS):
        raise Refused(403, "Only the identity custodian re-seals an identity.")
    ref = session.get(Referral, referral_id, with_for_update=True)
    if ref is None or ref.direction != "out":
        raise Refused(404, "No such referral.")
    if ref.status != "moved" or ref.identity != "awaiting_reseal":
        raise Refused(409, "This referral has no identity waiting to be re-sealed.")
    if not passphrase:
        raise Refused(
            422, "The custodian's passphrase is needed to open the identity.", "passphrase"
        )
    report = session.get_one(Report, ref.report_id, with_for_update=True)
    assert report.sealed_identity is not None and ref.partner_report_id is not None
    partner = _partner_tenant(session, ref.partner_slug)
    _require_agreement(session, tenant, partner)
    identity = cases.open_sealed_identity(
        session,
        tenant.id,
        report,
        passphrase,
        who=str(actor.official_id),
        not_opening="The sealed identity does not open; nothing was moved.",
    )
    with _PartnerWork(session, partner) as theirs:
        try:
            sealed = custody.seal_identity(
                theirs.session, partner.id, ref.partner_report_id, identity
            )
        except custody.NoCustodian:
            raise Refused(409, "The other city has no identity custodian.", "partner") from None
        finally:
            del identity  # the plaintext lives no longer than this call
        theirs_report = theirs.session.get_one(Report, ref.partner_report_id, with_for_update=True)
        theirs_report.sealed_identity = sealed
        incoming = theirs.session.execute(
            select(Referral).where(
                Referral.partner_tenant_id == tenant.id, Referral.partner_referral_id == ref.id
            )
        ).scalar_one()
        incoming.identity = "resealed"
        _emit(
            theirs,
            ev.WB_REFERRAL_IDENTITY_RESEALED,
            theirs_report,
            incoming,
            actor,
            direction="in",
            partner_referral_id=str(ref.id),
        )
    report.sealed_identity = None  # the identity now lives with the receiving custodian only
    ref.identity = "resealed"
    _emit(
        uw,
        ev.WB_REFERRAL_IDENTITY_RESEALED,
        report,
        ref,
        actor,
        direction="out",
        partner_referral_id=str(ref.partner_referral_id),
    )
    return ref


def awaiting_reseal(session: Session) -> list[dict[str, Any]]:
    """The custodian's list: moved cases of this city whose sealed identity still waits to be
    re-sealed to the receiving city (oldest first); ids and numbers only, no content."""
    rows = session.execute(
        select(Referral, Report.case_number)
        .join(Report, Report.id == Referral.report_id)
        .where(
            Referral.direction == "out",
            Referral.status == "moved",
            Referral.identity == "awaiting_reseal",
        )
        .order_by(Referral.decided_at, Referral.id)
    ).all()
    return [
        {
            "id": str(ref.id),
            "case_number": case_number,
            "partner": ref.partner_slug,
            "partner_case_number": ref.partner_case_number,
            "decided_at": ref.decided_at,
        }
        for ref, case_number in rows
    ]


# --- 4. Following and relaying --------------------------------------------------------------------


@dataclass(frozen=True)
class Followed:
    tenant: Tenant
    report: Report


def moved_to(session: Session, report: Report) -> Referral | None:
    ref = open_referral(session, report.id)
    return ref if ref is not None and ref.status == "moved" else None


def post_reporter_message(uw: UnitOfWork, report: Report, text: str) -> Message:
    """What the reporter writes in the original city's inbox: into the receiving case when the
    case has moved (relayed, with that city's event), else into their own case."""
    ref = moved_to(uw.session, report)
    if ref is None or ref.partner_report_id is None:
        return cases.post_message(uw, REPORTER, report, text)
    partner = _partner_tenant(uw.session, ref.partner_slug)
    with _PartnerWork(uw.session, partner) as theirs:
        target = theirs.session.get_one(Report, ref.partner_report_id, with_for_update=True)
        return cases.post_message(theirs, REPORTER, target, text)


def add_reporter_attachment(uw: UnitOfWork, report: Report, data: bytes) -> Attachment:
    """An evidence file the reporter adds in the original city's inbox: into the receiving
    case when the case has moved (checked by that city's limits), else into their own."""
    ref = moved_to(uw.session, report)
    if ref is None or ref.partner_report_id is None:
        return cases.add_attachment(uw, REPORTER, report, data)
    partner = _partner_tenant(uw.session, ref.partner_slug)
    with _PartnerWork(uw.session, partner) as theirs:
        target = theirs.session.get_one(Report, ref.partner_report_id, with_for_update=True)
        return cases.add_attachment(theirs, REPORTER, target, data)


def for_reporter(session: Session, tenant: Tenant, report: Report) -> dict[str, Any] | None:
    """The referral block of the reporter's inbox: the pending question, the refusal, or the
    receiving city's status, timeline and messages (read from that city)."""
    ref = open_referral(session, report.id)
    if ref is None:
        return None
    partner = _partner_tenant(session, ref.partner_slug)
    out: dict[str, Any] = {
        "id": str(ref.id),
        "status": ref.status,
        "partner": partner.slug,
        "partner_name": partner.display_name,
        "reason": FieldCipher(session, tenant.id, "wb_referrals", ref.id).decrypt_text(
            "reason", ref.reason
        )
        if ref.reason
        else "",
        "confidential": ref.identity != "none",
    }
    if ref.status == "moved" and ref.partner_report_id is not None:
        with tenant_session(_factory(session), partner.id) as other:
            theirs = other.get_one(Report, ref.partner_report_id)
            out["followed"] = {
                "case_number": theirs.case_number,
                "status": theirs.status,
                "outcome": theirs.outcome,
                "acknowledge_by": theirs.acknowledge_by.isoformat(),
                "feedback_by": theirs.feedback_by.isoformat(),
                "timeline": views.timeline_view(other, partner, theirs),
                "messages": views.messages_view(other, partner, theirs, for_official=False),
            }
    return out


def for_office(session: Session, report: Report) -> dict[str, Any] | None:
    """What the officials' case page shows of a referral, either way."""
    ref = (
        session.execute(
            select(Referral)
            .where(Referral.report_id == report.id)
            .order_by(Referral.created_at.desc())
        )
        .scalars()
        .first()
    )
    if ref is None:
        return None
    return {
        "id": str(ref.id),
        "direction": ref.direction,
        "status": ref.status,
        "partner": ref.partner_slug,
        "partner_case_number": ref.partner_case_number,
        "identity": ref.identity,
    }


def partners(session: Session, tenant: Tenant, actor: Actor) -> list[tuple[str, str]]:
    """The linked cities of this deployment a case can be referred to, for `actor`'s form
    (slug, public name); none for an official who may not refer."""
    if not access.holds(actor.roles, PROPOSERS):
        return []
    return [
        (a.partner, a.partner_name)
        for a in agreements.active_agreements(session, tenant.id, SCOPE)
        if a.partner_kind == "tenant"
    ]
