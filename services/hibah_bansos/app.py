"""Flask application factory of the hibah_bansos service: the service's own app. Production
runs it through its composition root: `gunicorn 'operations.apps:hibah_bansos()'`."""

from __future__ import annotations

from flask import Flask

from services.hibah_bansos import (
    api,
    cases,
    import_pages,
    mailer,
    office_pages,
    pages,
    social_registry,
    statistics_pages,
)
from services.hibah_bansos.domain import workflow
from services.hibah_bansos.models import LoginThrottleRow, OfficialRow, OutboxRow, TenantRow
from shared.db import service_engine
from shared.web import ServiceModels, create_service_app

SERVICE = "hibah_bansos"


def create_app(
    *,
    registry: social_registry.SocialRegistry | None = None,
    mail: mailer.Mailer | None = None,
) -> Flask:
    """The service; `registry` and `mail` replace the configured outside services (the
    social registry at REPLIKA_SOCIAL_REGISTRY_URL, e-mail as .eml files)."""
    models = ServiceModels(TenantRow, OutboxRow, OfficialRow, LoginThrottleRow)
    app = create_service_app(
        SERVICE,
        __name__,
        service_engine(SERVICE),
        models,
        integrity_refusal=cases.integrity_refusal,
        domain_errors=(workflow.WorkflowError,),
    )
    app.extensions["hb_social_registry"] = registry or social_registry.from_settings()
    app.extensions["hb_mailer"] = mail or mailer.from_settings()
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(office_pages.bp)
    app.register_blueprint(import_pages.bp)
    app.register_blueprint(statistics_pages.bp)
    return app
