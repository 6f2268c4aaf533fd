"""Sign-in for officials, shared by every service: API tokens, login/logout pages, CSRF.

`init_app(app)` (called by shared/web.create_service_app) wires, once for every service:
- `POST /t/<tenant>/api/v1/auth/token`  {"username","password","otp"[,"audience"]} -> bearer
  token for this service (or, with `"audience": "audit"`, a short one for the audit service)
- `GET  /t/<tenant>/api/v1/auth/me`     who the token belongs to
- `GET|POST /t/<tenant>/login`, `POST /t/<tenant>/logout`  pages (a server-side session whose
  random id is the cookie's only content); logout ends every token and session of the official
  at this service (its token version is bumped)
- CSRF protection (Flask-WTF) on every form of the service; `csrf_token()` in templates
- separation-of-duties violations answered as 409 problems
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFProtect

from shared import login_throttle
from shared.auth import (
    AUDIT_AUDIENCE,
    SESSION_KEY,
    SESSION_TENANT_KEY,
    Principal,
    bearer_challenge,
    current_principal,
    end_page_sessions,
    is_api_request,
    issue_token,
    open_page_session,
    require_roles,
    token_ttl,
)
from shared.bodies import json_body
from shared.officials import check_credentials, claim_totp_step, revoke_tokens
from shared.problem import Problem, problem_response, validation_error
from shared.request_context import db, ext
from shared.separation import SeparationOfDutiesViolation

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class InvalidCredentials(Exception):
    """Unknown user, wrong password or wrong code: one answer for all."""


@dataclass
class LoginThrottled(Exception):
    retry_after: int


def _models() -> tuple[type, type]:
    """The service's official and throttle tables (its `ServiceModels`)."""
    models = ext()["models"]
    if models.official is None or models.login_throttle is None:
        raise Problem(404, "Not Found", "Sign in at a service; its token is valid here.")
    return models.official, models.login_throttle


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    token_version: int
    official: object  # the service's official row (in the request's session)


def authenticate(username: str, password: str, otp: str) -> SignedIn:
    """Check a sign-in for the request's tenant, counting failures per account and address.
    A TOTP code is taken once for all services (shared/officials.claim_totp_step)."""
    official_model, throttle_model = _models()
    session_ = db()
    keys = login_throttle.Keys.of(
        current_app.config["SECRET_KEY"], g.tenant.id, username, request.remote_addr or "unknown"
    )
    login_throttle.serialise_attempts(session_, keys)
    wait = login_throttle.retry_after(session_, throttle_model, keys)
    if wait:
        session_.rollback()
        raise LoginThrottled(wait)
    official = check_credentials(
        session_,
        official_model,
        username,
        password,
        otp,
        claim_step=lambda o, step: claim_totp_step(
            session_, ext()["service"], g.tenant.id, o.id, step
        ),
    )
    if official is None:
        login_throttle.record_failure(session_, throttle_model, g.tenant.id, keys)
        session_.commit()
        raise InvalidCredentials()
    login_throttle.record_success(session_, throttle_model, keys)
    principal = Principal(official.id, g.tenant.id, official.username, frozenset(official.roles))
    version = official.token_version or 0
    session_.commit()
    return SignedIn(principal, version, official)


# --- JSON API (bearer tokens; no cookies, so no CSRF) -------------------------------------


@bp.post("/t/<tenant>/api/v1/auth/token")
def token():
    body = json_body()
    body = body if isinstance(body, dict) else {}
    missing = [f for f in ("username", "password", "otp") if not isinstance(body.get(f), str)]
    if missing:
        raise validation_error([{"field": f, "reason": "required string"} for f in missing])
    service = ext()["service"]
    audience = body.get("audience", service)
    if audience not in (service, AUDIT_AUDIENCE):
        raise validation_error(
            [{"field": "audience", "reason": f"one of: {service}, {AUDIT_AUDIENCE}"}]
        )
    try:
        signed_in = authenticate(body["username"], body["password"], body["otp"])
    except LoginThrottled as exc:
        return problem_response(
            Problem(
                429,
                "Too Many Requests",
                "Too many failed sign-ins; try again later.",
                retry_after=exc.retry_after,
            ),
            headers={"Retry-After": str(exc.retry_after)},
        )
    except InvalidCredentials:
        return problem_response(
            Problem(401, "Unauthorized", "Username, password or code is not right."),
            headers={"WWW-Authenticate": bearer_challenge()},
        )
    resp = jsonify(
        access_token=issue_token(
            signed_in.principal, version=signed_in.token_version, audience=audience
        ),
        token_type="Bearer",
        expires_in=token_ttl(audience),
    )
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/t/<tenant>/api/v1/auth/me")
@require_roles()
def me():
    p = current_principal()
    return jsonify(
        official_id=str(p.official_id),
        username=p.username,
        roles=sorted(p.roles),
        tenant=g.tenant.slug,
    )


