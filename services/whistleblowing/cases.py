"""Use cases of the whistleblowing service: everything that changes state, each in one unit
of work.

Handlers parse input, take their `Actor`, and call one function here inside
`with unit_of_work() as uw:` (which commits); the functions apply domain rules, write rows
(ciphertexts only for free text) and emit events carrying ids, states and keyed digests, never
text, names or receipts. Reads are in `views.py`, queries in `repository.py`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, Uuid, bindparam, case, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.whistleblowing import attachments as files
from services.whistleblowing import holiday_calendar, reporter_contacts, repository, schemas, views
from services.whistleblowing.domain import (
    access,
    channels,
    clocks,
    codes,
    contact,
    lifecycle,
    recusal,
    retention,
)
from services.whistleblowing.models import (
    Assignment,
    Attachment,
    HandlerProfile,
    IdempotentSubmission,
    IdentityRequest,
    LoginThrottleRow,
    Message,
    ReceiptThrottle,
    Recusal,
    Referral,
    Report,
    ReportHistory,
)
from shared import budgets
from shared import event_types as ev
from shared import identity as custody
from shared.actor import REPORTER, REPORTER_KIND, SYSTEM, Actor
from shared.bounded_cache import BoundedCache
from shared.crypto import FieldCipher, keyed_hash
from shared.db import utcnow
from shared.problem import Refused
from shared.separation import check_separation
from shared.settings import FilingBudgets
from shared.tenancy import Tenant, today
from shared.uow import Check, UnitOfWork

IDEMPOTENCY_WINDOW = timedelta(hours=24)
RECEIPT_FAILURES_ALLOWED = 10  # wrong receipts per client address and window
RECEIPT_PREFIX_FAILURES_ALLOWED = 5  # ... per (client address, first group of the receipt)
RECEIPT_WINDOW = timedelta(minutes=15)


def _archived_at(report: Report) -> datetime:
    assert report.archived_at is not None  # only archived reports expire
    return report.archived_at


def integrity_refusal(exc: IntegrityError) -> Refused | None:
    """The service's answer to a unique index that fired under a concurrent request (the app
    factory calls it for every unit of work). None: no refusal meant; a concurrent filing with
    the same Idempotency-Key is retried as its replay (`api.file_report`), the rest is a bug."""
    if "wb_recusals_once" in str(exc.orig):
        return Refused(409, "This official is already recused from the report.", "official_id")
    return None


def _moved_on(session: Session, report_id: uuid.UUID) -> bool:
    """Whether the case was handed over to a linked city (referrals.py)."""
    found = session.execute(
        select(Referral.id).where(
            Referral.report_id == report_id,
            Referral.direction == "out",
            Referral.status == "moved",
        )
    ).first()
    return found is not None


def digest(session: Session, tenant: Tenant, value: Any) -> str:
    """A keyed digest for events: proves what was submitted without letting anyone confirm a
    guessed text (a plain SHA-256 of a short text could be guessed)."""
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    )
    return keyed_hash(session, tenant.id, "wb-digest", text)


def _role(actor: Actor) -> str:
    return access.shown_role(actor.kind, actor.roles)


def _emit(uw: UnitOfWork, type_: str, report: Report, actor: Actor, **data: Any) -> None:
    """One event about a case: its subject is the case number, its data the case's ids and
    `data` (ids, states and digests only)."""
    uw.emit(
        type_,
        subject=report.case_number,
        actor=actor.pseudonym,
        data={"report_id": str(report.id), "case_number": report.case_number, **data},
    )


# --- Filing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filed:
    report: Report
    receipt: str
    replayed: bool = False


def submit(
    uw: UnitOfWork,
    form,
    uploads: list[bytes],
    *,
    idempotency_key: str | None = None,
    request_digest_source: Any = None,
    channel: str = channels.ONLINE,
    entered_by: Actor | None = None,
    replay_possible: bool = False,
    budget: FilingBudget | None = None,
) -> Filed:
    """File a report (anonymous unless `form.identity`), with optional evidence files.
    `entered_by`: the intake official who files it for a reporter who came by `channel`
    (assisted intake); the identity, if any, is sealed to the custodian all the same.

    Written in one statement at commit (UnitOfWork.add_new). Nothing is checked beforehand
    that a unique index checks: a case number or Idempotency-Key already taken makes the
    commit fail (IntegrityError, see `retry_filing`), and the caller files again with
    `replay_possible`, which looks the key up first (the replay of an earlier filing).
    `budget`: the anonymous filing budgets, counted in the same statement (a replay too)."""
    session, tenant = uw.session, uw.tenant
    entered_by_official = channel in channels.ASSISTED  # LAPOR! referrals come in by the system
    if channel not in channels.ALL or (entered_by is not None) != entered_by_official:
        raise Refused(422, "Unknown intake channel.", "channel")
    filer = entered_by or (SYSTEM if channel == channels.LAPOR else REPORTER)
    if form.category not in {c["code"] for c in views.categories(tenant)}:
        raise Refused(422, "Unknown category for this city.", "category")
    policy = files.Policy.from_config(views.config(tenant))
    try:
        files.check_count(0, len(uploads), policy)
        cleaned = []
        for number, data in enumerate(uploads, start=1):
            try:
                cleaned.append(files.inspect(data, policy))
            except files.AttachmentRejected as exc:
                # the file is named by its place among the uploads (names are never kept)
                msg = f"File {number}: {exc}" if len(uploads) > 1 else str(exc)
                raise Refused(exc.status, msg, "file") from None
    except files.AttachmentRejected as exc:
        raise Refused(exc.status, str(exc), "file") from None

    if budget is not None:
        _spend_filing_budget_at_commit(uw, budget)
    key_hash = request_digest = None
    if idempotency_key:
        key_hash = keyed_hash(session, tenant.id, "wb-idempotency", idempotency_key)
        request_digest = digest(session, tenant, request_digest_source)
        replay = _replay(session, tenant, key_hash, request_digest) if replay_possible else None
        if replay:
            return replay

    now = utcnow()
    report_id = uuid.uuid4()
    receipt = codes.new_receipt()
    case_number = codes.new_case_number(today(tenant, now).year)  # unique index: retry_filing
    sla = clocks.Sla.from_config(views.config(tenant))
    calendar = holiday_calendar.for_tenant(tenant.config, today(tenant, now))
    due = clocks.due_dates(now, tenant.timezone, sla, calendar)
    content = form.content()
    report = Report(
        id=report_id,
        tenant_id=tenant.id,
        case_number=case_number,
        receipt_hash=keyed_hash(session, tenant.id, "receipt", receipt),
        category=form.category,
        status=lifecycle.Status.RECEIVED.value,
        received_at=now,
        content=FieldCipher(session, tenant.id, "wb_reports", report_id, new_row=True).encrypt_json(
            "content", content
        ),
        content_digest=digest(session, tenant, {"category": form.category, **content}),
        sealed_identity=_seal(session, tenant, report_id, form.identity),
        acknowledge_by=due.acknowledge_by,
        feedback_by=due.feedback_by,
        last_reporter_input_at=now,
        version=1,
        reported_marks=_hashed_marks(
            session, tenant, recusal.report_marks(content["reported_persons"])
        ),
        channel=channel,
        entered_by=entered_by.official_id if entered_by else None,
    )
    uw.add_new(report)
    uw.add_new(
        ReportHistory(
            id=uuid.uuid4(),
            tenant_id=tenant.id,
            report_id=report_id,
            at=now,
            from_status=None,
            to_status=report.status,
            # an assisted report was entered by the intake officer ("Petugas penerima")
            actor_role="wbs_intake" if entered_by else _filer_role(channel),
            actor_id=entered_by.official_id if entered_by else None,
        )
    )
    if form.notify_contact:
        # sealed apart from the report; not in its content, not in any event (README); the
        # contact's row refers to the report, so the report is written first
        uw.write_new()
        reporter_contacts.keep(session, tenant.id, report_id, contact.read(form.notify_contact))
    added = [_store_attachment(uw, report, f, REPORTER) for f in cleaned]
    _emit(
        uw,
        ev.WB_REPORT_SUBMITTED,
        report,
        filer,
        channel=channel,
        category=form.category,
        status=report.status,
        confidential=form.identity is not None,
        content_digest=report.content_digest,
        attachment_count=len(added),
        acknowledge_by=due.acknowledge_by.isoformat(),
        feedback_by=due.feedback_by.isoformat(),
    )
    for att in added:
        _emit_attachment(uw, report, att, REPORTER)
    _recuse_conflicted_handlers(uw, report)
    if sla.auto_acknowledge:
        _apply(
            uw,
            report,
            lifecycle.decide(report.status, None, "acknowledged", roles=frozenset(access.INTAKE)),
            SYSTEM,
        )
    if key_hash:
        uw.add_new(
            IdempotentSubmission(
                key_hash=key_hash,
                tenant_id=tenant.id,
                request_digest=request_digest,
                report_id=report_id,
                created_at=now,
                receipt=FieldCipher(
                    session, tenant.id, "wb_idempotency", report_id, new_row=True
                ).encrypt("receipt", receipt),
            )
        )
    return Filed(report, receipt)


def _filer_role(channel: str) -> str:
    """Who the history names as having filed a report no official entered."""
    return "system" if channel == channels.LAPOR else REPORTER_KIND


def _seal(session: Session, tenant: Tenant, report_id: uuid.UUID, identity) -> bytes | None:
    if identity is None:
        return None
    try:
        return custody.seal_identity(
            session, tenant.id, report_id, identity.model_dump(exclude_none=True)
        )
    except custody.NoCustodian:
        raise Refused(
            422,
            "This city has no identity custodian yet, so it cannot keep an "
            "identity safely: leave the identity out to report anonymously.",
            "identity",
        ) from None


# The constraints whose firing means "file again": a case number or receipt drawn twice (then
# a fresh one is drawn), or an Idempotency-Key already used (then its replay is answered).
RETRY_CONSTRAINTS = ("wb_reports_case_number", "wb_reports_receipt", "wb_idempotency_pkey")


def retry_filing(exc: IntegrityError) -> bool:
    """Whether a failed filing is filed again (`submit(..., replay_possible=True)`)."""
    name = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    return name in RETRY_CONSTRAINTS


def wipe_old_receipts(session: Session, now: datetime | None = None) -> int:
    """Receipts of keys past the window are wiped: the copy lives no longer than promised
    (the retention job, and every replay look-up)."""
    result = session.execute(
        update(IdempotentSubmission)
        .where(
            IdempotentSubmission.created_at < (now or utcnow()) - IDEMPOTENCY_WINDOW,
            IdempotentSubmission.receipt.is_not(None),
        )
        .values(receipt=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _replay(session: Session, tenant: Tenant, key_hash: str, request_digest: str) -> Filed | None:
    wipe_old_receipts(session)
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
    report = session.get_one(Report, row.report_id)  # the key's row names a report that exists
    receipt = FieldCipher(session, tenant.id, "wb_idempotency", row.report_id).decrypt_text(
        "receipt", row.receipt
    )
    return Filed(report, receipt, replayed=True)


# --- Budgets of anonymous filing -----------------------------------------------------------


class FilingThrottled(Refused):
    """Too many reports from one address this hour, or to the tenant this minute (429)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "Too many reports were sent; try again later.",
            headers={"Retry-After": str(retry_after)},
            retry_after=retry_after,
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class FilingBudget:
    """The anonymous filing budgets one filing is counted against: the client address's
    hourly budget and the tenant's per-minute budget."""

    client: str
    limits: FilingBudgets


