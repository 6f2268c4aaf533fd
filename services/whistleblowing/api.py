"""JSON API of the whistleblowing service (problem+json errors; every route under /t/<tenant>/).

Reporters authenticate with `Authorization: Receipt <receipt>`; officials with bearer tokens.
Handlers are thin: parse, call one use case in services/whistleblowing/cases.py, commit.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy.exc import IntegrityError

from services.whistleblowing import cases, repository, schemas
from services.whistleblowing.cases import Actor, Refused
from services.whistleblowing.domain import lifecycle
from services.whistleblowing.domain import stats as stats_rules
from services.whistleblowing.models import OutboxRow
from shared.auth import current_principal, require_roles
from shared.problem import Problem, problem_response, validation_error
from shared.web import db, uow

bp = Blueprint("wb_api", __name__)
API = "/t/<tenant>/api/v1"
HANDLERS = ("wbs_intake", "wbs_investigator", "wbs_supervisor")
IDEMPOTENCY_KEY_MAX = 200


# --- Errors -------------------------------------------------------------------------------


@bp.errorhandler(Refused)
def _refused(exc: Refused):
    errors = [{"field": exc.field, "reason": str(exc)}] if exc.field else None
    title = {
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
        410: "Gone",
        412: "Precondition Failed",
        413: "Content Too Large",
        415: "Unsupported Media Type",
        422: "Unprocessable Content",
        429: "Too Many Requests",
    }.get(exc.status, "Error")
    headers = {}
    if isinstance(exc, cases.ReceiptRejected):
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'Receipt realm="whistleblowing"'
        if exc.retry_after:
            headers["Retry-After"] = str(exc.retry_after)
    return problem_response(Problem(exc.status, title, str(exc), errors=errors), headers)


@bp.errorhandler(lifecycle.LifecycleError)
def _lifecycle(exc: lifecycle.LifecycleError):
    if isinstance(exc, lifecycle.IllegalTransition):
        return problem_response(
            Problem(409, "Conflict", str(exc), source=exc.source, target=exc.target)
        )
    if isinstance(exc, lifecycle.TransitionNotPermitted):
        return problem_response(
            Problem(403, "Forbidden", str(exc), required_roles=exc.required_roles)
        )
    return problem_response(
        Problem(
            422,
            "Unprocessable Content",
            str(exc),
            errors=[{"field": exc.field, "reason": str(exc)}],
        )
    )


@bp.after_request
def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"  # receipts, case contents: never cached
    return resp


# --- Helpers ------------------------------------------------------------------------------


def _body(model):
    return schemas.parse(model, request.get_json(silent=True))


def _official() -> Actor:
    p = current_principal()
    return Actor("official", p.pseudonym, p.official_id, p.roles)


def _receipt_header() -> str | None:
    header = request.headers.get("Authorization", "")
    return header[8:].strip() if header.startswith("Receipt ") else None


def _reporter_case(*, for_update: bool = False):
    if _receipt_header() is None:
        raise cases.ReceiptRejected(401, "Send your receipt: Authorization: Receipt <receipt>.")
    return cases.open_with_receipt(
        db(), g.tenant, _receipt_header(), request.remote_addr or "unknown", for_update=for_update
    )


def _upload() -> bytes:
    file = request.files.get("file")
    if file is None:
        raise Refused(422, "Send the file as multipart/form-data field 'file'.", "file")
    return file.read()  # the client's file name is ignored on purpose


def _check_version(report) -> None:
    """Optional optimistic concurrency: `If-Match: "<version>"` from a case's ETag."""
    wanted = request.headers.get("If-Match")
    if wanted and wanted.strip().strip('"') != str(report.version):
        raise Refused(412, "The report changed since you read it; read it again.")


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except (ValueError, TypeError):
        raise Refused(422, "Not a valid id.", field) from None


@bp.get("/openapi.json")
def openapi():
    from services.whistleblowing.openapi import document

    return jsonify(document())


