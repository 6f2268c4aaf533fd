"""Pages and API of the SP4N-LAPOR! bridge (use cases in `lapor_cases.py`).

- Case page (officials with an intake role): on a case triaged as not a WBS matter, a form
  "Teruskan ke SP4N-LAPOR!" with a draft text (the report's what, where and when), which the
  official may shorten; `POST /t/<tenant>/whistleblowing/cases/<case>/lapor`. The reporter
  then decides in the inbox.
- Inbox: the text that would leave, in a field the reporter may edit, "Setuju, teruskan" or
  "Jangan teruskan"; `POST /t/<tenant>/whistleblowing/inbox/lapor`. Then the forward's state:
  waiting to be sent (and, when LAPOR! could not be reached, that it is retried), the tracking
  ID, LAPOR!'s status updates. POST → redirect; errors beside the field; no JavaScript.
- API (problem+json): `POST {API}/cases/<case>/lapor-forward {"text"}` (official),
  `GET {API}/inbox/lapor-forward` and `POST {API}/inbox/lapor-forward {"consent", "text"}`
  (Authorization: Receipt).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from services.whistleblowing import api, lapor_cases, schemas, views
from services.whistleblowing.domain import access
from services.whistleblowing.domain import lapor as rules
from services.whistleblowing.models import Report
from services.whistleblowing.pages import _back_to_inbox, _inbox_page, with_receipt
from shared.auth import official_actor, require_roles
from shared.bodies import json_body
from shared.problem import Refused
from shared.request_schemas import parse
from shared.web import db, no_store, unit_of_work

bp = Blueprint("wb_lapor", __name__)
bp.after_request(no_store)
CASES = "/t/<tenant>/whistleblowing/cases"
API = api.API


def _view_dict(v: lapor_cases.ForwardView | None) -> dict[str, Any] | None:
    if v is None:
        return None
    return {
        "status": v.status,
        "text": v.text,
        "tracking_id": v.tracking_id,
        "waiting_for_lapor": v.waiting,
        "attempts": v.attempts,
        "next_attempt_at": v.next_attempt_at.isoformat() if v.next_attempt_at else None,
        "updates": v.updates,
    }


def _report_id(case_number: str):
    return db().execute(select(Report.id).where(Report.case_number == case_number)).scalar()


@bp.app_template_global("lapor_forward")
def lapor_forward(case_number: str) -> lapor_cases.ForwardView | None:
    """The case's forward to LAPOR! for the inbox and the case page (None: none offered)."""
    report_id = _report_id(case_number)
    return lapor_cases.view(db(), g.tenant, report_id) if report_id else None


@bp.app_template_global("lapor_offer")
def lapor_offer(case: dict[str, Any]) -> dict[str, Any] | None:
    """What the case page needs for "Teruskan ke SP4N-LAPOR!": None when it is not offered
    to this official on this case."""
    actor = official_actor()
    if not access.holds(actor.roles, access.INTAKE):
        return None
    if not rules.may_forward(case["status"], case.get("outcome")):
        return None
    report = db().execute(select(Report).where(Report.case_number == case["case_number"]))
    found = report.scalars().first()
    if found is None:
        return None
    view = lapor_cases.view(db(), g.tenant, found.id)
    draft = view.text if view else lapor_cases.draft_of(db(), g.tenant, found)
    return {"view": view, "draft": draft, "error": request.args.get("lapor_error")}


def _error_text(exc: Refused) -> str:
    if isinstance(exc, lapor_cases.PersonalDataInText):
        return _(
            "Remove what would tell who you are (NIK, phone numbers, e-mail addresses): "
            "SP4N-LAPOR! receives this text without your identity."
        )
    if exc.field == "text":
        return _(
            "Write between %(low)s and %(high)s characters.",
            low=rules.MIN_TEXT,
            high=rules.MAX_TEXT,
        )
    if exc.status == 409:
        return _("This forward was already decided.")
    return _("This action was refused.")


# --- The officials' case page ----------------------------------------------------------------


@bp.post(f"{CASES}/<case_number>/lapor")
@require_roles(*access.INTAKE)
def offer_page(case_number: str):
    actor = official_actor()
    report = views.official_case(db(), actor, case_number, for_update=True)
    try:
        with unit_of_work() as uw:
            lapor_cases.offer(uw, actor, report, request.form.get("text", ""))
    except Refused as exc:
        flash(_error_text(exc), "error")
        return redirect(url_for("wb_office.case_detail", case_number=case_number), code=303)
    flash(_("Offered: the reporter decides in their inbox what may go to SP4N-LAPOR!."), "success")
    return redirect(url_for("wb_office.case_detail", case_number=case_number), code=303)


@bp.post(f"{API}/cases/<case_number>/lapor-forward")
@require_roles(*access.INTAKE)
def offer_api(case_number: str):
    actor = official_actor()
    form = parse(schemas.LaporOfferIn, json_body())
    report = views.official_case(db(), actor, case_number, for_update=True)
    with unit_of_work() as uw:
        lapor_cases.offer(uw, actor, report, form.text)
    resp = jsonify(_view_dict(lapor_cases.view(db(), g.tenant, report.id)))
    resp.status_code = 201
    return resp


# --- The reporter's inbox --------------------------------------------------------------------


@bp.post("/t/<tenant>/whistleblowing/inbox/lapor")
@with_receipt(for_update=True)
def decide_page(report: Report):
    consent = request.form.get("decision") == "consent"
    typed = request.form.get("text", "")
    try:
        with unit_of_work() as uw:
            lapor_cases.decide(uw, report, consent, typed)
    except Refused as exc:
        if exc.field == "text":  # beside the field, with what they typed
            g.lapor_typed, g.lapor_error = typed, _error_text(exc)
            return _inbox_page(report, status=exc.status)
        return _inbox_page(report, error=_error_text(exc), status=exc.status)
    if consent:
        return _back_to_inbox(
            _("Thank you: your text will be sent to SP4N-LAPOR! without your identity.")
        )
    return _back_to_inbox(_("Your report will not be forwarded to SP4N-LAPOR!."))


@bp.get(f"{API}/inbox/lapor-forward")
def inbox_api():
    report = api._reporter_case(db())
    found = lapor_cases.view(db(), g.tenant, report.id)
    if found is None:
        raise Refused(404, "No forward to SP4N-LAPOR! was offered for this report.")
    return jsonify(_view_dict(found))


@bp.post(f"{API}/inbox/lapor-forward")
def decide_api():
    form = parse(schemas.LaporDecisionIn, json_body())
    with unit_of_work() as uw:
        report = api._reporter_case(uw.session, for_update=True)
        lapor_cases.decide(uw, report, form.consent, form.text)
    return jsonify(_view_dict(lapor_cases.view(db(), g.tenant, report.id)))