def _filing_budget_keys(
    session: Session, tenant: Tenant, client: str, limits: FilingBudgets
) -> list[tuple[str, budgets.Budget]]:
    """The budgets' keys: keyed hashes, so the address is never stored in clear."""
    return [
        (
            keyed_hash(session, tenant.id, "wb-filing-client", client),
            budgets.Budget(limits.per_address_hour, timedelta(hours=1)),
        ),
        (
            keyed_hash(session, tenant.id, "wb-filing-tenant", str(tenant.id)),
            budgets.Budget(limits.per_tenant_minute, timedelta(minutes=1)),
        ),
    ]


def spend_filing_budget(
    session: Session, tenant: Tenant, client: str, limits: FilingBudgets
) -> int:
    """Count one anonymous filing against its budgets in a transaction of its own, committed
    at once (it outlives the request): 0 when they allow it, else the seconds to wait. The
    refusal's count: a filing counts its budgets inside its write statement
    (`_spend_filing_budget_at_commit`), and a refused one is rolled back and counted here."""
    keyed = _filing_budget_keys(session, tenant, client, limits)
    wait = budgets.spend(session, LoginThrottleRow, tenant.id, keyed)
    session.commit()  # on purpose, as the receipt throttle: the count outlives the request
    return wait


def _spend_filing_budget_at_commit(uw: UnitOfWork, budget: FilingBudget) -> None:
    """Count the filing against its budgets in the unit of work's write statement (no round
    trip of its own); past either, FilingThrottled before the commit (so nothing of the filing
    is written: the caller counts the refusal apart, `spend_filing_budget`)."""
    keyed = _filing_budget_keys(uw.session, uw.tenant, budget.client, budget.limits)

    def refuse(wait: int) -> None:
        if wait:
            raise FilingThrottled(wait)

    uw.check_at_commit(budgets.spend_in_statement(LoginThrottleRow, uw.tenant.id, keyed), refuse)


