"""Flask application factory of the audit service (the auditor API in services/audit/api.py).
Production: `gunicorn 'operations.apps:audit()'`."""

from __future__ import annotations

from flask import Flask, request
from sqlalchemy import select

from services.audit import api
from services.audit.models import TenantRow
from shared.db import service_engine
from shared.problem import Problem
from shared.tenancy import Tenant
from shared.web import ServiceModels, TenantCache, create_service_app

SERVICE = "audit"


class AuditTenantCache(TenantCache):
    """Every enabled tenant has a ledger, whichever services it runs."""

    def get(self, slug: str) -> Tenant | None:
        with self.factory() as session:
            row = session.execute(
                select(TenantRow).where(TenantRow.slug == slug)
            ).scalar_one_or_none()
        return Tenant(row.id, row.slug, row.config) if row is not None and row.enabled else None


def no_sign_in_here() -> None:
    """The audit database holds no officials: sign in at a service, bring the token here."""
    if request.endpoint in ("auth.token", "auth.login"):
        raise Problem(404, "Not Found", "Sign in at a service; its token is valid here.")


def create_app() -> Flask:
    app = create_service_app(SERVICE, __name__, service_engine(SERVICE), ServiceModels(TenantRow))
    ext = app.extensions["replika"]
    ext["tenants"] = AuditTenantCache(ext["sessions"], TenantRow, SERVICE)
    app.before_request(no_sign_in_here)
    app.register_blueprint(api.bp)
    return app
