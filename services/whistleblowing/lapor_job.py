"""The SP4N-LAPOR! job: `python -m services.whistleblowing.lapor_job [--every SECONDS]`.

For every tenant that runs the service, each step in its own tenant-scoped transaction (events
in the outbox): take the corruption reports LAPOR! passes on (new sealed cases) and acknowledge
them, send the forwards reporters consented to (a failure waits and is retried, see
`domain/lapor.py` BACKOFF), fetch the status updates of sent forwards for the inbox.
`make run` runs it every 15 s; without `REPLIKA_LAPOR_URL` nothing is sent (forwards wait).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from services.whistleblowing import lapor, lapor_cases
from services.whistleblowing.models import OutboxRow, TenantRow
from services.whistleblowing.views import SERVICE
from shared.db import service_engine, session_factory, tenant_session
from shared.tenancy import Tenant
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)
STEPS: dict[str, Callable[..., Any]] = {
    "opened": lambda uw, gw, now: lapor_cases.take_referrals(uw, gw),
    "acknowledged": lapor_cases.acknowledge_referrals,
    "sent": lapor_cases.send_due,
    "updates": lapor_cases.poll_updates,
}


def run_once(
    gateway: lapor.LaporGateway | None = None,
    now: datetime | None = None,
    only: str | None = None,
) -> dict[str, dict[str, Any]]:
    """One pass over every tenant (`only`: that tenant's slug); what each step did."""
    gateway = gateway or lapor.from_settings()
    factory = session_factory(service_engine(SERVICE))
    with factory() as session:
        rows = session.execute(select(TenantRow).where(TenantRow.enabled.is_(True))).scalars()
        tenants = [Tenant(r.id, r.slug, r.config) for r in rows]
    done: dict[str, dict[str, Any]] = {}
    for tenant in tenants:
        if not tenant.runs(SERVICE) or (only and tenant.slug != only):
            continue
        done[tenant.slug] = {}
        for name, step in STEPS.items():
            with tenant_session(factory, tenant.id) as session:
                uw = UnitOfWork(session, tenant, SERVICE, OutboxRow)
                done[tenant.slug][name] = step(uw, gateway, now)
                uw.commit()
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.whistleblowing.lapor_job")
    parser.add_argument("--every", type=float, default=0, help="repeat every N seconds")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    while True:
        try:
            log.info("lapor: %s", run_once())
        except Exception:  # the loop outlives one bad pass (database restarting, ...)
            log.exception("lapor: pass failed")
            if not args.every:
                return 1
        if not args.every:
            return 0
        time.sleep(args.every)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
