"""Citizen pages: file a report, keep the receipt (page, print, PDF), open the inbox with the
receipt, keep the signed acknowledgement (page, PDF) and verify one.

Server-rendered, no JavaScript needed (a small static script only adds copy and print
buttons); every text through flask-babel. The receipt travels only in POST bodies (never a
URL, so never an access log): the receipt page, its PDF and its language switch are POSTs that
carry it, checked like any receipt. A receipt that opened the inbox is remembered in the
signed session cookie as the case's id (never the receipt) for `INBOX_SESSION_SECONDS`, so
the inbox is also a GET: after a message or a file is accepted the page redirects there
(post/redirect/get; a reload sends nothing twice). Every page answers `Cache-Control: no-store`.
"""

from __future__ import annotations

import functools
import json
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from services.whistleblowing import (
    acknowledgement,
    attachments,
    cases,
    forms,
    printable,
    referrals,
    schemas,
    views,
)
from services.whistleblowing.api import file_report, filing_budget
from services.whistleblowing.domain import codes
from services.whistleblowing.models import Report
from shared.problem import Problem, Refused
from shared.web import db, no_store, unit_of_work

bp = Blueprint("wb_pages", __name__)
bp.after_request(no_store)
BASE = "/t/<tenant>/whistleblowing"
INBOX_SESSION_SECONDS = 15 * 60  # how long an opened inbox stays open without the receipt


@bp.app_template_filter("datetime_local")
def datetime_local(value) -> str:
    """A stored UTC time (or its ISO text), shown in the tenant's zone and the page's language."""
    return format_datetime(
        value if isinstance(value, datetime) else datetime.fromisoformat(value), "medium"
    )


@bp.app_template_filter("datetime_attr")
def datetime_attr(value) -> str:
    """A stored UTC time (or its ISO text) as a `<time datetime>` value: UTC, whole seconds."""
    at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


@bp.app_template_filter("date_local")
def date_local(value: date) -> str:
    return format_date(value, "medium")


def _categories() -> list[tuple[str, str]]:
    return list(views.category_labels(g.tenant).items())


def limits() -> dict[str, Any]:
    """The evidence limits as the form shows them before anyone hits them."""
    policy = attachments.Policy.from_config(views.config(g.tenant))
    names = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}
    return {
        "types": ", ".join(names.get(t, t) for t in policy.types),
        "count": policy.max_count,
        "size": f"{policy.max_bytes / 1024 / 1024:.0f} MB",
        "accept": ",".join(policy.types),
    }


def _report_form(
    form,
    errors: dict[str, dict[str, str]],
    submission: str | None,
    status=200,
    busy_minutes: int | None = None,
):
    return render_template(
        "whistleblowing/report_form.html",
        categories=_categories(),
        explanations=forms.category_explanations(),
        form=form,
        mode=forms.mode_of(form) if form else "anonymous",
        errors=errors,
        limits=limits(),
        rows=forms.PERSON_ROWS,
        submission=submission,
        busy_minutes=busy_minutes,
    ), status


@bp.get(BASE)
def index():
    return render_template("whistleblowing/index.html")


