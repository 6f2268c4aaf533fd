"""Queries of the hibah-bansos service: every SELECT the use cases (cases.py) and the reads
(views.py) share, in the caller's tenant-scoped session (RLS scopes each to the tenant).

Nothing here changes state; a missing row the caller cannot do without is a 404 `Refused`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    String,
    Uuid,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from services.hibah_bansos.domain.workflow import Status
from services.hibah_bansos.models import (
    Applicant,
    Application,
    ApplicationStep,
    BudgetLineRow,
    Document,
    PasswordReset,
    Programme,
    ProgrammeStatusCount,
    RegistryCheck,
)
from shared.actor import Actor
from shared.problem import Refused

ACTIVE = (
    "draft",
    "verification",
    "submitted",
    "returned",
    "evaluated",
    "verified",
    "approved",
    "agreement_signed",
    "disbursed",
    "reported",
)
FUNDED = ("approved", "agreement_signed", "disbursed", "reported", "closed")
LPJ_PENDING = ("agreement_signed", "disbursed")  # money promised or paid, no LPJ yet


# --- applicants -------------------------------------------------------------------------------


def applicant_taken(session: Session, index: InstrumentedAttribute[Any], value: str) -> bool:
    """Whether an applicant already holds `value` in the blind-index column `index`."""
    return session.execute(select(Applicant.id).where(index == value)).first() is not None


def applicant_by_index(
    session: Session, index: InstrumentedAttribute[Any], value: str
) -> Applicant | None:
    """The applicant holding `value` in the blind-index column `index`, if any."""
    return session.execute(select(Applicant).where(index == value)).scalars().first()


def applicant_by_link(session: Session, link_hash: str) -> Applicant | None:
    """The applicant whose one-time link has this digest (locked: a link is spent once)."""
    return session.execute(
        select(Applicant).where(Applicant.link_hash == link_hash).with_for_update()
    ).scalar_one_or_none()


def delete_password_resets(session: Session, applicant_id: uuid.UUID) -> None:
    session.execute(delete(PasswordReset).where(PasswordReset.applicant_id == applicant_id))


def has_applications(session: Session, applicant_id: uuid.UUID) -> bool:
    return (
        session.execute(
            select(Application.id).where(Application.applicant_id == applicant_id)
        ).first()
        is not None
    )


def applicant_by_email_index(session: Session, email_index: str) -> Applicant | None:
    return session.execute(
        select(Applicant).where(Applicant.email_index == email_index)
    ).scalar_one_or_none()


def applicant_by_nik_index(session: Session, nik_index: str) -> Applicant | None:
    return session.execute(
        select(Applicant).where(Applicant.nik_index == nik_index)
    ).scalar_one_or_none()


def latest_registry_checks(session: Session, applicant_id: uuid.UUID) -> dict[str, RegistryCheck]:
    """{source: its newest check} of a person: "registry" (the social registry's answer) and
    "official" (an official vouched for the person), either absent when there is none."""
    rows = session.execute(
        select(RegistryCheck)
        .where(RegistryCheck.applicant_id == applicant_id)
        .order_by(RegistryCheck.at.desc())
    ).scalars()
    out: dict[str, RegistryCheck] = {}
    for row in rows:
        out.setdefault(row.source, row)
    return out


def password_reset_by_code(
    session: Session, code_hash: str, *, for_update: bool = False
) -> PasswordReset | None:
    return _one(
        session, select(PasswordReset).where(PasswordReset.code_hash == code_hash), for_update
    )


def latest_password_reset(session: Session, applicant_id: uuid.UUID) -> PasswordReset | None:
    return session.execute(
        select(PasswordReset)
        .where(PasswordReset.applicant_id == applicant_id)
        .order_by(PasswordReset.at.desc())
        .limit(1)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class Standing:
    """What the eligibility rules and the one-NIK-one-programme rule read of an applicant for
    a programme, in one statement (issue 22: three round trips were one each)."""

    funded_last_year: bool  # a hibah of the fiscal year before was funded for them
    registry_listed: bool | None  # the social registry's newest answer; None: never asked
    vouched: bool  # an official vouched for them (the registry did not list them)
    in_programme: str | None  # number of the person's (NIK) live application in the programme


def _standing_columns(
    tenant: Any, applicant: Any, nik_index: Any, programme: Any, year_before: Any
) -> tuple[ColumnElement[Any], ...]:
    """The four columns of a `Standing`, of Core tables with their own tenant terms
    (row-level security scopes them too, as the unit of work's write statement). The other
    arguments are bind parameters or the columns of an enclosing statement's rows."""
    apps, checks = Application.__table__, RegistryCheck.__table__
    # its own name: the enclosing statement may read `programmes` too (intake_read)
    progs = Programme.__table__.alias("programmes_before")
    of_applicant = and_(checks.c.tenant_id == tenant, checks.c.applicant_id == applicant)
    funded = (
        select(apps.c.id)
        .join(progs, progs.c.id == apps.c.programme_id)
        .where(
            apps.c.tenant_id == tenant,
            apps.c.applicant_id == applicant,
            progs.c.kind == "hibah",
            progs.c.fiscal_year == year_before,
            apps.c.status.in_(FUNDED),
        )
        .exists()
    )
    listed = (
        select(checks.c.listed)
        .where(of_applicant, checks.c.source == "registry")
        .order_by(checks.c.at.desc())
        .limit(1)
        .scalar_subquery()
    )
    vouched = select(checks.c.id).where(of_applicant, checks.c.source == "official").exists()
    in_programme = (
        select(apps.c.number)
        .where(
            apps.c.tenant_id == tenant,
            apps.c.programme_id == programme,
            apps.c.nik_index == nik_index,
            apps.c.status != "rejected",
        )
        .limit(1)
        .scalar_subquery()
    )
    return (
        funded.label("funded_last_year"),
        listed.label("registry_listed"),
        vouched.label("vouched"),
        in_programme.label("in_programme"),
    )


def _standing_statement() -> Select[Any]:
    """Built once: building four ORM subqueries and the tenant criteria with their cache key
    on every application cost more than running them."""
    return select(
        *_standing_columns(
            bindparam("tenant", type_=Uuid()),
            bindparam("applicant", type_=Uuid()),
            bindparam("nik_index", type_=String()),
            bindparam("programme", type_=Uuid()),
            bindparam("year_before", type_=Integer()),
        )
    )


_STANDING = _standing_statement()


def _standing_of(row: Any) -> Standing:
    funded, listed, vouched, in_programme = row
    return Standing(bool(funded), listed, bool(vouched), in_programme)


def standing(session: Session, applicant: Applicant, programme: Programme) -> Standing:
    row = session.execute(
        _STANDING,
        {
            "tenant": programme.tenant_id,
            "applicant": applicant.id,
            "year_before": programme.fiscal_year - 1,
            "programme": programme.id,
            "nik_index": applicant.nik_index,
        },
    ).one()
    return _standing_of(row)


def _intake_statement() -> Select[Any]:
    """The applicant, the programme (outer-joined: a wrong code is told apart from a wrong
    applicant) and the applicant's standing in it, one row."""
    tenant = bindparam("tenant", type_=Uuid())
    return (
        select(
            Applicant,
            Programme,
            *_standing_columns(
                tenant, Applicant.id, Applicant.nik_index, Programme.id, Programme.fiscal_year - 1
            ),
        )
        .select_from(Applicant)
        .outerjoin(
            Programme,
            and_(
                Programme.tenant_id == tenant,
                Programme.code == bindparam("code", type_=String()),
            ),
        )
        .where(Applicant.tenant_id == tenant, Applicant.id == bindparam("applicant", type_=Uuid()))
    )


_INTAKE = _intake_statement()


def intake_read(
    session: Session, tenant_id: uuid.UUID, applicant_id: uuid.UUID, programme_code: str
) -> tuple[Applicant | None, Programme | None, Standing | None]:
    """What a new application reads, in one statement (issue 22: it was three round trips):
    the applicant (None if not of this tenant), the programme `programme_code` (None if there
    is none) and the applicant's standing in it (None without the programme)."""
    row = session.execute(
        _INTAKE, {"tenant": tenant_id, "applicant": applicant_id, "code": programme_code}
    ).one_or_none()
    if row is None:
        return None, None, None
    applicant, programme, *standing_row = row
    if programme is None:
        return applicant, None, None
    return applicant, programme, _standing_of(standing_row)


# --- programmes -------------------------------------------------------------------------------


def _one(session: Session, q: Select[Any], for_update: bool) -> Any:
    """The one row `q` selects (None if none), locked for the transaction if `for_update`."""
    return session.execute(q.with_for_update() if for_update else q).scalar_one_or_none()


def programme_by_code(session: Session, code: str, *, for_update: bool = False) -> Programme | None:
    return _one(session, select(Programme).where(Programme.code == code), for_update)


def programme(
    session: Session, code: str, *, for_update: bool = False, field: str | None = None
) -> Programme:
    """The programme `code`, or a 404 refusal (naming `field` when the code came in a body)."""
    p = programme_by_code(session, code, for_update=for_update)
    if p is None:
        raise Refused(404, "No such programme.", field)
    return p


def programmes(session: Session) -> list[Programme]:
    """Every programme of the tenant, newest fiscal year first."""
    return list(
        session.execute(
            select(Programme).order_by(Programme.fiscal_year.desc(), Programme.code)
        ).scalars()
    )


def programme_code(session: Session, programme_id: uuid.UUID) -> str:
    return session.get_one(Programme, programme_id).code


def status_counts(session: Session, programme_id: uuid.UUID) -> dict[str, int]:
    return status_counts_of(session, [programme_id])


def lpj_overdue(session: Session, programme_id: uuid.UUID, today: date) -> int:
    """Applications of the programme whose LPJ is past its deadline (lpj.is_overdue in SQL)."""
    return session.execute(
        select(func.count())
        .select_from(Application)
        .where(
            Application.programme_id == programme_id,
            Application.status.in_(LPJ_PENDING),
            Application.lpj_due < today,
        )
    ).scalar_one()


# --- applications -----------------------------------------------------------------------------


def by_idempotency(session: Session, digest: str) -> Application | None:
    return session.execute(
        select(Application).where(Application.idempotency_key == digest)
    ).scalar_one_or_none()


def by_number(session: Session, number: str, *, for_update: bool = False) -> Application:
    app = _one(session, select(Application).where(Application.number == number), for_update)
    if app is None:
        raise Refused(404, "No such application.")
    return app


def own_application(
    session: Session, actor: Actor, number: str, *, for_update: bool = False
) -> Application:
    app = by_number(session, number, for_update=for_update)
    if app.applicant_id != actor.applicant_id:
        raise Refused(404, "No such application.")  # others' numbers look like no number
    return app


def documents(session: Session, application_id: uuid.UUID) -> list[Document]:
    return list(
        session.execute(
            select(Document).where(Document.application_id == application_id).order_by(Document.at)
        ).scalars()
    )


def document(session: Session, app: Application, document_id: uuid.UUID) -> Document:
    doc = session.get(Document, document_id)
    if doc is None or doc.application_id != app.id:
        raise Refused(404, "No such document.")
    return doc


def missing_documents(session: Session, app: Application) -> list[str]:
    """Required documents of the application's programme not attached yet (the list `submit`
    checks and the applicant's page shows)."""
    programme = session.get_one(Programme, app.programme_id)
    have = {d.code for d in documents(session, app.id)}
    return [c for c in programme.config.get("required_documents", []) if c not in have]


def rab_lines(session: Session, application_id: uuid.UUID) -> list[BudgetLineRow]:
    return list(
        session.execute(
            select(BudgetLineRow)
            .where(BudgetLineRow.application_id == application_id)
            .order_by(BudgetLineRow.position)
        ).scalars()
    )


def steps(session: Session, application_id: uuid.UUID) -> list[ApplicationStep]:
    return list(
        session.execute(
            select(ApplicationStep)
            .where(ApplicationStep.application_id == application_id)
            .order_by(ApplicationStep.at)
        ).scalars()
    )


def other_active(session: Session, app: Application) -> list[tuple[Application, str]]:
    """The same person's (NIK) or account's other active applications in this tenant, with
    their programme codes."""
    same = (
        (Application.nik_index == app.nik_index)
        if app.nik_index
        else (Application.applicant_id == app.applicant_id)
    )
    rows = session.execute(
        select(Application, Programme.code)
        .join(Programme, Programme.id == Application.programme_id)
        .where(same, Application.id != app.id, Application.status.in_(ACTIVE))
        .order_by(Application.created_at)
    )
    return [(a, code) for a, code in rows]


def of_applicant(session: Session, applicant_id: uuid.UUID | None) -> list[tuple[Application, str]]:
    """An applicant's applications with their programme codes, newest first."""
    rows = session.execute(
        select(Application, Programme.code)
        .join(Programme, Programme.id == Application.programme_id)
        .where(Application.applicant_id == applicant_id)
        .order_by(Application.created_at.desc())
    )
    return [(a, code) for a, code in rows]


def search(
    session: Session,
    *,
    statuses: list[str] | None = None,
    programme: str | None = None,
    offset: int = 0,
    limit: int = 50,
    waiting: bool = False,
    text: str | None = None,
    nik_index: str | None = None,
) -> tuple[list[tuple[Application, str]], int]:
    """Officials' list (API and worklist page): (application, programme code) rows and total.
    `waiting`: leave out fully paid applications, which wait for the recipient's LPJ, not for
    another tranche. `text`: the start of an application number or part of an organisation's
    name; `nik_index`: a person's NIK by its blind index."""
    q = select(Application, Programme.code).join(
        Programme, Programme.id == Application.programme_id
    )
    if text:
        org = select(Applicant.id).where(
            Applicant.organisation_name.icontains(text, autoescape=True)
        )
        q = q.where(
            or_(
                Application.number.startswith(text.upper(), autoescape=True),
                Application.applicant_id.in_(org),
            )
        )
    if nik_index:
        q = q.where(Application.nik_index == nik_index)
    if statuses is not None:
        q = q.where(Application.status.in_(statuses))
    if waiting:
        q = q.where(
            ~and_(
                Application.status == Status.DISBURSED.value,
                Application.disbursed >= func.coalesce(Application.approved, 0),
            )
        )
    if programme:
        q = q.where(Programme.code == programme)
    total = session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = session.execute(
        q.order_by(Application.created_at, Application.id).offset(offset).limit(limit)
    )
    return [(a, code) for a, code in rows], total


def organisation_names(session: Session, applicant_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Applicant id → its organisation's (public) name; people have none here."""
    if not applicant_ids:
        return {}
    rows = session.execute(
        select(Applicant.id, Applicant.organisation_name).where(Applicant.id.in_(applicant_ids))
    )
    return {i: name for i, name in rows if name}


def by_numbers(session: Session, numbers: list[str]) -> list[Application]:
    if not numbers:
        return []
    return list(
        session.execute(select(Application).where(Application.number.in_(numbers))).scalars()
    )


def counts_by_status(session: Session, statuses: list[str]) -> dict[str, int]:
    """How many applications of the tenant are in each of `statuses` (the worklist's head)."""
    if not statuses:
        return {}
    return _summed(session, ProgrammeStatusCount.status.in_(statuses))


# --- the statistics pages -----------------------------------------------------------------------


def programmes_of_year(session: Session, fiscal_year: int | None) -> list[Programme]:
    """The tenant's programmes of `fiscal_year` (every year when None), newest first."""
    q = select(Programme).order_by(Programme.fiscal_year.desc(), Programme.code)
    if fiscal_year is not None:
        q = q.where(Programme.fiscal_year == fiscal_year)
    return list(session.execute(q).scalars())


def fiscal_years(session: Session) -> list[int]:
    return list(
        session.execute(
            select(Programme.fiscal_year).distinct().order_by(Programme.fiscal_year.desc())
        ).scalars()
    )


def application_counts(
    session: Session, programme_ids: list[uuid.UUID], today: date
) -> dict[uuid.UUID, dict[str, int]]:
    """Per programme: applications, funded ones and overdue LPJs, in one query."""
    overdue = and_(Application.status.in_(LPJ_PENDING), Application.lpj_due < today)
    rows = session.execute(
        select(
            Application.programme_id,
            func.count(),
            func.count().filter(Application.status.in_(FUNDED)),
            func.count().filter(overdue),
        )
        .where(Application.programme_id.in_(programme_ids))
        .group_by(Application.programme_id)
    ).all()
    return {r[0]: {"applications": r[1], "funded": r[2], "lpj_overdue": r[3]} for r in rows}


def status_counts_of(session: Session, programme_ids: list[uuid.UUID]) -> dict[str, int]:
    """Applications by status over the given programmes, from the counter the triggers keep
    (a few rows per programme, whatever the number of applications: migration h013)."""
    return _summed(session, ProgrammeStatusCount.programme_id.in_(programme_ids))


def _summed(session: Session, where: ColumnElement[bool]) -> dict[str, int]:
    """The counter's rows matching `where`, summed by status (statuses at zero left out)."""
    c = ProgrammeStatusCount
    total = func.sum(c.n)
    rows = session.execute(
        select(c.status, total).where(where).group_by(c.status).having(total != 0)
    ).all()
    return {status: int(n) for status, n in rows}
