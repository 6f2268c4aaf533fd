"""Officials' pages: a worklist per role, an application with its transition form, programme
dashboards and the CSV export.

Signed-in officials only (the shared sign-in at /t/<tenant>/login; session cookie; CSRF on
every form). The same use cases as the API (applications.py, export.py); a refused step is
shown again beside the form's fields with a 4xx status, a done step redirects back (303).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from services.hibah_bansos import applications as cases
from services.hibah_bansos import export, forms, programmes, schemas
from services.hibah_bansos.api import OFFICIALS, committed, csv_response
from services.hibah_bansos.applications import Actor, Refused
from services.hibah_bansos.domain import workflow
from services.hibah_bansos.models import Programme
from services.hibah_bansos.pages import STATUS_LABELS, document_labels, programme_name
from shared.auth import current_principal, require_roles
from shared.problem import Problem, not_found, problem_response
from shared.separation import SeparationOfDutiesViolation, allowed
from shared.web import db

bp = Blueprint("hb_office", __name__)
OFFICE = "/t/<tenant>/hibah-bansos/office"
MOVERS = ("bansos_evaluator", "bansos_verifier", "bansos_approver", "bansos_finance")
PER_PAGE = 50
STATUS_ORDER = [s.value for s in workflow.Status]


@bp.after_request
def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.errorhandler(Refused)
def _refused(exc: Refused):
    return problem_response(
        Problem(exc.status, "Not Found" if exc.status == 404 else "Error", str(exc))
    )


def _actor() -> Actor:
    p = current_principal()
    return Actor("official", p.pseudonym, roles=frozenset(p.roles))


def _programme(code: str) -> Programme:
    s = db()
    programmes.ensure_synced(s, g.tenant)
    p = programmes.by_code(s, code)
    if p is None:
        raise not_found("programme")
    return p


@bp.get(OFFICE)
@require_roles(*OFFICIALS)
def worklist():
    """By default the applications waiting for a step the official's roles take; any status
    on request (auditors, who take no step, see every application)."""
    actor, args = _actor(), request.args
    mine = workflow.waiting_for(actor.roles)
    status = args.get("status") or ""
    if status in STATUS_ORDER:
        statuses = [status]
    elif status == "all" or not mine:
        status, statuses = "all", None
    else:
        status, statuses = "", mine
    page = int(args["page"]) if args.get("page", "").isdigit() and int(args["page"]) > 0 else 1
    s = db()
    programmes.ensure_synced(s, g.tenant)
    code = args.get("programme") or None
    rows, total = cases.search(
        s, statuses=statuses, programme=code, page=page, per_page=PER_PAGE, waiting=status == ""
    )
    all_programmes = list(
        s.execute(
            select(Programme).order_by(Programme.fiscal_year.desc(), Programme.code)
        ).scalars()
    )
    return render_template(
        "hibah_bansos/office/worklist.html",
        items=[cases.summary_view(a, c) for a, c in rows],
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        status=status,
        statuses=STATUS_ORDER,
        waiting=mine,
        programme=code or "",
        programmes=all_programmes,
    )


def _targets(app_status: str, actors: dict, actor: Actor) -> list[str]:
    """Next states this official may choose: their roles' edges, less the steps separation of
    duties forbids them on this application (the use case checks both again)."""
    out = []
    for target in workflow.targets_for(app_status, actor.roles):
        edge = workflow.edge_for(app_status, target, actor.roles)
        if allowed(actors, edge.step, actor.pseudonym, workflow.SEPARATED_STEPS):
            out.append(target)
    return out


def _detail_page(number: str, errors: dict | None = None, status: int = 200):
    s, actor = db(), _actor()
    try:
        app = cases.by_number(s, number)
    except Refused:
        raise not_found("application") from None
    view = cases.detail_view(s, g.tenant, app)
    targets = _targets(app.status, app.actors, actor)
    return render_template(
        "hibah_bansos/office/application.html",
        app=view,
        programme_name=programme_name(s.get(Programme, app.programme_id)),
        targets=targets,
        blocked=[t for t in workflow.targets_for(app.status, actor.roles) if t not in targets],
        labels=document_labels(),
        errors=errors or {},
        form=request.form if errors else {},
    ), status


@bp.get(f"{OFFICE}/applications/<number>")
@require_roles(*OFFICIALS)
def application(number: str):
    return _detail_page(number)


@bp.post(f"{OFFICE}/applications/<number>/transitions")
@require_roles(*MOVERS)
def transition(number: str):
    try:
        cases.by_number(db(), number)
    except Refused:
        raise not_found("application") from None
    try:
        form = schemas.parse(schemas.TransitionIn, forms.transition_body(request.form))
        app = committed(lambda uw: cases.transition(uw, _actor(), number, form))
    except (Problem, Refused, workflow.WorkflowError, SeparationOfDutiesViolation) as exc:
        status = getattr(exc, "status", None) or (
            409
            if isinstance(exc, (workflow.IllegalTransition, SeparationOfDutiesViolation))
            else 403
            if isinstance(exc, workflow.NotYourStep)
            else 422
        )
        return _detail_page(number, forms.workflow_errors(exc), status)
    flash(
        _(
            "Saved: the application is now %(status)s.",
            status=str(STATUS_LABELS.get(app.status, app.status)),
        ),
        "success",
    )
    return redirect(url_for("hb_office.application", number=number), code=303)


@bp.get(f"{OFFICE}/applications/<number>/documents/<uuid:document_id>")
@require_roles(*OFFICIALS)
def document(number: str, document_id: uuid.UUID):
    s = db()
    try:
        app = cases.by_number(s, number)
        doc, data = cases.document_content(s, g.tenant, app, document_id)
    except Refused:
        raise not_found("document") from None
    ext = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(
        doc.media_type, "bin"
    )
    return Response(
        data,
        mimetype=doc.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{app.number}-{doc.code}.{ext}"',
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@bp.get(f"{OFFICE}/programmes")
@require_roles(*OFFICIALS)
def programme_list():
    s = db()
    programmes.ensure_synced(s, g.tenant)
    items = [
        (p, programme_name(p))
        for p in s.execute(
            select(Programme).order_by(Programme.fiscal_year.desc(), Programme.code)
        ).scalars()
    ]
    return render_template("hibah_bansos/office/programmes.html", items=items)


@bp.get(f"{OFFICE}/programmes/<code>")
@require_roles(*OFFICIALS)
def dashboard(code: str):
    p = _programme(code)
    summary = cases.programme_summary(db(), p)
    counts = [(st, summary["by_status"].get(st, 0)) for st in STATUS_ORDER]
    return render_template(
        "hibah_bansos/office/dashboard.html",
        programme=p,
        name=programme_name(p),
        summary=summary,
        counts=counts,
    )


@bp.get(f"{OFFICE}/programmes/<code>/applications.csv")
@require_roles(*OFFICIALS)
def programme_csv(code: str):
    """No NIK, bank account or people's names in the export, for any role (see export.py)."""
    p = _programme(code)
    return csv_response(export.applications_csv(db(), p), export.filename(p))
