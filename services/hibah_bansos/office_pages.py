"""Officials' pages: a worklist per role, an application with its transition form, programme
dashboards and the CSV export.

Signed-in officials only (the shared sign-in at /t/<tenant>/login; session cookie; CSRF on
every form). The same use cases and reads as the API (cases.py, views.py, export.py); a
refused step is shown again beside the form's fields with a 4xx status, a done step
redirects back (303).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from services.hibah_bansos import cases, export, forms, repository, schemas, views
from services.hibah_bansos.domain import workflow
from services.hibah_bansos.domain.access import MOVERS, OFFICIALS, PERSONAL_DATA
from services.hibah_bansos.models import Programme
from services.hibah_bansos.pages import STATUS_LABELS, document_labels
from services.hibah_bansos.views import programme_name
from shared.actor import Actor
from shared.auth import official_actor, require_roles
from shared.pagination import LIST_PAGE_SIZE, Page
from shared.problem import Problem, Refused, not_found
from shared.request_context import db
from shared.separation import Actors, SeparationOfDutiesViolation, allowed
from shared.web import no_store, unit_of_work

bp = Blueprint("hb_office", __name__)
bp.after_request(no_store)
OFFICE = "/t/<tenant>/hibah-bansos/office"
STATUS_ORDER = [s.value for s in workflow.Status]


@bp.get(OFFICE)
@require_roles(*OFFICIALS)
def worklist():
    """By default the applications waiting for a step the official's roles take; any status
    on request (auditors, who take no step, see every application)."""
    actor, args = official_actor(), request.args
    mine = workflow.waiting_for(actor.roles)
    status = args.get("status") or ""
    if status in STATUS_ORDER:
        statuses: list[str] | None = [status]
    elif status == "all" or not mine:
        status, statuses = "all", None
    else:
        status, statuses = "", mine
    page = Page.from_args(args, LIST_PAGE_SIZE, LIST_PAGE_SIZE)
    s = db()
    code = args.get("programme") or None
    items, total = views.application_list(
        s, g.tenant, page, statuses=statuses, programme=code, waiting=status == ""
    )
    return render_template(
        "hibah_bansos/office/worklist.html",
        items=items,
        total=total,
        page=page.number,
        pages=max(1, -(-total // page.size)),
        status=status,
        statuses=STATUS_ORDER,
        waiting=mine,
        programme=code or "",
        programmes=repository.programmes(s),
    )


def _targets(app_status: str, actors: Actors, actor: Actor) -> list[str]:
    """Next states this official may choose: their roles' edges, less the steps separation of
    duties forbids them on this application (the use case checks both again)."""
    out = []
    for target in workflow.targets_for(app_status, actor.roles):
        edge = workflow.edge_for(app_status, target, actor.roles)
        if allowed(actors, edge.step, actor.pseudonym, workflow.SEPARATED_STEPS):
            out.append(target)
    return out


def _detail_page(number: str, errors: dict | None = None, status: int = 200):
    s, actor = db(), official_actor()
    app = repository.by_number(s, number)  # 404 "No such application."
    view = views.detail_view(s, g.tenant, app, actor.roles)
    targets = _targets(app.status, views.step_actors(s, app), actor)
    return render_template(
        "hibah_bansos/office/application.html",
        app=view,
        programme_name=programme_name(s.get_one(Programme, app.programme_id)),
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
    repository.by_number(db(), number)  # another tenant's or no number: 404, not a form
    try:
        form = schemas.parse(schemas.TransitionIn, forms.transition_body(request.form))
        with unit_of_work() as uw:
            app = cases.transition(uw, official_actor(), number, form)
    except (Problem, Refused, workflow.WorkflowError, SeparationOfDutiesViolation) as exc:
        status = getattr(exc, "status", 409)  # separation of duties: 409, as in the API
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
@require_roles(*PERSONAL_DATA)  # documents hold ID cards and bank books: not the auditor's
def document(number: str, document_id: uuid.UUID):
    s = db()
    try:
        app = repository.by_number(s, number)
        doc, data = views.document_content(s, g.tenant, app, document_id)
    except Refused:
        raise not_found("document") from None  # no application or no document: the same 404
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
    items = [(p, programme_name(p)) for p in repository.programmes(db())]
    return render_template("hibah_bansos/office/programmes.html", items=items)


@bp.get(f"{OFFICE}/programmes/<code>")
@require_roles(*OFFICIALS)
def dashboard(code: str):
    s = db()
    p = repository.programme(s, code)
    summary = views.programme_summary(s, g.tenant, p)
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
    s = db()
    return export.download(s, g.tenant, repository.programme(s, code))
