"""Tenants: which city a request belongs to, and that city's configuration.

Every service database holds a `tenants` table written by `replika tenant apply`; requests
resolve their tenant from the `/t/<slug>/` URL prefix (a host-name mapping can be added in
`resolve_slug` later without touching any route).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, Boolean, String, Uuid, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.db import utcnow


class TenantRecord:
    """Columns of the per-service `tenants` table (mixed into each service's own Base)."""

    __tablename__ = "tenants"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    slug: str
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def locale(self) -> str:
        return self.config.get("locale", "id")

    @property
    def timezone(self) -> str:
        return self.config.get("timezone", "Asia/Jakarta")

    @property
    def display_name(self) -> str:
        return self.config.get("branding", {}).get("display_name") or self.config.get(
            "name", self.slug
        )

    def service_config(self, service: str) -> dict[str, Any]:
        return self.config.get("services", {}).get(service, {})

    def runs(self, service: str) -> bool:
        return service in self.config.get("services", {}) and self.service_config(service).get(
            "enabled", True
        )


def today(tenant: Tenant, now: datetime | None = None) -> date:
    """The date in the tenant's own zone: windows, deadlines and due dates are decided here
    (the UTC date is a day behind in Jakarta before 07:00 and in Jayapura before 09:00)."""
    return (now or utcnow()).astimezone(ZoneInfo(tenant.timezone)).date()


def load_tenant(session: Session, model: type[Any], slug: str, service: str) -> Tenant | None:
    """The enabled tenant `slug` that runs `service`, or None (callers answer 404)."""
    row = session.execute(select(model).where(model.slug == slug)).scalar_one_or_none()
    if row is None or not row.enabled:
        return None
    tenant = Tenant(id=row.id, slug=row.slug, config=row.config)
    return tenant if tenant.runs(service) else None


def upsert_tenant(
    session: Session,
    model: type,
    tenant_id: uuid.UUID,
    slug: str,
    config: dict[str, Any],
    enabled: bool = True,
) -> bool:
    """Create or update a tenant row; returns True when something changed."""
    row = session.get(model, tenant_id)
    if row is None:
        session.add(model(id=tenant_id, slug=slug, config=config, enabled=enabled))
        return True
    if row.slug == slug and row.config == config and row.enabled == enabled:
        return False
    row.slug, row.config, row.enabled = slug, config, enabled
    return True