def file_report(form: schemas.ReportIn, uploads: list[bytes], key: str | None) -> cases.Filed:
    """File in one unit of work; the same key filed concurrently is answered as its replay."""
    for attempt in (1, 2):
        uw = uow(OutboxRow)
        try:
            filed = cases.submit(
                uw, form, uploads, idempotency_key=key, request_digest_source=form.model_dump()
            )
            uw.commit()
            return filed
        except IntegrityError:
            uw.rollback()
            if attempt == 2 or not key:
                raise
    raise AssertionError("unreachable")


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
    filed = file_report(form, [], key)
    resp = jsonify(
        case_number=filed.report.case_number, receipt=filed.receipt, status=filed.report.status
    )
    resp.status_code = 201
    if filed.replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


@bp.get(f"{API}/inbox")
def reporter_inbox():
    report = _reporter_case()
    return jsonify(cases.inbox(db(), g.tenant, report))


@bp.get(f"{API}/inbox/acknowledgement")
def reporter_acknowledgement():
    """A signed proof of filing (case number, time, SHA-256 of what was submitted)."""
    from services.whistleblowing import acknowledgement

    report = _reporter_case()
    doc = acknowledgement.issue(
        db(),
        g.tenant,
        case_number=report.case_number,
        received_at=report.received_at.isoformat(),
        category=report.category,
        content=cases.content_of(db(), g.tenant, report),
    )
    db().commit()  # the tenant's signing key, if this was its first use
    return jsonify(doc)


@bp.get(f"{API}/acknowledgement-key")
def acknowledgement_key():
    """The public key that verifies this tenant's acknowledgements."""
    from services.whistleblowing import acknowledgement

    key = acknowledgement.public_key(db(), g.tenant)
    db().commit()
    return jsonify(key)


@bp.post(f"{API}/inbox/messages")
def reporter_message():
    report = _reporter_case(for_update=True)
    form = _body(schemas.MessageIn)
    uw = uow(OutboxRow)
    msg = cases.post_message(uw, cases.REPORTER, report, form.body)
    uw.commit()
    return jsonify(id=str(msg.id), at=msg.at.isoformat()), 201


@bp.post(f"{API}/inbox/attachments")
def reporter_attachment():
    report = _reporter_case(for_update=True)
    uw = uow(OutboxRow)
    att = cases.add_attachment(uw, cases.REPORTER, report, _upload())
    uw.commit()
    return jsonify(id=str(att.id), media_type=att.media_type, size=att.size), 201


@bp.get(f"{API}/public/stats")
def public_stats():
    """Aggregates anyone may read: cells below 5 are hidden (null)."""
    s = repository.stats(db(), today=cases.today(g.tenant), tz=g.tenant.timezone)

    def enough(n, v):
        return v if n >= stats_rules.SMALL_CELL else None

    return jsonify(
        total=stats_rules.suppress_total(s["total"]),
        by_category=stats_rules.suppress(s["by_category"]),
        by_status=stats_rules.suppress(s["by_status"]),
        by_month=stats_rules.suppress(s["by_month"]),
        median_days_to_acknowledge=enough(s["acknowledged_count"], s["median_days_to_acknowledge"]),
        median_days_to_conclude=enough(s["concluded_count"], s["median_days_to_conclude"]),
        small_cell_threshold=stats_rules.SMALL_CELL,
    )


# --- Officials ----------------------------------------------------------------------------


