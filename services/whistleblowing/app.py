"""Flask application factory of the whistleblowing service: the service's own app. Production
runs it with the operator pages plugged in: `gunicorn 'operations.apps:whistleblowing()'`."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from services.whistleblowing import (
    api,
    assisted_intake,
    holiday_calendar,
    lapor_pages,
    office_pages,
    pages,
    referral_routes,
    statistics_pages,
)
from services.whistleblowing.cases import integrity_refusal
from services.whistleblowing.domain import lifecycle
from services.whistleblowing.models import LoginThrottleRow, OfficialRow, OutboxRow, TenantRow
from shared.db import service_engine
from shared.settings import FilingBudgets
from shared.tenancy import Tenant, today
from shared.web import ServiceModels, create_service_app

SERVICE = "whistleblowing"


def create_app() -> Flask:
    models = ServiceModels(TenantRow, OutboxRow, OfficialRow, LoginThrottleRow)
    engine = service_engine(SERVICE)
    app = create_service_app(
        SERVICE,
        __name__,
        engine,
        models,
        integrity_refusal=integrity_refusal,
        domain_errors=(lifecycle.LifecycleError,),
        ready_warnings=lambda: holiday_warnings(engine),
    )
    app.config["FILING_BUDGETS"] = FilingBudgets.from_env()
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(office_pages.bp)
    app.register_blueprint(assisted_intake.bp)
    app.register_blueprint(statistics_pages.bp)
    app.register_blueprint(lapor_pages.bp)
    app.register_blueprint(referral_routes.bp)  # issue 23: referrals between cities
    return app


def holiday_warnings(engine: Engine, now: datetime | None = None) -> dict[str, str]:
    """Each whistleblowing tenant whose coming year's days off are not known, for `/readyz`."""
    with Session(engine) as session:
        rows = session.execute(select(TenantRow).where(TenantRow.enabled)).scalars().all()
        tenants = [Tenant(id=r.id, slug=r.slug, config=r.config) for r in rows]
    return {
        f"holidays:{t.slug}": warning
        for t in tenants
        if t.runs(SERVICE)
        and (warning := holiday_calendar.coverage_warning(t.config, today(t, now))) is not None
    }
