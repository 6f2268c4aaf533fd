"""JSON API of the hibah-bansos service (problem+json errors; every route under /t/<tenant>/).

Applicants authenticate with their own bearer tokens (applicant_auth.py); officials with
officials' tokens and roles (shared/auth.py). Handlers are thin: parse, call one use case in
applications.py or imports.py inside a unit of work, commit.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy.exc import IntegrityError

from services.hibah_bansos import applicant_auth, export, imports, programmes, schemas, transparency
from services.hibah_bansos import applications as cases
from services.hibah_bansos.applications import Actor, Refused
from services.hibah_bansos.domain import workflow
from services.hibah_bansos.models import OutboxRow
from shared.auth import current_principal, require_roles
from shared.problem import Problem, problem_response
from shared.web import db, uow

bp = Blueprint("hb_api", __name__)
API = "/t/<tenant>/api/v1"
OFFICIALS = ("bansos_evaluator", "bansos_verifier", "bansos_approver", "bansos_finance", "auditor")
TITLES = {
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
}


# --- errors -----------------------------------------------------------------------------------


@bp.errorhandler(Refused)
def _refused(exc: Refused):
    return problem_response(
        Problem(
            exc.status, TITLES.get(exc.status, "Error"), str(exc), errors=exc.errors, **exc.extra
        )
    )


@bp.errorhandler(workflow.WorkflowError)
def _workflow(exc: workflow.WorkflowError):
    if isinstance(exc, workflow.IllegalTransition):
        status = 409
    elif isinstance(exc, workflow.NotYourStep):
        status = 403
    else:
        status = 422
    errors = [{"field": exc.field, "reason": str(exc)}] if exc.field else None
    return problem_response(Problem(status, TITLES[status], str(exc), errors=errors))


@bp.after_request
def _no_store(resp: Response) -> Response:
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp


# --- helpers ----------------------------------------------------------------------------------


def _applicant() -> Actor:
    applicant_id = applicant_auth.presented_applicant()
    if applicant_id is None:
        raise Problem(401, "Unauthorized", "Sign in as an applicant: POST .../applicants/token.")
    return Actor("applicant", "applicant", applicant_id=applicant_id)


def _official() -> Actor:
    p = current_principal()
    return Actor("official", p.pseudonym, roles=frozenset(p.roles))


def committed(work):
    """Run `work(uw)` in one unit of work and commit; a unique index firing (a concurrent
    duplicate) is answered 409, never 500."""
    uw = uow(OutboxRow)
    try:
        result = work(uw)
        uw.commit()
        return result
    except IntegrityError as exc:
        uw.rollback()
        if "applicants_registration" in str(exc.orig):
            raise Refused(
                409, "This legal entity already has an account in this city.", "registration_number"
            ) from None
        if "applications_one_per_person" in str(exc.orig):
            raise Refused(
                409,
                "This person (NIK) already has an application in this programme this fiscal year.",
                "nik",
            ) from None
        raise Refused(409, "A concurrent request changed the same record; try again.") from None
    except Exception:
        uw.rollback()
        raise


@bp.get("/openapi.json")
def openapi():
    from services.hibah_bansos.openapi import document

    return jsonify(document())


# --- public -----------------------------------------------------------------------------------


@bp.get(f"{API}/programmes")
def list_programmes():
    s = db()
    programmes.ensure_synced(s, g.tenant)
    items = [
        programmes.public_view(p, g.tenant.locale)
        for p in programmes.open_programmes(s, cases.today_utc())
    ]
    resp = jsonify(items=items)
    resp.headers["Cache-Control"] = "public, max-age=60"
    return resp


@bp.get(f"{API}/transparency")
def public_report():
    """Funded hibah by organisation; bansos only as totals (people are never listed)."""
    s = db()
    programmes.ensure_synced(s, g.tenant)
    resp = jsonify(transparency.public_report(s, g.tenant.locale))
    resp.headers["Cache-Control"] = "public, max-age=60"
    return resp


# --- applicants -------------------------------------------------------------------------------


@bp.post(f"{API}/applicants")
def register_applicant():
    form = schemas.parse_applicant(request.get_json(silent=True))
    principal = current_principal()
    by_official = principal is not None
    actor = principal.pseudonym if principal else "applicant"
    applicant = committed(
        lambda uw: cases.register_applicant(uw, form, by_official=by_official, actor=actor)
    )
    body = {"applicant_id": str(applicant.id), "type": applicant.kind}
    if applicant.email_index and not by_official:
        body["access_token"] = applicant_auth.issue(g.tenant.id, applicant.id)
        body["token_type"] = "Bearer"
    return jsonify(body), 201


@bp.post(f"{API}/applicants/token")
def applicant_token():
    form = schemas.parse(schemas.TokenIn, request.get_json(silent=True))
    applicant, wait = applicant_auth.checked_sign_in(form.email, form.password)
    if wait:
        return problem_response(
            Problem(429, "Too Many Requests", "Too many failed sign-ins; try again later."),
            headers={"Retry-After": str(wait)},
        )
    if applicant is None:
        raise Problem(401, "Unauthorized", "Wrong e-mail address or password.")
    return jsonify(
        access_token=applicant_auth.issue(g.tenant.id, applicant.id),
        token_type="Bearer",
        expires_in=applicant_auth.TOKEN_TTL_SECONDS,
    )


# --- applications: applicants (and officials entering on someone's behalf) --------------------


@bp.post(f"{API}/applications")
def create_application():
    principal = current_principal()
    if principal is not None:
        if not principal.has("bansos_evaluator"):
            raise Problem(
                403,
                "Forbidden",
                "Entering applications on someone's behalf needs the role bansos_evaluator.",
            )
        actor = _official()
    else:
        actor = _applicant()
    form = schemas.parse(schemas.ApplicationIn, request.get_json(silent=True))
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 200:
        raise Refused(422, "Idempotency-Key must have 1 to 200 characters.", "Idempotency-Key")
    if key and actor.kind == "applicant":
        replay = cases.by_idempotency(db(), cases.idempotency_digest(actor.applicant_id, key))
        if replay is not None:
            resp = jsonify(application_number=replay.number, status=replay.status)
            resp.headers["Idempotent-Replayed"] = "true"
            return resp, 201
    try:
        app = committed(
            lambda uw: cases.create_application(
                uw, actor, form, idempotency_key=key if actor.kind == "applicant" else None
            )
        )
    except Refused:
        if key and actor.kind == "applicant":  # a concurrent twin may have won the race
            replay = cases.by_idempotency(db(), cases.idempotency_digest(actor.applicant_id, key))
            if replay is not None:
                resp = jsonify(application_number=replay.number, status=replay.status)
                resp.headers["Idempotent-Replayed"] = "true"
                return resp, 201
        raise
    resp = jsonify(application_number=app.number, status=app.status)
    resp.headers["Location"] = f"/t/{g.tenant.slug}/api/v1/applications/{app.number}"
    return resp, 201


@bp.get(f"{API}/applications/mine")
def my_applications():
    actor = _applicant()
    return jsonify(items=cases.of_applicant(db(), actor.applicant_id))


@bp.post(f"{API}/applications/<number>/documents")
def add_document(number: str):
    actor = _applicant()
    file = request.files.get("file")
    if file is None:
        raise Refused(422, "Send the file as multipart/form-data field 'file'.", "file")
    code = (request.form.get("code") or "").strip()
    content = file.read()  # the client's file name and type are ignored on purpose
    doc = committed(lambda uw: cases.add_document(uw, actor, number, code, content))
    return jsonify(
        document_id=str(doc.id), code=doc.code, media_type=doc.media_type, size=doc.size
    ), 201


@bp.post(f"{API}/applications/<number>/submit")
def submit(number: str):
    actor = _applicant()
    app = committed(lambda uw: cases.submit(uw, actor, number))
    return jsonify(application_number=app.number, status=app.status)


@bp.post(f"{API}/applications/<number>/lpj")
def file_lpj(number: str):
    actor = _applicant()
    form = schemas.parse(schemas.LpjIn, request.get_json(silent=True))
    app = committed(lambda uw: cases.file_lpj(uw, actor, number, form))
    return jsonify(application_number=app.number, status=app.status, spent=app.lpj["spent"]), 201


# --- officials --------------------------------------------------------------------------------


@bp.get(f"{API}/applications")
@require_roles(*OFFICIALS)
def list_applications():
    s = db()
    try:
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(200, max(1, int(request.args.get("per_page", 50))))
    except ValueError:
        raise Refused(422, "page and per_page are whole numbers.", "page") from None
    status = request.args.get("status")
    rows, total = cases.search(
        s,
        statuses=[status] if status else None,
        programme=request.args.get("programme"),
        page=page,
        per_page=per_page,
    )
    return jsonify(
        items=[cases.summary_view(a, c) for a, c in rows], total=total, page=page, per_page=per_page
    )


@bp.get(f"{API}/applications/<number>")
@require_roles(*OFFICIALS)
def application_detail(number: str):
    s = db()
    return jsonify(cases.detail_view(s, g.tenant, cases.by_number(s, number)))


@bp.post(f"{API}/applications/<number>/transitions")
@require_roles("bansos_evaluator", "bansos_verifier", "bansos_approver", "bansos_finance")
def transition(number: str):
    form = schemas.parse(schemas.TransitionIn, request.get_json(silent=True))
    actor = _official()
    app = committed(lambda uw: cases.transition(uw, actor, number, form))
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
    programmes.ensure_synced(s, g.tenant)
    programme = programmes.by_code(s, code)
    if programme is None:
        raise Refused(404, "No such programme.")
    return jsonify(cases.programme_summary(s, programme))


@bp.get(f"{API}/programmes/<code>/applications.csv")
@require_roles(*OFFICIALS)
def programme_applications_csv(code: str):
    """The programme's applications as CSV; no NIK, bank account or people's names in it
    (see export.py for why)."""
    s = db()
    programmes.ensure_synced(s, g.tenant)
    programme = programmes.by_code(s, code)
    if programme is None:
        raise Refused(404, "No such programme.")
    return csv_response(export.applications_csv(s, programme), export.filename(programme))


def csv_response(body: str, name: str) -> Response:
    return Response(
        body,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@bp.post(f"{API}/programmes/<code>/imports")
@require_roles("bansos_evaluator")
def import_beneficiaries(code: str):
    file = request.files.get("file")
    raw = file.read() if file is not None else request.get_data()
    actor = _official()
    sheet = request.values.get("sheet") or None  # an .xlsx workbook's sheet; default the first
    result = committed(lambda uw: imports.import_beneficiaries(uw, actor, code, raw, sheet))
    return jsonify(result), 200
