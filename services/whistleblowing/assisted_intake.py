"""Assisted intake: an intake official files a report for a reporter who came in person
(walk-in), phoned, wrote a letter or an e-mail, and hands over the receipt on paper; the
reporter later reads the transcript in their inbox and confirms it.

- Officials' page `/t/<tenant>/whistleblowing/office/assisted-report` and API
  `POST /t/<tenant>/api/v1/assisted-reports`, for the intake roles (`access.INTAKE`). The same
  use case as a citizen's filing (`cases.submit`, with `channel` and `entered_by`): the
  identity the reporter gives is sealed to the identity custodian exactly as a citizen's; the
  case records its channel, and its history names the intake officer as who entered it.
- The receipt is shown once, in the answer to the POST (never in a URL), on a page made to be
  printed, with the citizen receipt's PDF (`wb_pages.receipt_pdf`, which takes the receipt in
  the POST body like every receipt form).
- In the inbox (`wb_pages.inbox`), an assisted report shows its whole transcript and a button
  "Saya membenarkan isi laporan ini"; the confirmation is recorded on the case (and as an
  event), page `POST /t/<tenant>/whistleblowing/inbox/transcript`, API
  `POST /t/<tenant>/api/v1/inbox/transcript-confirmation` (Authorization: Receipt).
"""

from __future__ import annotations

import secrets

from flask import Blueprint, g, jsonify, render_template, request
from flask_babel import gettext as _

from services.whistleblowing import api, cases, forms, office_pages, schemas, views
from services.whistleblowing.domain import access, channels
from services.whistleblowing.pages import (
    _back_to_inbox,
    _categories,
    _inbox_page,
    limits,
    with_receipt,
)
from shared.actor import Actor
from shared.auth import official_actor, require_roles
from shared.problem import Problem, Refused
from shared.web import no_store, unit_of_work

bp = Blueprint("wb_assisted", __name__)
bp.after_request(no_store)  # receipts and transcripts: never cached
bp.context_processor(office_pages._office_menu)  # the officials' menu on the intake pages
PAGE = "/t/<tenant>/whistleblowing/office/assisted-report"
API = api.API


def file_assisted(form: schemas.AssistedReportIn, actor: Actor, key: str | None) -> cases.Filed:
    """File for the reporter as a citizen's filing is filed (`api.file_report`: the same key
    filed twice, a double click or a re-sent form, is answered as its replay)."""
    return api.file_report(form, [], key, channel=form.channel, entered_by=actor)


# --- The officials' page ---------------------------------------------------------------------


def channel_labels() -> dict[str, str]:
    return {
        "walk_in": _("In person (walk-in)"),
        "phone": _("By phone"),
        "letter": _("By letter"),
        "email": _("By e-mail"),
        "online": _("Online (filed by the reporter)"),
        "lapor": _("From SP4N-LAPOR!"),
    }


@bp.app_template_global("channel_label")
def channel_label(code: str) -> str:
    return channel_labels().get(code, code)


def _form_page(form, errors: dict[str, dict[str, str]], submission: str, status: int = 200):
    return render_template(
        "whistleblowing/office/assisted_report.html",
        categories=_categories(),
        channels=[(c, channel_labels()[c]) for c in channels.ASSISTED],
        form=form,
        mode=forms.mode_of(form) if form else "anonymous",
        errors=errors,
        limits=limits(),
        rows=forms.PERSON_ROWS,
        submission=submission,
    ), status


@bp.route(PAGE, methods=["GET", "POST"])
@require_roles(*access.INTAKE)
def new_report():
    if request.method == "GET":
        return _form_page({}, {}, secrets.token_urlsafe(24))
    form = request.form
    submission = form.get("submission", "")[:200] or None
    body = forms.report_body(form) | {"channel": form.get("channel", "")}
    try:
        parsed = schemas.parse(schemas.AssistedReportIn, body)
        filed = file_assisted(parsed, official_actor(), submission)
    except (Problem, Refused) as exc:
        fields = [e["field"] for e in exc.errors] if isinstance(exc, Problem) else [exc.field or ""]
        errors = forms.form_errors(fields, limits())
        if "channel" in errors:
            errors["channel"] = {
                "label": _("Received by"),
                "reason": _("Choose how the report came in."),
            }
        return _form_page(form, errors, submission or secrets.token_urlsafe(24), exc.status)
    report = filed.report
    return render_template(
        "whistleblowing/office/assisted_receipt.html",
        case_number=report.case_number,
        receipt=filed.receipt,
        groups=filed.receipt.split("-"),
        received_at=report.received_at,
        check_back=report.acknowledge_by,
        days=views.config(g.tenant).get("sla", {}).get("acknowledge_working_days"),
        confidential=report.sealed_identity is not None,
        channel=channel_labels()[report.channel],
    ), 201


# --- The API ---------------------------------------------------------------------------------


@bp.post(f"{API}/assisted-reports")
@require_roles(*access.INTAKE)
def submit_assisted():
    """File a report received by walk-in, phone, letter or e-mail. The receipt, for the
    reporter, is in this answer only (and in a replay of the same Idempotency-Key)."""
    form = api._body(schemas.AssistedReportIn)
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= api.IDEMPOTENCY_KEY_MAX:
        raise Refused(
            422,
            f"Idempotency-Key must have 1 to {api.IDEMPOTENCY_KEY_MAX} characters.",
            "Idempotency-Key",
        )
    filed = file_assisted(form, official_actor(), key)
    resp = jsonify(
        case_number=filed.report.case_number,
        receipt=filed.receipt,
        status=filed.report.status,
        channel=filed.report.channel,
    )
    resp.status_code = 201
    if filed.replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


@bp.post(f"{API}/inbox/transcript-confirmation")
def confirm_transcript_api():
    """The reporter confirms the transcript of their assisted report (once; again answers the
    first time)."""
    with unit_of_work() as uw:
        report = api._reporter_case(uw.session, for_update=True)
        at = cases.confirm_transcript(uw, report)
    return jsonify(case_number=report.case_number, transcript_confirmed_at=at.isoformat())


# --- The reporter's inbox --------------------------------------------------------------------


@bp.post("/t/<tenant>/whistleblowing/inbox/transcript")
@with_receipt(for_update=True)
def confirm_transcript_page(report):
    try:
        with unit_of_work() as uw:
            cases.confirm_transcript(uw, report)
    except Refused as exc:
        error = (
            _("This report has no transcript to confirm.")
            if report.channel == channels.ONLINE
            else _("This report is closed.")
        )
        return _inbox_page(report, error=error, status=exc.status)
    return _back_to_inbox(_("Thank you: you confirmed what this report says."))