def _list_query(actor: Actor, *, paged: bool = True) -> tuple[list, int, int, int]:
    """The case list the filters in the query string ask for (422 naming bad filters)."""
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
    page, per_page = args.get("page", "1"), args.get("per_page", "20" if paged else "10000")
    if not page.isdigit() or int(page) < 1:
        errors.append({"field": "page", "reason": "a whole number from 1"})
    if paged and (not per_page.isdigit() or not 1 <= int(per_page) <= 100):
        errors.append({"field": "per_page", "reason": "a whole number from 1 to 100"})
    if errors:
        raise validation_error(errors)
    rows, total = repository.list_reports(
        db(),
        today=cases.today(g.tenant),
        status=status,
        category=args.get("category") or None,
        overdue=overdue,
        assignee=assignee,
        unassigned=unassigned,
        hide_from=actor.official_id,
        only_assigned_to=None if actor.roles & cases.SEE_ALL else actor.official_id,
        page=int(page),
        per_page=int(per_page),
    )
    return rows, total, int(page), int(per_page)


@bp.get(f"{API}/reports")
@require_roles(*HANDLERS)
def list_reports():
    rows, total, page, per_page = _list_query(_official())
    return jsonify(
        items=[cases.summary(g.tenant, r) for r in rows], total=total, page=page, per_page=per_page
    )


def _csv(name: str, header: list[str], rows) -> Response:
    """CSV for spreadsheets; a cell starting with = + - @ is quoted as text (no formulas)."""
    import csv
    import io

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
@require_roles(*HANDLERS)
def export_reports():
    """The case list (same filters, no paging) without any content or identity."""
    rows, _, _, _ = _list_query(_official(), paged=False)
    fields = [
        "case_number",
        "category",
        "status",
        "outcome",
        "received_at",
        "acknowledge_by",
        "feedback_by",
        "overdue",
        "assignee",
    ]
    return _csv("reports", fields, ([cases.summary(g.tenant, r)[f] for f in fields] for r in rows))


@bp.get(f"{API}/stats.csv")
@require_roles(*HANDLERS, "auditor")
def export_stats():
    s = repository.stats(db(), today=cases.today(g.tenant), tz=g.tenant.timezone)
    rows = [
        (dim, key, n)
        for dim in ("category", "status", "month")
        for key, n in s[f"by_{dim}"].items()
    ]
    rows += [
        ("total", "", s["total"]),
        ("overdue", "", s["overdue"]),
        ("median_days_to_acknowledge", "", s["median_days_to_acknowledge"] or ""),
        ("median_days_to_conclude", "", s["median_days_to_conclude"] or ""),
    ]
    return _csv("stats", ["dimension", "key", "value"], rows)


@bp.get(f"{API}/reports/<case_number>")
@require_roles(*HANDLERS)
def get_report(case_number: str):
    report = cases.official_case(db(), _official(), case_number)
    resp = jsonify(cases.detail(db(), g.tenant, report))
    resp.headers["ETag"] = f'"{report.version}"'
    return resp


