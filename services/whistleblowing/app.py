"""Flask application factory of the whistleblowing service: the service's own app. Production
runs it with the operator pages plugged in: `gunicorn 'operations.apps:whistleblowing()'`."""

from __future__ import annotations

from flask import Flask

from services.whistleblowing import api, office_pages, pages, statistics_pages
from services.whistleblowing.cases import integrity_refusal
from services.whistleblowing.domain import lifecycle
from services.whistleblowing.models import LoginThrottleRow, OfficialRow, OutboxRow, TenantRow
from shared.db import service_engine
from shared.web import ServiceModels, create_service_app

SERVICE = "whistleblowing"


def create_app() -> Flask:
    models = ServiceModels(TenantRow, OutboxRow, OfficialRow, LoginThrottleRow)
    app = create_service_app(
        SERVICE,
        __name__,
        service_engine(SERVICE),
        models,
        integrity_refusal=integrity_refusal,
        domain_errors=(lifecycle.LifecycleError,),
    )
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(office_pages.bp)
    app.register_blueprint(statistics_pages.bp)
    return app
