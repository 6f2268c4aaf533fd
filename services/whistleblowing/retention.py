"""Retention run: `python -m services.whistleblowing.retention` (daily, e.g. from cron).

Walks every tenant that runs the service and deletes its expired archived cases (and
failed-receipt counters whose window has closed, and approved identity copies left unread
past the tenant's `identity_disclosure_valid_days`), each tenant in its own tenant-scoped
transaction with its events in the outbox.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime

from sqlalchemy import select

from services.whistleblowing import cases
from services.whistleblowing.models import OutboxRow, TenantRow
from services.whistleblowing.views import SERVICE
from shared.db import service_engine, session_factory, tenant_session
from shared.tenancy import Tenant
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)


def run_once(now: datetime | None = None) -> dict[str, list[str]]:
    factory = session_factory(service_engine(SERVICE))
    with factory() as session:
        rows = session.execute(select(TenantRow).where(TenantRow.enabled.is_(True))).scalars()
        tenants = [Tenant(r.id, r.slug, r.config) for r in rows]
    done = {}
    for tenant in tenants:
        if not tenant.runs(SERVICE):
            continue
        with tenant_session(factory, tenant.id) as session:
            uw = UnitOfWork(session, tenant, SERVICE, OutboxRow)
            done[tenant.slug] = cases.expire_due(uw, now=now)
            cases.purge_stale_throttles(uw, now=now)
            cases.wipe_old_receipts(session, now)
            cases.expire_identity_copies(uw, now=now)
            uw.commit()
        log.info("retention: %s expired %d case(s)", tenant.slug, len(done[tenant.slug]))
    return done


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig(level=logging.INFO)
    run_once()
    sys.exit(0)
