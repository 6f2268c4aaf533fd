"""Tenant lifecycle on a running deployment: suspend (read-only) and resume.

The flag lives in the `config` of the tenant's row in every service database, so running
services see it as soon as the database tells them the row changed (shared/change_feed.py;
within shared/web.TENANT_CACHE_SECONDS while a process does not hear it), without a restart. Re-applying a tenant file that does not say `suspended: true` resumes the tenant.
Each change is an audited event (`platform.tenant.suspended.v1` / `.resumed.v1`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from operations.service_models import models_of
from shared import settings
from shared.db import service_engine, session_factory
from shared.event_types import PLATFORM_TENANT_RESUMED, PLATFORM_TENANT_SUSPENDED
from shared.tenancy import Tenant
from shared.uow import UnitOfWork

EVENT_SERVICE = "whistleblowing"  # platform events go to the hosting service's outbox


class UnknownTenant(LookupError):
    pass


def set_suspended(slug: str, suspended: bool, actor: str = "system") -> bool:
    """Suspend or resume `slug` in every service database; returns True when it changed."""
    changed = False
    for service in settings.SERVICES:
        model = models_of(service).TenantRow
        with session_factory(service_engine(service, migration=True))() as session:
            row = session.execute(
                select(model).where(model.slug == slug).with_for_update()
            ).scalar_one_or_none()
            if row is None:
                raise UnknownTenant(slug)
            if bool(row.config.get("suspended")) == suspended:
                session.rollback()
                continue
            row.config = dict(row.config, suspended=suspended)
            flag_modified(row, "config")
            changed = True
            if service != EVENT_SERVICE:
                session.commit()
            else:
                tenant = Tenant(id=row.id, slug=row.slug, config=row.config)
                uow = UnitOfWork(session, tenant, EVENT_SERVICE, models_of(service).OutboxRow)
                uow.emit(
                    PLATFORM_TENANT_SUSPENDED if suspended else PLATFORM_TENANT_RESUMED,
                    f"tenant:{row.id}",
                    actor,
                    {"tenant_id": str(row.id), "slug": row.slug},
                )
                uow.commit()  # commits this service's transaction: row and event together
    return changed


def record(slug: str, type_: str, data: dict, actor: str = "system") -> None:
    """Audit a lifecycle step done outside a request (`type_`, a PLATFORM_TENANT_* event
    type): written to the hosting service's outbox like every other event, so the ledger
    records it."""
    model = models_of(EVENT_SERVICE)
    with session_factory(service_engine(EVENT_SERVICE, migration=True))() as session:
        row = session.execute(
            select(model.TenantRow).where(model.TenantRow.slug == slug)
        ).scalar_one_or_none()
        if row is None:
            raise UnknownTenant(slug)
        uow = UnitOfWork(
            session,
            Tenant(id=row.id, slug=row.slug, config=row.config),
            EVENT_SERVICE,
            model.OutboxRow,
        )
        uow.emit(
            type_,
            f"tenant:{row.id}",
            actor,
            {"tenant_id": str(row.id), "slug": row.slug, **data},
        )
        uow.commit()
