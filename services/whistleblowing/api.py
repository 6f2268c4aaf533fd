"""JSON API of the whistleblowing service (problem+json errors; every route under /t/<tenant>/).

Reporters authenticate with `Authorization: Receipt <receipt>`; officials with bearer tokens.
Handlers are thin: parse, then call one use case (`cases.py`) in `with unit_of_work() as uw:`
or one read (`views.py`). Refusals and domain errors are answered by the app's one handler.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.whistleblowing import (
    acknowledgement,
    cases,
    referrals,
    reporter_contacts,
    repository,
    schemas,
    views,
)
from services.whistleblowing.domain import access, channels, lifecycle
from services.whistleblowing.models import Report
from services.whistleblowing.openapi import document
from shared.actor import Actor
from shared.auth import official_actor, require_roles
from shared.bodies import json_body, require_multipart
from shared.openapi import served
from shared.pagination import API_DEFAULT, API_MAXIMUM, Page
from shared.problem import Refused, validation_error
from shared.tenancy import today
from shared.uow import UnitOfWork
from shared.web import db, no_store, unit_of_work

bp = Blueprint("wb_api", __name__)
bp.after_request(no_store)  # receipts, case contents: never cached
API = "/t/<tenant>/api/v1"
IDEMPOTENCY_KEY_MAX = 200
EXPORT_ROWS = 10_000  # the CSV export is one page of up to this many cases


# --- Helpers ------------------------------------------------------------------------------


def _body(model):
    return schemas.parse(model, json_body())


def _reporter_case(session: Session, *, for_update: bool = False) -> Report:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Receipt "):
        raise cases.ReceiptRejected(401, "Send your receipt: Authorization: Receipt <receipt>.")
    return cases.open_with_receipt(
        session,
        g.tenant,
        header[8:].strip(),
        request.remote_addr or "unknown",
        for_update=for_update,
    )


@contextmanager
def _changing_case(
    case_number: str, *, if_match: bool = False
) -> Iterator[tuple[UnitOfWork, Actor, Report]]:
    """A unit of work on the case, locked, for the signed-in official who may handle it (else
    404). With `if_match`, optional optimistic concurrency: `If-Match: "<version>"` from a
    case's ETag, 412 if the case changed since."""
    actor = official_actor()
    with unit_of_work() as uw:
        report = views.official_case(uw.session, actor, case_number, for_update=True)
        wanted = request.headers.get("If-Match") if if_match else None
        if wanted and wanted.strip().strip('"') != str(report.version):
            raise Refused(412, "The report changed since you read it; read it again.")
        yield uw, actor, report


def _upload() -> bytes:
    require_multipart()
    file = request.files.get("file")
    if file is None:
        raise Refused(422, "Send the file as multipart/form-data field 'file'.", "file")
    return file.read()  # the client's file name is ignored on purpose


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise Refused(422, "Not a valid id.", field) from None


@bp.get("/openapi.json")
def openapi():
    return served(document())


def file_report(
    form: schemas.ReportIn,
    uploads: list[bytes],
    key: str | None,
    *,
    channel: str = channels.ONLINE,
    entered_by: Actor | None = None,
    budget: cases.FilingBudget | None = None,
) -> cases.Filed:
    """File in one unit of work. A unique index that fires (a case number drawn twice, or the
    same Idempotency-Key filed before or concurrently) files again, the second time looking
    for the key's earlier filing first (its replay).

    `budget` (anonymous filing): counted in the filing's write statement; past it, the filing
    is rolled back and the refusal counted and committed apart, then cases.FilingThrottled
    (429 with Retry-After): the count outlives the refusal, nothing of the filing is kept."""
    for attempt in (1, 2, 3):
        try:
            with unit_of_work() as uw:
                return cases.submit(
                    uw,
                    form,
                    uploads,
                    idempotency_key=key,
                    request_digest_source=form.model_dump(),
                    channel=channel,
                    entered_by=entered_by,
                    replay_possible=attempt > 1,
                    budget=budget,
                )
        except IntegrityError as exc:
            if attempt == 3 or not cases.retry_filing(exc):
                raise
        except cases.FilingThrottled as exc:
            assert budget is not None  # only a budget refuses so
            wait = cases.spend_filing_budget(db(), g.tenant, budget.client, budget.limits)
            if wait or attempt == 3:  # (a window that ended meanwhile: file again)
                raise cases.FilingThrottled(wait or exc.retry_after) from None
    raise AssertionError("unreachable")