# --- Reporter access ----------------------------------------------------------------------


class ReceiptRejected(Refused):
    """A receipt that opens nothing (401, with the scheme to use), or too many wrong ones
    from one address (429, with when to try again)."""

    def __init__(
        self,
        status: int = 401,
        message: str = "This receipt is not recognised.",
        retry_after: int | None = None,
    ) -> None:
        headers = {"WWW-Authenticate": 'Receipt realm="whistleblowing"'} if status == 401 else {}
        if retry_after:
            headers["Retry-After"] = str(retry_after)
        super().__init__(status, message, headers=headers)
        self.retry_after = retry_after


def _dummy_receipt() -> str:
    return "0" * codes.RECEIPT_CHARS


def open_with_receipt(
    session: Session, tenant: Tenant, typed: str | None, client: str, *, for_update: bool = False
) -> Report:
    """The report a receipt opens. Unknown and malformed receipts take the same path (hash,
    look-up, compare, count) so neither timing nor answer tells them apart.

    Failures are counted per (client address, receipt prefix) and per client address: one
    prefix guessed from one address is locked after a few tries (a reporter behind the same
    address, with another receipt, still opens their inbox), and a flood of different prefixes
    from one address is locked per address. Every refused try, locked ones included, spends
    the address's allowance. No lock is keyed on the receipt alone, so nobody can lock a
    reporter out of their inbox from another address. Keys are keyed hashes."""
    receipt = codes.normalise_receipt(typed or "")
    prefix = receipt[: codes.GROUP_SIZE] if receipt else "-"
    address_key = keyed_hash(session, tenant.id, "wb-receipt-client", client)
    prefix_key = keyed_hash(session, tenant.id, "wb-receipt-client-prefix", f"{client}\x00{prefix}")
    now = utcnow()
    wait = _receipt_wait(
        session,
        [(prefix_key, RECEIPT_PREFIX_FAILURES_ALLOWED), (address_key, RECEIPT_FAILURES_ALLOWED)],
        now,
    )
    if wait:
        _count_failure(session, tenant, [address_key], now)
        raise ReceiptRejected(429, "Too many wrong receipts; try again later.", wait)
    wanted = keyed_hash(session, tenant.id, "receipt", receipt or _dummy_receipt())
    report = repository.report_by_receipt_hash(session, wanted, for_update=for_update)
    if (
        report is not None
        and receipt is not None
        and hmac.compare_digest(report.receipt_hash, wanted)
    ):
        return report
    _count_failure(session, tenant, [prefix_key, address_key], now)
    raise ReceiptRejected()


