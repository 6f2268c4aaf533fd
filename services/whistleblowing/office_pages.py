"""Officials' pages: the home (what waits for me), the case list (search, filters, clocks)
and a case with one small form per step the official may take.

Signed-in officials only (session cookie from /t/<tenant>/login; CSRF on every form). The
same use cases as the API; actions answer with a redirect back to the case (POST/redirect/GET).
A case an official may not handle is the same 404 as a missing one (the app's one handler).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from services.whistleblowing import api, cases, forms, referrals, repository, schemas, views
from services.whistleblowing.domain import access, lifecycle
from services.whistleblowing.models import Report
from shared import identity as custody
from shared.actor import Actor
from shared.auth import current_principal, official_actor, require_roles
from shared.officials import name_of
from shared.pagination import LIST_PAGE_SIZE, Page
from shared.problem import Problem, Refused
from shared.separation import SeparationOfDutiesViolation
from shared.tenancy import today
from shared.uow import UnitOfWork
from shared.web import db, no_store, unit_of_work

bp = Blueprint("wb_office", __name__)
bp.after_request(no_store)
BASE = "/t/<tenant>/whistleblowing/cases"
IDENTITY_BASE = "/t/<tenant>/whistleblowing/identity-requests"
HOME = "/t/<tenant>/whistleblowing/office"
HOME_NEWEST = 5  # the newest reports to acknowledge, linked from the home one by one
# The list's filters, kept in the URL (links of the home, pagination, the search form).
LIST_FILTERS = ("q", "status", "category", "overdue", "due_soon", "mine", "unassigned")


def _official_id(actor: Actor) -> uuid.UUID:
    assert actor.official_id is not None  # official_actor() always names the official
    return actor.official_id


@bp.app_template_filter("office_date")
def office_date(value: str | date) -> str:
    """A date as officials read it: "2 Des 2026" in the page's language."""
    return format_date(value if isinstance(value, date) else date.fromisoformat(value), "medium")


@bp.record_once
def _land_on_home(state) -> None:
    """A sign-in without `next` lands on this service's officials' home (shared/auth_routes)."""
    state.app.config.setdefault("OFFICE_HOME", "wb_office.home")


@bp.context_processor
def _office_menu() -> dict:
    """The officials' menu (shared/templates/office_base.html) for the signed-in official's
    roles: only the pages they may open."""
    p = current_principal()
    if p is None:
        return {}
    roles = frozenset(p.roles)
    here = request.endpoint or ""
    rows = [(_("Home"), "wb_office.home")]
    if access.holds(roles, access.HANDLERS):
        rows.append((_("Cases"), "wb_office.case_list"))
    if access.holds(roles, access.INTAKE):  # a report received by walk-in, phone, letter, e-mail
        rows.append((_("Enter a report"), "wb_assisted.new_report"))
    if access.holds(roles, access.STATS_READERS):
        rows.append((_("Statistics"), "wb_stats.page"))
    if access.holds(roles, access.CUSTODIANS):
        rows.append((_("Identity requests"), "wb_office.identity_requests"))
        rows.append((_("Identity re-seals"), "wb_referrals.reseal_list"))  # referral_routes.py
        rows.append((_("Custodian key"), "wb_office.custodian_key"))
    if "tenant_admin" in roles:  # the city's settings (operations/replication/config_web.py)
        rows.append((_("City settings"), "tenant_config.page"))
    menu = [
        (label, url_for(endpoint), here == endpoint)
        for label, endpoint in rows
        if endpoint in current_app.view_functions
    ]
    return {
        "office_menu": menu,
        "office_user": p.username,
        "office_home_url": url_for("wb_office.home"),
    }


@bp.get(HOME)
@require_roles()  # any official of the tenant: the counts follow their roles
def home():
    """What waits for me: counts by what to do next, each a link to the list that shows it."""
    actor = official_actor()
    counts = views.home_counts(db(), g.tenant, actor)
    newest: list[dict] = []
    if counts.get("to_acknowledge"):  # the newest, one click from the home each
        rows, _total = repository.list_reports(
            db(),
            today=today(g.tenant),
            status="received",
            hide_from=actor.official_id,
            only_assigned_to=None if access.sees_all(actor.roles) else actor.official_id,
            per_page=HOME_NEWEST,
        )
        names = repository.official_names(db())
        newest = [views.office_row(g.tenant, r, names) for r in rows]
    return render_template("whistleblowing/office/home.html", counts=counts, newest=newest)


