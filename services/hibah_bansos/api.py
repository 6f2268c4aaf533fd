"""JSON API of the hibah-bansos service (problem+json errors; every route under /t/<tenant>/).

Applicants authenticate with their own bearer tokens (applicant_auth.py); officials with
officials' tokens and roles (shared/auth.py). Handlers are thin: parse, run one use case of
cases.py or imports.py in `with unit_of_work() as uw:` (which commits), or one read of views.py.
Refusals (`Refused`, workflow errors) are answered by the app's one handler (shared/web.py).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, g, jsonify, request

from services.hibah_bansos import (
    applicant_auth,
    cases,
    export,
    imports,
    repository,
    schemas,
    transparency,
    views,
)
from services.hibah_bansos.domain.access import INTAKE, MOVERS, OFFICIALS
from shared.auth import current_principal, official_actor, require_roles
from shared.bodies import json_body, require_multipart
from shared.openapi import served
from shared.pagination import API_DEFAULT, API_MAXIMUM, Page
from shared.problem import Problem, Refused
from shared.request_context import db
from shared.web import no_store, unit_of_work

bp = Blueprint("hb_api", __name__)
bp.after_request(no_store)
API = "/t/<tenant>/api/v1"


@bp.get("/openapi.json")
def openapi():
    from services.hibah_bansos.openapi import document

    return served(document())


# --- public -----------------------------------------------------------------------------------


def _public(body: dict) -> Response:
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "public, max-age=60"
    # programme names follow the language (?lang= is in the URL; the cookie is not)
    resp.vary.add("Cookie")
    return resp


@bp.get(f"{API}/programmes")
def list_programmes():
    items = [views.programme_view(p) for p in views.open_programmes(db(), g.tenant)]
    return _public({"items": items})


@bp.get(f"{API}/transparency")
def public_report():
    """Funded hibah by organisation; bansos only as totals (people are never listed)."""
    return _public(transparency.public_report(db(), g.tenant))


# --- applicants -------------------------------------------------------------------------------


@bp.post(f"{API}/applicants")
def register_applicant():
    form = schemas.parse_applicant(json_body())
    registrar = official_actor() if current_principal() is not None else None
    with unit_of_work() as uw:
        applicant = cases.register_applicant(uw, form, registrar=registrar)
    body = {"applicant_id": str(applicant.id), "type": applicant.kind}
    if applicant.email_index and registrar is None:
        body["access_token"] = applicant_auth.issue(g.tenant.id, applicant.id)
        body["token_type"] = "Bearer"
    return jsonify(body), 201


@bp.post(f"{API}/applicants/token")
def applicant_token():
    form = schemas.parse(schemas.TokenIn, json_body())
    applicant, wait = applicant_auth.checked_sign_in(form.email, form.password)
    if wait:
        raise Refused(
            429, "Too many failed sign-ins; try again later.", headers={"Retry-After": str(wait)}
        )
    if applicant is None:
        raise Problem(401, "Unauthorized", "Wrong e-mail address or password.")
    return jsonify(
        access_token=applicant_auth.issue(g.tenant.id, applicant.id),
        token_type="Bearer",
        expires_in=applicant_auth.TOKEN_TTL_SECONDS,
    )


# --- applications: applicants (and officials entering on someone's behalf) --------------------


def _replayed(applicant_id, key: str) -> tuple[Response, int] | None:
    """The answer to a repeated Idempotency-Key: the application the first request made."""
    replay = repository.by_idempotency(db(), cases.idempotency_digest(applicant_id, key))
    if replay is None:
        return None
    resp = jsonify(application_number=replay.number, status=replay.status)
    resp.headers["Idempotent-Replayed"] = "true"
    return resp, 201


@bp.post(f"{API}/applications")
def create_application():
    principal = current_principal()
    if principal is not None:
        if not principal.has(INTAKE):
            raise Problem(
                403,
                "Forbidden",
                f"Entering applications on someone's behalf needs the role {INTAKE}.",
            )
        actor = official_actor()
    else:
        actor = applicant_auth.api_applicant()
    form = schemas.parse(schemas.ApplicationIn, json_body())
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        raise Refused(422, "Idempotency-Key must have 1 to 200 characters.", "Idempotency-Key")
    key = key if key and not actor.is_official else None  # keys are the applicants' own
    if key and (replay := _replayed(actor.applicant_id, key)):
        return replay
    try:
        with unit_of_work() as uw:
            app = cases.create_application(uw, actor, form, idempotency_key=key)
    except Refused:
        if key and (replay := _replayed(actor.applicant_id, key)):
            return replay  # a concurrent twin won the race
        raise
    resp = jsonify(application_number=app.number, status=app.status)
    resp.headers["Location"] = f"/t/{g.tenant.slug}/api/v1/applications/{app.number}"
    return resp, 201


@bp.get(f"{API}/applications/mine")
def my_applications():
    actor = applicant_auth.api_applicant()
    return jsonify(items=views.my_applications(db(), g.tenant, actor.applicant_id))


@bp.post(f"{API}/applications/<number>/documents")
def add_document(number: str):
    actor = applicant_auth.api_applicant()
    require_multipart()
    file = request.files.get("file")
    if file is None:
        raise Refused(422, "Send the file as multipart/form-data field 'file'.", "file")
    code = (request.form.get("code") or "").strip()
    content = file.read()  # the client's file name and type are ignored on purpose
    with unit_of_work() as uw:
        doc = cases.add_document(uw, actor, number, code, content)
    return jsonify(
        document_id=str(doc.id), code=doc.code, media_type=doc.media_type, size=doc.size
    ), 201


@bp.put(f"{API}/applications/<number>")
def update_application(number: str):
    """A draft or an application returned for revision: a new proposal, requested amount and
    budget plan (the whole ApplicationIn, its programme unchanged)."""
    actor = applicant_auth.api_applicant()
    form = schemas.parse(schemas.ApplicationIn, json_body())
    with unit_of_work() as uw:
        app = cases.update_application(uw, actor, number, form)
    return jsonify(application_number=app.number, status=app.status, requested=app.requested)


@bp.delete(f"{API}/applications/<number>/documents/<uuid:document_id>")
def remove_document(number: str, document_id: uuid.UUID):
    actor = applicant_auth.api_applicant()
    with unit_of_work() as uw:
        cases.remove_document(uw, actor, number, document_id)
    return "", 204


@bp.post(f"{API}/applications/<number>/refund")
def record_refund(number: str):
    """The unspent balance returned to the kas daerah, after the LPJ was filed."""
    actor = applicant_auth.api_applicant()
    form = schemas.parse(schemas.RefundIn, json_body())
    with unit_of_work() as uw:
        app = cases.record_refund(uw, actor, number, form)
    return jsonify(
        application_number=app.number, status=app.status, refund_amount=app.refund_amount
    )


@bp.post(f"{API}/applications/<number>/submit")
def submit(number: str):
    actor = applicant_auth.api_applicant()
    with unit_of_work() as uw:
        app = cases.submit(uw, actor, number)
    return jsonify(application_number=app.number, status=app.status)


@bp.post(f"{API}/applications/<number>/lpj")
def file_lpj(number: str):
    actor = applicant_auth.api_applicant()
    form = schemas.parse(schemas.LpjIn, json_body())
    with unit_of_work() as uw:
        app = cases.file_lpj(uw, actor, number, form)
    spent = app.lpj_spent
    return jsonify(application_number=app.number, status=app.status, spent=spent), 201


# --- officials --------------------------------------------------------------------------------


@bp.get(f"{API}/applications")
@require_roles(*OFFICIALS)
def list_applications():
    page = Page.from_args(request.args, API_DEFAULT, API_MAXIMUM)
    status = request.args.get("status")
    items, total = views.application_list(
        db(),
        g.tenant,
        page,
        statuses=[status] if status else None,
        programme=request.args.get("programme"),
    )
    return jsonify(items=items, total=total, page=page.number, per_page=page.size)


@bp.get(f"{API}/applications/<number>")
@require_roles(*OFFICIALS)
def application_detail(number: str):
    s = db()
    app = repository.by_number(s, number)
    return jsonify(views.detail_view(s, g.tenant, app, official_actor().roles))


@bp.post(f"{API}/applications/<number>/transitions")
@require_roles(*MOVERS)
def transition(number: str):
    form = schemas.parse(schemas.TransitionIn, json_body())
    actor = official_actor()
    with unit_of_work() as uw:
        app = cases.transition(uw, actor, number, form)
    return jsonify(
        application_number=app.number,
        status=app.status,
        approved=app.approved,
        disbursed=app.disbursed,
    )


@bp.get(f"{API}/programmes/<code>/summary")
@require_roles(*OFFICIALS)
def programme_summary(code: str):
    s = db()
    return jsonify(views.programme_summary(s, g.tenant, repository.programme(s, code)))


@bp.get(f"{API}/programmes/<code>/applications.csv")
@require_roles(*OFFICIALS)
def programme_applications_csv(code: str):
    """The programme's applications as CSV; no NIK, bank account or people's names in it
    (see export.py for why)."""
    s = db()
    return export.download(s, g.tenant, repository.programme(s, code))


@bp.post(f"{API}/programmes/<code>/imports")
@require_roles(INTAKE)
def import_beneficiaries(code: str):
    file = request.files.get("file")
    raw = file.read() if file is not None else request.get_data()
    actor = official_actor()
    sheet = request.values.get("sheet") or None  # an .xlsx workbook's sheet; default the first
    with unit_of_work() as uw:
        result = imports.import_beneficiaries(uw, actor, code, raw, sheet)
    return jsonify(result), 200
