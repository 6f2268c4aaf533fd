"""Server-rendered pages of the hibah-bansos service for the public and for applicants.

No JavaScript needed; Bahasa Indonesia first, English with ?lang=en; every form carries a CSRF
token (shared/auth_routes.py). Applicants sign in with the credentials of applicant_auth.py
into a page session. Handlers are thin: a form becomes the API's request shape (forms.py),
the same schemas and use cases (cases.py, run in `with unit_of_work() as uw:`) judge it,
refusals come back beside the fields with a 4xx status.
"""

from __future__ import annotations

import functools
import secrets
import uuid

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from services.hibah_bansos import (
    applicant_auth,
    cases,
    forms,
    mailer,
    programmes,
    recovery,
    repository,
    schemas,
    social_registry,
    views,
)
from services.hibah_bansos import transparency as public
from services.hibah_bansos.domain import lpj as lpj_rules
from services.hibah_bansos.domain import workflow
from services.hibah_bansos.models import Applicant, Programme
from services.hibah_bansos.views import programme_name, rupiah
from shared.actor import applicant as applicant_actor
from shared.problem import Problem, Refused
from shared.request_context import db
from shared.tenancy import today
from shared.web import no_store, unit_of_work

bp = Blueprint("hb_pages", __name__)
# applicants' pages show personal data; public pages vary by the language cookie
bp.after_request(no_store)
BASE = "/t/<tenant>/hibah-bansos"


STATUS_LABELS = {
    "draft": _l("Draft"),
    "verification": _l("Waiting for an official to verify you"),
    "submitted": _l("Submitted"),
    "returned": _l("Returned for revision"),
    "evaluated": _l("Evaluated (OPD)"),
    "verified": _l("Verified (TAPD)"),
    "approved": _l("Approved"),
    "agreement_signed": _l("Agreement signed"),
    "disbursed": _l("Disbursed"),
    "reported": _l("Reported"),
    "closed": _l("Closed"),
    "rejected": _l("Rejected"),
}
KIND_LABELS = {
    "hibah": _l("Grant (hibah)"),
    "bansos": _l("Social aid (bansos)"),
    "organisation": _l("Organisation"),
    "individual": _l("Individual"),
}


EVIDENCE_LABELS = {
    "lpj_receipt": _l("Receipt or invoice (LPJ evidence)"),
    "lpj_photo": _l("Photo of the activity (LPJ evidence)"),
}


def document_labels() -> dict[str, str]:
    """Every document type's label: the tenant's, and the LPJ's evidence."""
    return {**views.document_labels(g.tenant), **{k: str(v) for k, v in EVIDENCE_LABELS.items()}}


@bp.app_template_filter("hb_date")
def hb_date(value) -> str:
    """A date, datetime or ISO text, in the page's language and the tenant's time zone."""
    from datetime import date, datetime

    from flask_babel import format_date, format_datetime

    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        return format_datetime(value, "medium")
    return format_date(value, "medium")


@bp.app_template_global("error_label")
def error_label(field: str) -> str:
    return forms.field_label(field, document_labels())


@bp.app_template_global("field_anchor")
def field_anchor(field: str) -> str:
    """The id of the form control an error names, for the summary's links ("" for none)."""
    parts = field.split(".")
    if parts[0] in ("rab", "lines") and len(parts) == 3:
        return f"{'rab' if parts[0] == 'rab' else 'lpj'}_{parts[1]}_{parts[2]}"
    if parts[0] == "documents" and len(parts) > 1:
        return f"doc_{parts[1]}"
    if parts[0] == "refund" and len(parts) == 2:
        return f"refund_{parts[1]}"
    if field.startswith(("(", "eligibility")) or not field.replace("_", "").isalnum():
        return ""
    return field


@bp.app_context_processor
def _helpers() -> dict:
    return {
        "rupiah": rupiah,
        "status_label": lambda s: STATUS_LABELS.get(s, s),
        "kind_label": lambda k: KIND_LABELS.get(k, k),
    }


