"""What the public may see (Sabilulungan-style openness): hibah recipients are organisations,
published by name with amounts and the decree and NPHD numbers; bansos recipients are people,
shown only as aggregates per programme, never one by one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.hibah_bansos import repository
from services.hibah_bansos.models import Applicant, Application
from services.hibah_bansos.repository import FUNDED
from services.hibah_bansos.views import programme_name
from shared.tenancy import Tenant, today


def public_report(session: Session, tenant: Tenant) -> dict[str, Any]:
    """Names in the request's language (shared.i18n.label); overdue LPJs on the tenant's date."""
    on = today(tenant)
    out = []
    for p in repository.programmes(session):
        item: dict[str, Any] = {
            "code": p.code,
            "kind": p.kind,
            "fiscal_year": p.fiscal_year,
            "name": programme_name(p),
            "opd": p.config.get("opd"),
            "ceiling": p.ceiling,
            "allocated": p.allocated,
            "disbursed": p.disbursed,
            "lpj_overdue": repository.lpj_overdue(session, p.id, on),
        }
        funded = select(Application).where(
            Application.programme_id == p.id, Application.status.in_(FUNDED)
        )
        if p.kind == "hibah":
            rows = session.execute(
                select(
                    Application.number,
                    Application.status,
                    Application.approved,
                    Application.disbursed,
                    Application.decree_number,
                    Application.nphd_number,
                    Applicant.organisation_name,
                )
                .join(Applicant, Applicant.id == Application.applicant_id)
                .where(Application.programme_id == p.id, Application.status.in_(FUNDED))
                .order_by(Applicant.organisation_name, Application.number)
            ).all()
            item["grants"] = [
                {
                    "application_number": r.number,
                    "organisation": r.organisation_name,
                    "status": r.status,
                    "approved": r.approved,
                    "disbursed": r.disbursed,
                    "decree_number": r.decree_number,
                    "nphd_number": r.nphd_number,
                }
                for r in rows
            ]
        else:
            sub = funded.subquery()
            recipients, approved = session.execute(
                select(func.count(), func.coalesce(func.sum(sub.c.approved), 0))
            ).one()
            item["aggregate"] = {"recipients": recipients, "approved": int(approved)}
        out.append(item)
    return {"programmes": out}
