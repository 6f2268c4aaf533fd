"""HTTP handlers of referrals between linked cities (`referrals.py`): the JSON API, the
officials' "Rujuk ke kota lain" form on a case page, the identity custodian's re-seal page, and
the reporter's consent in the inbox.

Thin, like api.py and the pages: parse, one use case in `with unit_of_work() as uw:`. The API
answers problem+json; the pages answer POST with a redirect (errors flashed beside the form).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from services.whistleblowing import api, forms, referrals, schemas, views
from services.whistleblowing.domain import access
from services.whistleblowing.models import Report
from services.whistleblowing.pages import BASE as INBOX_BASE
from services.whistleblowing.pages import _back_to_inbox, _inbox_page, with_receipt
from shared.auth import official_actor, require_roles
from shared.problem import Problem, Refused
from shared.web import db, no_store, unit_of_work

bp = Blueprint("wb_referrals", __name__)
bp.after_request(no_store)
API = api.API
CASES = "/t/<tenant>/whistleblowing/cases"


# --- API ------------------------------------------------------------------------------------


@bp.post(f"{API}/reports/<case_number>/referrals")
@require_roles(*referrals.PROPOSERS)
def propose(case_number: str):
    form = api._body(schemas.ReferralIn)
    with api._changing_case(case_number) as (uw, actor, report):
        ref = referrals.propose(uw, actor, report, form.partner, form.reason)
    return jsonify(id=str(ref.id), status=ref.status, partner=ref.partner_slug), 201


@bp.get(f"{API}/reports/<case_number>/referrals")
@require_roles(*referrals.PROPOSERS)
def referral_of_case(case_number: str):
    report = views.official_case(db(), official_actor(), case_number)
    return jsonify(referral=referrals.for_office(db(), report))


@bp.post(f"{API}/inbox/referrals/<uuid:referral_id>/decision")
def reporter_decision(referral_id: uuid.UUID):
    """The reporter's consent or refusal, with `Authorization: Receipt <receipt>`."""
    with unit_of_work() as uw:
        report = api._reporter_case(uw.session, for_update=True)
        form = api._body(schemas.ReferralDecisionIn)
        ref = referrals.decide(uw, report, referral_id, form.decision)
    return jsonify(
        id=str(ref.id),
        status=ref.status,
        partner=ref.partner_slug,
        partner_case_number=ref.partner_case_number,
        identity=ref.identity,
    )


@bp.post(f"{API}/referrals/<uuid:referral_id>/identity")
@require_roles("identity_custodian")
def reseal(referral_id: uuid.UUID):
    """The sending custodian re-seals the identity to the receiving city's custodian."""
    form = api._body(schemas.ResealIn)
    with unit_of_work() as uw:
        ref = referrals.reseal_identity(uw, official_actor(), referral_id, form.passphrase)
    return jsonify(id=str(ref.id), identity=ref.identity)


# --- Officials' page: "Rujuk ke kota lain" on the case page -------------------------------------


@bp.post(f"{CASES}/<case_number>/referrals")
@require_roles(*referrals.PROPOSERS)
def propose_page(case_number: str):
    actor = official_actor()
    report = views.official_case(db(), actor, case_number, for_update=True)
    try:
        form = forms.parse(schemas.ReferralIn, request.form, ("partner", "reason"))
        with unit_of_work() as uw:
            referrals.propose(uw, actor, report, form.partner, form.reason)
    except Problem:
        flash(_("Choose the city and write the reason (at least 10 characters)."), "error")
    except Refused as exc:
        flash(_refusal(exc), "error")
    else:
        flash(_("Referral proposed: the reporter is asked for consent in their inbox."), "success")
    return redirect(url_for("wb_office.case_detail", case_number=case_number), code=303)


def _refusal(exc: Refused) -> str:
    if exc.status == 404:
        return _("No such city on this deployment.")
    if exc.status == 409 and exc.field == "partner":
        return _("There is no active referral agreement with that city.")
    if exc.status == 409:
        return _("This case cannot be referred now.")
    return _("This action was refused.")


# --- The identity custodian's page: identities waiting to be re-sealed -------------------------

RESEALS = "/t/<tenant>/whistleblowing/identity-reseals"


def _reseal_page(
    error_for: str | None = None, error: str | None = None, status: int = 200, headers=None
):
    items = referrals.awaiting_reseal(db())
    body = render_template(
        "whistleblowing/office/reseals.html", items=items, error_for=error_for, error=error
    )
    return body, status, headers or {}


def _reseal_refusal(exc: Refused) -> str:
    if exc.status == 422:
        return _("Type your custodian passphrase to re-seal the identity.")
    if exc.status == 403:
        return _("The passphrase is not right.")
    if exc.status == 429:
        retry = (exc.headers or {}).get("Retry-After", "60")
        return _("Too many wrong tries. Wait %(n)s seconds, then try again.", n=retry)
    return _(
        "This identity cannot be re-sealed now: it is already re-sealed, or the referral "
        "agreement or the other city's custodian is missing."
    )


@bp.get(RESEALS)
@require_roles(*access.CUSTODIANS)
def reseal_list():
    return _reseal_page()


@bp.post(f"{RESEALS}/<uuid:referral_id>")
@require_roles(*access.CUSTODIANS)
def reseal_page(referral_id: uuid.UUID):
    """The form of one referral: the passphrase re-seals the identity for the receiving city."""
    passphrase = request.form.get("passphrase") or None
    try:
        with unit_of_work() as uw:
            ref = referrals.reseal_identity(uw, official_actor(), referral_id, passphrase)
    except Refused as exc:
        if exc.status == 404:
            raise  # the same 404 as a missing referral
        headers = exc.headers if exc.status == 429 else None
        return _reseal_page(str(referral_id), _reseal_refusal(exc), exc.status, headers)
    flash(
        _(
            "The identity is re-sealed for %(city)s (case %(case)s); this city no longer holds it.",
            city=ref.partner_slug,
            case=ref.partner_case_number,
        ),
        "success",
    )
    return redirect(url_for("wb_referrals.reseal_list"), code=303)


# --- Reporter's inbox: consent ---------------------------------------------------------------------


@bp.post(f"{INBOX_BASE}/inbox/referral")
@with_receipt(for_update=True)
def inbox_decision(report: Report):
    decision = request.form.get("decision", "")
    try:
        referral_id = uuid.UUID(request.form.get("referral", ""))
        with unit_of_work() as uw:
            referrals.decide(uw, report, referral_id, decision)
    except ValueError:
        return _inbox_page(report, error=_("This referral is not known."), status=404)
    except Refused as exc:
        return _inbox_page(
            report,
            error=_("This referral can no longer be answered.")
            if exc.status == 409
            else _("This referral is not known."),
            status=exc.status,
        )
    if decision == "consent":
        return _back_to_inbox(
            _("Thank you. Your report was handed over; you follow it here with the same receipt.")
        )
    return _back_to_inbox(_("You refused the referral: your report stays in this city."))
