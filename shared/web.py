"""Web plumbing shared by every Flask service: the service factory (configuration,
extensions, health routes, tenant resolution, error handlers, security headers), the one way
a handler runs a use case (`unit_of_work()`), and `no_store`."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from flask import Blueprint, Flask, Response, g, jsonify, render_template, request
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from shared import (
    auth_routes,
    error_pages,
    front_door,
    health,
    i18n,
    logging_setup,
    settings,
    suspension,
)
from shared.auth import bearer_challenge, is_api_request
from shared.bounded_cache import BoundedCache
from shared.change_feed import ChangeFeed, feed_for
from shared.db import session_factory
from shared.problem import (
    PROBLEM_TYPES,
    TITLES,
    Problem,
    Refused,
    not_found,
    problem_of,
    problem_response,
)
from shared.request_context import close_db, db, ext
from shared.tenancy import Tenant, load_tenant
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

TENANT_CACHE_SECONDS = 5.0
# Slugs come from URLs: a flood of made-up ones must not grow a worker without end (514 fit).
TENANT_CACHE_SIZE = 2048


@dataclass(frozen=True)
class ServiceModels:
    """A service's own tables that shared code works on: shared/ never imports services/, the
    service's app factory passes them in; at request time they are `ext()["models"]`."""

    tenant: type
    outbox: type | None = None
    official: type | None = None
    login_throttle: type | None = None


# Turns a unique index that fired into the refusal the service means by it (None: a bug).
IntegrityHook = Callable[[IntegrityError], Refused | None]


class TenantCache:
    """Tenant rows change rarely (config applies); a cache saves a query per request. It lives
    until the database says a tenant changed (shared/change_feed.py), TENANT_CACHE_SECONDS
    while this process does not hear it."""

    def __init__(self, factory: sessionmaker[Session], model: type, service: str) -> None:
        self.factory, self.model, self.service = factory, model, service
        self._entries: BoundedCache[str, tuple[float, int, Tenant | None]] = BoundedCache(
            TENANT_CACHE_SIZE
        )

    def feed(self) -> ChangeFeed:
        return feed_for(self.factory.kw["bind"])

    def get(self, slug: str) -> Tenant | None:
        feed = self.feed()
        hit = self._entries.get(slug)
        if hit and feed.fresh(hit[0], hit[1], TENANT_CACHE_SECONDS):
            return hit[2]
        now, stamp = time.monotonic(), feed.stamp()
        with self.factory() as session:
            # One statement on its own: autocommit spares the BEGIN and ROLLBACK round trips
            # (a miss is most requests on a deployment of 514 cities, where a tenant is seen
            # less often than every TENANT_CACHE_SECONDS: docs/benchmarks-profile-514.md).
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            tenant = load_tenant(session, self.model, slug, self.service)
        self._entries[slug] = (now, stamp, tenant)
        return tenant

    def clear(self) -> None:
        self._entries.clear()


def create_service_app(
    service: str,
    import_name: str,
    engine: Engine,
    models: ServiceModels,
    *,
    integrity_refusal: IntegrityHook | None = None,
    domain_errors: tuple[type[Exception], ...] = (),
    extra_ready_checks: dict[str, Callable[[], str | None]] | None = None,
    ready_warnings: Callable[[], dict[str, str]] | None = None,
) -> Flask:
    """A service's Flask app with everything every service has; the service's composition
    root then registers its own blueprints (and operations/apps.py the operator pages).

    `domain_errors`: the service's domain exception bases; each carries `status` (and
    `field`, `extra`) and is answered by the one refusal handler, like `Refused`."""
    logging_setup.install()
    app = Flask(import_name, static_folder=None)
    _configure(app, service)
    _install_extensions(app, service, engine, models, integrity_refusal)
    _add_health_routes(app, service, engine, extra_ready_checks or {}, ready_warnings)
    _resolve_tenants(app)
    _register_error_handlers(app, domain_errors)
    app.register_blueprint(front_door.bp)  # /t/<tenant>/, the city's front door
    app.jinja_env.globals["tenant_home"] = error_pages.tenant_home
    _add_problem_type_routes(app)
    app.after_request(challenge_unauthorized)
    app.after_request(security_headers)
    return app


def _configure(app: Flask, service: str) -> None:
    """Settings from the environment, translations, the shared static files, proxies."""
    service_dir = Path(__file__).resolve().parent.parent / "services" / service
    i18n.init_app(app, service_dir)
    app.register_blueprint(
        Blueprint(
            "replika_static", __name__, static_folder="static", static_url_path="/static/replika"
        )
    )
    web = settings.WebSettings.from_env()
    app.config.update(
        SECRET_KEY=web.secret_key,
        SESSION_COOKIE_SECURE=web.secure_cookies,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    if web.trusted_proxies:
        # only the last N hops are believed: a client cannot forge its address past them
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # Flask's documented way
            app.wsgi_app, x_for=web.trusted_proxies, x_proto=web.trusted_proxies
        )