def filing_budget() -> cases.FilingBudget:
    """The anonymous filing budgets (per address, per tenant) of this request."""
    return cases.FilingBudget(
        request.remote_addr or "unknown", current_app.config["FILING_BUDGETS"]
    )


# --- Reporters ----------------------------------------------------------------------------


@bp.post(f"{API}/reports")
def submit_report():
    """File a report. The receipt is in this answer only (and in a replay of the same
    Idempotency-Key within 24 hours, which returns the same body with Idempotent-Replayed)."""
    form = _body(schemas.ReportIn)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX:
        raise Refused(
            422,
            f"Idempotency-Key must have 1 to {IDEMPOTENCY_KEY_MAX} characters.",
            "Idempotency-Key",
        )
    filed = file_report(form, [], key, budget=filing_budget())
    resp = jsonify(
        case_number=filed.report.case_number, receipt=filed.receipt, status=filed.report.status
    )
    resp.status_code = 201
    if filed.replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


@bp.get(f"{API}/inbox")
def reporter_inbox():
    report = _reporter_case(db())
    return jsonify(
        {
            **views.inbox(db(), g.tenant, report),
            "referral": referrals.for_reporter(db(), g.tenant, report),
        }
    )


@bp.get(f"{API}/inbox/acknowledgement")
def reporter_acknowledgement():
    """A signed proof of filing (case number, time, SHA-256 of what was submitted)."""
    with unit_of_work() as uw:  # the tenant's signing key is made on its first use
        doc = acknowledgement.acknowledge(uw.session, uw.tenant, _reporter_case(uw.session))
    return jsonify(doc)


@bp.get(f"{API}/acknowledgement-key")
def acknowledgement_key():
    """The public key that verifies this tenant's acknowledgements."""
    with unit_of_work() as uw:
        key = acknowledgement.public_key(uw.session, uw.tenant)
    return jsonify(key)


@bp.post(f"{API}/inbox/messages")
def reporter_message():
    with unit_of_work() as uw:
        report = _reporter_case(uw.session, for_update=True)
        form = _body(schemas.MessageIn)
        msg = referrals.post_reporter_message(uw, report, form.body)  # relayed once referred
    return jsonify(id=str(msg.id), at=msg.at.isoformat()), 201


@bp.post(f"{API}/inbox/attachments")
def reporter_attachment():
    with unit_of_work() as uw:
        report = _reporter_case(uw.session, for_update=True)
        att = referrals.add_reporter_attachment(uw, report, _upload())  # relayed once referred
    return jsonify(id=str(att.id), media_type=att.media_type, size=att.size), 201


@bp.put(f"{API}/inbox/contact")
def reporter_contact():
    """Give or replace the contact for "ada balasan baru" notices (sealed; never shown to
    handlers; the answer names only its kind and a masked form)."""
    with unit_of_work() as uw:
        report = _reporter_case(uw.session, for_update=True)
        form = _body(schemas.ContactIn)
        cases.give_contact(uw, report, form.notify_contact)
        shown = reporter_contacts.masked_for_reporter(uw.session, uw.tenant.id, report.id)
    return jsonify(notify_contact=shown)


