"""The composition roots: each service's app as production runs it, with the operator pages
plugged in. Gunicorn, docker-compose, the local runner and the tests name these (as strings
outside Python: `gunicorn 'operations.apps:whistleblowing()'`).

`services/<svc>/app.py` builds the service's own app; services never import `operations`, so
the pages that belong to the platform (replication portal, tenant settings, the city's
officials and its admin's home) are added here.
"""

from __future__ import annotations

from flask import Flask

from operations import branding, officials_web
from operations.links import openapi as links_openapi
from operations.links import web as links_web
from operations.replication import config_web, settings_web, template_updates_web
from operations.replication import openapi as replication_openapi
from operations.replication import web as replication_web
from services.audit import app as audit_app
from services.hibah_bansos import app as hibah_bansos_app
from services.notifications.domain import rules as notice_rules
from services.whistleblowing import app as whistleblowing_app
from shared import notify_prefs, openapi


def whistleblowing() -> Flask:
    """The whistleblowing service; it also hosts the replication portal (for a tenant whose
    configuration says `replication_host: true`) and every tenant admin's settings pages."""
    app = whistleblowing_app.create_app()
    app.register_blueprint(replication_web.bp)
    app.register_blueprint(config_web.bp)
    app.register_blueprint(settings_web.bp)
    app.register_blueprint(template_updates_web.bp)
    app.register_blueprint(officials_web.bp)
    app.register_blueprint(links_web.bp)  # agreements between cities (issue 23)
    app.register_blueprint(branding.bp)
    app.register_blueprint(_preferences("whistleblowing", "/t/<tenant>/whistleblowing/office"))
    # its /openapi.json describes them too, the tenant file's schema included
    openapi.extend(app, replication_openapi.paths, replication_openapi.schemas)
    openapi.extend(app, links_openapi.paths)
    openapi.extend(app, template_updates_web.openapi_paths)
    return app


def hibah_bansos() -> Flask:
    app = hibah_bansos_app.create_app()
    app.register_blueprint(branding.bp)  # the tenant's colours in every page's header
    app.register_blueprint(_preferences("hibah_bansos", "/t/<tenant>/hibah-bansos/office"))
    return app


def _preferences(service: str, office: str):
    """The officials' notification preferences page of `service` (shared/notify_prefs.py),
    offering the kinds of notice its officials receive."""
    from operations.service_models import models_of

    kinds = [k for k in notice_rules.OFFICIAL_KINDS if notice_rules.SERVICE_OF_KIND[k] == service]
    return notify_prefs.blueprint(
        "notify_prefs", f"{office}/notifikasi", models_of(service).OfficialRow, kinds
    )


def audit() -> Flask:
    return audit_app.create_app()


# `gunicorn 'operations.apps:<name>()'` for each web service, by service name
APPS = {"whistleblowing": whistleblowing, "hibah_bansos": hibah_bansos, "audit": audit}
