"""Citizen pages: file a report, see the receipt once, open the inbox with the receipt.

Server-rendered, no JavaScript; every text through flask-babel. The receipt travels only in
POST bodies (never a URL), and every page answers `Cache-Control: no-store`.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, g, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _

from services.whistleblowing import cases, schemas
from services.whistleblowing.cases import Refused
from services.whistleblowing.models import OutboxRow
from shared.problem import Problem
from shared.web import db, uow

bp = Blueprint("wb_pages", __name__)
BASE = "/t/<tenant>/whistleblowing"
PERSON_ROWS = 3


@bp.app_template_filter("datetime_local")
def datetime_local(value) -> str:
    """A stored UTC time (or its ISO text), shown in the tenant's zone and the page's language."""
    from datetime import datetime

    from flask_babel import format_datetime

    return format_datetime(
        value if isinstance(value, datetime) else datetime.fromisoformat(value), "medium"
    )


@bp.after_request
def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _categories() -> list[tuple[str, str]]:
    lang = str(get_locale() or "id")
    return [
        (c["code"], c["label"].get(lang) or c["label"]["id"]) for c in cases.categories(g.tenant)
    ]


def _form_body(form) -> dict:
    persons = []
    for i in range(PERSON_ROWS):
        p = {k: form.get(f"person_{i}_{k}", "").strip() for k in ("name", "position", "work_unit")}
        if any(p.values()):
            persons.append(p)
    identity = {
        k: v
        for k in ("name", "nik", "phone", "email")
        if (v := form.get(f"identity_{k}", "").strip())
    }
    body = {
        "category": form.get("category", ""),
        "what": form.get("what", ""),
        "reported_persons": persons,
        "where": form.get("where", ""),
        "when": form.get("when", ""),
        "how_known": form.get("how_known", ""),
    }
    if identity:
        body["identity"] = identity
    return body


def _uploads() -> list[bytes]:
    return [data for f in request.files.getlist("files") if (data := f.read())]


@bp.get(BASE)
def index():
    return render_template("whistleblowing/index.html")


@bp.route(f"{BASE}/report", methods=["GET", "POST"])
def report():
    if request.method == "GET":
        return render_template(
            "whistleblowing/report_form.html",
            categories=_categories(),
            form={},
            errors=[],
            rows=PERSON_ROWS,
            submission=secrets.token_urlsafe(24),
        )
    form = request.form
    # A random token per rendered form is the Idempotency-Key: a double click or a re-sent
    # form files one report and shows the same receipt page again.
    submission = form.get("submission", "")[:200] or None
    try:
        parsed = schemas.parse(schemas.ReportIn, _form_body(form))
        from services.whistleblowing.api import file_report

        filed = file_report(parsed, _uploads(), submission)
    except (Problem, Refused) as exc:
        fields = [e["field"] for e in exc.errors] if isinstance(exc, Problem) else [exc.field or ""]
        status = exc.status
        return render_template(
            "whistleblowing/report_form.html",
            categories=_categories(),
            form=form,
            errors=[_field_label(f) for f in fields],
            file_problem=isinstance(exc, Refused) and exc.field == "file",
            rows=PERSON_ROWS,
            submission=submission,
        ), status
    return render_template(
        "whistleblowing/receipt.html", case_number=filed.report.case_number, receipt=filed.receipt
    ), 201


def _field_label(field: str) -> str:
    head = field.split(".")[0]
    labels = {
        "category": _("Category"),
        "what": _("What happened"),
        "reported_persons": _("Who is reported"),
        "where": _("Where"),
        "when": _("When"),
        "how_known": _("How do you know"),
        "identity": _("Your identity"),
        "file": _("Evidence files"),
    }
    return labels.get(head, head)


def _inbox_page(report, notice: str | None = None, error: str | None = None, status=200):
    view = cases.inbox(db(), g.tenant, report)
    return render_template(
        "whistleblowing/inbox.html",
        inbox=view,
        notice=notice,
        error=error,
        receipt=request.form.get("receipt", ""),
        categories=dict(_categories()),
    ), status


def _open(for_update: bool = False):
    return cases.open_with_receipt(
        db(),
        g.tenant,
        request.form.get("receipt", ""),
        request.remote_addr or "unknown",
        for_update=for_update,
    )


def _receipt_refused(exc: cases.ReceiptRejected):
    message = (
        _("Too many wrong receipts. Try again later.")
        if exc.status == 429
        else _("This receipt is not recognised. Check it and try again.")
    )
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
    return render_template("whistleblowing/inbox_open.html", error=message), exc.status, headers


@bp.route(f"{BASE}/inbox", methods=["GET", "POST"])
def inbox():
    if request.method == "GET":
        return render_template("whistleblowing/inbox_open.html", error=None)
    try:
        report = _open()
    except cases.ReceiptRejected as exc:
        return _receipt_refused(exc)
    return _inbox_page(report)


@bp.post(f"{BASE}/inbox/acknowledgement")
def inbox_acknowledgement():
    """The signed acknowledgement as a file to keep (JSON; verifiable with the public key)."""
    import json

    from services.whistleblowing import acknowledgement

    try:
        report = _open()
    except cases.ReceiptRejected as exc:
        return _receipt_refused(exc)
    doc = acknowledgement.issue(
        db(),
        g.tenant,
        case_number=report.case_number,
        received_at=report.received_at.isoformat(),
        category=report.category,
        content=cases.content_of(db(), g.tenant, report),
    )
    db().commit()
    return Response(
        json.dumps(doc, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="'
            f'{report.case_number}-acknowledgement.json"'
        },
    )


@bp.post(f"{BASE}/inbox/messages")
def inbox_message():
    try:
        report = _open(for_update=True)
    except cases.ReceiptRejected as exc:
        return _receipt_refused(exc)
    try:
        form = schemas.parse(schemas.MessageIn, {"body": request.form.get("body", "")})
        uw = uow(OutboxRow)
        cases.post_message(uw, cases.REPORTER, report, form.body)
        uw.commit()
    except Problem:
        return _inbox_page(report, error=_("Write a message first."), status=422)
    except Refused:
        return _inbox_page(report, error=_("This report is closed."), status=409)
    return _inbox_page(report, notice=_("Your message was sent."))


@bp.post(f"{BASE}/inbox/attachments")
def inbox_attachment():
    try:
        report = _open(for_update=True)
    except cases.ReceiptRejected as exc:
        return _receipt_refused(exc)
    files = _uploads()
    if not files:
        return _inbox_page(report, error=_("Choose a file first."), status=422)
    try:
        uw = uow(OutboxRow)
        for data in files:
            cases.add_attachment(uw, cases.REPORTER, report, data)
        uw.commit()
    except Refused as exc:
        uw.rollback()
        return _inbox_page(report, error=_file_error(exc), status=exc.status)
    return _inbox_page(report, notice=_("Your file was added."))


def _file_error(exc: Refused) -> str:
    if exc.status == 413:
        return _("The file is too large.")
    if exc.status == 415:
        return _("This type of file is not accepted (PDF, JPEG or PNG only).")
    if exc.status == 409:
        return _("This report is closed.")
    return _("The file could not be accepted.")
