"""CSV export of a programme's applications, for officials (the office page and the API).

What is in it: the budget trail of each application (amounts, decree and NPHD numbers, LPJ
due date and spending) and, for organisations, their name (published anyway once funded).
What is not, for any role: NIK, family card, bank account, names and addresses of people.
A spreadsheet is copied and mailed around far beyond the person who exported it; the budget
reconciliation it serves needs none of that, and whoever needs a person's data opens the
application itself, where the access is per record.
"""

from __future__ import annotations

import csv
import io

from flask import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.hibah_bansos.domain import lpj
from services.hibah_bansos.models import Applicant, Application, Programme
from shared.tenancy import Tenant, today

COLUMNS = (
    "application_number",
    "programme",
    "fiscal_year",
    "applicant_type",
    "organisation",
    "status",
    "requested",
    "recommended",
    "approved",
    "disbursed",
    "decree_number",
    "decree_date",
    "nphd_number",
    "nphd_date",
    "lpj_due",
    "lpj_overdue",
    "lpj_spent",
    "created_at",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> object:
    """Text that a spreadsheet would run as a formula is quoted (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def applications_csv(session: Session, tenant: Tenant, programme: Programme) -> str:
    on = today(tenant)
    rows = session.execute(
        select(Application, Applicant.kind, Applicant.organisation_name)
        .join(Applicant, Applicant.id == Application.applicant_id)
        .where(Application.programme_id == programme.id)
        .order_by(Application.created_at, Application.number)
    ).all()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for app, kind, organisation in rows:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    app.number,
                    programme.code,
                    programme.fiscal_year,
                    kind,
                    organisation if kind == "organisation" else "",
                    app.status,
                    app.requested,
                    app.recommended,
                    app.approved,
                    app.disbursed,
                    app.decree_number,
                    app.decree_date and app.decree_date.isoformat(),
                    app.nphd_number,
                    app.nphd_date and app.nphd_date.isoformat(),
                    app.lpj_due and app.lpj_due.isoformat(),
                    "yes" if lpj.is_overdue(app.status, app.lpj_due, on) else "no",
                    app.lpj_spent,
                    app.created_at.isoformat(),
                )
            ]
        )
    return out.getvalue()


def filename(programme: Programme) -> str:
    safe = "".join(ch for ch in programme.code if ch.isalnum() or ch in "-_") or "programme"
    return f"{safe}-applications.csv"


def download(session: Session, tenant: Tenant, programme: Programme) -> Response:
    """The export as an attachment (the office page and the API answer the same)."""
    return Response(
        applications_csv(session, tenant, programme),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename(programme)}"',
            "Cache-Control": "no-store",
        },
    )
