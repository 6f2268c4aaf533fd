"""HTTP side of replication (thin handlers), served by the whistleblowing service:

    GET  /t/<host>/api/v1/replication/catalogue                     public
    POST /t/<host>/api/v1/replication/requests                      public -> 201 pending
    GET  /t/<host>/api/v1/replication/requests[?status=]            tenant_admin
    GET  /t/<host>/api/v1/replication/requests/<id>                 tenant_admin
    POST /t/<host>/api/v1/replication/requests/<id>/decision        tenant_admin {"approve","reason"}
    POST /t/<host>/api/v1/replication/requests/<id>/provision       tenant_admin: resume
    POST /t/<host>/api/v1/replication/requests/<id>/onboarding-link tenant_admin: new link
    GET  /t/<host>/replication                                      catalogue page
    GET  /t/<new>/onboarding/<token>      the link: its token is exchanged for this browser's
                                          session, then a redirect to the page without it
    GET|POST /t/<new>/onboarding                                    one-time onboarding page

Only a tenant whose configuration says `replication_host: true` hosts the portal (others 404).
Plugged into the whistleblowing app by its composition root (operations/apps.py); the tables
it reads through the app's `ServiceModels`.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as web_session
from flask_babel import get_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from operations import key_admin, qr
from operations.replication import onboarding, portal, provisioning, regions
from shared import login_throttle
from shared.auth import (
    SESSION_KEY,
    SESSION_TENANT_KEY,
    Principal,
    official_actor,
    open_page_session,
    require_roles,
)
from shared.bodies import json_body
from shared.event_types import PLATFORM_OFFICIAL_ENROLLED, PLATFORM_TENANT_ONBOARDED
from shared.officials import new_totp_secret, provisioning_uri
from shared.problem import Problem, Refused, problem_response
from shared.request_context import ext
from shared.tenant_config import TenantConfigError, load_file
from shared.web import db, no_store, unit_of_work

log = logging.getLogger(__name__)
bp = Blueprint("replication", __name__, template_folder="templates")
bp.after_request(no_store)  # contacts and onboarding secrets
API = "/t/<tenant>/api/v1/replication"


def _host() -> None:
    if not g.tenant.config.get("replication_host"):
        raise Problem(404, "Not Found", "This city offers no replication portal.")


def _templates() -> dict[str, dict]:
    """The tenant files of this deployment: the cities a new one can start from."""
    found = {}
    for path in sorted(provisioning.tenants_dir().glob("*.yaml")):
        try:
            config = load_file(path)
        except TenantConfigError:
            log.warning("replication: skipping invalid tenant file %s", path.name)
            continue
        if config.data.get("enabled", True) and not config.data.get("suspended"):
            found[config.slug] = config.data
    return found


def _request_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise Refused(404, "no such replication request") from None


def _actor() -> str:
    return official_actor().pseudonym


# --- public ---------------------------------------------------------------------------------


@bp.get(f"{API}/catalogue")
def catalogue():
    _host()
    return jsonify(host=g.tenant.slug, **portal.catalogue(_templates()))


def _throttled() -> Response | None:
    """A few accepted requests per client address and day: the form is public and each
    request reaches a person (the host's tenant admin). Counted in the database in the
    request's own transaction (so only accepted requests count), shared by every worker and
    replica; the key is an HMAC, so the table holds no addresses."""
    throttle_model = ext()["models"].login_throttle
    key = login_throttle.throttle_key(
        current_app.config["SECRET_KEY"],
        f"{g.tenant.id}:replication-request",
        request.remote_addr or "",
    )
    session = db()
    wait = login_throttle.retry_after(session, throttle_model, [key])
    if wait:
        return problem_response(
            Problem(
                429,
                "Too Many Requests",
                "Too many replication requests from this address; try again later.",
            ),
            headers={"Retry-After": str(wait)},
        )
    login_throttle.count(session, throttle_model, g.tenant.id, [(key, login_throttle.PUBLIC_FORM)])
    return None


@bp.post(f"{API}/requests")
def submit():
    _host()
    if (refused := _throttled()) is not None:
        return refused
    templates = _templates()
    form = portal.parse_request(json_body(), templates, date.today())
    tenant_model = ext()["models"].tenant
    existing = set(db().execute(select(tenant_model.slug)).scalars()) | set(templates)
    try:
        with unit_of_work() as uw:
            req = portal.submit(uw, form, existing)
    except IntegrityError:  # the same slug asked for at the same moment (unique index)
        raise Refused(409, "a request for this slug is already under way", "slug") from None
    log.info("replication: request %s received", req.id)  # ids only: no contact data
    return jsonify(request_id=str(req.id), status=req.status, slug=req.new_slug), 201


@bp.get("/t/<tenant>/replication")
def catalogue_page():
    _host()
    return render_template("replication/catalogue.html", catalogue=portal.catalogue(_templates()))


# --- the hosting city's tenant admin ----------------------------------------------------------


@bp.get(f"{API}/requests")
@require_roles("tenant_admin")
def list_requests():
    _host()
    rows = portal.list_requests(db(), request.args.get("status"))
    return jsonify(
        items=[dict(portal.public_view(r), contact=portal.contact_of(db(), r)) for r in rows]
    )


@bp.get(f"{API}/requests/<request_id>")
@require_roles("tenant_admin")
def show_request(request_id: str):
    _host()
    req = portal.get_request(db(), _request_id(request_id))
    return jsonify(dict(portal.public_view(req), contact=portal.contact_of(db(), req)))


def _provision(request_id: uuid.UUID):
    """Provision (or resume) and answer; an interrupted run answers 503 with its progress."""
    try:
        with unit_of_work() as uw:
            done = provisioning.provision(uw, request_id, _actor())
    except Refused:
        raise
    except Exception:  # rolled back; the steps already recorded stay recorded
        log.exception("replication: provisioning of %s interrupted", request_id)
        req = portal.get_request(db(), request_id)
        return problem_response(
            Problem(
                503,
                "Service Unavailable",
                "Provisioning was interrupted; POST .../provision to resume where it stopped.",
                request_id=str(request_id),
                steps=req.steps,
            )
        )
    ext()["tenants"].clear()  # the new city answers at once here
    body = dict(portal.public_view(done.request), tenant=done.request.new_slug)
    if done.onboarding_token:  # shown once: pass it to the contact official
        body["onboarding_url"] = provisioning.onboarding_path(
            done.request.new_slug, done.onboarding_token
        )
    return jsonify(body)


@bp.post(f"{API}/requests/<request_id>/decision")
@require_roles("tenant_admin")
def decide(request_id: str):
    _host()
    body = json_body()
    body = body if isinstance(body, dict) else {}
    if not isinstance(body.get("approve"), bool):
        raise Refused(422, "true or false", "approve")
    if body.get("reason") is not None and not isinstance(body.get("reason"), str):
        raise Refused(422, "text", "reason")
    with unit_of_work() as uw:
        req = portal.decide(
            uw, _request_id(request_id), body["approve"], body.get("reason") or "", _actor()
        )
    if not body["approve"]:
        return jsonify(portal.public_view(req))
    return _provision(req.id)


@bp.post(f"{API}/requests/<request_id>/provision")
@require_roles("tenant_admin")
def resume(request_id: str):
    _host()
    return _provision(_request_id(request_id))


@bp.post(f"{API}/requests/<request_id>/onboarding-link")
@require_roles("tenant_admin")
def reissue(request_id: str):
    _host()
    req_id = _request_id(request_id)
    with unit_of_work() as uw:
        token = provisioning.reissue_onboarding(uw, req_id, _actor())
    req = portal.get_request(db(), req_id)
    return jsonify(
        request_id=str(req.id), onboarding_url=provisioning.onboarding_path(req.new_slug, token)
    )


# --- the new city's first tenant admin --------------------------------------------------------


ONBOARDING_SESSION = "onboarding-token"


@bp.route("/t/<tenant>/onboarding/<token>", methods=["GET", "POST"])
def onboarding_link(token: str):
    """The link's token is spent at once for a fresh one in this browser's session: the page
    itself has no secret in its address (access logs, Referer, browser history)."""
    try:
        with unit_of_work() as uw:
            fresh = onboarding.exchange(uw.session, token)
    except Refused:  # unknown, spent (exchanged) or expired: the same answer
        return render_template("replication/onboarding_gone.html"), 410
    web_session[ONBOARDING_SESSION] = fresh
    return redirect(url_for("replication.onboard"), code=303)


def _enrolled_official(session, official_id):
    from services.whistleblowing.models import OfficialRow

    return session.get(OfficialRow, official_id)


def home_of(slug: str, roles) -> str:
    """Where a freshly enrolled official starts: their own work."""
    if "tenant_admin" in roles:
        return f"/t/{slug}/admin/"
    if "identity_custodian" in roles:  # their first task: create the key only they can open
        return key_admin.CUSTODIAN_PAGE.format(slug=slug)
    return url_for("wb_office.home")  # what waits for their roles


@bp.route("/t/<tenant>/onboarding", methods=["GET", "POST"])
def onboard():
    """The first tenant admin's onboarding, and every official's enrolment (the same link)."""
    token = web_session.get(ONBOARDING_SESSION) or ""
    try:
        link = onboarding.open_link(db(), token)
    except Refused:  # no link in this browser's session, or it was used or has expired
        return render_template("replication/onboarding_gone.html"), 410
    official = _enrolled_official(db(), link.official_id)
    username = official.username if official is not None else provisioning.ADMIN_USERNAME
    # A fresh secret for each form shown, kept in this browser's signed session only: someone
    # who merely opened the link (a link previewer) never learns the secret that gets enrolled.
    key = f"onboarding:{provisioning.token_hash(token)[:16]}"
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST" and key in web_session:
        form = request.form
        try:
            with unit_of_work() as uw:
                official_id = onboarding.complete(
                    uw.session,
                    g.tenant.id,
                    token,
                    form.get("password", ""),
                    form.get("password_confirm", ""),
                    web_session[key],
                    form.get("otp", ""),
                )
                row = _enrolled_official(uw.session, official_id)
                principal = Principal(official_id, g.tenant.id, row.username, frozenset(row.roles))
                page_session = open_page_session(uw.session, row)
                data = {"tenant_id": str(g.tenant.id), "official_id": str(official_id)}
                if link.request_id == provisioning.NO_REQUEST:
                    uw.emit(
                        PLATFORM_OFFICIAL_ENROLLED,
                        f"official:{official_id}",
                        principal.pseudonym,
                        data,
                    )
                else:
                    uw.emit(
                        PLATFORM_TENANT_ONBOARDED,
                        f"tenant:{g.tenant.id}",
                        principal.pseudonym,
                        data,
                    )
        except Refused as exc:
            errors, status = {exc.field or "otp": _onboarding_error(exc)}, exc.status
        else:
            web_session.pop(key, None)
            web_session.pop(ONBOARDING_SESSION, None)
            # they just proved both factors: signed in at once, so the enrolment code is never
            # typed again (it is spent: a sign-in needs the next code)
            web_session.clear()
            web_session[SESSION_KEY] = page_session  # a server-side session (shared/auth.py)
            web_session[SESSION_TENANT_KEY] = str(g.tenant.id)
            flash(
                _(
                    "Your account is ready and you are signed in. Next time, wait for the next "
                    "code in your authenticator app: a code works only once."
                ),
                "success",
            )
            return redirect(home_of(g.tenant.slug, principal.roles), code=303)
    if request.method == "GET" or key not in web_session:
        web_session[key] = new_totp_secret()
    secret = web_session[key]
    uri = provisioning_uri(secret, username, g.tenant.slug)
    return render_template(
        "replication/onboarding.html",
        errors=errors,
        secret=secret,
        groups=[secret[i : i + 4] for i in range(0, len(secret), 4)],
        username=username,
        uri=uri,
        qr=qr.svg(uri, _("QR code for your authenticator app")),
        first_admin=link.request_id != provisioning.NO_REQUEST,
        min_length=onboarding.MIN_PASSWORD_LENGTH,
    ), status


def _onboarding_error(exc: Refused) -> str:
    return {
        "password": _(
            "The password needs at least %(n)s characters.", n=onboarding.MIN_PASSWORD_LENGTH
        ),
        "password_confirm": _("The two passwords differ."),
        "otp": _("The code does not match. Check your phone's clock and enter the next code."),
    }.get(exc.field or "", _("This onboarding link was used or has expired."))


# --- the portal as pages: request form, tracking, the host's review -------------------------


def _tracker() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="replika.replication-track")


def tracking_code(request_id: uuid.UUID) -> str:
    """The code given at submission: it names the request and only opens its status page."""
    return _tracker().dumps(str(request_id))


def _tracked(code: str) -> uuid.UUID:
    try:
        return uuid.UUID(_tracker().loads(code.strip()))
    except (BadSignature, ValueError, TypeError):
        raise Refused(404, "no such replication request") from None


def _field_messages() -> dict[str, str]:
    return {
        "region_name": _("Write the name of the regional government (at most 200 characters)."),
        "region_code": _("Pick the region from the list."),
        "slug": _(
            "Use 2-63 lower-case letters, digits and '-'; this address is taken or reserved."
        ),
        "contact_name": _("Write the contact official's name."),
        "contact_email": _("Write a valid e-mail address, for example nama@kotaanda.go.id."),
        "applications": _("Choose at least one application."),
        "agreement_number": _("Write the number of the cooperation agreement (MoU / PKS)."),
        "agreement_date": _("Write the agreement's date; it cannot be in the future."),
        "template": _("Choose a city to start from that runs every application you asked for."),
    }


def _request_body(form) -> dict:
    return {
        "region_name": form.get("region_name", ""),
        "region_code": form.get("region_code", ""),
        "slug": form.get("slug", "").strip().lower() or None,
        "contact_name": form.get("contact_name", ""),
        "contact_email": form.get("contact_email", "").strip(),
        "applications": form.getlist("applications"),
        "agreement_number": form.get("agreement_number", ""),
        "agreement_date": form.get("agreement_date", ""),
        "template": form.get("template", ""),
    }


@bp.route("/t/<tenant>/replication/request", methods=["GET", "POST"])
def request_page():
    _host()
    templates = _templates()
    errors: dict[str, str] = {}
    values: dict = {"applications": list(portal.APPLICATIONS)}
    status = 200
    if request.method == "POST":
        values = _request_body(request.form)
        messages = _field_messages()
        try:
            form = portal.parse_request(values, templates, date.today())
            if (refused := _throttled()) is not None:
                return refused
            tenant_model = ext()["models"].tenant
            existing = set(db().execute(select(tenant_model.slug)).scalars()) | set(templates)
            with unit_of_work() as uw:
                req = portal.submit(uw, form, existing)
        except Refused as exc:
            found = exc.errors or [{"field": exc.field or "slug"}]
            errors = {e["field"]: messages.get(e["field"], e.get("reason", "")) for e in found}
            status = exc.status
        except IntegrityError:
            errors, status = {"slug": messages["slug"]}, 409
        else:
            log.info("replication: request %s received (page)", req.id)
            flash(
                _(
                    "Your request was sent. Keep this page's address (or the code below) to "
                    "follow it."
                ),
                "success",
            )
            return redirect(url_for(".track_page", code=tracking_code(req.id)), code=303)
    return render_template(
        "replication/request.html",
        catalogue=portal.catalogue(templates),
        regions=regions.REGIONS,
        values=values,
        errors=errors,
    ), status


@bp.get("/t/<tenant>/replication/track")
def track_lookup():
    _host()
    code = request.args.get("code", "").strip()
    if code:
        try:
            _tracked(code)
        except Refused:
            return render_template(
                "replication/track_lookup.html",
                code=code,
                error=_("No request has this code. Check it and try again."),
            ), 404
        return redirect(url_for(".track_page", code=code), code=303)
    return render_template("replication/track_lookup.html", code="", error=None)


@bp.get("/t/<tenant>/replication/track/<code>")
def track_page(code: str):
    _host()
    req = portal.get_request(db(), _tracked(code))
    return render_template(
        "replication/track.html",
        req=req,
        expired=portal.expired(req),
        code=code,
        url=request.url_root.rstrip("/") + url_for(".track_page", code=code),
        names=_application_names(),
    )


def _application_names() -> dict[str, str]:
    lang = "en" if str(get_locale()).startswith("en") else "id"
    return {code: entry["name"][lang] for code, entry in portal.APPLICATIONS.items()}


@bp.get("/t/<tenant>/admin/replication")
@require_roles("tenant_admin")
def review_page():
    _host()
    return _review(errors={})


def _review(errors: dict, status: int = 200, reasons: dict | None = None):
    rows = portal.list_requests(db())
    pending = [r for r in rows if r.status == "pending" and not portal.expired(r)]
    return render_template(
        "replication/review.html",
        pending=[(r, portal.contact_of(db(), r)) for r in pending],
        others=[r for r in rows if r not in pending][:50],
        templates=_templates(),
        names=_application_names(),
        errors=errors,
        reasons=reasons or {},
        expired=portal.expired,
    ), status


@bp.post("/t/<tenant>/admin/replication/<uuid:request_id>/decision")
@require_roles("tenant_admin")
def decide_page(request_id: uuid.UUID):
    _host()
    approve = request.form.get("decision") == "approve"
    reason = request.form.get("reason", "")
    try:
        with unit_of_work() as uw:
            req = portal.decide(uw, request_id, approve, reason, _actor())
    except Refused as exc:
        message = (
            _("Write the reason for rejecting; the city will read it.")
            if exc.field == "reason"
            else _("This request can no longer be decided: it was decided already or expired.")
        )
        return _review({str(request_id): message}, exc.status, {str(request_id): reason})
    if not approve:
        flash(_("Request of %(name)s rejected.", name=req.region_name), "success")
        return redirect(url_for(".review_page"), code=303)
    try:
        with unit_of_work() as uw:
            done = provisioning.provision(uw, req.id, _actor())
    except Exception:
        log.exception("replication: provisioning of %s interrupted", req.id)
        flash(_("Provisioning was interrupted; try again in a moment."), "error")
        return redirect(url_for(".review_page"), code=303)
    ext()["tenants"].clear()
    path = provisioning.onboarding_path(done.request.new_slug, done.onboarding_token or "")
    url = request.url_root.rstrip("/") + path
    return render_template(
        "replication/approved.html",
        req=done.request,
        contact=portal.contact_of(db(), done.request),
        url=url if done.onboarding_token else None,
        qr=qr.svg(url, _("QR code of the onboarding link")) if done.onboarding_token else None,
    )
