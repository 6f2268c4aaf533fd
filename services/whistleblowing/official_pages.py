"""Officials' pages: the case inbox (filters, clocks) and a case with its actions.

Signed-in officials only (session cookie from /t/<tenant>/login; CSRF on every form). The
same use cases as the API; actions answer with a redirect back to the case (POST/redirect/GET).
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from services.whistleblowing import cases, repository, schemas
from services.whistleblowing.cases import Actor, Refused
from services.whistleblowing.domain import lifecycle
from services.whistleblowing.models import OfficialRow, OutboxRow
from shared.auth import current_principal, require_roles
from shared.problem import Problem, not_found
from shared.web import db, uow

bp = Blueprint("wb_office", __name__)
BASE = "/t/<tenant>/whistleblowing/cases"
HANDLERS = ("wbs_intake", "wbs_investigator", "wbs_supervisor")
PER_PAGE = 25


@bp.after_request
def _no_store(resp: Response) -> Response:
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _actor() -> Actor:
    p = current_principal()
    return Actor("official", p.pseudonym, p.official_id, p.roles)


def _case(case_number: str, *, session=None, for_update=False):
    try:
        return cases.official_case(session or db(), _actor(), case_number, for_update=for_update)
    except Refused:
        raise not_found("report") from None


@bp.get(BASE)
@require_roles(*HANDLERS)
def case_list():
    actor, args = _actor(), request.args
    status = (
        args.get("status") if args.get("status") in {s.value for s in lifecycle.Status} else None
    )
    overdue = True if args.get("overdue") == "true" else None
    page = int(args["page"]) if args.get("page", "").isdigit() and int(args["page"]) > 0 else 1
    rows, total = repository.list_reports(
        db(),
        today=cases.today(g.tenant),
        status=status,
        category=args.get("category") or None,
        overdue=overdue,
        assignee=actor.official_id if args.get("mine") else None,
        hide_from=actor.official_id,
        only_assigned_to=None if actor.roles & cases.SEE_ALL else actor.official_id,
        page=page,
        per_page=PER_PAGE,
    )
    return render_template(
        "whistleblowing/office/cases.html",
        items=[cases.summary(g.tenant, r) for r in rows],
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        status=status,
        statuses=[s.value for s in lifecycle.Status],
        categories=_category_labels(),
        args=args,
    )


def _category_labels() -> dict[str, str]:
    from flask_babel import get_locale

    lang = str(get_locale() or "id")
    return {c["code"]: c["label"].get(lang) or c["label"]["id"] for c in cases.categories(g.tenant)}


def _assignable() -> list[OfficialRow]:
    rows = (
        db()
        .execute(
            select(OfficialRow).where(OfficialRow.active.is_(True)).order_by(OfficialRow.username)
        )
        .scalars()
    )
    return [o for o in rows if set(o.roles) & {"wbs_investigator", "wbs_supervisor"}]


@bp.get(f"{BASE}/<case_number>")
@require_roles(*HANDLERS)
def case_detail(case_number: str):
    actor = _actor()
    report = _case(case_number)
    view = cases.detail(db(), g.tenant, report)
    names = {str(o.id): o.username for o in _assignable()}
    mine = repository.identity_requests_by(db(), report.id, actor.official_id)
    return render_template(
        "whistleblowing/office/case.html",
        case=view,
        my_requests=mine,
        categories=_category_labels(),
        actor=actor,
        assignable=names if actor.roles & {"wbs_intake", "wbs_supervisor"} else {},
        outcomes=lifecycle.OUTCOMES,
    )


def _back(case_number: str):
    return redirect(url_for("wb_office.case_detail", case_number=case_number), code=303)


def _refusal_text(exc: Exception) -> str:
    if isinstance(exc, lifecycle.IllegalTransition):
        return _("This step is not allowed from the current status.")
    if isinstance(exc, lifecycle.TransitionNotPermitted):
        return _("Your role does not allow this step.")
    if isinstance(exc, (lifecycle.InvalidDecision, Problem)):
        return _("Check the outcome, the reason and the other fields.")
    if isinstance(exc, Refused) and exc.status == 404:
        return _("Not found.")
    return _("This action was refused.")


def _act(case_number: str, action) -> Response:
    """Run one action on the locked case in a unit of work; flash the result."""
    uw = uow(OutboxRow)
    report = _case(case_number, session=uw.session, for_update=True)
    try:
        action(uw, report)
        uw.commit()
    except (lifecycle.LifecycleError, Refused, Problem) as exc:
        uw.rollback()
        flash(_refusal_text(exc), "error")
    else:
        flash(_("Saved."), "success")
    return _back(case_number)


def _form(model, fields: tuple[str, ...]):
    return schemas.parse(model, {f: v for f in fields if (v := request.form.get(f, "").strip())})


@bp.post(f"{BASE}/<case_number>/transitions")
@require_roles(*HANDLERS)
def case_transition(case_number: str):
    def go(uw, report):
        form = _form(schemas.TransitionIn, ("to", "outcome", "reason", "referral"))
        cases.transition(
            uw,
            _actor(),
            report,
            form.to,
            outcome=form.outcome,
            reason=form.reason,
            referral=form.referral,
        )

    return _act(case_number, go)


@bp.post(f"{BASE}/<case_number>/messages")
@require_roles(*HANDLERS)
def case_message(case_number: str):
    def go(uw, report):
        form = _form(schemas.MessageIn, ("body",))
        cases.post_message(uw, _actor(), report, form.body)

    return _act(case_number, go)


@bp.post(f"{BASE}/<case_number>/assignments")
@require_roles("wbs_intake", "wbs_supervisor")
def case_assign(case_number: str):
    def go(uw, report):
        form = _form(schemas.AssignmentIn, ("official_id",))
        cases.assign(uw, _actor(), report, uuid.UUID(form.official_id))

    return _act(case_number, go)


@bp.post(f"{BASE}/<case_number>/recusals")
@require_roles(*HANDLERS)
def case_recuse(case_number: str):
    """Self-recusal from the page (a supervisor recuses others through the API)."""
    actor = _actor()

    def go(uw, report):
        form = schemas.parse(
            schemas.RecusalIn,
            {"official_id": str(actor.official_id), "reason": request.form.get("reason", "")},
        )
        cases.recuse(uw, actor, report, actor.official_id, form.reason)

    uw = uow(OutboxRow)
    report = _case(case_number, session=uw.session, for_update=True)
    try:
        go(uw, report)
        uw.commit()
    except (Refused, Problem) as exc:
        uw.rollback()
        flash(_refusal_text(exc), "error")
        return _back(case_number)
    flash(_("You are recused from this case."), "success")
    return redirect(url_for("wb_office.case_list"), code=303)


@bp.get(f"{BASE}/<case_number>/attachments/<uuid:attachment_id>")
@require_roles(*HANDLERS)
def case_attachment(case_number: str, attachment_id: uuid.UUID):
    report = _case(case_number)
    try:
        att, data = cases.attachment_content(db(), g.tenant, report, attachment_id)
    except Refused:
        raise not_found("attachment") from None
    name = f"{report.case_number}-{att.id}.{cases.files.EXTENSIONS.get(att.media_type, 'bin')}"
    return Response(
        data,
        mimetype=att.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


# --- Identity disclosure (requester, custodian) -----------------------------------------------


@bp.post(f"{BASE}/<case_number>/identity-requests")
@require_roles("wbs_investigator", "wbs_supervisor")
def case_identity_request(case_number: str):
    def go(uw, report):
        form = _form(schemas.IdentityRequestIn, ("reason",))
        cases.request_identity(uw, _actor(), report, form.reason)

    return _act(case_number, go)


IDENTITY_BASE = "/t/<tenant>/whistleblowing/identity-requests"


@bp.get(IDENTITY_BASE)
@require_roles("identity_custodian")
def identity_requests():
    rows = repository.pending_identity_requests(db())
    items = [
        {
            "id": str(r.id),
            "case_number": cn,
            "created_at": r.created_at.isoformat(),
            "approvals": len(r.approvals),
            "reason": cases.protect.decrypt_text(
                db(), g.tenant.id, "wb_identity_requests", r.id, "reason", r.reason
            ),
        }
        for r, cn in rows
    ]
    return render_template("whistleblowing/office/identity_requests.html", items=items)


@bp.post(f"{IDENTITY_BASE}/<uuid:request_id>/decisions")
@require_roles("identity_custodian")
def identity_decision(request_id: uuid.UUID):
    from shared.separation import SeparationOfDutiesViolation

    uw = uow(OutboxRow)
    try:
        form = schemas.parse(
            schemas.DecisionIn,
            {
                "decision": request.form.get("decision", ""),
                **({"passphrase": p} if (p := request.form.get("passphrase")) else {}),
            },
        )
        req = cases.decide_identity(uw, _actor(), request_id, form.decision, form.passphrase)
        uw.commit()
    except (Refused, Problem, SeparationOfDutiesViolation) as exc:
        uw.rollback()
        wrong = isinstance(exc, Refused) and exc.field == "passphrase"
        flash(_("The passphrase is not right.") if wrong else _refusal_text(exc), "error")
    else:
        flash(
            {
                "approved": _("Approved: the reporter has been told."),
                "rejected": _("Rejected."),
                "pending": _("Approval recorded; another custodian must approve too."),
            }.get(req.status, _("Saved.")),
            "success",
        )
    return redirect(url_for("wb_office.identity_requests"), code=303)


@bp.post(f"{IDENTITY_BASE}/<uuid:request_id>/view")
@require_roles("wbs_investigator", "wbs_supervisor")
def identity_view(request_id: uuid.UUID):
    """The requester sees the identity once (a POST: it spends the disclosure)."""
    uw = uow(OutboxRow)
    try:
        identity = cases.view_identity(uw, _actor(), request_id)
        uw.commit()
    except Refused as exc:
        uw.rollback()
        if exc.status == 404:
            raise not_found("identity request") from None
        return render_template(
            "whistleblowing/office/identity.html", identity=None, gone=exc.status == 410
        ), exc.status
    return render_template("whistleblowing/office/identity.html", identity=identity, gone=False)
