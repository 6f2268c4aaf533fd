"""HTTP side of agreements between cities (thin handlers over operations/links/agreements.py),
served by the whistleblowing app for every tenant (plugged in by operations/apps.py);
`tenant_admin` only.

    GET  /t/<tenant>/api/v1/links                     this city's agreements, newest first
    POST /t/<tenant>/api/v1/links                     {"partner": slug, "scopes": [...]} -> 201
    GET  /t/<tenant>/api/v1/links/<id>                one agreement
    POST /t/<tenant>/api/v1/links/<id>/decision       {"accept": true|false} (receiving city)
    POST /t/<tenant>/api/v1/links/<id>/end            either city
    GET|POST /t/<tenant>/admin/links                  the page: list and proposal form
    POST /t/<tenant>/admin/links/<id>/(accept|decline|end)   its buttons (POST -> redirect)

Agreements with another deployment (named by its instance public key) are not offered yet:
their key exchange and signed HTTPS API are the next step (see operations/links/tokens.py).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from operations.links import agreements as cases
from shared.agreements import SCOPES
from shared.auth import official_actor, require_roles
from shared.bodies import json_body
from shared.problem import Refused
from shared.web import db, no_store, unit_of_work

bp = Blueprint("links", __name__, template_folder="templates")
bp.after_request(no_store)
API = "/t/<tenant>/api/v1/links"
PAGE = "/t/<tenant>/admin/links"
ADMIN = "tenant_admin"


def _id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Refused(404, "no such agreement") from None


def _actor() -> str:
    return official_actor().pseudonym


@bp.get(API)
@require_roles(ADMIN)
def list_api():
    return jsonify(items=[cases.public_view(r) for r in cases.list_all(db())])


@bp.post(API)
@require_roles(ADMIN)
def propose_api():
    proposal = cases.parse_proposal(json_body())
    with unit_of_work() as uw:
        row = cases.propose(uw, _actor(), proposal)
    resp = jsonify(cases.public_view(row))
    resp.status_code = 201
    resp.headers["Location"] = f"{request.path}/{row.id}"
    return resp


@bp.get(f"{API}/<agreement_id>")
@require_roles(ADMIN)
def show_api(agreement_id: str):
    return jsonify(cases.public_view(cases.get(db(), _id(agreement_id))))


@bp.post(f"{API}/<agreement_id>/decision")
@require_roles(ADMIN)
def decide_api(agreement_id: str):
    body = json_body()
    accept = body.get("accept") if isinstance(body, dict) else None
    if not isinstance(accept, bool):
        raise Refused(422, "say whether the agreement is accepted", "accept")
    with unit_of_work() as uw:
        row = cases.decide(uw, _actor(), _id(agreement_id), accept)
    return jsonify(cases.public_view(row))


@bp.post(f"{API}/<agreement_id>/end")
@require_roles(ADMIN)
def end_api(agreement_id: str):
    with unit_of_work() as uw:
        row = cases.end(uw, _actor(), _id(agreement_id))
    return jsonify(cases.public_view(row))


# --- the page ---------------------------------------------------------------------------------


def scope_labels() -> dict[str, str]:
    return {
        "aid_tokens": _("Duplicate-aid check (tokens, never a NIK)"),
        "referrals": _("Referrals of reports"),
        "statistics": _("Statistics"),
    }


def status_labels() -> dict[str, str]:
    return {
        "proposed": _("Proposed"),
        "active": _("Active"),
        "declined": _("Declined"),
        "ended": _("Ended"),
    }


def _page(errors: dict[str, str] | None = None, status: int = 200):
    return render_template(
        "links/links.html",
        items=cases.list_all(db()),
        scopes=SCOPES,
        scope_labels=scope_labels(),
        status_labels=status_labels(),
        errors=errors or {},
        form=request.form if errors else {},
    ), status


@bp.get(PAGE)
@require_roles(ADMIN)
def page():
    return _page()


@bp.post(PAGE)
@require_roles(ADMIN)
def propose_page():
    body = {"partner": request.form.get("partner", ""), "scopes": request.form.getlist("scopes")}
    try:
        proposal = cases.parse_proposal(body)
        with unit_of_work() as uw:
            cases.propose(uw, _actor(), proposal)
    except Refused as exc:
        if exc.status not in (409, 422):
            raise
        errors = {e["field"]: e["reason"] for e in (exc.errors or [])} or {
            exc.field or "partner": str(exc)
        }
        return _page({k: _field_message(k, v) for k, v in errors.items()}, 422)
    flash(_("Proposal sent. The other city's admin can now accept or decline it."), "success")
    return redirect(url_for(".page"), code=303)


def _field_message(field: str, reason: str) -> str:
    if field == "scopes":
        return _("Choose at least one thing to share.")
    if "already" in reason:
        return _("An agreement with this city is already proposed or active.")
    if "itself" in reason:
        return _("A city cannot link to itself.")
    return _("No city with this name on this deployment.")


@bp.post(f"{PAGE}/<agreement_id>/<action>")
@require_roles(ADMIN)
def act_page(agreement_id: str, action: str):
    if action not in ("accept", "decline", "end"):
        raise Refused(404, "no such action")
    try:
        with unit_of_work() as uw:
            if action == "end":
                cases.end(uw, _actor(), _id(agreement_id))
            else:
                cases.decide(uw, _actor(), _id(agreement_id), action == "accept")
    except Refused as exc:
        if exc.status not in (403, 409):
            raise
        flash(_("This agreement cannot be changed that way any more."), "error")
        return redirect(url_for(".page"), code=303)
    done = {
        "accept": _("Agreement accepted."),
        "decline": _("Proposal declined."),
        "end": _("Agreement ended."),
    }
    flash(done[action], "success")
    return redirect(url_for(".page"), code=303)
