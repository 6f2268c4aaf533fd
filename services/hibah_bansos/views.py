"""Reads of the hibah-bansos service: what the API and the pages show (application summary and
detail, lists, timelines, programme summaries, localized labels). Nothing here changes state;
use cases are in cases.py, queries in repository.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from services.hibah_bansos import programmes, repository
from services.hibah_bansos.domain import access, lpj, workflow
from services.hibah_bansos.models import (
    Applicant,
    Application,
    ApplicationStep,
    Document,
    Programme,
)
from shared.charts import rupiah  # noqa: F401 -- pages and templates read it from here
from shared.crypto import FieldCipher, blind_index
from shared.i18n import label
from shared.pagination import Page
from shared.separation import actors_by_step
from shared.tenancy import Tenant, today

SERVICE = "hibah_bansos"


# --- programmes -------------------------------------------------------------------------------


def programme_name(p: Programme) -> str:
    """The programme's name in the page's language (its code when it has none)."""
    return label(p.config.get("name"), p.code)


def document_labels(tenant: Tenant) -> dict[str, str]:
    """{document code: its label in the page's language} of the tenant's document types."""
    return {
        d["code"]: label(d.get("label"), d["code"])
        for d in tenant.service_config(SERVICE).get("required_documents", [])
    }


def open_programmes(session: Session, tenant: Tenant) -> list[Programme]:
    """The programmes open today, in the tenant's own date."""
    on = today(tenant)
    return [p for p in repository.programmes(session) if programmes.is_open(p, on)]


def programme_view(p: Programme) -> dict[str, Any]:
    """What anyone may know of an open programme (the public API's list)."""
    c = p.config
    return {
        "code": p.code,
        "kind": p.kind,
        "fiscal_year": p.fiscal_year,
        "name": programme_name(p),
        "opd": c.get("opd"),
        "ceiling": p.ceiling,
        "opens": p.opens and p.opens.isoformat(),
        "closes": p.closes and p.closes.isoformat(),
        "required_documents": c.get("required_documents", []),
        "eligibility": c.get("eligibility", {}),
    }


def programme_summary(session: Session, tenant: Tenant, programme: Programme) -> dict[str, Any]:
    ceiling, allocated, disbursed = programmes.totals(session, programme.id)
    return {
        "programme": programme.code,
        "ceiling": ceiling,
        "allocated": allocated,
        "disbursed": disbursed,
        "remaining": ceiling - allocated,
        "by_status": repository.status_counts(session, programme.id),
        "lpj_overdue": repository.lpj_overdue(session, programme.id, today(tenant)),
    }


# --- applications -----------------------------------------------------------------------------


def summary_view(app: Application, programme_code: str, on: date) -> dict[str, Any]:
    """One application in a list; `on` is the tenant's date (for the LPJ overdue flag)."""
    return {
        "application_number": app.number,
        "programme": programme_code,
        "status": app.status,
        "requested": app.requested,
        "recommended": app.recommended,
        "approved": app.approved,
        "disbursed": app.disbursed,
        "lpj_due": app.lpj_due and app.lpj_due.isoformat(),
        "lpj_overdue": lpj.is_overdue(app.status, app.lpj_due, on),
        "allowed_next": workflow.allowed_targets(app.status),
        "created_at": app.created_at.isoformat(),
    }


def application_list(
    session: Session,
    tenant: Tenant,
    page: Page,
    *,
    statuses: list[str] | None = None,
    programme: str | None = None,
    waiting: bool = False,
    query: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Officials' list (API and worklist page): one page of summaries and the total. `query`
    (pages): 16 digits find a person by NIK (blind index), anything else an application
    number's start or an organisation's name."""
    query = (query or "").strip()[:100] or None
    nik = query if query and query.isdigit() and len(query) == 16 else None
    rows, total = repository.search(
        session,
        statuses=statuses,
        programme=programme,
        offset=page.offset,
        limit=page.size,
        waiting=waiting,
        text=None if nik else query,
        nik_index=blind_index(session, tenant.id, "nik", nik) if nik else None,
    )
    on = today(tenant)
    return [summary_view(a, code, on) for a, code in rows], total


def worklist_rows(
    session: Session, tenant: Tenant, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The worklist's extra columns: the organisation and the days since the last step."""
    apps = {
        a.number: a
        for a in repository.by_numbers(session, [i["application_number"] for i in items])
    }
    names = repository.organisation_names(session, {a.applicant_id for a in apps.values()})
    out = []
    for item in items:
        app = apps[item["application_number"]]
        out.append(
            {
                **item,
                "organisation": names.get(app.applicant_id),
                "created_on": app.created_at.astimezone(ZoneInfo(tenant.timezone)).date(),
                "days_waiting": days_waiting(tenant, app),
            }
        )
    return out


def days_waiting(tenant: Tenant, app: Application) -> int:
    """Whole days, in the tenant's calendar, since the application last changed."""
    since = app.updated_at.astimezone(ZoneInfo(tenant.timezone)).date()
    return (today(tenant) - since).days


def my_applications(
    session: Session, tenant: Tenant, applicant_id: uuid.UUID | None
) -> list[dict[str, Any]]:
    on = today(tenant)
    return [summary_view(a, code, on) for a, code in repository.of_applicant(session, applicant_id)]


def personal(session: Session, tenant: Tenant, applicant: Applicant) -> dict[str, Any]:
    return FieldCipher(session, tenant.id, "applicants", applicant.id).decrypt_json(
        "personal", applicant.personal
    )


def _cipher(session: Session, app: Application) -> FieldCipher:
    return FieldCipher(session, app.tenant_id, "applications", app.id)


def proposal_text(session: Session, tenant: Tenant, app: Application) -> str:
    if not app.proposal:
        return ""
    return _cipher(session, app).decrypt_json("proposal", app.proposal)


def rab_of(session: Session, app: Application) -> list[dict[str, Any]]:
    """The budget plan (RAB) lines, decrypted: item, volume, unit, unit price, amount (the
    line total) and actual (spent, from the LPJ). Applications made before the lines were
    rows (migration h012) and imported bansos lists give item and amount only."""
    rows = repository.rab_lines(session, app.id)
    cipher = _cipher(session, app)
    if not rows:
        old = cipher.decrypt_json("rab", app.rab) if app.rab else []
        return [
            {
                "item": ln["item"],
                "volume": None,
                "unit": None,
                "unit_price": None,
                "amount": ln["amount"],
                "actual": None,
            }
            for ln in old
        ]
    return [
        {
            "item": cipher.decrypt_text(f"rab_lines.{r.id}.item", r.item),
            "volume": r.volume,
            "unit": r.unit,
            "unit_price": r.unit_price,
            "amount": r.amount,
            "actual": r.actual,
        }
        for r in rows
    ]


def lpj_of(session: Session, app: Application) -> dict[str, Any] | None:
    """The accountability report (LPJ), decrypted; None before it is filed."""
    return _cipher(session, app).decrypt_json("lpj", app.lpj) if app.lpj else None


def step_reason(session: Session, app: Application, step: ApplicationStep) -> str | None:
    if not step.reason:
        return None
    return _cipher(session, app).decrypt_text(f"steps.{step.id}.reason", step.reason)


def history(session: Session, app: Application) -> list[dict[str, Any]]:
    """Every recorded step of `app`, reasons decrypted (`target` too, for the pages)."""
    return [
        {
            "from": st.source,
            "to": st.target,
            "target": st.target,
            "actor": st.actor,
            "reason": step_reason(session, app, st),
            "amount": st.amount,
            "reference": st.reference,
            "at": st.at,
        }
        for st in repository.steps(session, app.id)
    ]


def step_actors(session: Session, app: Application) -> dict[str, frozenset[str]]:
    """Every official who did each step of `app`, over its whole history (separation of
    duties: a step done again after a return keeps its earlier actors)."""
    done = [(st.source, st.target, st.actor) for st in repository.steps(session, app.id)]
    return actors_by_step(workflow.steps_done(done))


def reads_personal_data(roles: frozenset[str]) -> bool:
    return bool(roles & set(access.PERSONAL_DATA))


def detail_view(
    session: Session, tenant: Tenant, app: Application, roles: frozenset[str]
) -> dict[str, Any]:
    """One application as officials see it (API detail and office page): history, documents,
    amounts; for the roles that work the application (access.PERSONAL_DATA) also the
    applicant's personal fields decrypted, the proposal and the person's other active
    applications. The auditor's view is redacted: ids, amounts, states and history only."""
    applicant = session.get_one(Applicant, app.applicant_id)
    full = reads_personal_data(roles)
    view = summary_view(app, repository.programme_code(session, app.programme_id), today(tenant))
    who: dict[str, Any] = {"id": str(applicant.id), "type": applicant.kind}
    if full:
        who.update(personal(session, tenant, applicant))
    elif applicant.organisation_name:
        who["name"] = applicant.organisation_name  # public: published if funded
    view.update(
        applicant=who,
        redacted=not full,
        rab=rab_of(session, app),
        decree_number=app.decree_number,
        decree_date=app.decree_date and app.decree_date.isoformat(),
        nphd_number=app.nphd_number,
        nphd_date=app.nphd_date and app.nphd_date.isoformat(),
        lpj=lpj_of(session, app),
        unspent=lpj.unspent(app.disbursed, app.lpj_spent or 0) if app.lpj else None,
        refund={
            "amount": app.refund_amount,
            "date": app.refund_date.isoformat() if app.refund_date else None,
            "reference": app.refund_reference,
        }
        if app.refund_amount
        else None,
        actors=app.actors,
        documents=[
            {
                "id": str(d.id),
                "code": d.code,
                "media_type": d.media_type,
                "size": d.size,
                "at": d.at.isoformat(),
            }
            for d in repository.documents(session, app.id)
        ],
        history=[{**h, "at": h["at"].isoformat()} for h in history(session, app)],
    )
    for h in view["history"]:
        del h["target"]
    if full:
        view.update(
            proposal=proposal_text(session, tenant, app),
            other_active_applications=[
                {"application_number": o.number, "status": o.status, "programme": code}
                for o, code in repository.other_active(session, app)
            ],
        )
    return view


def document_content(
    session: Session, tenant: Tenant, app: Application, document_id: uuid.UUID
) -> tuple[Document, bytes]:
    doc = repository.document(session, app, document_id)
    cipher = FieldCipher(session, tenant.id, "application_documents", doc.id)
    return doc, cipher.decrypt("content", doc.content)


# --- the social registry ----------------------------------------------------------------------

REGISTRY_FRESH = timedelta(hours=24)  # a registry answer older than this is asked again


def needs_registry(programme: Programme) -> bool:
    return bool(programme.config.get("eligibility", {}).get("social_registry_required"))


def registry_standing(session: Session, applicant: Applicant) -> dict[str, Any]:
    """What the pages say about a person and the social registry: `state` one of "entered"
    (by an official at registration or import), "verified" (an official vouched for them),
    "listed", "not_listed", "unknown" (never asked); the data `period` and `at` of the answer;
    `due`: the registry should be asked (again)."""
    checks = repository.latest_registry_checks(session, applicant.id)
    registry, official = checks.get("registry"), checks.get("official")
    if applicant.in_social_registry:
        state = "entered"
    elif official is not None:
        state = "verified"
    elif registry is not None:
        state = "listed" if registry.listed else "not_listed"
    else:
        state = "unknown"
    fresh = registry is not None and registry.at > datetime.now(UTC) - REGISTRY_FRESH
    return {
        "state": state,
        "period": registry.period if registry is not None else None,
        "at": latest.at if (latest := official or registry) is not None else None,
        "due": state in ("unknown", "not_listed", "listed") and not fresh,
        "eligible": state in ("entered", "verified", "listed"),
    }