def _receipt_wait(session: Session, keyed: list[tuple[str, int]], now: datetime) -> int:
    """Seconds until every one of these keys is below its allowance again (0: none locked)."""
    rows = {
        r.key: r
        for r in session.scalars(
            select(ReceiptThrottle).where(ReceiptThrottle.key.in_([k for k, _ in keyed]))
        )
    }
    waits = [
        int((row.window_started_at + RECEIPT_WINDOW - now).total_seconds()) + 1
        for key, allowed in keyed
        if (row := rows.get(key)) is not None
        and row.window_started_at > now - RECEIPT_WINDOW
        and row.failures >= allowed
    ]
    return max([0, *waits])


def _count_failure(session: Session, tenant: Tenant, keys: list[str], now: datetime) -> None:
    window_open = ReceiptThrottle.window_started_at > now - RECEIPT_WINDOW
    for key in keys:
        stmt = pg_insert(ReceiptThrottle).values(
            key=key, tenant_id=tenant.id, failures=1, window_started_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={
                "failures": case((window_open, ReceiptThrottle.failures + 1), else_=1),
                "window_started_at": case(
                    (window_open, ReceiptThrottle.window_started_at), else_=now
                ),
            },
        )
        session.execute(stmt)
    session.commit()  # on purpose: the count must survive the refused request


# --- Changing a case ------------------------------------------------------------------------


def transition(uw: UnitOfWork, actor: Actor, report: Report, form: schemas.TransitionIn) -> Report:
    """Move the case one step (`form.to`), with the step's outcome, reason and referral."""
    step = lifecycle.decide(
        report.status,
        report.outcome,
        form.to,
        roles=actor.roles,
        new_outcome=form.outcome,
        reason=form.reason,
        referral=form.referral,
    )
    return _apply(uw, report, step, actor)


def _apply(uw: UnitOfWork, report: Report, step: lifecycle.Step, actor: Actor) -> Report:
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
        actor_role=_role(actor),
        actor_id=actor.official_id,
    )
    cipher = FieldCipher(session, tenant.id, "wb_report_history", history.id, new_row=True)
    if step.reason:
        history.reason = cipher.encrypt("reason", step.reason)
    if step.referral:
        history.referral = cipher.encrypt("referral", step.referral)
    if uw.is_new(report):  # a report filed in this unit of work: written with it
        uw.add_new(history)
    else:
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
    data: dict[str, Any] = {
        "from": step.source.value,
        "to": step.target.value,
        "outcome": step.outcome,
        "referred": step.referral is not None,
        "version": report.version,
    }
    if step.reason:
        data["reason_digest"] = digest(session, tenant, step.reason)
    if not lifecycle.takes_input(report.status) and not _moved_on(session, report.id):
        # archived: no reply can come any more, so the notice contact has no use left (unless
        # the case was handed over to a linked city, whose replies still reach the reporter
        # here: then it goes at retention expiry, or when the reporter withdraws it)
        reporter_contacts.forget(session, tenant.id, report.id)
    _emit(uw, ev.WB_REPORT_TRANSITIONED, report, actor, **data)
    return report


def _open_for_input(report: Report) -> None:
    if not lifecycle.takes_input(report.status):
        raise Refused(409, "This report is archived and takes no more messages or files.")