def _install_extensions(
    app: Flask,
    service: str,
    engine: Engine,
    models: ServiceModels,
    integrity_refusal: IntegrityHook | None,
) -> None:
    """The service's wiring (shared/request_context.ext()), the read-only rule of suspended
    tenants, and officials' sign-in with CSRF on every form."""
    factory = session_factory(engine)
    app.extensions["replika"] = {
        "service": service,
        "engine": engine,
        "sessions": factory,
        "tenants": TenantCache(factory, models.tenant, service),
        "models": models,
        "integrity_refusal": integrity_refusal,
    }
    app.teardown_request(close_db)
    suspension.init_app(app)  # a suspended tenant is read-only (checked here, for every service)
    auth_routes.init_app(app)  # officials' sign-in routes, CSRF on every form, 409 on SoD


def _add_health_routes(
    app: Flask,
    service: str,
    engine: Engine,
    extra_ready_checks: dict[str, Callable[[], str | None]],
    ready_warnings: Callable[[], dict[str, str]] | None = None,
) -> None:
    """`/healthz` (the process answers) and `/readyz` (its database and Kafka answer)."""

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok", service=service)

    @app.get("/readyz")
    def readyz():
        checks: dict[str, Callable[[], str | None]] = {
            "database": lambda: health.check_database(engine),
            "kafka": lambda: health.check_kafka(settings.kafka_bootstrap()),
            **extra_ready_checks,
        }
        failed = {name: reason for name, check in checks.items() if (reason := check()) is not None}
        if failed:
            names = ", ".join(sorted(failed))
            return problem_response(
                Problem(
                    503,
                    "Service Unavailable",
                    f"Not ready: {names}",
                    failed=sorted(failed),
                    reasons=failed,
                )
            )
        warnings = ready_warnings() if ready_warnings is not None else {}
        if warnings:
            return jsonify(
                status="ready", service=service, checks=sorted(checks), warnings=warnings
            )
        return jsonify(status="ready", service=service, checks=sorted(checks))


def _resolve_tenants(app: Flask) -> None:
    """`/t/<tenant>/…` sets `g.tenant` (404 for an unknown or disabled tenant), URLs built
    inside a tenant's request keep it, and `GET /t/<tenant>/api/v1/tenant` describes it."""

    @app.url_value_preprocessor
    def resolve_tenant(endpoint, values):
        if values and "tenant" in values:
            slug = values.pop("tenant")
            tenant = app.extensions["replika"]["tenants"].get(slug)
            if tenant is None:
                raise Problem(404, "Not Found", "No such tenant.")
            g.tenant = tenant

    @app.url_defaults
    def keep_tenant(endpoint, values):
        if (
            "tenant" not in values
            and getattr(g, "tenant", None) is not None
            and app.url_map.is_endpoint_expecting(endpoint, "tenant")
        ):
            values["tenant"] = g.tenant.slug

    @app.get("/t/<tenant>/api/v1/tenant")
    def tenant_info():
        t: Tenant = g.tenant
        return jsonify(
            slug=t.slug,
            name=t.config.get("name"),
            display_name=t.display_name,
            locale=t.locale,
            timezone=t.timezone,
            branding=t.config.get("branding", {}),
            services=sorted(t.config.get("services", {})),
        )


