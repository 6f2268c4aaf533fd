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
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as web_session
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from operations import key_admin
from operations.replication import onboarding, portal, provisioning
from shared import login_throttle
from shared.auth import Principal, current_principal, require_roles
from shared.event_types import PLATFORM_TENANT_ONBOARDED
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
    return current_principal().pseudonym


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
    form = portal.parse_request(request.get_json(silent=True), templates, date.today())
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
    body = request.get_json(silent=True)
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


@bp.route("/t/<tenant>/onboarding", methods=["GET", "POST"])
def onboard():
    token = web_session.get(ONBOARDING_SESSION) or ""
    try:
        onboarding.open_link(db(), token)
    except Refused:  # no link in this browser's session, or it was used or has expired
        return render_template("replication/onboarding_gone.html"), 410
    # A fresh secret for each form shown, kept in this browser's signed session only: someone
    # who merely opened the link (a link previewer) never learns the secret that gets enrolled.
    key = f"onboarding:{provisioning.token_hash(token)[:16]}"
    error, status = None, 200
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
                actor = Principal(
                    official_id, g.tenant.id, provisioning.ADMIN_USERNAME, frozenset()
                ).pseudonym
                uw.emit(
                    PLATFORM_TENANT_ONBOARDED,
                    f"tenant:{g.tenant.id}",
                    actor,
                    {"tenant_id": str(g.tenant.id), "official_id": str(official_id)},
                )
        except Refused as exc:
            error, status = _onboarding_error(exc), exc.status
        else:
            web_session.pop(key, None)
            web_session.pop(ONBOARDING_SESSION, None)
            # the custodian key is the custodian's: they create it on their own page
            return render_template(
                "replication/onboarding_done.html",
                login_url=url_for("auth.login"),
                custodian_path=key_admin.CUSTODIAN_PAGE.format(slug=g.tenant.slug),
            )
    if request.method == "GET" or key not in web_session:
        web_session[key] = new_totp_secret()
    secret = web_session[key]
    return render_template(
        "replication/onboarding.html",
        error=error,
        secret=secret,
        username=provisioning.ADMIN_USERNAME,
        uri=provisioning_uri(secret, provisioning.ADMIN_USERNAME, g.tenant.slug),
        min_length=onboarding.MIN_PASSWORD_LENGTH,
    ), status


def _onboarding_error(exc: Refused) -> str:
    return {
        "password": _(
            "The password needs at least %(n)s characters.", n=onboarding.MIN_PASSWORD_LENGTH
        ),
        "password_confirm": _("The two passwords differ."),
        "otp": _("The code does not match. Check your phone's clock and enter the next code."),
    }.get(exc.field, _("This onboarding link was used or has expired."))