@bp.get(f"{API}/reports/<case_number>/attachments/<uuid:attachment_id>")
@require_roles(*HANDLERS)
def get_attachment(case_number: str, attachment_id: uuid.UUID):
    report = cases.official_case(db(), _official(), case_number)
    att, data = cases.attachment_content(db(), g.tenant, report, attachment_id)
    name = f"{report.case_number}-{att.id}.{cases.files.EXTENSIONS.get(att.media_type, 'bin')}"
    return Response(
        data,
        mimetype=att.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@bp.post(f"{API}/reports/<case_number>/transitions")
@require_roles(*HANDLERS)
def transition(case_number: str):
    actor = _official()
    form = _body(schemas.TransitionIn)
    uw = uow(OutboxRow)
    report = cases.official_case(uw.session, actor, case_number, for_update=True)
    _check_version(report)
    cases.transition(
        uw, actor, report, form.to, outcome=form.outcome, reason=form.reason, referral=form.referral
    )
    uw.commit()
    resp = jsonify(cases.summary(g.tenant, report) | {"version": report.version})
    resp.headers["ETag"] = f'"{report.version}"'
    return resp


@bp.post(f"{API}/reports/<case_number>/assignments")
@require_roles("wbs_intake", "wbs_supervisor")
def assign(case_number: str):
    actor = _official()
    form = _body(schemas.AssignmentIn)
    uw = uow(OutboxRow)
    report = cases.official_case(uw.session, actor, case_number, for_update=True)
    _check_version(report)
    cases.assign(uw, actor, report, _uuid(form.official_id, "official_id"))
    uw.commit()
    return jsonify(cases.summary(g.tenant, report)), 201


@bp.post(f"{API}/reports/<case_number>/recusals")
@require_roles(*HANDLERS)
def recuse(case_number: str):
    actor = _official()
    form = _body(schemas.RecusalIn)
    uw = uow(OutboxRow)
    report = cases.official_case(uw.session, actor, case_number, for_update=True)
    rec = cases.recuse(uw, actor, report, _uuid(form.official_id, "official_id"), form.reason)
    uw.commit()
    return jsonify(id=str(rec.id), official_id=str(rec.official_id)), 201


@bp.put(f"{API}/handlers/<uuid:official_id>/profile")
@require_roles("wbs_supervisor")
def set_handler_profile(official_id: uuid.UUID):
    """A handler's work unit (and name): kept only as keyed hashes, matched against reports."""
    form = _body(schemas.HandlerProfileIn)
    uw = uow(OutboxRow)
    recused = cases.set_handler_profile(
        uw, _official(), official_id, work_unit=form.work_unit, name=form.name
    )
    uw.commit()
    return jsonify(official_id=str(official_id), recused_from=recused)


@bp.post(f"{API}/reports/<case_number>/messages")
@require_roles(*HANDLERS)
def official_message(case_number: str):
    actor = _official()
    form = _body(schemas.MessageIn)
    uw = uow(OutboxRow)
    report = cases.official_case(uw.session, actor, case_number, for_update=True)
    msg = cases.post_message(uw, actor, report, form.body)
    uw.commit()
    return jsonify(id=str(msg.id), at=msg.at.isoformat(), author_role=msg.author_role), 201


@bp.post(f"{API}/reports/<case_number>/identity-requests")
@require_roles("wbs_investigator", "wbs_supervisor")
def request_identity(case_number: str):
    actor = _official()
    form = _body(schemas.IdentityRequestIn)
    uw = uow(OutboxRow)
    report = cases.official_case(uw.session, actor, case_number, for_update=True)
    req = cases.request_identity(uw, actor, report, form.reason)
    uw.commit()
    return jsonify(id=str(req.id), status=req.status), 201


@bp.get(f"{API}/identity-requests")
@require_roles("identity_custodian")
def pending_identity_requests():
    rows = repository.pending_identity_requests(db())
    return jsonify(
        items=[
            {
                "id": str(r.id),
                "case_number": cn,
                "status": r.status,
                "created_at": r.created_at.isoformat(),
                "approvals": len(r.approvals),
                "reason": cases.protect.decrypt_text(
                    db(), g.tenant.id, "wb_identity_requests", r.id, "reason", r.reason
                ),
            }
            for r, cn in rows
        ]
    )


@bp.post(f"{API}/identity-requests/<uuid:request_id>/decisions")
@require_roles("identity_custodian")
def decide_identity(request_id: uuid.UUID):
    actor = _official()
    form = _body(schemas.DecisionIn)
    uw = uow(OutboxRow)
    req = cases.decide_identity(uw, actor, request_id, form.decision, form.passphrase)
    uw.commit()
    return jsonify(id=str(req.id), status=req.status, approvals=len(req.approvals))


@bp.get(f"{API}/identity-requests/<uuid:request_id>")
@require_roles("wbs_investigator", "wbs_supervisor")
def view_identity(request_id: uuid.UUID):
    uw = uow(OutboxRow)
    identity = cases.view_identity(uw, _official(), request_id)
    uw.commit()
    return jsonify(id=str(request_id), identity=identity)


@bp.get(f"{API}/stats")
@require_roles(*HANDLERS, "auditor")
def official_stats():
    return jsonify(repository.stats(db(), today=cases.today(g.tenant), tz=g.tenant.timezone))