def post_message(uw: UnitOfWork, actor: Actor, report: Report, text: str) -> Message:
    _open_for_input(report)
    session, tenant = uw.session, uw.tenant
    msg = Message(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        report_id=report.id,
        at=utcnow(),
        author_role=_role(actor),
        author_id=actor.official_id,
    )
    msg.body = FieldCipher(session, tenant.id, "wb_messages", msg.id).encrypt_json(
        "body", {"text": text}
    )
    session.add(msg)
    if actor.kind == REPORTER_KIND:
        report.last_reporter_input_at = msg.at
    _emit(
        uw,
        ev.WB_MESSAGE_POSTED,
        report,
        actor,
        message_id=str(msg.id),
        author_role=_role(actor),
        body_digest=digest(session, tenant, text),
    )
    return msg


def confirm_transcript(uw: UnitOfWork, report: Report) -> datetime:
    """The reporter confirms, in their inbox, that the transcript an intake official entered
    for them says what they reported ("Saya membenarkan isi laporan ini"). Once: a second
    confirmation answers the first one's time. Only assisted reports have a transcript."""
    if report.channel not in channels.WITH_TRANSCRIPT:
        raise Refused(409, "Only a report entered by an official has a transcript to confirm.")
    if report.transcript_confirmed_at is not None:
        return report.transcript_confirmed_at
    _open_for_input(report)
    now = utcnow()
    report.transcript_confirmed_at = now
    report.last_reporter_input_at = now
    report.version += 1
    _emit(
        uw,
        ev.WB_REPORT_TRANSCRIPT_CONFIRMED,
        report,
        REPORTER,
        channel=report.channel,
        content_digest=report.content_digest,
    )
    return now


def give_contact(uw: UnitOfWork, report: Report, typed: str) -> None:
    """The reporter gives (or replaces) the contact for "ada balasan baru" notices, from the
    inbox. No event: not even the fact that a reporter chose to be told leaves the service."""
    _open_for_input(report)
    try:
        given = contact.read(typed)
    except contact.BadContact as exc:
        raise Refused(422, f"The contact {exc}.", "notify_contact") from None
    reporter_contacts.keep(uw.session, uw.tenant.id, report.id, given)


def forget_contact(uw: UnitOfWork, report: Report) -> bool:
    """The reporter withdraws the notice contact: shredded at once (True if there was one)."""
    return reporter_contacts.forget(uw.session, uw.tenant.id, report.id)


def add_attachment(uw: UnitOfWork, actor: Actor, report: Report, data: bytes) -> Attachment:
    _open_for_input(report)
    policy = files.Policy.from_config(views.config(uw.tenant))
    try:
        files.check_count(repository.attachment_count(uw.session, report.id), 1, policy)
        clean = files.inspect(data, policy)
    except files.AttachmentRejected as exc:
        raise Refused(exc.status, str(exc), "file") from None
    att = _store_attachment(uw, report, clean, actor)
    if actor.kind == REPORTER_KIND:
        report.last_reporter_input_at = att.at
    _emit_attachment(uw, report, att, actor)
    return att


def _store_attachment(
    uw: UnitOfWork, report: Report, clean: files.CleanFile, actor: Actor
) -> Attachment:
    session, tenant = uw.session, uw.tenant
    att = Attachment(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        report_id=report.id,
        at=utcnow(),
        uploaded_by=_role(actor),
        media_type=clean.media_type,
        size=len(clean.data),
        digest=digest(session, tenant, hashlib.sha256(clean.data).hexdigest()),
    )
    att.content = FieldCipher(session, tenant.id, "wb_attachments", att.id, new_row=True).encrypt(
        "content", clean.data
    )
    uw.add_new(att)
    return att


def _emit_attachment(uw: UnitOfWork, report: Report, att: Attachment, actor: Actor) -> None:
    _emit(
        uw,
        ev.WB_ATTACHMENT_ADDED,
        report,
        actor,
        attachment_id=str(att.id),
        media_type=att.media_type,
        size=att.size,
        digest=att.digest,
        uploaded_by=_role(actor),
    )


def assign(uw: UnitOfWork, actor: Actor, report: Report, official_id: uuid.UUID) -> Report:
    if lifecycle.is_closed(report.status):
        raise Refused(409, f"A '{report.status}' report cannot be reassigned.")
    official = repository.active_official(uw.session, official_id)
    if official is None or not access.may_be_assigned(official.roles):
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
    _emit(
        uw,
        ev.WB_REPORT_ASSIGNED,
        report,
        actor,
        assignee_id=str(official_id),
    )
    cancel_identity_requests_without_standing(uw, report, actor)
    return report


def recuse(
    uw: UnitOfWork, actor: Actor, report: Report, official_id: uuid.UUID, reason: str
) -> Recusal:
    """Exclude an official (reported, or in a reported unit) from the case; recorded."""
    if not access.may_recuse(actor.roles, actor.official_id, official_id):
        raise Refused(403, "Only a supervisor can recuse another official.")
    if official_id in repository.recused_officials(uw.session, report.id):
        raise Refused(409, "This official is already recused from the report.", "official_id")
    return _record_recusal(uw, report, official_id, reason, kind="declared", actor=actor)


