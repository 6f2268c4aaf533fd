"""Citizen pages: file a report, see the receipt once, open the inbox with the receipt.

Server-rendered, no JavaScript; every text through flask-babel. The receipt travels only in
POST bodies (never a URL), and every page answers `Cache-Control: no-store`.
"""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Callable
from datetime import datetime

from flask import Blueprint, Response, g, render_template, request
from flask_babel import format_datetime
from flask_babel import gettext as _

from services.whistleblowing import acknowledgement, cases, forms, schemas, views
from services.whistleblowing.api import file_report
from services.whistleblowing.models import Report
from shared.actor import REPORTER
from shared.problem import Problem, Refused
from shared.web import db, no_store, unit_of_work

bp = Blueprint("wb_pages", __name__)
bp.after_request(no_store)
BASE = "/t/<tenant>/whistleblowing"


@bp.app_template_filter("datetime_local")
def datetime_local(value) -> str:
    """A stored UTC time (or its ISO text), shown in the tenant's zone and the page's language."""
    return format_datetime(
        value if isinstance(value, datetime) else datetime.fromisoformat(value), "medium"
    )


def _categories() -> list[tuple[str, str]]:
    return list(views.category_labels(g.tenant).items())


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
            rows=forms.PERSON_ROWS,
            submission=secrets.token_urlsafe(24),
        )
    form = request.form
    # A random token per rendered form is the Idempotency-Key: a double click or a re-sent
    # form files one report and shows the same receipt page again.
    submission = form.get("submission", "")[:200] or None
    try:
        parsed = schemas.parse(schemas.ReportIn, forms.report_body(form))
        filed = file_report(parsed, forms.uploads(request.files), submission)
    except (Problem, Refused) as exc:
        fields = [e["field"] for e in exc.errors] if isinstance(exc, Problem) else [exc.field or ""]
        return render_template(
            "whistleblowing/report_form.html",
            categories=_categories(),
            form=form,
            errors=[forms.field_label(f) for f in fields],
            file_problem=isinstance(exc, Refused) and exc.field == "file",
            rows=forms.PERSON_ROWS,
            submission=submission,
        ), exc.status
    return render_template(
        "whistleblowing/receipt.html", case_number=filed.report.case_number, receipt=filed.receipt
    ), 201


def _inbox_page(report: Report, notice: str | None = None, error: str | None = None, status=200):
    return render_template(
        "whistleblowing/inbox.html",
        inbox=views.inbox(db(), g.tenant, report),
        notice=notice,
        error=error,
        receipt=request.form.get("receipt", ""),
        categories=views.category_labels(g.tenant),
    ), status


def _open(for_update: bool = False) -> Report:
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


def with_receipt(*, for_update: bool = False) -> Callable[[Callable], Callable]:
    """Decorator: the view gets the case that the posted receipt opens (locked with
    `for_update`); a wrong receipt, or too many, answers the receipt form again."""

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def inner(**kwargs):
            try:
                report = _open(for_update)
            except cases.ReceiptRejected as exc:
                return _receipt_refused(exc)
            return view(report, **kwargs)

        return inner

    return wrap


@bp.route(f"{BASE}/inbox", methods=["GET", "POST"])
def inbox():
    if request.method == "GET":
        return render_template("whistleblowing/inbox_open.html", error=None)
    return _open_inbox()


@with_receipt()
def _open_inbox(report: Report):
    return _inbox_page(report)


@bp.post(f"{BASE}/inbox/acknowledgement")
@with_receipt()
def inbox_acknowledgement(report: Report):
    """The signed acknowledgement as a file to keep (JSON; verifiable with the public key)."""
    with unit_of_work() as uw:
        doc = acknowledgement.acknowledge(uw.session, uw.tenant, report)
    return Response(
        json.dumps(doc, indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={
            "Content-Disposition": 'attachment; filename="'
            f'{report.case_number}-acknowledgement.json"'
        },
    )


@bp.post(f"{BASE}/inbox/messages")
@with_receipt(for_update=True)
def inbox_message(report: Report):
    try:
        form = schemas.parse(schemas.MessageIn, {"body": request.form.get("body", "")})
        with unit_of_work() as uw:
            cases.post_message(uw, REPORTER, report, form.body)
    except Problem:
        return _inbox_page(report, error=_("Write a message first."), status=422)
    except Refused:
        return _inbox_page(report, error=_("This report is closed."), status=409)
    return _inbox_page(report, notice=_("Your message was sent."))


@bp.post(f"{BASE}/inbox/attachments")
@with_receipt(for_update=True)
def inbox_attachment(report: Report):
    files = forms.uploads(request.files)
    if not files:
        return _inbox_page(report, error=_("Choose a file first."), status=422)
    try:
        with unit_of_work() as uw:
            for data in files:
                cases.add_attachment(uw, REPORTER, report, data)
    except Refused as exc:
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
