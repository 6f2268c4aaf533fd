"""What the public may see (Sabilulungan-style openness): hibah recipients are organisations,
published by name with amounts and the decree and NPHD numbers; bansos recipients are people,
shown only as aggregates per programme, never one by one."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.hibah_bansos.applications import FUNDED, today_utc
from services.hibah_bansos.models import Applicant, Application, Programme


def public_report(session: Session, locale: str = "id") -> dict:
    today = today_utc()
    progs = list(
        session.execute(
            select(Programme).order_by(Programme.fiscal_year.desc(), Programme.code)
        ).scalars()
    )
    out = []
    for p in progs:
        name = p.config.get("name", {})
        item = {
            "code": p.code,
            "kind": p.kind,
            "fiscal_year": p.fiscal_year,
            "name": name.get(locale) or name.get("id") or p.code,
            "opd": p.config.get("opd"),
            "ceiling": p.ceiling,
            "allocated": p.allocated,
            "disbursed": p.disbursed,
            "lpj_overdue": session.execute(
                select(func.count())
                .select_from(Application)
                .where(
                    Application.programme_id == p.id,
                    Application.status.in_(("agreement_signed", "disbursed")),
                    Application.lpj_due < today,
                )
            ).scalar_one(),
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