def _list_args() -> dict[str, str]:
    return {k: request.args[k] for k in LIST_FILTERS if request.args.get(k)}


@bp.get(BASE)
@require_roles(*access.HANDLERS)
def case_list():
    actor, args = official_actor(), request.args
    status = (
        args.get("status") if args.get("status") in {s.value for s in lifecycle.Status} else None
    )
    page = Page.from_args(args, LIST_PAGE_SIZE, LIST_PAGE_SIZE)
    s = db()
    rows, total = repository.list_reports(
        s,
        today=today(g.tenant),
        case_number=(args.get("q") or "").strip()[:32] or None,
        status=status,
        category=args.get("category") or None,
        overdue=True if args.get("overdue") == "true" else None,
        due_soon=args.get("due_soon") == "true",
        assignee=actor.official_id if args.get("mine") else None,
        unassigned=bool(args.get("unassigned")),
        hide_from=actor.official_id,
        only_assigned_to=None if access.sees_all(actor.roles) else actor.official_id,
        page=page.number,
        per_page=page.size,
    )
    names = repository.official_names(s)
    return render_template(
        "whistleblowing/office/cases.html",
        items=[views.office_row(g.tenant, r, names) for r in rows],
        total=total,
        page=page.number,
        pages=max(1, -(-total // page.size)),
        status=status,
        statuses=[s.value for s in lifecycle.Status],
        categories=views.category_labels(g.tenant),
        args=args,
        filters=_list_args(),
    )


@bp.get(f"{BASE}/<case_number>")
@require_roles(*access.HANDLERS)
def case_detail(case_number: str):
    actor = official_actor()
    s = db()
    report = views.official_case(s, actor, case_number)
    case = views.office_detail(s, g.tenant, report, actor)
    recused = repository.recused_officials(s, report.id)
    assignable = {
        str(o.id): name_of(o)
        for o in repository.active_officials(s)
        if access.may_be_assigned(o.roles) and o.id not in recused
    }
    return render_template(
        "whistleblowing/office/case.html",
        case=case,
        my_requests=repository.identity_requests_by(s, report.id, _official_id(actor)),
        categories=views.category_labels(g.tenant),
        assignable=assignable if case["may_assign"] else {},
        may_request_identity=access.holds(actor.roles, access.DISCLOSURE_REQUESTERS),
        outcomes=lifecycle.OUTCOMES,
        reason_required=lifecycle.REASON_REQUIRED,
        referral=referrals.for_office(s, report),
        referral_partners=referrals.partners(s, g.tenant, actor),
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


def _on_case(case_number: str, action: Callable[[UnitOfWork, Report], object]) -> bool:
    """Run one action on the locked case in a unit of work: True when it committed, False
    when it was refused (and the refusal flashed). A case the official may not handle is the
    404 of a missing one, not a flash."""
    report = views.official_case(db(), official_actor(), case_number, for_update=True)
    try:
        with unit_of_work() as uw:
            action(uw, report)
    except (lifecycle.LifecycleError, Refused, Problem) as exc:
        flash(_refusal_text(exc), "error")
        return False
    return True


def _act(
    case_number: str, action: Callable[[UnitOfWork, Report], object], done: Callable[[], str]
) -> Response:
    """Run the action; on success say in words what happened (`done()`, read after commit)."""
    if _on_case(case_number, action):
        flash(done(), "success")
    return _back(case_number)


def _step_done(target: str, outcome: str | None) -> str:
    """What a committed step did, as the confirmation says it."""
    if target == "triaged" and outcome == "not_wbs_matter":
        return _("Case triaged: not a whistleblowing matter.")
    return {
        "acknowledged": _("Receipt acknowledged: the reporter sees it in their inbox."),
        "triaged": _("Case triaged and accepted for handling."),
        "investigating": _("Investigation started."),
        "concluded": _("Case concluded; the reporter can read the conclusion."),
        "archived": _("Case archived."),
    }.get(target, _("Saved."))


@bp.post(f"{BASE}/<case_number>/transitions")
@require_roles(*access.HANDLERS)
def case_transition(case_number: str):
    def go(uw: UnitOfWork, report: Report) -> None:
        form = forms.parse(
            schemas.TransitionIn, request.form, ("to", "outcome", "reason", "referral")
        )
        cases.transition(uw, official_actor(), report, form)

    return _act(
        case_number,
        go,
        lambda: _step_done(request.form.get("to", ""), request.form.get("outcome") or None),
    )


@bp.post(f"{BASE}/<case_number>/messages")
@require_roles(*access.HANDLERS)
def case_message(case_number: str):
    def go(uw: UnitOfWork, report: Report) -> None:
        form = forms.parse(schemas.MessageIn, request.form, ("body",))
        cases.post_message(uw, official_actor(), report, form.body)

    return _act(case_number, go, lambda: _("Message sent to the reporter."))


@bp.post(f"{BASE}/<case_number>/assignments")
@require_roles(*access.ASSIGNERS)
def case_assign(case_number: str):
    chosen: dict[str, str] = {}

    def go(uw: UnitOfWork, report: Report) -> None:
        form = forms.parse(schemas.AssignmentIn, request.form, ("official_id",))
        official_id = uuid.UUID(form.official_id)
        cases.assign(uw, official_actor(), report, official_id)
        chosen["name"] = repository.official_names(uw.session).get(official_id, "")

    return _act(
        case_number, go, lambda: _("Case assigned to %(name)s.", name=chosen.get("name", ""))
    )


@bp.post(f"{BASE}/<case_number>/recusals")
@require_roles(*access.HANDLERS)
def case_recuse(case_number: str):
    """Self-recusal from the page (a supervisor recuses others through the API)."""
    actor = official_actor()

    def go(uw: UnitOfWork, report: Report) -> None:
        form = schemas.parse(
            schemas.RecusalIn,
            {"official_id": str(actor.official_id), "reason": request.form.get("reason", "")},
        )
        cases.recuse(uw, actor, report, _official_id(actor), form.reason)

    if not _on_case(case_number, go):
        return _back(case_number)
    flash(_("You are recused from this case."), "success")
    return redirect(url_for("wb_office.case_list"), code=303)


# The evidence download of the case page is the API's (same file, same headers, same 404).
bp.add_url_rule(
    f"{BASE}/<case_number>/attachments/<uuid:attachment_id>",
    "case_attachment",
    api.get_attachment,
)


# --- Identity disclosure (requester, custodian) -----------------------------------------------


@bp.post(f"{BASE}/<case_number>/identity-requests")
@require_roles(*access.DISCLOSURE_REQUESTERS)
def case_identity_request(case_number: str):
    def go(uw: UnitOfWork, report: Report) -> None:
        form = forms.parse(schemas.IdentityRequestIn, request.form, ("reason",))
        cases.request_identity(uw, official_actor(), report, form.reason)

    return _act(
        case_number,
        go,
        lambda: _("Identity requested: the custodian decides, and the reporter is told."),
    )


@bp.get(IDENTITY_BASE)
@require_roles(*access.CUSTODIANS)
def identity_requests():
    items = views.pending_identity_requests(db(), g.tenant)
    return render_template("whistleblowing/office/identity_requests.html", items=items)


@bp.post(f"{IDENTITY_BASE}/<uuid:request_id>/decisions")
@require_roles(*access.CUSTODIANS)
def identity_decision(request_id: uuid.UUID):
    try:
        form = forms.decision(request.form)
        with unit_of_work() as uw:
            req = cases.decide_identity(
                uw, official_actor(), request_id, form.decision, form.passphrase
            )
    except (Refused, Problem, SeparationOfDutiesViolation) as exc:
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
@require_roles(*access.DISCLOSURE_REQUESTERS)
def identity_view(request_id: uuid.UUID):
    """The requester sees the identity once (a POST: it spends the disclosure)."""
    try:
        with unit_of_work() as uw:
            identity = cases.view_identity(uw, official_actor(), request_id)
    except Refused as exc:
        if exc.status == 404:
            raise  # the same 404 as a missing request
        return render_template(
            "whistleblowing/office/identity.html", identity=None, gone=exc.status == 410
        ), exc.status
    return render_template("whistleblowing/office/identity.html", identity=identity, gone=False)


# --- the identity custodian's own key (shared/identity.py) ----------------------------------

CUSTODIAN_PAGE = "/t/<tenant>/whistleblowing/custodian"


def _custodian_page(status: int = 200, recovery: str | None = None) -> tuple[str, int]:
    return render_template(
        "whistleblowing/office/custodian.html",
        key=custody.custodian_status(db(), g.tenant.id),
        recovery=custody.grouped(recovery) if recovery else None,
        min_length=custody.MIN_PASSPHRASE,
    ), status


def _custodian_refusal(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, custody.PassphraseThrottled):
        flash(_("Too many wrong tries. Wait %(n)s seconds, then try again.", n=exc.retry_after))
        return _custodian_page(429)
    if isinstance(exc, custody.WrongPassphrase):
        flash(_("The passphrase is not right."), "error")
        return _custodian_page(403)
    if isinstance(exc, custody.WrongRecoverySecret):
        flash(_("The recovery secret is not right."), "error")
        return _custodian_page(403)
    if isinstance(exc, custody.CustodianExists):
        flash(_("This city already has a custodian key."), "error")
        return _custodian_page(409)
    flash(
        _(
            "The passphrase needs at least %(n)s characters, typed the same twice.",
            n=custody.MIN_PASSPHRASE,
        ),
        "error",
    )
    return _custodian_page(422)


_CUSTODIAN_ERRORS = (
    custody.PassphraseThrottled,
    custody.WrongPassphrase,
    custody.WrongRecoverySecret,
    custody.CustodianExists,
    ValueError,
)


@bp.get(CUSTODIAN_PAGE)
@require_roles(*access.CUSTODIANS)
def custodian_key():
    return _custodian_page()


@bp.post(f"{CUSTODIAN_PAGE}/key")
@require_roles(*access.CUSTODIANS)
def custodian_create():
    """The custodian creates the key with their own passphrase; the recovery secret is shown
    on this answer only (no-store), grouped for writing down."""
    form = request.form
    try:
        with unit_of_work() as uw:
            recovery = custody.create_own_custodian_key(
                uw.session, g.tenant.id, form.get("passphrase", ""), form.get("confirm", "")
            )
    except _CUSTODIAN_ERRORS as exc:
        return _custodian_refusal(exc)
    return _custodian_page(201, recovery)


def _set_passphrase(proof_field: str, change_with, notice: str):
    """Change the custodian passphrase, proved by the current one or the recovery secret
    (`proof_field`), typed twice; refusals are shown on the custodian's page."""
    form = request.form
    try:
        if form.get("new", "") != form.get("confirm", ""):
            raise ValueError("the two passphrases differ")
        with unit_of_work() as uw:
            change_with(
                uw.session,
                g.tenant.id,
                form.get(proof_field, ""),
                form.get("new", ""),
                who=str(official_actor().official_id),
            )
    except _CUSTODIAN_ERRORS as exc:
        return _custodian_refusal(exc)
    flash(notice, "success")
    return redirect(url_for("wb_office.custodian_key"), code=303)


@bp.post(f"{CUSTODIAN_PAGE}/passphrase")
@require_roles(*access.CUSTODIANS)
def custodian_passphrase():
    return _set_passphrase("current", custody.change_custodian_passphrase, _("Passphrase changed."))


@bp.post(f"{CUSTODIAN_PAGE}/recovery")
@require_roles(*access.CUSTODIANS)
def custodian_recover():
    return _set_passphrase(
        "recovery_secret",
        custody.recover_custodian,
        _("New passphrase set with the recovery secret."),
    )