@bp.app_template_global("eligibility_lines")
def eligibility_lines(programme: Programme) -> list[str]:
    """The programme's eligibility rules in plain words, as each card shows them before the
    form (the same declarative rules domain/eligibility.py judges)."""
    rules = programme.config.get("eligibility", {})
    out = []
    types = rules.get("applicant_types") or []
    if types == ["individual"]:
        out.append(_("For residents (individuals), not for organisations."))
    elif types == ["organisation"]:
        out.append(_("For organisations with a legal entity, not for individuals."))
    if rules.get("domicile_required"):
        out.append(_("Your NIK must be registered in %(city)s.", city=g.tenant.display_name))
    if rules.get("min_legal_entity_years"):
        out.append(
            _(
                "The organisation has been a legal entity for at least %(n)s years.",
                n=rules["min_legal_entity_years"],
            )
        )
    if rules.get("no_hibah_previous_year") and not rules.get("exempt_from_annual_rule"):
        out.append(_("Not for an organisation that received a grant in the last fiscal year."))
    if rules.get("max_amount"):
        out.append(_("At most %(amount)s per application.", amount=rupiah(rules["max_amount"])))
    if rules.get("social_registry_required"):
        out.append(
            _(
                "You must be listed in the social registry (DTKS/DTSEN). We check it by your "
                "NIK before you fill in the form; if you are not listed, you can ask an "
                "official to verify you."
            )
        )
    return out


@bp.app_template_global("period_label")
def period_label(period: str | None) -> str:
    """A registry data period "2026-03" as "Maret 2026" / "March 2026"."""
    from datetime import date

    from flask_babel import format_date

    if not period:
        return ""
    year, month = period.split("-")
    return format_date(date(int(year), int(month), 1), "MMMM y")


# --- public -----------------------------------------------------------------------------------


@bp.get(f"{BASE}/transparansi")
def transparency():
    from services.hibah_bansos import statistics

    report = public.public_report(db(), g.tenant)
    figures = statistics.figures(db(), g.tenant, None)
    return render_template(
        "hibah_bansos/transparency.html",
        report=report,
        charts=statistics.public_charts(figures),
        recipients=statistics.public_recipients,
        small_cell=statistics.SMALL_CELL,
    )


@bp.get(BASE)
def index():
    """Open programmes, and the applicant's way in."""
    items = [(p, programme_name(p)) for p in views.open_programmes(db(), g.tenant)]
    return render_template(
        "hibah_bansos/index.html",
        items=items,
        signed_in=applicant_auth.page_applicant() is not None,
        documents=document_labels(),
    )


# --- applicants: register, sign in -----------------------------------------------------------


def _safe_next(target: str | None) -> str | None:
    prefix = f"/t/{g.tenant.slug}/hibah-bansos"
    if target and target.startswith(prefix) and "//" not in target and "\\" not in target:
        return target
    return None


def _register(kind: str):
    template = "hibah_bansos/register.html"
    if request.method == "GET":
        return render_template(template, kind=kind, form={}, errors={})
    form = request.form
    errors: dict[str, str] = {}
    if form.get("password", "") != form.get("password_confirm", ""):
        errors["password_confirm"] = _("The two passwords differ.")
    status = 422
    try:
        parsed = schemas.parse_applicant(forms.applicant_body(form, kind))
    except Problem as exc:
        errors = {**forms.field_errors(exc), **errors}
        parsed = None
    if parsed is not None and not errors:
        try:
            applicant_auth.registration_allowed()
            with unit_of_work() as uw:
                done = cases.register_applicant(uw, parsed, registrar=None)
        except Refused as exc:
            errors, status = forms.field_errors(exc), exc.status
        else:
            applicant_auth.send_link(done)
            # the same page whether an account was made or the details had one already; an
            # account without e-mail is confirmed at the counter (KTP), one with by the link
            by_counter = not parsed.email
            return render_template("hibah_bansos/check_mail.html", by_counter=by_counter), 202
    safe = {k: v for k, v in form.items() if not k.startswith("password")}
    return render_template(template, kind=kind, form=safe, errors=errors), status


@bp.route(f"{BASE}/register/organisation", methods=["GET", "POST"])
def register_organisation():
    return _register("organisation")


@bp.route(f"{BASE}/register/individual", methods=["GET", "POST"])
def register_individual():
    return _register("individual")


