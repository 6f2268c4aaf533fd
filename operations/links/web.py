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

A proposal to a tenant of another deployment names it by {"partner_url", "partner_tenant",
"instance_key" (its `replika instance public-key` document), "scopes"} on the same POST, or by
the page's second form. Its steps reach the other deployment as signed requests, answered here
by the endpoints other deployments call (no official's login: the request's signature by the
key the agreement names is the authentication, operations/links/remote.py):

    POST /t/<tenant>/api/v1/links/remote/proposals          a proposal from another deployment
    POST /t/<tenant>/api/v1/links/remote/<id>/decision      its admin accepted or declined ours
    POST /t/<tenant>/api/v1/links/remote/<id>/end           it ended the agreement
    POST /t/<tenant>/api/v1/links/remote/<id>/tokens        its duplicate-aid tokens

This deployment's own address, sent with a proposal so the other side can answer, is
`REPLIKA_PUBLIC_URL` when set, else the address the admin's request came to.
"""

from __future__ import annotations

import os
import uuid

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from operations.links import agreements as cases
from operations.links import remote
from operations.links import tokens as aid_tokens
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


def _own_url() -> str:
    return (os.environ.get("REPLIKA_PUBLIC_URL") or request.url_root).rstrip("/")


def _is_remote(body: object) -> bool:
    return isinstance(body, dict) and any(
        k in body for k in ("instance_key", "partner_url", "partner_tenant")
    )


@bp.post(API)
@require_roles(ADMIN)
def propose_api():
    body = json_body()
    if _is_remote(body):
        remote_proposal = cases.parse_remote_proposal(body)
        with unit_of_work() as uw:
            row = cases.propose_remote(uw, _actor(), remote_proposal, _own_url())
    else:
        proposal = cases.parse_proposal(body)
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


# --- what other deployments call (signed requests) -------------------------------------------


def _signed_body() -> tuple[str, bytes, object]:
    """(signed path, raw body, parsed body) of a request from another deployment."""
    body = json_body()  # 415 unless JSON, 400 when not valid JSON
    return request.script_root + request.path, request.get_data(cache=True), body


@bp.post(f"{API}/remote/proposals")
def remote_proposal():
    path, raw, body = _signed_body()
    with unit_of_work() as uw:
        row = cases.receive_proposal(uw, path, request.headers, raw, body)
    resp = jsonify(id=str(row.id), status=row.status, name=g.tenant.display_name)
    resp.status_code = 201
    return resp


@bp.post(f"{API}/remote/<agreement_id>/decision")
def remote_decision(agreement_id: str):
    path, raw, body = _signed_body()
    with unit_of_work() as uw:
        row = cases.receive_decision(uw, _id(agreement_id), path, request.headers, raw, body)
    return jsonify(id=str(row.id), status=row.status)


@bp.post(f"{API}/remote/<agreement_id>/end")
def remote_end(agreement_id: str):
    path, raw, _body = _signed_body()
    with unit_of_work() as uw:
        row = cases.receive_end(uw, _id(agreement_id), path, request.headers, raw)
    return jsonify(id=str(row.id), status=row.status)


@bp.post(f"{API}/remote/<agreement_id>/tokens")
def remote_tokens(agreement_id: str):
    from shared.db import service_engine

    path, raw, body = _signed_body()
    with unit_of_work() as uw:
        row = cases.remote_row(uw, _id(agreement_id), path, request.headers, raw)
        if not row.shares("aid_tokens"):
            raise Refused(409, "this agreement does not share aid tokens")
        received = aid_tokens.checked_tokens(body.get("tokens") if isinstance(body, dict) else None)
        databases = aid_tokens.Databases(
            service_engine("whistleblowing"), service_engine("hibah_bansos")
        )
        aid_tokens.receive_remote(databases, uw.tenant, row, received)
    return jsonify(received=len(received))


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


def _own_key() -> str | None:
    try:
        return remote.own_instance().id
    except Refused:
        return None


def _page(errors: dict[str, str] | None = None, status: int = 200):
    return render_template(
        "links/links.html",
        own_key=_own_key(),
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


@bp.post(f"{PAGE}/remote")
@require_roles(ADMIN)
def propose_remote_page():
    body = {
        "partner_url": request.form.get("partner_url", ""),
        "partner_tenant": request.form.get("partner_tenant", ""),
        "instance_key": request.form.get("instance_key", ""),
        "scopes": request.form.getlist("scopes"),
    }
    try:
        proposal = cases.parse_remote_proposal(body)
        with unit_of_work() as uw:
            cases.propose_remote(uw, _actor(), proposal, _own_url())
    except Refused as exc:
        if exc.status not in (409, 422, 502):
            raise
        errors = {e["field"]: e["reason"] for e in (exc.errors or [])} or {
            exc.field or "partner_url": str(exc)
        }
        return _page({k: _remote_message(k, v) for k, v in errors.items()}, 422)
    flash(_("Proposal sent. The other city's admin can now accept or decline it."), "success")
    return redirect(url_for(".page"), code=303)


def _remote_message(field: str, reason: str) -> str:
    if field == "scopes":
        return _("Choose at least one thing to share.")
    if "already" in reason:
        return _("An agreement with this city is already proposed or active.")
    if field == "partner_url" and "did not take" in reason:
        return _("The other deployment did not answer or refused the proposal.")
    if field == "partner_url":
        return _("Give the other deployment's https:// address.")
    if field == "partner_tenant":
        return _("Give the city's short name on the other deployment.")
    return _("Paste the other deployment's public-key document (replika instance public-key).")


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