@bp.route(f"{BASE}/report", methods=["GET", "POST"])
def report():
    if request.method == "GET":
        return _report_form({}, {}, secrets.token_urlsafe(24))
    form = request.form
    # A random token per rendered form is the Idempotency-Key: a double click or a re-sent
    # form (a reload of the receipt page) files one report and shows the same receipt again.
    submission = form.get("submission", "")[:200] or None
    try:
        parsed = schemas.parse(schemas.ReportIn, forms.report_body(form))
        filed = file_report(
            parsed, forms.uploads(request.files), submission, budget=filing_budget()
        )
    except cases.FilingThrottled as exc:
        page, status = _report_form(
            form, {}, submission, 429, busy_minutes=-(-exc.retry_after // 60)
        )
        return page, status, {"Retry-After": str(exc.retry_after)}
    except (Problem, Refused) as exc:
        fields = [e["field"] for e in exc.errors] if isinstance(exc, Problem) else [exc.field or ""]
        return _report_form(form, forms.form_errors(fields, limits()), submission, exc.status)
    return _receipt_page(filed.report, filed.receipt, 201)


def _receipt_page(report: Report, receipt: str, status: int = 200):
    return render_template(
        "whistleblowing/receipt.html",
        case_number=report.case_number,
        receipt=receipt,
        groups=receipt.split("-"),
        received_at=report.received_at,
        check_back=report.acknowledge_by,
        days=views.config(g.tenant).get("sla", {}).get("acknowledge_working_days"),
        confidential=report.sealed_identity is not None,
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
    minutes = -(-exc.retry_after // 60) if exc.retry_after else None
    return (
        render_template("whistleblowing/inbox_open.html", error=message, retry_minutes=minutes),
        exc.status,
        headers,
    )


def _remember(report: Report) -> None:
    """The inbox this browser opened, for a while: the case's id in the signed session."""
    session["wb_inbox"] = {
        "tenant": str(g.tenant.id),
        "report": str(report.id),
        "until": int(time.time()) + INBOX_SESSION_SECONDS,
    }


def _remembered(for_update: bool) -> Report | None:
    mark = session.get("wb_inbox")
    if not isinstance(mark, dict) or mark.get("tenant") != str(g.tenant.id):
        return None
    if int(mark.get("until", 0)) < time.time():
        session.pop("wb_inbox", None)
        return None
    try:
        report_id = uuid.UUID(str(mark.get("report")))
    except ValueError:
        return None
    return db().get(Report, report_id, with_for_update=for_update)


def with_receipt(
    *, for_update: bool = False, remember: bool = True
) -> Callable[[Callable], Callable]:
    """Decorator: the view gets the case that the posted receipt opens (locked with
    `for_update`), else the inbox this browser opened a moment ago; a wrong receipt, or too
    many, answers the receipt form again. `remember`: the inbox stays open on this browser
    (not for the receipt page: leaving it asks for the receipt, as the person was told)."""

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def inner(**kwargs):
            if request.form.get("receipt", "").strip():
                try:
                    report = _open(for_update)
                except cases.ReceiptRejected as exc:
                    return _receipt_refused(exc)
                if remember:
                    _remember(report)
            else:
                found = _remembered(for_update)
                if found is None:
                    return _receipt_refused(cases.ReceiptRejected())
                report = found
            return view(report, **kwargs)

        return inner

    return wrap


def _posted_receipt() -> str:
    return codes.normalise_receipt(request.form.get("receipt", "")) or ""


@bp.post(f"{BASE}/receipt")
@with_receipt(remember=False)
def receipt_again(report: Report):
    """The receipt page again, in the language asked for (`?lang=`): the receipt came in the
    POST body and is checked like any receipt, so it never lands in a URL."""
    return _receipt_page(report, _posted_receipt())


@bp.post(f"{BASE}/receipt.pdf")
@with_receipt(remember=False)
def receipt_pdf(report: Report):
    """The receipt hand-off as a PDF to save or print (made on request, never stored)."""
    receipt = _posted_receipt()
    days = views.config(g.tenant).get("sla", {}).get("acknowledge_working_days")
    paragraphs = [
        _("Keep this code. It is shown only once and nobody, not even the city, can recover it."),
        _(
            "To follow your report, open %(url)s and enter the code. There you can read the "
            "handlers' questions and answer them, and add evidence.",
            url=url_for("wb_pages.inbox", _external=True),
        ),
        _(
            "Check back from %(date)s: the city confirms receipt within %(days)s working days.",
            date=date_local(report.acknowledge_by),
            days=days,
        ),
    ]
    if report.channel != "online":  # assisted intake: the reporter checks the transcript
        paragraphs.append(
            _(
                "An intake officer wrote down your report. In your inbox you can read what was "
                "written and confirm it, or correct it in a message."
            )
        )
    if report.sealed_identity is not None:
        paragraphs.append(_confidential_text())
    else:
        paragraphs.append(_("You reported anonymously: no identity was stored."))
    pdf = printable.receipt_pdf(
        authority=g.tenant.display_name,
        title=_("Report received"),
        code_label=_("Receipt code"),
        receipt=receipt,
        rows=[
            (_("Case number"), report.case_number),
            (_("Received"), datetime_local(report.received_at)),
        ],
        paragraphs=paragraphs,
    )
    return _pdf_response(pdf, f"{report.case_number}-tanda-terima.pdf")


def _confidential_text() -> str:
    return _(
        "Your identity was sealed: only the identity custodian can open it, through a recorded "
        "request, and you are told first."
    )


def _pdf_response(data: bytes, filename: str) -> Response:
    return Response(
        data,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _inbox_page(
    report: Report,
    notice: str | None = None,
    error: str | None = None,
    status=200,
    *,
    contact_error: str | None = None,
    contact_typed: str | None = None,
):
    return render_template(
        "whistleblowing/inbox.html",
        inbox=views.inbox(db(), g.tenant, report),
        referral=referrals.for_reporter(db(), g.tenant, report),
        notice=notice,
        error=error,
        receipt=_posted_receipt(),
        categories=views.category_labels(g.tenant),
        limits=limits(),
        contact_error=contact_error,
        contact_typed=contact_typed,
    ), status


@bp.route(f"{BASE}/inbox", methods=["GET", "POST"])
def inbox():
    if request.method == "GET":
        report = _remembered(False)
        if report is not None:
            return _inbox_page(report)
        return render_template("whistleblowing/inbox_open.html", error=None)
    return _open_inbox()


@bp.post(f"{BASE}/inbox/close")
def inbox_close():
    """Close the inbox on this browser (a shared phone): the receipt is needed again."""
    session.pop("wb_inbox", None)
    return redirect(url_for("wb_pages.inbox"), code=303)


@with_receipt()
def _open_inbox(report: Report):
    return _inbox_page(report)


def _back_to_inbox(notice: str) -> WerkzeugResponse:
    """After an accepted POST: see the inbox by GET (post/redirect/get), the receipt nowhere
    in the URL; the session remembers which inbox."""
    flash(notice, "success")
    return redirect(url_for("wb_pages.inbox"), code=303)


@bp.post(f"{BASE}/inbox/acknowledgement")
@with_receipt()
def inbox_acknowledgement(report: Report):
    """The signed acknowledgement as a file to keep (JSON; verifiable with the public key, and
    on the verification page)."""
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


def _acknowledgement(report: Report) -> tuple[dict[str, Any], str, str]:
    with unit_of_work() as uw:
        doc = acknowledgement.acknowledge(uw.session, uw.tenant, report)
    payload = acknowledgement.qr_payload(doc)
    link = url_for("wb_pages.verify", d=payload, _external=True)
    return doc, payload, link


@bp.post(f"{BASE}/inbox/acknowledgement/page")
@with_receipt()
def acknowledgement_page(report: Report):
    """The signed acknowledgement as a page to read or print, with its QR code."""
    doc, _payload, link = _acknowledgement(report)
    return render_template(
        "whistleblowing/acknowledgement.html",
        doc=doc,
        qr=printable.qr_svg_data_uri(link),
        receipt=_posted_receipt(),
    )


@bp.post(f"{BASE}/inbox/acknowledgement.pdf")
@with_receipt()
def acknowledgement_pdf(report: Report):
    doc, _payload, link = _acknowledgement(report)
    pdf = printable.acknowledgement_pdf(
        authority=doc["authority"],
        title=_("Signed acknowledgement of a report"),
        rows=[
            (_("Case number"), doc["case_number"]),
            (_("Received"), datetime_local(doc["received_at"])),
            (_("Issued by"), doc["authority"]),
        ],
        paragraphs=[
            _(
                "This document proves that the report was filed, without naming who filed it. "
                "Its signature covers every field below."
            ),
        ],
        qr_payload=link,
        qr_caption=_(
            "Scan to check this acknowledgement on the verification page of %(city)s, or "
            "upload its file at %(url)s.",
            city=doc["authority"],
            url=url_for("wb_pages.verify", _external=True),
        ),
        technical=[
            (_("Digest of what was submitted (SHA-256)"), doc["submitted_sha256"]),
            (_("Signature (Ed25519)"), doc["signature"]),
            (_("Key"), doc["key_id"]),
        ],
    )
    return _pdf_response(pdf, f"{report.case_number}-acknowledgement.pdf")


@bp.route("/t/<tenant>/verifikasi", methods=["GET", "POST"])
def verify():
    """Anyone checks an acknowledgement: its file (upload), its QR payload or link. The answer
    is only whether the city signed it, with the fields the document itself holds."""
    doc: dict[str, Any] | None = None
    tried = False
    if request.method == "POST":
        tried = True
        upload = request.files.get("file")
        raw = upload.read(64 * 1024) if upload else b""
        if raw:
            doc = acknowledgement.parse_document(raw)
        elif request.form.get("payload", "").strip():
            doc = acknowledgement.from_qr_payload(request.form["payload"])
    elif request.args.get("d"):
        tried = True
        doc = acknowledgement.from_qr_payload(request.args["d"])
    valid = doc is not None and acknowledgement.check(db(), g.tenant, doc)
    return render_template(
        "whistleblowing/verify.html", tried=tried, valid=valid, doc=doc if valid else None
    ), (422 if tried and not valid else 200)


@bp.get(f"{BASE}/statistik")
def statistics():
    """The public figures (small cells hidden), with charts, as a page (statistics_pages.py)."""
    from services.whistleblowing import statistics_pages

    return statistics_pages.public_page()


@bp.post(f"{BASE}/inbox/messages")
@with_receipt(for_update=True)
def inbox_message(report: Report):
    try:
        form = schemas.parse(schemas.MessageIn, {"body": request.form.get("body", "")})
        with unit_of_work() as uw:
            referrals.post_reporter_message(uw, report, form.body)  # relayed once referred
    except Problem:
        return _inbox_page(report, error=_("Write a message first."), status=422)
    except Refused:
        return _inbox_page(report, error=_("This report is closed."), status=409)
    return _back_to_inbox(_("Your message was sent."))


@bp.post(f"{BASE}/inbox/attachments")
@with_receipt(for_update=True)
def inbox_attachment(report: Report):
    files = forms.uploads(request.files)
    if not files:
        return _inbox_page(report, error=_("Choose a file first."), status=422)
    try:
        with unit_of_work() as uw:
            for data in files:
                referrals.add_reporter_attachment(uw, report, data)  # relayed once referred
    except Refused as exc:
        return _inbox_page(report, error=_file_error(exc), status=exc.status)
    return _back_to_inbox(_("Your file was added."))


def _file_error(exc: Refused) -> str:
    if exc.status == 413:
        return _("The file is too large.")
    if exc.status == 415:
        return _("This type of file is not accepted (PDF, JPEG or PNG only).")
    if exc.status == 409:
        return _("This report is closed.")
    return _("The file could not be accepted.")


@bp.post(f"{BASE}/inbox/contact")
@with_receipt(for_update=True)
def inbox_contact(report: Report):
    """The reporter gives a contact for "ada balasan baru" notices (sealed; see
    reporter_contacts.py); a wrong one is answered beside the field."""
    typed = request.form.get("notify_contact", "")
    try:
        form = schemas.parse(schemas.ContactIn, {"notify_contact": typed.strip()})
        with unit_of_work() as uw:
            cases.give_contact(uw, report, form.notify_contact)
    except Problem:
        return _inbox_page(
            report,
            error=_("Please check the contact for notices."),
            status=422,
            contact_error=forms.contact_reason(),
            contact_typed=typed,
        )
    except Refused:
        return _inbox_page(report, error=_("This report is closed."), status=409)
    return _back_to_inbox(
        _("Your contact was kept, sealed: you will be told there when a handler writes to you.")
    )


@bp.post(f"{BASE}/inbox/contact/forget")
@with_receipt(for_update=True)
def inbox_contact_forget(report: Report):
    """The reporter withdraws the notice contact: shredded at once."""
    with unit_of_work() as uw:
        cases.forget_contact(uw, report)
    return _back_to_inbox(
        _("The notice contact was destroyed. You will get no more notices of new replies.")
    )