@bp.route(f"{BASE}/confirm", methods=["GET", "POST"])
def confirm():
    """The e-mailed one-time link: confirm the account (or activate it with a password of the
    applicant's own, when an official made it), then sign in."""
    token = (request.values.get("token") or "").strip()
    template = "hibah_bansos/confirm.html"
    found = repository.applicant_by_link(db(), applicant_auth.link_digest(token)) if token else None
    needs_password = found is not None and found.password_hash is None
    db().rollback()  # the look-up's row lock is not kept while the page is shown
    if request.method == "GET":
        return render_template(template, token=token, needs_password=needs_password, error=None)
    password = request.form.get("password") or None
    error, status = _("The two passwords differ."), 422
    if not needs_password or password == request.form.get("password_confirm"):
        try:
            with unit_of_work() as uw:
                applicant = cases.confirm_applicant(uw, token, password)
        except Refused as exc:
            error, status = str(exc), exc.status
        else:
            applicant_auth.sign_in_page(g.tenant.id, applicant.id)
            flash(_("Your account is ready and you are signed in."), "success")
            return redirect(url_for("hb_pages.my_applications"), code=303)
    html = render_template(template, token=token, needs_password=needs_password, error=error)
    return html, status


@bp.route(f"{BASE}/sign-in", methods=["GET", "POST"])
def sign_in():
    nxt = _safe_next(request.args.get("next"))
    if request.method == "GET":
        return render_template("hibah_bansos/sign_in.html", error=None, email="", next=nxt)
    email, password = (request.form.get("email") or "").strip(), request.form.get("password", "")
    applicant, wait = (
        applicant_auth.checked_sign_in(email, password) if email and password else (None, 0)
    )
    if applicant is None:
        if wait:
            error = _("Too many failed sign-ins. Try again in %(seconds)s seconds.", seconds=wait)
        else:
            # an unconfirmed account answers like a wrong password (no oracle), so say both
            error = " ".join(
                (
                    _("Wrong e-mail address, NIK or password."),
                    _(
                        "A new account works once it is confirmed: by the e-mailed link, or "
                        "at the counter with your identity card (KTP)."
                    ),
                )
            )
        return (
            render_template("hibah_bansos/sign_in.html", error=error, email=email, next=nxt),
            429 if wait else 401,
            {"Retry-After": str(wait)} if wait else {},
        )
    applicant_auth.sign_in_page(g.tenant.id, applicant.id)
    flash(_("You are signed in."), "success")
    return redirect(nxt or url_for("hb_pages.my_applications"), code=303)


@bp.post(f"{BASE}/sign-out")
def sign_out():
    applicant_auth.sign_out_page()
    flash(_("You have signed out."), "success")
    return redirect(url_for("hb_pages.index"), code=303)


# --- applicants: a forgotten password ---------------------------------------------------------

RESET_SESSION_KEY = "hb_reset_code"


def _mailer() -> mailer.Mailer:
    return current_app.extensions["hb_mailer"]


