"""Suspended tenants are read-only: the one place every service checks it.

`init_app(app)` (called by shared/web.create_service_app) refuses every state-changing request
under /t/<slug>/ of a tenant whose configuration says `suspended: true`, with a 503 problem;
reads still work and pages show a notice (shared/templates/base.html). Officials may still
sign in and out, so that they can read their cases while the tenant is suspended.
"""

from __future__ import annotations

from flask import Flask, g, request

from shared.problem import Problem

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Signing in changes no data of the city; reading a suspended city needs it.
ALLOWED_ENDPOINTS = frozenset({"auth.token", "auth.login", "auth.logout"})


def is_suspended(tenant) -> bool:
    return bool(tenant is not None and tenant.config.get("suspended"))


def refuse_writes_when_suspended() -> None:
    tenant = getattr(g, "tenant", None)
    if (
        request.method in UNSAFE_METHODS
        and is_suspended(tenant)
        and request.endpoint not in ALLOWED_ENDPOINTS
    ):
        raise Problem(
            503,
            "Service Unavailable",
            "tenant suspended: this city's services are read-only for now.",
            tenant_suspended=True,
        )


def init_app(app: Flask) -> None:
    app.before_request(refuse_writes_when_suspended)

    @app.context_processor
    def suspended_flag():
        return {"tenant_suspended": is_suspended(getattr(g, "tenant", None))}