def _register_error_handlers(app: Flask, domain_errors: tuple[type[Exception], ...]) -> None:
    """Every error answers as a problem document: refusals and domain errors with their
    status, HTTP errors with theirs, an unreachable database 503, anything else 500."""

    def on_refused(exc: Exception):
        return on_problem(problem_of(exc), getattr(exc, "headers", None))

    refusals: tuple[type[Exception], ...] = (Refused, *domain_errors)
    for refusal in refusals:
        app.register_error_handler(refusal, on_refused)

    @app.errorhandler(Problem)
    def on_problem(p: Problem, headers: dict[str, str] | None = None):
        if (
            p.status == 401
            and request.method == "GET"
            and g.get("tenant") is not None
            and not is_api_request()
        ):
            # an official's page opened without a session: the same 401, as a page that
            # leads to sign-in and back (the API keeps its problem+json)
            return (
                render_template("auth/sign_in_required.html", next=request.full_path.rstrip("?")),
                401,
                {"Cache-Control": "no-store"},
            )
        page = error_pages.page_for(p.status, headers)  # a person's browser gets a page
        return page if page is not None else problem_response(p, headers)

    @app.errorhandler(HTTPException)
    def on_http(exc: HTTPException):
        moved = error_pages.slash_redirect(exc)  # `/t/cimahi/hibah-bansos/` → without the slash
        if moved is not None:
            return moved
        allow = exc.get_response().headers.get("Allow") if exc.code == 405 else None
        page = error_pages.page_for(exc.code or 500, {"Allow": allow} if allow else None)
        if page is not None:
            return page
        code = exc.code or 500
        # the one title table (werkzeug says "Request Entity Too Large" for 413, RFC 9110
        # "Content Too Large")
        resp = problem_response(Problem(code, TITLES.get(code, exc.name), exc.description))
        if exc.code == 405 and exc.get_response().headers.get("Allow"):
            resp.headers["Allow"] = exc.get_response().headers["Allow"]
        return resp

    @app.errorhandler(DataError)
    def on_data_error(exc: DataError):
        # a value PostgreSQL refuses (out of range, a byte it cannot store): the client's, not
        # a bug. Logged by SQLSTATE only: engines hide parameters, and so does this line.
        log.info(
            "database refused a value on %s %s: SQLSTATE %s",
            request.method,
            request.url_rule,
            getattr(exc.orig, "sqlstate", None),
        )
        return problem_response(
            Problem(422, None, "A value in the request cannot be stored; check the fields.")
        )

    @app.errorhandler(Exception)
    def on_error(exc: Exception):
        if database_unavailable(exc):  # an outage, not a bug: 503 tells clients to retry
            log.warning(
                "database unavailable on %s %s: %s",
                request.method,
                request.url_rule,
                type(exc).__name__,
            )
            page = error_pages.page_for(503, {"Retry-After": "5"})
            return page or problem_response(
                Problem(
                    503,
                    "Service Unavailable",
                    "The database is not reachable; try again shortly.",
                    failed=["database"],
                ),
                {"Retry-After": "5"},
            )
        log.exception("unhandled error on %s %s", request.method, request.url_rule)
        return error_pages.page_for(500) or problem_response(Problem(500, "Internal Server Error"))


def _add_problem_type_routes(app: Flask) -> None:
    """`GET /problems/<name>`: what a problem type means and what its members hold. The `type`
    of a problem document is the relative reference `/problems/<name>`, so it resolves here."""

    @app.get("/problems/<name>")
    def problem_type(name: str):
        found = PROBLEM_TYPES.get(name)
        if found is None:
            raise not_found("problem type")
        resp = jsonify(found.describe())
        resp.headers["Cache-Control"] = "public, max-age=86400"
        return resp


def challenge_unauthorized(resp: Response) -> Response:
    """`after_request` of every service: a 401 of the API (or of any request that sent a bearer
    token) says how to authenticate, `WWW-Authenticate: Bearer realm="<tenant>"` (RFC 9110
    §11.6.1, RFC 6750 §3); a route with a scheme of its own (receipts) has set its header."""
    if (
        resp.status_code == 401
        and "WWW-Authenticate" not in resp.headers
        and (is_api_request() or request.headers.get("Authorization", "").startswith("Bearer "))
    ):
        resp.headers["WWW-Authenticate"] = bearer_challenge()
    return resp


def security_headers(resp: Response) -> Response:
    """`after_request` of every service: no sniffing, no referrer, a strict CSP, HSTS, no
    framing (a response that set its own keeps it)."""
    h = resp.headers
    h.setdefault("X-Content-Type-Options", "nosniff")
    h.setdefault("Referrer-Policy", "no-referrer")
    h.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    )
    h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    h.setdefault("X-Frame-Options", "DENY")
    return resp


def database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached or dropped the connection (server stopped or
    restarting): no SQLSTATE (refused, reset), class 08 (connection exception) or 57P
    (shut down, starting up). Serialization failures and timeouts stay errors."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    # raw driver errors too: the tenant setting is sent on the driver connection, in a
    # pipeline with BEGIN (shared/db.py), where SQLAlchemy does not wrap what psycopg raises
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    return isinstance(orig, psycopg.OperationalError) and (
        orig.sqlstate is None or orig.sqlstate.startswith(("08", "57P"))
    )


@contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """The one way a handler runs a use case: `with unit_of_work() as uw: cases.do(uw, ...)`.
    Commits (state and outbox events together) when the block ends, rolls back when it raises;
    a unique index firing is answered by the service's integrity hook (409 naming the field),
    never 500. Handlers never commit by themselves."""
    wiring = ext()
    uw = UnitOfWork(db(), g.tenant, wiring["service"], wiring["models"].outbox)
    try:
        yield uw
        uw.commit()
    except IntegrityError as exc:
        uw.rollback()
        hook: IntegrityHook | None = wiring.get("integrity_refusal")
        refusal = hook(exc) if hook is not None else None
        if refusal is not None:
            raise refusal from None
        raise
    except BaseException:
        uw.rollback()
        raise


def no_store(resp: Response) -> Response:
    """`after_request` for responses that show personal data, receipts or secrets."""
    resp.headers.setdefault("Cache-Control", "no-store")
    return resp