@bp.delete(f"{API}/inbox/contact")
def reporter_contact_forget():
    """Withdraw the notice contact: shredded at once (`forgotten`: whether there was one)."""
    with unit_of_work() as uw:
        forgotten = cases.forget_contact(uw, _reporter_case(uw.session, for_update=True))
    return jsonify(notify_contact=None, forgotten=forgotten)


@bp.get(f"{API}/public/stats")
def public_stats():
    """Aggregates anyone may read: cells below 5 are hidden (null)."""
    return jsonify(views.public_stats(db(), g.tenant))


# --- Officials ----------------------------------------------------------------------------


def _list_query(actor: Actor, default: int, maximum: int) -> tuple[list[Report], int, Page]:
    """The case list the filters in the query string ask for (one 422 naming every bad one)."""
    args, errors = request.args, []
    status = args.get("status") or None
    if status and status not in {s.value for s in lifecycle.Status}:
        errors.append({"field": "status", "reason": "unknown status"})
    overdue = {"true": True, "false": False, None: None, "": None}.get(args.get("overdue"), "x")
    if overdue == "x":
        errors.append({"field": "overdue", "reason": "true or false"})
    assignee, unassigned = None, False
    if args.get("assignee") == "me":
        assignee = actor.official_id
    elif args.get("assignee") == "none":
        unassigned = True
    elif args.get("assignee"):
        try:
            assignee = uuid.UUID(args["assignee"])
        except ValueError:
            errors.append({"field": "assignee", "reason": "an official id, 'me' or 'none'"})
    try:
        page = Page.from_args(args, default, maximum)
    except Refused as exc:
        errors += exc.errors
    if errors:
        raise validation_error(errors)
    rows, total = repository.list_reports(
        db(),
        today=today(g.tenant),
        status=status,
        category=args.get("category") or None,
        overdue=overdue if isinstance(overdue, bool) else None,
        assignee=assignee,
        unassigned=unassigned,
        hide_from=actor.official_id,
        only_assigned_to=None if access.sees_all(actor.roles) else actor.official_id,
        page=page.number,
        per_page=page.size,
    )
    return rows, total, page


@bp.get(f"{API}/reports")
@require_roles(*access.HANDLERS)
def list_reports():
    rows, total, page = _list_query(official_actor(), API_DEFAULT, API_MAXIMUM)
    return jsonify(
        items=[views.summary(g.tenant, r) for r in rows],
        total=total,
        page=page.number,
        per_page=page.size,
    )


