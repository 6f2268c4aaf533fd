"""Officials' pages: a worklist per role, an application with its transition form, programme
dashboards and the CSV export.

Signed-in officials only (the shared sign-in at /t/<tenant>/login; session cookie; CSRF on
every form). The same use cases and reads as the API (cases.py, views.py, export.py); a
refused step is shown again beside the form's fields with a 4xx status, a done step
redirects back (303).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from services.hibah_bansos import (
    aid_links,
    cases,
    export,
    forms,
    recovery,
    repository,
    schemas,
    views,
)
from services.hibah_bansos.domain import workflow
from services.hibah_bansos.domain.access import INTAKE, MOVERS, OFFICIALS, PERSONAL_DATA
from services.hibah_bansos.models import Applicant, Application, Programme
from services.hibah_bansos.pages import STATUS_LABELS, document_labels
from services.hibah_bansos.views import programme_name, rupiah
from shared.actor import Actor
from shared.auth import current_principal, official_actor, require_roles
from shared.pagination import LIST_PAGE_SIZE, Page
from shared.problem import Problem, Refused, not_found
from shared.request_context import db
from shared.separation import Actors, SeparationOfDutiesViolation, allowed
from shared.web import no_store, unit_of_work

bp = Blueprint("hb_office", __name__)
bp.after_request(no_store)
OFFICE = "/t/<tenant>/hibah-bansos/office"
STATUS_ORDER = [s.value for s in workflow.Status]


@bp.record_once
def _land_on_home(state) -> None:
    """A sign-in without `next` lands on the worklist, this service's officials' home."""
    state.app.config.setdefault("OFFICE_HOME", "hb_office.worklist")


@bp.context_processor
def _office_menu() -> dict:
    """The officials' menu (shared/templates/office_base.html) for the signed-in roles."""
    p = current_principal()
    if p is None:
        return {}
    here = request.endpoint or ""
    rows = [(_("Worklist"), "hb_office.worklist"), (_("Programmes"), "hb_office.programme_list")]
    rows.append((_("Statistics"), "hb_stats.page"))
    if INTAKE in p.roles:  # the counter's password reset, identity checked in person
        rows.append((_("Password reset at the counter"), "hb_office.password_reset"))
        rows.append((_("Imports"), "hb_import.page"))  # import_pages.py
    if "tenant_admin" in p.roles:
        rows.append((_("City settings"), "tenant_config.page"))
    return {
        "office_menu": [
            (label, url_for(endpoint), here == endpoint)
            for label, endpoint in rows
            if endpoint in current_app.view_functions
        ],
        "office_user": p.username,
        "office_home_url": url_for("hb_office.worklist"),
    }


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
    query = (args.get("q") or "").strip()
    if query and status == "":  # a number or name is looked for in every status
        status, statuses = "all", None
    page = Page.from_args(args, LIST_PAGE_SIZE, LIST_PAGE_SIZE)
    s = db()
    code = args.get("programme") or None
    items, total = views.application_list(
        s, g.tenant, page, statuses=statuses, programme=code, waiting=status == "", query=query
    )
    return render_template(
        "hibah_bansos/office/worklist.html",
        items=views.worklist_rows(s, g.tenant, items),
        at_my_step=repository.counts_by_status(s, mine),
        query=query,
        total=total,
        page=page.number,
        pages=max(1, -(-total // page.size)),
        status=status,
        statuses=STATUS_ORDER,
        waiting=mine,
        programme=code or "",
        programmes=repository.programmes(s),
    )


# One small form per step (issue 18): its title, what it does, its own fields (the edge's
# `needs`, in the workflow's order) with a label and help each, its button, and the
# confirmation that says what happened.
STEP_TEXTS: dict[str, dict[str, Any]] = {
    workflow.CONFIRM_PERSON: {
        "title": _l("Vouch for the person"),
        "help": _l(
            "You checked their KTP, family card (KK) and situation in person: the application "
            "goes on to evaluation, recorded under your name."
        ),
        "button": _l("Verify and submit"),
        "fields": {"reason": (_l("What you checked"), _l("For example: home visit on 3 March."))},
    },
    "evaluate": {
        "title": _l("Evaluate (OPD)"),
        "help": _l("Recommend an amount: at most the requested amount. TAPD verifies next."),
        "button": _l("Evaluate"),
        "fields": {
            "amount": (_l("Recommended amount (whole rupiah)"), _l("Digits only, or 12.500.000.")),
            "reason": (_l("Consideration"), _l("Why this amount; the applicant sees it.")),
        },
    },
    "return": {
        "title": _l("Return for revision"),
        "help": _l(
            "The applicant can change the proposal, the budget plan and the documents, then "
            "submit again."
        ),
        "button": _l("Return to the applicant"),
        "fields": {"reason": (_l("What must be changed"), _l("The applicant sees this text."))},
    },
    "reject": {
        "title": _l("Reject"),
        "help": _l("Final: the application cannot be submitted again."),
        "button": _l("Reject the application"),
        "fields": {"reason": (_l("Reason for rejecting"), _l("The applicant sees this text."))},
    },
    "verify": {
        "title": _l("Verify (TAPD)"),
        "help": _l("Checked against the budget priorities; the mayor's decree comes next."),
        "button": _l("Verify"),
        "fields": {"reason": (_l("Consideration"), _l("Which priority it meets."))},
    },
    "approve": {
        "title": _l("Approve (mayor's decree)"),
        "help": _l(
            "Reserves the approved amount from the programme ceiling (pagu) and sets the LPJ "
            "deadline."
        ),
        "button": _l("Approve"),
        "fields": {
            "amount": (_l("Approved amount (whole rupiah)"), _l("At most the requested amount.")),
            "reference": (_l("Decree number"), _l("The mayor's decree (Keputusan Wali Kota).")),
            "date": (_l("Decree date"), None),
        },
    },
    "sign_agreement": {
        "title": _l("Record the grant agreement (NPHD)"),
        "help": _l("For bansos: the receipt signed by the recipient. Disbursement comes next."),
        "button": _l("Record the agreement"),
        "fields": {
            "reference": (_l("Agreement (NPHD) or receipt number"), None),
            "date": (_l("Date signed"), None),
        },
    },
    "disburse": {
        "title": _l("Disburse a tranche (SP2D)"),
        "help": _l("All tranches together are at most the approved amount."),
        "button": _l("Record the disbursement"),
        "fields": {
            "amount": (_l("Tranche (whole rupiah)"), None),
            "reference": (_l("Transfer (SP2D) number"), None),
        },
    },
    "close": {
        "title": _l("Close (LPJ verified)"),
        "help": _l(
            "Check the spending against the budget plan, the evidence and the return of any "
            "unspent balance to the kas daerah."
        ),
        "button": _l("Close the application"),
        "fields": {"reason": (_l("Result of the LPJ check"), None)},
    },
}


def step_forms(app_status: str, actors: Actors, actor: Actor) -> tuple[list[dict], list[str]]:
    """The step forms this official may use on an application in `app_status` (their roles'
    edges, less the steps separation of duties forbids them on this application), and the
    targets withheld by separation of duties. The use case checks both again."""
    forms_, blocked = [], []
    for edge in workflow.edges_for(app_status, actor.roles):
        if not allowed(actors, edge.step, actor.pseudonym, workflow.SEPARATED_STEPS):
            blocked.append(edge.target.value)
            continue
        texts = STEP_TEXTS[edge.step]
        forms_.append(
            {
                "target": edge.target.value,
                "step": edge.step,
                "title": texts["title"],
                "help": texts["help"],
                "button": texts["button"],
                "fields": [(name, *texts["fields"][name]) for name in edge.needs],
            }
        )
    return forms_, blocked


def _step_done(app: Application, step: str) -> str:
    """What a committed step did, in words."""
    amount = rupiah(app.approved if step == "approve" else app.recommended)
    done = {
        workflow.CONFIRM_PERSON: _("The person is verified; the application is submitted."),
        "evaluate": _(
            "Evaluated: %(amount)s recommended. The application waits for TAPD verification.",
            amount=amount,
        ),
        "return": _("Returned to the applicant for revision; they see your reason."),
        "reject": _("The application is rejected; the applicant sees your reason."),
        "verify": _("Verified. The application waits for the mayor's decree."),
        "approve": _(
            "Approved: %(amount)s by decree %(reference)s. The grant agreement comes next.",
            amount=amount,
            reference=app.decree_number,
        ),
        "sign_agreement": _(
            "Agreement %(reference)s recorded. The application waits for disbursement.",
            reference=app.nphd_number,
        ),
        "disburse": _(
            "Disbursement recorded: %(paid)s of %(approved)s paid.",
            paid=rupiah(app.disbursed),
            approved=rupiah(app.approved),
        ),
        "close": _("The application is closed: its LPJ is verified."),
    }
    return done.get(
        step,
        _(
            "Saved: the application is now %(status)s.",
            status=str(STATUS_LABELS.get(app.status, app.status)),
        ),
    )


def _detail_page(number: str, errors: dict | None = None, status: int = 200):
    s, actor = db(), official_actor()
    app = repository.by_number(s, number)  # 404 "No such application."
    view = views.detail_view(s, g.tenant, app, actor.roles)
    steps, blocked = step_forms(app.status, views.step_actors(s, app), actor)
    programme = s.get_one(Programme, app.programme_id)
    applicant = s.get_one(Applicant, app.applicant_id)
    standing = (
        views.registry_standing(s, applicant)
        if views.needs_registry(programme) and applicant.kind == "individual"
        else None
    )
    return render_template(
        "hibah_bansos/office/application.html",
        app=view,
        programme_name=programme_name(programme),
        standing=standing,
        steps=steps,
        blocked=blocked,
        days_waiting=views.days_waiting(g.tenant, app),
        aid_warnings=aid_links.warnings_of(s, app.id),  # linked cities (issue 23)
        labels=document_labels(),
        errors=errors or {},
        posted=request.form.get("to", "") if errors else "",
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
    actor = official_actor()
    try:
        form = schemas.parse(schemas.TransitionIn, forms.transition_body(request.form))
        with unit_of_work() as uw:
            app = cases.transition(uw, actor, number, form)
            last = repository.steps(uw.session, app.id)[-1]
            done = _step_done(app, workflow.STEP_OF.get((last.source, last.target), ""))
    except (Problem, Refused, workflow.WorkflowError, SeparationOfDutiesViolation) as exc:
        status = getattr(exc, "status", 409)  # separation of duties: 409, as in the API
        return _detail_page(number, forms.workflow_errors(exc), status)
    flash(done, "success")
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


@bp.route(f"{OFFICE}/password-reset", methods=["GET", "POST"])
@require_roles(INTAKE)
def password_reset():
    """At the counter: a resident without e-mail forgot their password. The official finds the
    account by NIK, compares it with the person's identity card (KTP), and hands over a
    one-time reset code (valid 24 hours); the official never sets or sees a password. The
    same step confirms a self-registration without e-mail (spending the code confirms it)."""
    form = request.form
    if request.method == "GET":
        return render_template("hibah_bansos/office/password_reset.html", form={}, errors={})
    nik = "".join((form.get("nik") or "").split())
    s = db()
    from shared.crypto import blind_index

    found = (
        repository.applicant_by_nik_index(s, blind_index(s, g.tenant.id, "nik", nik))
        if nik.isascii() and nik.isdigit() and len(nik) == 16
        else None
    )
    if found is None:
        errors = {"nik": _("No account has this NIK. Check the number on the KTP.")}
        return render_template(
            "hibah_bansos/office/password_reset.html", form=form, errors=errors
        ), 404
    person = views.personal(s, g.tenant, found)
    if form.get("action") != "issue":
        return render_template(
            "hibah_bansos/office/password_reset.html",
            form=form,
            errors={},
            person=person,
            unconfirmed=found.confirmed_at is None,
        )
    try:
        with unit_of_work() as uw:
            issued = recovery.issue_at_counter(
                uw, official_actor(), nik, identity_checked=form.get("identity_checked") == "yes"
            )
    except Refused as exc:
        errors = {"identity_checked": _("Tick this box once you have compared the KTP.")}
        return render_template(
            "hibah_bansos/office/password_reset.html", form=form, errors=errors, person=person
        ), exc.status
    # shown once, in the answer to this POST (never in a URL, a cookie or a log)
    return render_template(
        "hibah_bansos/office/password_reset_code.html",
        groups=recovery.grouped(issued.code),
        expires=issued.expires_at,
        reset_url=url_for("hb_pages.reset_password", _external=True),
    )
