"""Apply a tenant configuration to every service database, idempotently."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from operations.service_models import models_of
from services.hibah_bansos.programmes import sync_programmes
from shared import settings
from shared.db import service_engine, session_factory
from shared.tenancy import Tenant, upsert_tenant
from shared.tenant_config import TenantConfig

# What applying a tenant file (or saving its settings) also writes in a service's database,
# in the same transaction as the tenant row: hibah_bansos keeps its programmes' budget ledger.
AFTER_APPLY: dict[str, Callable[[Session, Tenant], None]] = {"hibah_bansos": sync_programmes}


def _tenant_model(service: str) -> type[Any]:
    return models_of(service).TenantRow


def apply(config: TenantConfig) -> dict[str, bool]:
    """Write the tenant row in each service database; returns {service: changed}."""
    changed = {}
    enabled = config.data.get("enabled", True)
    for service in settings.SERVICES:
        factory = session_factory(service_engine(service, migration=True))
        with factory() as session, session.begin():
            changed[service] = upsert_tenant(
                session, _tenant_model(service), config.id, config.slug, config.data, enabled
            )
            if (after := AFTER_APPLY.get(service)) is not None:
                after(session, Tenant(config.id, config.slug, config.data))
    return changed


def list_tenants() -> list[tuple[str, str, bool, list[str]]]:
    model = _tenant_model("whistleblowing")
    factory = session_factory(service_engine("whistleblowing", migration=True))
    with factory() as session:
        rows = session.execute(select(model).order_by(model.slug)).scalars().all()
        return [
            (r.slug, r.config.get("name", ""), r.enabled, sorted(r.config.get("services", {})))
            for r in rows
        ]