def _csv(name: str, header: Iterable[str], rows: Iterable[Iterable]) -> Response:
    """CSV for spreadsheets; a cell starting with = + - @ is quoted as text (no formulas)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["'" + str(c) if str(c)[:1] in ("=", "+", "-", "@") else c for c in row])
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{g.tenant.slug}-{name}.csv"'},
    )


@bp.get(f"{API}/reports.csv")
@require_roles(*access.HANDLERS)
def export_reports():
    """The case list (same filters, every case on one page) without any content or identity."""
    rows, _, _ = _list_query(official_actor(), EXPORT_ROWS, EXPORT_ROWS)
    fields = views.EXPORT_FIELDS
    return _csv("reports", fields, ([views.summary(g.tenant, r)[f] for f in fields] for r in rows))


@bp.get(f"{API}/stats.csv")
@require_roles(*access.STATS_READERS)
def export_stats():
    rows = views.stats_rows(views.stats(db(), g.tenant))
    return _csv("stats", ["dimension", "key", "value"], rows)


@bp.get(f"{API}/reports/<case_number>")
@require_roles(*access.HANDLERS)
def get_report(case_number: str):
    report = views.official_case(db(), official_actor(), case_number)
    resp = jsonify(views.detail(db(), g.tenant, report))
    resp.headers["ETag"] = f'"{report.version}"'
    return resp


@bp.get(f"{API}/reports/<case_number>/attachments/<uuid:attachment_id>")
@require_roles(*access.HANDLERS)
def get_attachment(case_number: str, attachment_id: uuid.UUID):
    return views.attachment(db(), g.tenant, official_actor(), case_number, attachment_id).response()


@bp.post(f"{API}/reports/<case_number>/transitions")
@require_roles(*access.HANDLERS)
def transition(case_number: str):
    form = _body(schemas.TransitionIn)
    with _changing_case(case_number, if_match=True) as (uw, actor, report):
        cases.transition(uw, actor, report, form)
    resp = jsonify(views.summary(g.tenant, report) | {"version": report.version})
    resp.headers["ETag"] = f'"{report.version}"'
    return resp


@bp.post(f"{API}/reports/<case_number>/assignments")
@require_roles(*access.ASSIGNERS)
def assign(case_number: str):
    form = _body(schemas.AssignmentIn)
    with _changing_case(case_number, if_match=True) as (uw, actor, report):
        cases.assign(uw, actor, report, _uuid(form.official_id, "official_id"))
    return jsonify(views.summary(g.tenant, report)), 201


@bp.post(f"{API}/reports/<case_number>/recusals")
@require_roles(*access.HANDLERS)
def recuse(case_number: str):
    form = _body(schemas.RecusalIn)
    with _changing_case(case_number) as (uw, actor, report):
        rec = cases.recuse(uw, actor, report, _uuid(form.official_id, "official_id"), form.reason)
    return jsonify(id=str(rec.id), official_id=str(rec.official_id)), 201


@bp.put(f"{API}/handlers/<uuid:official_id>/profile")
@require_roles(*access.SUPERVISION)
def set_handler_profile(official_id: uuid.UUID):
    """A handler's work unit (and name): kept only as keyed hashes, matched against reports."""
    form = _body(schemas.HandlerProfileIn)
    with unit_of_work() as uw:
        recused = cases.set_handler_profile(
            uw, official_actor(), official_id, work_unit=form.work_unit, name=form.name
        )
    return jsonify(official_id=str(official_id), recused_from=recused)


@bp.post(f"{API}/reports/<case_number>/messages")
@require_roles(*access.HANDLERS)
def official_message(case_number: str):
    form = _body(schemas.MessageIn)
    with _changing_case(case_number) as (uw, actor, report):
        msg = cases.post_message(uw, actor, report, form.body)
    return jsonify(id=str(msg.id), at=msg.at.isoformat(), author_role=msg.author_role), 201


@bp.post(f"{API}/reports/<case_number>/identity-requests")
@require_roles(*access.DISCLOSURE_REQUESTERS)
def request_identity(case_number: str):
    form = _body(schemas.IdentityRequestIn)
    with _changing_case(case_number) as (uw, actor, report):
        req = cases.request_identity(uw, actor, report, form.reason)
    return jsonify(id=str(req.id), status=req.status), 201


@bp.get(f"{API}/identity-requests")
@require_roles(*access.CUSTODIANS)
def pending_identity_requests():
    return jsonify(items=views.pending_identity_requests(db(), g.tenant))


@bp.post(f"{API}/identity-requests/<uuid:request_id>/decisions")
@require_roles(*access.CUSTODIANS)
def decide_identity(request_id: uuid.UUID):
    form = _body(schemas.DecisionIn)
    with unit_of_work() as uw:
        req = cases.decide_identity(
            uw, official_actor(), request_id, form.decision, form.passphrase
        )
    return jsonify(id=str(req.id), status=req.status, approvals=len(req.approvals))


@bp.get(f"{API}/identity-requests/<uuid:request_id>")
@require_roles(*access.DISCLOSURE_REQUESTERS)
def view_identity(request_id: uuid.UUID):
    with unit_of_work() as uw:
        identity = cases.view_identity(uw, official_actor(), request_id)
    return jsonify(id=str(request_id), identity=identity)


@bp.get(f"{API}/stats")
@require_roles(*access.STATS_READERS)
def official_stats():
    return jsonify(views.stats(db(), g.tenant))