@bp.route(f"{BASE}/forgot-password", methods=["GET", "POST"])
def forgot_password():
    """A reset link by e-mail where the account has one; the same answer whether it has or
    not. Without e-mail: the counter (office page password_reset)."""
    if request.method == "GET":
        return render_template("hibah_bansos/forgot_password.html", errors={}, form={})
    email = (request.form.get("email") or "").strip()
    try:
        parsed = schemas.parse(schemas.ResetRequestIn, {"email": email})
    except Problem:
        errors = {"email": _("Enter the e-mail address of your account.")}
        return render_template(
            "hibah_bansos/forgot_password.html", errors=errors, form=request.form
        ), 422
    with unit_of_work() as uw:
        issued = recovery.request_by_email(uw, parsed.email)
    if issued is not None:
        link = url_for("hb_pages.reset_password", code=issued.code, _external=True)
        _mailer().send(
            parsed.email,
            _("Choose a new password: %(city)s, grants and social aid", city=g.tenant.display_name),
            render_template(
                "hibah_bansos/reset_mail.txt",
                link=link,
                code="-".join(recovery.grouped(issued.code)),
                minutes=int(recovery.EMAIL_TTL.total_seconds() // 60),
            ),
        )
    flash(
        _(
            "If an account uses this e-mail address, we sent it a link to choose a new "
            "password. The link works once, for 30 minutes."
        ),
        "success",
    )
    return redirect(url_for("hb_pages.sign_in"), code=303)


@bp.route(f"{BASE}/reset-password", methods=["GET", "POST"])
def reset_password():
    """Type (or follow the link with) a reset code and choose a new password. A code in the
    link moves into the session at once, so the page's own address holds no code."""
    if request.method == "GET":
        if request.args.get("code"):
            session[RESET_SESSION_KEY] = request.args["code"][:64]
            return redirect(url_for("hb_pages.reset_password"), code=303)
        code = session.get(RESET_SESSION_KEY) or ""
        return render_template(
            "hibah_bansos/reset_password.html", errors={}, from_link=bool(code), code=code
        )
    form = request.form
    code = (form.get("reset_code") or session.get(RESET_SESSION_KEY) or "").strip()
    errors: dict[str, str] = {}
    if not code:
        errors["reset_code"] = _("Type the reset code from the e-mail or from the counter.")
    if form.get("password", "") != form.get("password_confirm", ""):
        errors["password_confirm"] = _("The two passwords differ.")
    status = 422
    if not errors:
        try:
            with unit_of_work() as uw:
                recovery.reset_password(uw, code, form.get("password", ""))
        except Refused as exc:
            status = exc.status
            if exc.field == "password":
                errors = {"password": str(forms.INPUT["password"])}
            else:
                errors = {"reset_code": _("This reset code is not valid any more: ask for one.")}
        else:
            session.pop(RESET_SESSION_KEY, None)
            flash(_("Your password is changed. Sign in with it."), "success")
            return redirect(url_for("hb_pages.sign_in"), code=303)
    return render_template(
        "hibah_bansos/reset_password.html",
        errors=errors,
        from_link=bool(session.get(RESET_SESSION_KEY)),
        code="" if session.get(RESET_SESSION_KEY) else form.get("reset_code", ""),
    ), status


def applicant_required(view):
    @functools.wraps(view)
    def inner(*args, **kwargs):
        applicant_id = applicant_auth.page_applicant()
        if applicant_id is None:
            if request.method == "GET":
                return redirect(url_for("hb_pages.sign_in", next=request.path))
            raise Problem(401, "Unauthorized", "Sign in as an applicant first.")
        g.applicant = applicant_actor(applicant_id)
        return view(*args, **kwargs)

    return inner


# --- applicants: applications ------------------------------------------------------------------


@bp.get(f"{BASE}/applications")
@applicant_required
def my_applications():
    return render_template(
        "hibah_bansos/my_applications.html",
        items=views.my_applications(db(), g.tenant, g.applicant.applicant_id),
    )


def _open_programme(code: str) -> Programme:
    p = repository.programme_by_code(db(), code)
    if p is None or not programmes.is_open(p, today(g.tenant)):
        raise Problem(404, "Not Found", "No such open programme.")
    return p


def _uploads(codes: list[str]) -> list[tuple[str, bytes]]:
    """The files chosen on the form, one input per required document."""
    out = []
    for code in codes:
        f = request.files.get(f"doc_{code}")
        if f is not None and (data := f.read()):
            out.append((code, data))  # the client's file name and type are ignored
    return out


def _registry() -> social_registry.SocialRegistry:
    return current_app.extensions["hb_social_registry"]


def _standing(applicant: Applicant, programme: Programme) -> dict | None:
    """The person's standing in the social registry for a programme that needs it (None for
    any other programme, and for organisations): the registry is asked by NIK when it has not
    been in the last day, and only its yes/no and data period are kept."""
    if not views.needs_registry(programme) or applicant.kind != "individual":
        return None
    s = db()
    standing = views.registry_standing(s, applicant)
    if not standing["due"]:
        return standing
    nik = views.personal(s, g.tenant, applicant).get("nik") or ""
    answer = _registry().check(nik)
    if not answer.available:
        return {**standing, "unavailable": True}
    with unit_of_work() as uw:
        cases.record_registry_answer(uw, applicant.id, answer)
    return views.registry_standing(db(), db().get_one(Applicant, applicant.id))


def _opd(programme: Programme) -> str:
    return programme.config.get("opd") or _("the social affairs office (Dinas Sosial)")


@bp.route(f"{BASE}/programmes/<code>/apply", methods=["GET", "POST"])
@applicant_required
def apply(code: str):
    """The form, after what the applicant must know first: the rules they fail (no form then),
    and for bansos their standing in the social registry; a person it does not list may ask
    an official to verify them instead of submitting."""
    programme = _open_programme(code)
    required = programme.config.get("required_documents", [])
    s = db()
    applicant = s.get_one(Applicant, g.applicant.applicant_id)
    standing = _standing(applicant, programme)
    verify = standing is not None and not standing["eligible"]
    blocking = cases.failed_eligibility(s, g.tenant, applicant, programme, 0, defer_registry=True)

    def page(form, errors, status=200, submission=None, rows=None):
        reshown = rows is not None  # shown again after "Tambah baris" or "Hapus"
        rows = rows or forms.rab_rows(form) or forms.rab_rows_of([], forms.RAB_START_ROWS)
        summary = forms.rab_summary(rows, form.get("requested"))
        return render_template(
            "hibah_bansos/apply.html",
            programme=programme,
            name=programme_name(programme),
            required=required,
            documents=document_labels(),
            form=form,
            errors=_rab_difference(errors, summary),
            rows=rows,
            summary=summary,
            reshown=reshown,
            submission=submission or secrets.token_urlsafe(24),
            standing=standing,
            verify=verify,
            opd=_opd(programme),
            blocking=forms.field_errors(Refused(422, "", errors=blocking)) if blocking else {},
            max_amount=programme.config.get("eligibility", {}).get("max_amount"),
        ), status

    if request.method == "GET" or blocking:
        return page({}, {}, 200 if request.method == "GET" else 422)
    form, actor = request.form, g.applicant
    # A random token per rendered form is the Idempotency-Key: a re-sent form saves one draft.
    submission = (form.get("submission") or "")[:200] or None
    if (edited := forms.rab_edit(form)) is not None:  # "Tambah baris" / "Hapus": show again
        return page(form, {}, 200, submission, rows=edited)
    if submission:
        replay = repository.by_idempotency(
            db(), cases.idempotency_digest(actor.applicant_id, submission)
        )
        if replay is not None:
            return redirect(url_for("hb_pages.application", number=replay.number), code=303)
    body, used = forms.application_body(form, programme.code)
    try:
        parsed = schemas.parse(schemas.ApplicationIn, body)
    except Problem as exc:
        return page(form, forms.field_errors(exc, rows={"rab": used}), 422, submission)
    uploads = _uploads(required)

    try:
        with unit_of_work() as uw:  # the draft and its documents, or nothing
            app = cases.create_application(
                uw, actor, parsed, idempotency_key=submission, defer_registry=verify
            )
            for doc_code, content in uploads:
                try:
                    cases.add_document(uw, actor, app.number, doc_code, content)
                except Refused as exc:
                    raise Refused(exc.status, str(exc), f"documents.{doc_code}.file") from None
    except Refused as exc:
        return page(form, forms.field_errors(exc, rows={"rab": used}), exc.status, submission)
    action = form.get("action")
    if action == "verify":
        return _ask_verification(app.number)
    if action != "submit":
        flash(_("Your draft is saved. Add any missing documents, then submit it."), "success")
        return redirect(url_for("hb_pages.application", number=app.number), code=303)
    return _submit(app.number)


def _rab_difference(errors: dict, summary: dict) -> dict:
    """The RAB's "does not add up" refusal says by how much, beside the table."""
    if "rab" in errors and summary["difference"]:
        errors = {
            **errors,
            "rab": _(
                "The lines add up to %(total)s, not to the requested %(requested)s "
                "(difference %(difference)s).",
                total=rupiah(summary["total"]),
                requested=rupiah(summary["requested"]),
                difference=rupiah(abs(summary["difference"])),
            ),
        }
    return errors


def _application_page(number: str, errors: dict | None = None, status: int = 200):
    s = db()
    app = repository.own_application(s, g.applicant, number)
    programme = s.get_one(Programme, app.programme_id)
    view = views.summary_view(app, programme.code, today(g.tenant))
    history = views.history(s, app)
    applicant = s.get_one(Applicant, app.applicant_id)
    standing = (
        views.registry_standing(s, applicant)
        if views.needs_registry(programme) and applicant.kind == "individual"
        else None
    )
    return render_template(
        "hibah_bansos/application.html",
        app=view,
        programme_name=programme_name(programme),
        proposal=views.proposal_text(s, g.tenant, app),
        rab=views.rab_of(s, app),
        lpj=views.lpj_of(s, app),
        documents=repository.documents(s, app.id),
        missing=repository.missing_documents(s, app),
        labels=document_labels(),
        history=history,
        errors=errors or {},
        editable=app.status in ("draft", "returned"),
        can_report=workflow.Status.REPORTED.value
        in workflow.targets_for(app.status, cases.APPLICANT_STEP),
        lpj_rows=forms.LPJ_ROWS,
        evidence=cases.LPJ_EVIDENCE,
        legacy_rab=not repository.rab_lines(s, app.id),
        unspent=lpj_rules.unspent(app.disbursed, app.lpj_spent or 0),
        refund={
            "amount": app.refund_amount,
            "date": app.refund_date,
            "reference": app.refund_reference,
        }
        if app.refund_amount
        else None,
        form=request.form if errors else {},
        standing=standing,
        verify=standing is not None and not standing["eligible"],
        opd=_opd(programme),
    ), status


@bp.get(f"{BASE}/applications/<number>")
@applicant_required
def application(number: str):
    return _application_page(number)


@bp.post(f"{BASE}/applications/<number>/documents")
@applicant_required
def add_documents(number: str):
    code = (request.form.get("code") or "").strip()
    f = request.files.get("file")
    content = f.read() if f is not None else b""
    if not content:
        return _application_page(number, {"file": _("Choose a file first.")}, 422)
    try:
        with unit_of_work() as uw:
            cases.add_document(uw, g.applicant, number, code, content)
    except Refused as exc:
        if exc.status == 404:
            raise
        return _application_page(number, forms.field_errors(exc), exc.status)
    flash(_("The document was added."), "success")
    return redirect(url_for("hb_pages.application", number=number), code=303)


@bp.route(f"{BASE}/applications/<number>/edit", methods=["GET", "POST"])
@applicant_required
def edit_application(number: str):
    """A draft, or an application returned for revision: change the proposal, the requested
    amount and the budget plan (RAB), with "Tambah baris" / "Hapus" as on the first form."""
    s = db()
    app = repository.own_application(s, g.applicant, number)
    programme = s.get_one(Programme, app.programme_id)
    if app.status not in cases.EDITABLE:
        flash(_("This application can no longer be changed."), "error")
        return redirect(url_for("hb_pages.application", number=number), code=303)

    def page(form, errors, status=200, rows=None):
        rows = rows or forms.rab_rows(form)
        summary = forms.rab_summary(rows, form.get("requested"))
        return render_template(
            "hibah_bansos/edit_application.html",
            app=views.summary_view(app, programme.code, today(g.tenant)),
            name=programme_name(programme),
            form=form,
            errors=_rab_difference(errors, summary),
            rows=rows,
            summary=summary,
            reasons=[h for h in views.history(s, app) if h["to"] == "returned" and h["reason"]],
        ), status

    if request.method == "GET":
        current = {
            "proposal": views.proposal_text(s, g.tenant, app),
            "requested": str(app.requested),
        }
        return page(current, {}, rows=forms.rab_rows_of(views.rab_of(s, app)))
    form = request.form
    if (edited := forms.rab_edit(form)) is not None:
        return page(form, {}, rows=edited)
    body, used = forms.application_body(form, programme.code)
    try:
        parsed = schemas.parse(schemas.ApplicationIn, body)
        with unit_of_work() as uw:
            cases.update_application(uw, g.applicant, number, parsed)
    except (Problem, Refused) as exc:
        if isinstance(exc, Refused) and exc.status == 404:
            raise
        return page(form, forms.field_errors(exc, rows={"rab": used}), exc.status)
    flash(_("Your changes are saved. Submit the application again when it is ready."), "success")
    return redirect(url_for("hb_pages.application", number=number), code=303)


@bp.post(f"{BASE}/applications/<number>/documents/<uuid:document_id>/remove")
@applicant_required
def remove_document(number: str, document_id: uuid.UUID):
    try:
        with unit_of_work() as uw:
            cases.remove_document(uw, g.applicant, number, document_id)
    except Refused as exc:
        if exc.status == 404:
            raise
        return _application_page(number, {"(form)": str(forms.CONFLICT["remove"])}, exc.status)
    flash(_("The document was removed."), "success")
    return redirect(url_for("hb_pages.application", number=number), code=303)


def _submit(number: str):
    try:
        with unit_of_work() as uw:
            cases.submit(uw, g.applicant, number)
    except (Refused, workflow.WorkflowError) as exc:
        if isinstance(exc, Refused) and exc.status == 404:
            raise
        if isinstance(exc, workflow.WorkflowError):
            errors = {"(form)": _("This application cannot be submitted in its current status.")}
            return _application_page(number, errors, 409)
        return _application_page(
            number, forms.field_errors(exc, labels=document_labels()), exc.status
        )
    flash(_("Your application is submitted. You can follow its status here."), "success")
    return redirect(url_for("hb_pages.application", number=number), code=303)


def _ask_verification(number: str):
    try:
        with unit_of_work() as uw:
            app = cases.ask_verification(uw, g.applicant, number)
            programme = uw.session.get_one(Programme, app.programme_id)
    except (Refused, workflow.WorkflowError) as exc:
        if isinstance(exc, Refused) and exc.status == 404:
            raise
        if isinstance(exc, workflow.WorkflowError):
            errors = {"(form)": _("Only a draft can be sent for verification.")}
            return _application_page(number, errors, 409)
        return _application_page(
            number, forms.field_errors(exc, labels=document_labels()), exc.status
        )
    flash(
        _(
            "Your application is sent to %(opd)s: an official will verify your situation and "
            "may call you at the phone number you registered. You can follow it here.",
            opd=_opd(programme),
        ),
        "success",
    )
    return redirect(url_for("hb_pages.application", number=number), code=303)


@bp.post(f"{BASE}/applications/<number>/verification")
@applicant_required
def ask_verification(number: str):
    return _ask_verification(number)


@bp.post(f"{BASE}/applications/<number>/submit")
@applicant_required
def submit(number: str):
    return _submit(number)


@bp.post(f"{BASE}/applications/<number>/lpj")
@applicant_required
def file_lpj(number: str):
    """The accountability report (LPJ): spending lines within what was disbursed."""
    body, used = forms.lpj_body(request.form)
    try:
        parsed = schemas.parse(schemas.LpjIn, body)
        with unit_of_work() as uw:
            cases.file_lpj(uw, g.applicant, number, parsed)
    except (Problem, Refused) as exc:
        if isinstance(exc, Refused) and exc.status == 404:
            raise
        return _application_page(number, forms.field_errors(exc, rows={"lines": used}), exc.status)
    except workflow.WorkflowError:
        return _application_page(
            number,
            {"(form)": _("An accountability report can be filed once the money is disbursed.")},
            409,
        )
    flash(_("Your accountability report (LPJ) is filed."), "success")
    return redirect(url_for("hb_pages.application", number=number), code=303)


@bp.post(f"{BASE}/applications/<number>/refund")
@applicant_required
def record_refund(number: str):
    """The unspent balance returned to the kas daerah after the LPJ was filed."""
    try:
        parsed = schemas.parse(schemas.RefundIn, forms.refund_body(request.form))
        with unit_of_work() as uw:
            cases.record_refund(uw, g.applicant, number, parsed)
    except (Problem, Refused) as exc:
        if isinstance(exc, Refused) and exc.status == 404:
            raise
        errors = forms.field_errors(exc)
        errors = {
            f if f.startswith(("refund", "(")) else f"refund.{f}": m for f, m in errors.items()
        }
        return _application_page(number, errors, exc.status)
    flash(_("The return of the unspent balance to the kas daerah is recorded."), "success")
    return redirect(url_for("hb_pages.application", number=number), code=303)