def _record_recusal(
    uw: UnitOfWork, report: Report, official_id: uuid.UUID, reason: str, *, kind: str, actor: Actor
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
    rec.reason = FieldCipher(session, tenant.id, "wb_recusals", rec.id).encrypt("reason", reason)
    session.add(rec)
    if report.assignee_id == official_id:
        report.assignee_id = None
    report.version += 1
    _emit(
        uw,
        ev.WB_REPORT_RECUSED,
        report,
        actor,
        official_id=str(official_id),
        kind=kind,
        reason_digest=digest(session, tenant, reason),
    )
    session.flush()  # the recusal counts for the requesters' standing below
    cancel_identity_requests_without_standing(uw, report, actor)
    return rec


# --- Conflicts of interest -----------------------------------------------------------------

CONFLICT_REASONS = {
    "reported_unit": "Automatic: the handler works in a reported unit.",
    "reported_person": "Automatic: the handler is reported in this case.",
}


def _hashed_marks(session: Session, tenant: Tenant, marks: set[str]) -> list[str]:
    return sorted(keyed_hash(session, tenant.id, "wb-conflict", m) for m in marks)


def _recuse_if_conflicted(
    uw: UnitOfWork, report: Report, profile: HandlerProfile | _CachedProfile
) -> str | None:
    kind = recusal.conflict(set(profile.marks), set(report.reported_marks or []))
    if kind is None or profile.official_id in repository.recused_officials(uw.session, report.id):
        return None
    _record_recusal(
        uw, report, profile.official_id, CONFLICT_REASONS[kind], kind=kind, actor=SYSTEM
    )
    return kind


# Handler profiles, per tenant, for PROFILE_CACHE_SECONDS: a new report is matched against
# them without a query. The cache is never trusted blindly: the report's write statement reads
# the profiles' fingerprint (count, newest change) and, when it differs from the cached one,
# the report is matched again against the profiles as they are, before the commit. So the
# lifetime only bounds how often an unchanged tenant is read again, and it is long: on a
# deployment of 514 cities a tenant is seen by a worker every minute or so, and a 5 s entry
# was never found warm (docs/benchmarks-profile-514.md). Bounded: 514 cities fit.
PROFILE_CACHE_SECONDS = 600.0
PROFILE_CACHE_SIZE = 2048


@dataclass(frozen=True)
class _CachedProfile:
    official_id: uuid.UUID
    marks: tuple[str, ...]


_profile_cache: BoundedCache[uuid.UUID, tuple[float, str, tuple[_CachedProfile, ...]]] = (
    BoundedCache(PROFILE_CACHE_SIZE)
)


def _profiles_fingerprint(tenant_id: uuid.UUID) -> Check:
    # of the table, not the ORM class: the ORM's compile would change the reused template's
    # subquery on its first run (and its cache key with it); the tenant is named explicitly
    profiles = HandlerProfile.__table__

    def build(name) -> Any:
        return (
            select(
                func.concat(
                    func.count(),
                    "/",
                    func.coalesce(func.cast(func.max(profiles.c.updated_at), String), ""),
                )
            )
            .where(profiles.c.tenant_id == bindparam(name("tenant"), type_=Uuid()))
            .scalar_subquery()
        )

    return Check("handler_profiles_fingerprint", build, {"tenant": tenant_id})


def _handler_profiles(session: Session, tenant: Tenant) -> tuple[str, tuple[_CachedProfile, ...]]:
    hit = _profile_cache.get(tenant.id)
    if hit and time.monotonic() - hit[0] < PROFILE_CACHE_SECONDS:
        return hit[1], hit[2]
    check = _profiles_fingerprint(tenant.id)
    fingerprint = session.execute(
        select(check.build(lambda local: local)), check.params
    ).scalar_one()
    profiles = tuple(
        _CachedProfile(p.official_id, tuple(p.marks or ()))
        for p in repository.handler_profiles(session)
    )
    _profile_cache[tenant.id] = (time.monotonic(), fingerprint, profiles)
    return fingerprint, profiles


def _recuse_conflicted_handlers(uw: UnitOfWork, report: Report) -> None:
    """Recuse from a new report every handler in conflict with it (automatic recusal)."""
    fingerprint, profiles = _handler_profiles(uw.session, uw.tenant)
    marks = set(report.reported_marks or [])
    conflicted = [p for p in profiles if recusal.conflict(set(p.marks), marks)]
    if conflicted:  # rare: the recusal reads and writes the report, so it is written first
        uw.write_new()
        for profile in conflicted:
            _recuse_if_conflicted(uw, report, profile)

    def recheck(current: str) -> None:
        if current == fingerprint:
            return
        _profile_cache.pop(uw.tenant.id, None)  # changed meanwhile: as they are now
        stored = uw.session.get_one(Report, report.id)  # written by now
        for p in repository.handler_profiles(uw.session):
            _recuse_if_conflicted(uw, stored, p)
        report.version, report.assignee_id = stored.version, stored.assignee_id

    uw.check_at_commit(_profiles_fingerprint(uw.tenant.id), recheck)


def set_handler_profile(
    uw: UnitOfWork, actor: Actor, official_id: uuid.UUID, *, work_unit: str, name: str = ""
) -> list[str]:
    """Record what a handler could be in conflict with (as keyed hashes only) and recuse them
    at once from every open case that reports their unit or them; returns those cases."""
    session, tenant = uw.session, uw.tenant
    if repository.active_official(session, official_id) is None:
        raise Refused(404, "No such official in this city.")  # the path names it
    marks = _hashed_marks(session, tenant, recusal.marks([work_unit], [name] if name else []))
    profile = session.get(HandlerProfile, official_id)
    if profile is None:
        profile = HandlerProfile(official_id=official_id, tenant_id=tenant.id)
        session.add(profile)
    profile.marks, profile.updated_at = marks, utcnow()
    _profile_cache.pop(tenant.id, None)  # this worker at once; the others by the fingerprint
    uw.emit(
        ev.WB_HANDLER_PROFILE_SET,
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


def request_identity(uw: UnitOfWork, actor: Actor, report: Report, reason: str) -> IdentityRequest:
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
    req.reason = FieldCipher(session, tenant.id, "wb_identity_requests", req.id).encrypt(
        "reason", reason
    )
    session.add(req)
    _emit(
        uw,
        ev.WB_IDENTITY_REQUESTED,
        report,
        actor,
        request_id=str(req.id),
        reason_digest=digest(session, tenant, reason),
    )
    return req


OPEN_REQUEST_STATES = ("pending", "approved")  # approved: its copy is not read yet


def cancel_identity_requests_without_standing(uw: UnitOfWork, report: Report, actor: Actor) -> int:
    """After a recusal or a reassignment: every pending request, and every approved one whose
    copy is not read yet, of an official who may no longer handle the case is cancelled and
    its copy wiped (a recused requester never reads the identity)."""
    session = uw.session
    cancelled = 0
    for req in repository.open_identity_requests(session, report.id, OPEN_REQUEST_STATES):
        if views.requester_standing(session, req.requested_by, report) == "may_handle":
            continue
        req.status, req.disclosure, req.decided_at = "cancelled", None, utcnow()
        cancelled += 1
        _emit_closed_unread(uw, report, actor, req, "cancel")
    return cancelled


def _approvals_needed(tenant: Tenant) -> int:
    return int(views.config(tenant).get("identity_disclosure_approvers", 1))


def _emit_closed_unread(
    uw: UnitOfWork, report: Report, actor: Actor, req: IdentityRequest, decision: str
) -> None:
    """The event of a request closed before anyone read the identity (cancelled or expired):
    the reporter is not told, since nothing was disclosed."""
    _emit(
        uw,
        ev.WB_IDENTITY_DECIDED,
        report,
        actor,
        request_id=str(req.id),
        decision=decision,
        status=req.status,
        approvals=len(req.approvals),
        approvals_needed=_approvals_needed(uw.tenant),
        reporter_notified=False,
    )


def expire_identity_copies(uw: UnitOfWork, now: datetime | None = None) -> int:
    """Approved copies nobody read within the tenant's `identity_disclosure_valid_days` are
    wiped (run daily with retention); the request is then "expired"."""
    session = uw.session
    cutoff = (now or utcnow()) - views.disclosure_validity(uw.tenant)
    expired = 0
    for req in repository.unread_copies_decided_before(session, cutoff):
        report = session.get_one(Report, req.report_id)
        req.status, req.disclosure = "expired", None
        expired += 1
        _emit_closed_unread(uw, report, SYSTEM, req, "expire")
    return expired


def decide_identity(
    uw: UnitOfWork, actor: Actor, request_id: uuid.UUID, decision: str, passphrase: str | None
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
    report = session.get_one(Report, req.report_id)
    needed = _approvals_needed(tenant)
    now = utcnow()
    if (
        decision == "approve"
        and views.requester_standing(session, req.requested_by, report) != "may_handle"
    ):
        raise Refused(
            409,
            "The official who asked may no longer handle this case (recused, reassigned or "
            "no longer active): nothing is disclosed; reject the request.",
            requester_standing=views.requester_standing(session, req.requested_by, report),
        )
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
            assert report.sealed_identity is not None  # requests exist only for sealed ones
            identity = open_sealed_identity(
                session,
                tenant.id,
                report,
                passphrase,
                who=actor_key,
                not_opening="The sealed identity does not open; it may have been altered. "
                "Nothing was disclosed.",
            )
            req.disclosure = FieldCipher(
                session, tenant.id, "wb_identity_requests", req.id
            ).encrypt_json("disclosure", identity)
            req.status, req.decided_at = "approved", now
            notice = Message(
                id=uuid.uuid4(),
                tenant_id=tenant.id,
                report_id=report.id,
                at=now,
                author_role="system",
            )
            notice.body = FieldCipher(session, tenant.id, "wb_messages", notice.id).encrypt_json(
                "body", {"notice": "identity_disclosed"}
            )
            session.add(notice)
        req.approvals = approvals
    _emit(
        uw,
        ev.WB_IDENTITY_DECIDED,
        report,
        actor,
        request_id=str(req.id),
        decision=decision,
        status=req.status,
        approvals=len(req.approvals),
        approvals_needed=needed,
        reporter_notified=req.status == "approved",
    )
    return req


def view_identity(uw: UnitOfWork, actor: Actor, request_id: uuid.UUID) -> dict:
    """The requester reads the disclosed identity once; the copy is then wiped."""
    session, tenant = uw.session, uw.tenant
    req = repository.identity_request(session, request_id, for_update=True)
    if req is None or req.requested_by != actor.official_id:
        raise Refused(404, "No such identity request.")
    if req.status == "viewed":
        raise Refused(410, "The identity was already shown once.")
    if req.status != "approved" or req.disclosure is None:
        raise Refused(409, f"This request is {req.status}.")
    report = session.get_one(Report, req.report_id)
    recused = repository.recused_officials(session, report.id)
    if not access.may_handle(actor.roles, actor.official_id, report.assignee_id, recused):
        # the case answers 404 to this official now: so does its identity
        raise Refused(404, "No such identity request.")
    if req.decided_at is not None and utcnow() - req.decided_at > views.disclosure_validity(tenant):
        raise Refused(410, "The approved copy expired unread; ask again if it is still needed.")
    identity = FieldCipher(session, tenant.id, "wb_identity_requests", req.id).decrypt_json(
        "disclosure", req.disclosure
    )
    req.disclosure, req.status, req.viewed_at = None, "viewed", utcnow()
    _emit(
        uw,
        ev.WB_IDENTITY_VIEWED,
        report,
        actor,
        request_id=str(req.id),
    )
    return identity


# --- Retention ------------------------------------------------------------------------------


def expire_due(uw: UnitOfWork, *, now: datetime | None = None) -> list[str]:
    """Delete the tenant's archived cases whose retention has run out; one event each.

    Every record key of the case is shredded first, then the rows (with the sealed identity)
    are deleted; the events in the ledger keep only ids and states. Rows locked by a request
    are skipped until the next run.
    """
    from services.whistleblowing import lapor_cases  # it builds on this module

    session, tenant = uw.session, uw.tenant
    day = today(tenant, now)
    expired = []
    for report in session.execute(
        select(Report).where(Report.status == "archived").with_for_update(skip_locked=True)
    ).scalars():
        if retention.state(day, views.expires_on(tenant, report)) != "expired":
            continue
        _shred_case(session, tenant, report)
        reporter_contacts.forget(session, tenant.id, report.id)  # archiving forgot it already
        lapor_cases.forget_case(session, tenant, report.id)
        for model in (
            ReportHistory,
            Message,
            Attachment,
            Assignment,
            Recusal,
            IdentityRequest,
            IdempotentSubmission,
            Referral,  # the receipt stops working here, also for a case referred elsewhere
        ):
            session.execute(delete(model).where(model.report_id == report.id))
        session.delete(report)
        _emit(
            uw,
            ev.WB_REPORT_EXPIRED,
            report,
            SYSTEM,
            archived_on=clocks.local_date(_archived_at(report), tenant.timezone).isoformat(),
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
        (Referral, "wb_referrals"),
    ):
        owned += [
            (table, row_id)
            for row_id in session.execute(
                select(model.id).where(model.report_id == report.id)
            ).scalars()
        ]
    for table, row_id in owned:
        FieldCipher(session, tenant.id, table, row_id).shred()


def purge_stale_throttles(uw: UnitOfWork, *, now: datetime | None = None) -> int:
    """Forget failed-receipt counts whose window has closed (they only slow guessing)."""
    result = uw.session.execute(
        delete(ReceiptThrottle).where(
            ReceiptThrottle.window_started_at < (now or utcnow()) - RECEIPT_WINDOW
        )
    )
    return getattr(result, "rowcount", 0) or 0  # a DELETE's CursorResult


def open_sealed_identity(
    session: Session,
    tenant_id: uuid.UUID,
    report: Report,
    passphrase: str,
    *,
    who: str,
    not_opening: str,
) -> dict[str, Any]:
    """The custodian opens `report`'s sealed identity with their passphrase; custody's refusals
    as the page and API answer them (403 wrong, 429 throttled, 409 `not_opening`)."""
    assert report.sealed_identity is not None
    try:
        return custody.open_identity(
            session, tenant_id, report.id, report.sealed_identity, passphrase, who=who
        )
    except custody.WrongPassphrase:
        raise Refused(403, "The passphrase is not right.", "passphrase") from None
    except custody.PassphraseThrottled as exc:
        raise Refused(
            429,
            "Too many wrong passphrases; try again later.",
            "passphrase",
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    except custody.IdentityDoesNotOpen:
        raise Refused(409, not_opening) from None