# --- Pages (session cookie; every form carries a CSRF token) ------------------------------


def _safe_next(target: str | None) -> str | None:
    """Only a path inside this tenant: never an open redirect to another site."""
    prefix = f"/t/{g.tenant.slug}/"
    if target and target.startswith(prefix) and "//" not in target and "\\" not in target:
        return target
    return None


def _office_home() -> str:
    """Where a sign-in without `next` lands: the service's officials' home (the endpoint its
    office blueprint names in `OFFICE_HOME`), else this page ("signed in")."""
    endpoint = current_app.config.get("OFFICE_HOME")
    return url_for(endpoint if endpoint in current_app.view_functions else "auth.login")


@bp.route("/t/<tenant>/login", methods=["GET", "POST"])
def login():
    status, headers, error = 200, {}, None
    if request.method == "POST":
        form = request.form
        try:
            signed_in = authenticate(
                form.get("username", ""), form.get("password", ""), form.get("otp", "")
            )
        except LoginThrottled as exc:
            status, headers["Retry-After"] = 429, str(exc.retry_after)
            error = _(
                "Too many failed sign-ins. Try again in %(seconds)s seconds.",
                seconds=exc.retry_after,
            )
        except InvalidCredentials:
            status, error = 401, _("Username, password or code is not right.")
        else:
            session_id = open_page_session(db(), signed_in.official)
            db().commit()
            session.clear()  # a fresh session (and CSRF token) for the signed-in official
            session[SESSION_KEY] = session_id
            session[SESSION_TENANT_KEY] = str(g.tenant.id)
            flash(_("You are signed in."), "success")
            return redirect(_safe_next(request.args.get("next")) or _office_home())
    html = render_template(
        "auth/login.html",
        principal=current_principal(),
        error=error,
        next=_safe_next(request.args.get("next")),
    )
    headers["Cache-Control"] = "no-store"
    return html, status, headers


@bp.post("/t/<tenant>/logout")
def logout():
    """Ends this session and every other token and session of the official at this service."""
    principal = current_principal()
    official_model = ext()["models"].official
    if principal is not None and official_model is not None:
        official = db().get(official_model, principal.official_id)
        revoke_tokens(official)
        end_page_sessions(db(), principal.official_id)
        db().commit()
    session.clear()
    flash(_("You have signed out."), "success")
    return redirect(url_for("auth.login"))


# --- Wiring ---------------------------------------------------------------------------------


def _check_csrf() -> None:
    """CSRF on every state-changing page request. Exempt: the JSON API and any request
    carrying a bearer header: browsers never add either by themselves, and neither is
    authenticated by the session cookie (see shared/auth._presented_principal)."""
    if request.method not in UNSAFE_METHODS or is_api_request():
        return
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return
    csrf.protect()


def _on_separation(exc: SeparationOfDutiesViolation):
    return problem_response(
        Problem(409, "Conflict", str(exc), step=exc.step, conflicting_step=exc.earlier_step)
    )


def _office_door() -> dict:
    """`office_door()` in templates: the footer's and front door's link for officials: their
    home when one of this tenant is signed in, else the sign-in page."""

    def office_door() -> tuple[str, str]:
        if getattr(g, "tenant", None) is not None and current_principal() is not None:
            return _office_home(), _("Officials' home")
        return url_for("auth.login"), _("Officials' sign-in")

    return {"office_door": office_door}


def init_app(app: Flask) -> None:
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)  # _check_csrf decides, for all
    # Our pages send `Referrer-Policy: no-referrer`, so browsers send no Referer (and a
    # null Origin) with form posts; the token plus SameSite cookies and HSTS do the work.
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)
    csrf.init_app(app)  # also provides csrf_token() to every template
    app.before_request(_check_csrf)
    app.register_error_handler(SeparationOfDutiesViolation, _on_separation)
    app.context_processor(_office_door)
    app.register_blueprint(bp)
