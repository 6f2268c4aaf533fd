"""Use cases of hibah-bansos applications: register, apply, attach, submit, move through the
workflow, file the LPJ. Each runs inside the caller's unit of work (shared/uow.py) and never
commits by itself; handlers in api.py parse, call one of these, commit.

Personal data lives only in encrypted columns; events carry ids, states and amounts.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from services.hibah_bansos import programmes, protect
from services.hibah_bansos.domain import eligibility, lpj, rab, workflow
from services.hibah_bansos.domain import nik as nik_rules
from services.hibah_bansos.domain.workflow import Status
from services.hibah_bansos.models import (
    Applicant,
    Application,
    ApplicationStep,
    Document,
    Programme,
)
from shared.separation import check_separation
from shared.tenancy import Tenant

SERVICE = "hibah_bansos"
ACTIVE = (
    "draft",
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
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DOCUMENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024


class Refused(Exception):
    """A request the rules refuse: HTTP status, reason, and the fields at fault."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        **extra,
    ) -> None:
        super().__init__(message)
        self.status, self.field, self.extra = status, field, extra
        self.errors = (
            errors
            if errors is not None
            else ([{"field": field, "reason": message}] if field else [])
        )


@dataclass(frozen=True)
class Actor:
    """Who acts: an applicant (their id) or an official (pseudonym, id, roles)."""

    kind: str  # "applicant" | "official"
    pseudonym: str
    applicant_id: uuid.UUID | None = None
    roles: frozenset[str] = field(default_factory=frozenset)


def today_utc() -> date:
    return datetime.now(UTC).date()


def new_number(year: int) -> str:
    """HB-2026-XXXXXXXX: 40 random bits in Crockford base32 (not guessable, not sequential)."""
    n = secrets.randbits(40)
    return f"HB-{year}-" + "".join(CROCKFORD[(n >> (5 * i)) & 31] for i in range(7, -1, -1))


# --- applicants -------------------------------------------------------------------------------


def register_applicant(uw, form, *, by_official: bool, actor: str) -> Applicant:
    s, tenant = uw.session, uw.tenant
    today = today_utc()
    applicant = Applicant(
        id=uuid.uuid4(), kind=form.type, tenant_id=tenant.id, in_social_registry=False
    )
    if form.email:
        applicant.email_index = protect.blind_index(s, tenant.id, "email", form.email)
        if s.execute(
            select(Applicant.id).where(Applicant.email_index == applicant.email_index)
        ).first():
            raise Refused(
                409, "An account with this e-mail address exists; sign in instead.", "email"
            )
        from shared.officials import hash_password

        applicant.password_hash = hash_password(form.password)
    elif not by_official:
        raise Refused(422, "Give an e-mail address and a password to sign in with.", "email")
    if form.email and not form.password:
        raise Refused(422, "Give a password of at least 12 characters.", "password")
    personal = {
        "name": form.name,
        "address": form.address,
        "phone": form.phone,
        "bank_account": form.bank_account,
    }
    if form.type == "organisation":
        if form.legal_entity_since > today:
            raise Refused(
                422, "The legal entity cannot be registered in the future.", "legal_entity_since"
            )
        applicant.organisation_name = form.name  # public: published if funded
        applicant.registration_index = protect.blind_index(
            s, tenant.id, "registration_number", "".join(form.registration_number.upper().split())
        )
        if s.execute(
            select(Applicant.id).where(Applicant.registration_index == applicant.registration_index)
        ).first():
            raise Refused(
                409,
                "This legal entity already has an account in this city; sign in with it.",
                "registration_number",
            )
        applicant.legal_entity_since = form.legal_entity_since
        personal.update(
            chairperson=form.chairperson,
            npwp=form.npwp,
            registration_number=form.registration_number,
        )
    else:
        errors = [{"field": "nik", "reason": r} for r in nik_rules.nik_problems(form.nik, today)]
        errors += [{"field": "kk", "reason": r} for r in nik_rules.kk_problems(form.kk)]
        if errors:
            raise Refused(
                422, "; ".join(f"{e['field']}: {e['reason']}" for e in errors), errors=errors
            )
        applicant.nik_index = protect.blind_index(s, tenant.id, "nik", form.nik)
        if s.execute(
            select(Applicant.id).where(Applicant.nik_index == applicant.nik_index)
        ).first():
            raise Refused(
                409,
                "This NIK is already registered in this city; an official can "
                "help you recover the account.",
                "nik",
            )
        applicant.nik_region = nik_rules.region_of(form.nik)
        applicant.in_social_registry = bool(by_official and form.in_social_registry)
        personal.update(nik=form.nik, kk=form.kk)
    applicant.bank_account_index = protect.blind_index(
        s, tenant.id, "bank_account", form.bank_account
    )
    applicant.personal = protect.encrypt_json(
        s, tenant.id, "applicants", applicant.id, "personal", personal
    )
    s.add(applicant)
    s.flush()
    uw.emit(
        "hibah_bansos.applicant.registered.v1",
        subject=str(applicant.id),
        actor=actor,
        data={
            "applicant_id": str(applicant.id),
            "kind": applicant.kind,
            "registered_by": "official" if by_official else "self",
        },
    )
    return applicant


def check_applicant_password(
    session: Session, tenant: Tenant, email: str, password: str
) -> Applicant | None:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    index = protect.blind_index(session, tenant.id, "email", email)
    applicant = session.execute(
        select(Applicant).where(Applicant.email_index == index)
    ).scalar_one_or_none()
    try:
        if applicant is None or not applicant.password_hash:
            PasswordHasher().hash(password)  # same cost whether the account exists or not
            return None
        PasswordHasher().verify(applicant.password_hash, password)
        return applicant
    except (VerificationError, InvalidHashError):
        return None


def personal(session: Session, tenant: Tenant, applicant: Applicant) -> dict:
    return protect.decrypt_json(
        session, tenant.id, "applicants", applicant.id, "personal", applicant.personal
    )


# --- applications -----------------------------------------------------------------------------


def _programme(session: Session, tenant: Tenant, code: str) -> Programme:
    programmes.ensure_synced(session, tenant)
    p = programmes.by_code(session, code)
    if p is None:
        raise Refused(404, "No such programme.", "programme")
    return p


def _funded_last_year(session: Session, applicant: Applicant, programme: Programme) -> bool:
    return (
        session.execute(
            select(func.count())
            .select_from(Application)
            .join(Programme, Programme.id == Application.programme_id)
            .where(
                Application.applicant_id == applicant.id,
                Programme.kind == "hibah",
                Programme.fiscal_year == programme.fiscal_year - 1,
                Application.status.in_(FUNDED),
            )
        ).scalar_one()
        > 0
    )


def eligibility_errors(
    session: Session, tenant: Tenant, applicant: Applicant, programme: Programme, amount: int
) -> list[dict[str, str]]:
    facts = eligibility.Facts(
        applicant_type=applicant.kind,
        requested=amount,
        nik_region=applicant.nik_region,
        legal_entity_since=applicant.legal_entity_since,
        hibah_last_year=_funded_last_year(session, applicant, programme),
        in_social_registry=applicant.in_social_registry,
    )
    rules = programme.config.get("eligibility", {})
    regions = tenant.service_config(SERVICE).get("region_codes", [])
    return [
        {"field": f"eligibility.{rule}", "reason": reason}
        for rule, reason in eligibility.failed_rules(rules, facts, regions, today_utc())
    ]


def idempotency_digest(applicant_id: uuid.UUID, key: str) -> str:
    """Keys are per applicant: two applicants' equal keys never meet."""
    return hashlib.sha256(f"{applicant_id}|{key}".encode()).hexdigest()


def by_idempotency(session: Session, digest: str) -> Application | None:
    return session.execute(
        select(Application).where(Application.idempotency_key == digest)
    ).scalar_one_or_none()


def create_application(uw, actor: Actor, form, *, idempotency_key: str | None) -> Application:
    s, tenant = uw.session, uw.tenant
    applicant = _applicant_for(s, actor, form.applicant_id)
    programme = _programme(s, tenant, form.programme)
    if not programmes.is_open(programme, today_utc()):
        raise Refused(409, "This programme is not open for applications.", "programme")
    lines = [rab.BudgetLine(line.item, line.amount) for line in form.rab]
    errors = [{"field": f, "reason": r} for f, r in rab.check_rab(lines, form.requested)]
    errors += eligibility_errors(s, tenant, applicant, programme, form.requested)
    if errors:
        raise Refused(422, "; ".join(e["reason"] for e in errors), errors=errors)
    _refuse_duplicate_person(s, applicant, programme)
    app = Application(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        number=new_number(programme.fiscal_year),
        programme_id=programme.id,
        applicant_id=applicant.id,
        status=Status.DRAFT.value,
        requested=form.requested,
        nik_index=applicant.nik_index,
        rab=[{"item": line.item, "amount": line.amount} for line in lines],
        actors={},
        disbursed=0,
        idempotency_key=idempotency_digest(applicant.id, idempotency_key)
        if idempotency_key
        else None,
    )
    app.proposal = protect.encrypt_json(
        s, tenant.id, "applications", app.id, "proposal", form.proposal
    )
    s.add(app)
    s.flush()
    uw.emit(
        "hibah_bansos.application.created.v1",
        subject=app.number,
        actor=actor.pseudonym,
        data={
            "application_id": str(app.id),
            "application_number": app.number,
            "programme": programme.code,
            "status": app.status,
            "requested": app.requested,
            "kind": programme.kind,
        },
    )
    return app


def _applicant_for(session: Session, actor: Actor, applicant_id: str | None) -> Applicant:
    if actor.kind == "applicant":
        if applicant_id not in (None, str(actor.applicant_id)):
            raise Refused(403, "Applicants apply for themselves only.", "applicant_id")
        wanted = actor.applicant_id
    else:
        try:
            wanted = uuid.UUID(applicant_id or "")
        except ValueError:
            raise Refused(
                422, "Name the applicant you enter this application for.", "applicant_id"
            ) from None
    applicant = session.get(Applicant, wanted)
    if applicant is None:
        raise Refused(
            404 if actor.kind == "official" else 401, "No such applicant.", "applicant_id"
        )
    return applicant


def _refuse_duplicate_person(session: Session, applicant: Applicant, programme: Programme) -> None:
    """One NIK, one programme (one fiscal year). The partial unique index
    applications_one_per_person is the backstop against a concurrent second request."""
    if applicant.nik_index is None:
        return
    other = session.execute(
        select(Application.number, Application.status).where(
            Application.programme_id == programme.id,
            Application.nik_index == applicant.nik_index,
            Application.status != "rejected",
        )
    ).first()
    if other:
        raise Refused(
            409,
            f"This person (NIK) already has application {other.number} in "
            f"{programme.code} (fiscal year {programme.fiscal_year}); a NIK may "
            f"receive a programme once a year.",
            "nik",
            existing_application=other.number,
        )


def by_number(session: Session, number: str, *, for_update: bool = False) -> Application:
    q = select(Application).where(Application.number == number)
    if for_update:
        q = q.with_for_update()
    app = session.execute(q).scalar_one_or_none()
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


def add_document(uw, actor: Actor, number: str, code: str, content: bytes) -> Document:
    import filetype

    s, tenant = uw.session, uw.tenant
    app = own_application(s, actor, number, for_update=True)
    if app.status not in ("draft", "returned"):
        raise Refused(
            409,
            "Documents can be added while the application is a draft or returned for revision.",
            "status",
        )
    programme = s.get(Programme, app.programme_id)
    known = {d["code"] for d in tenant.service_config(SERVICE).get("required_documents", [])}
    known |= set(programme.config.get("required_documents", []))
    if code not in known:
        raise Refused(422, f"Unknown document type; one of: {', '.join(sorted(known))}.", "code")
    if not content:
        raise Refused(422, "The file is empty.", "file")
    if len(content) > DOCUMENT_MAX_BYTES:
        raise Refused(413, "The file is larger than 10 MB.", "file")
    kind = filetype.guess(content)  # from the bytes, never from the name or the header
    if kind is None or kind.mime not in DOCUMENT_TYPES:
        raise Refused(415, "Upload a PDF, JPEG or PNG file.", "file")
    doc = Document(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        application_id=app.id,
        code=code,
        media_type=kind.mime,
        size=len(content),
    )
    doc.content = protect.encrypt_bytes(
        s, tenant.id, "application_documents", doc.id, "content", content
    )
    s.add(doc)
    s.flush()
    uw.emit(
        "hibah_bansos.document.added.v1",
        subject=app.number,
        actor=actor.pseudonym,
        data={
            "application_id": str(app.id),
            "application_number": app.number,
            "programme": programme.code,
            "document_id": str(doc.id),
            "code": code,
            "media_type": kind.mime,
            "size": len(content),
        },
    )
    return doc


def documents(session: Session, application_id: uuid.UUID) -> list[Document]:
    return list(
        session.execute(
            select(Document).where(Document.application_id == application_id).order_by(Document.at)
        ).scalars()
    )


def submit(uw, actor: Actor, number: str) -> Application:
    s, tenant = uw.session, uw.tenant
    app = own_application(s, actor, number, for_update=True)
    edge = workflow.edge_for(app.status, Status.SUBMITTED.value, frozenset({workflow.APPLICANT}))
    programme = s.get(Programme, app.programme_id)
    errors = [
        {"field": f"documents.{c}", "reason": "required document missing"}
        for c in missing_documents(s, app)
    ]
    applicant = s.get(Applicant, app.applicant_id)
    errors += eligibility_errors(s, tenant, applicant, programme, app.requested)
    if errors:
        raise Refused(
            422,
            "The application is not complete: " + ", ".join(e["field"] for e in errors),
            errors=errors,
        )
    _move(s, app, edge, actor, reason=None, amount=None, reference=None)
    uw.emit(
        "hibah_bansos.application.submitted.v1",
        subject=app.number,
        actor=actor.pseudonym,
        data={
            "application_id": str(app.id),
            "application_number": app.number,
            "programme": programme.code,
            "from": edge.source.value,
            "to": edge.target.value,
            "requested": app.requested,
        },
    )
    return app


def _move(
    session: Session,
    app: Application,
    edge: workflow.Edge,
    actor: Actor,
    *,
    reason,
    amount,
    reference,
) -> None:
    session.add(
        ApplicationStep(
            tenant_id=app.tenant_id,
            application_id=app.id,
            source=app.status,
            target=edge.target.value,
            actor=actor.pseudonym,
            reason=reason,
            amount=amount,
            reference=reference,
        )
    )
    app.status = edge.target.value
    if actor.kind == "official":
        app.actors = {**app.actors, edge.step: actor.pseudonym}  # new dict: JSON is replaced
    session.flush()


def transition(uw, actor: Actor, number: str, form) -> Application:
    """An official's step. Budget rules are enforced by guarded UPDATEs in this transaction."""
    s, tenant = uw.session, uw.tenant
    app = by_number(s, number, for_update=True)
    edge = workflow.edge_for(app.status, form.to, actor.roles)
    fields = {
        "amount": form.amount,
        "reason": form.reason,
        "reference": form.reference,
        "date": form.date,
    }
    if edge.step == "sign_agreement" and not form.date:
        fields["date"] = None
    workflow.check_fields(edge, fields)
    check_separation(app.actors, edge.step, actor.pseudonym, workflow.SEPARATED_STEPS)
    programme = s.get(Programme, app.programme_id)
    workflow.check_amount(
        edge,
        form.amount,
        requested=app.requested,
        approved=app.approved or 0,
        disbursed=app.disbursed,
    )
    if edge.step == "evaluate":
        app.recommended = form.amount
    elif edge.step == "approve":
        _approve(s, tenant, app, programme, form)
    elif edge.step == "sign_agreement":
        app.nphd_number, app.nphd_date = form.reference, form.date
    elif edge.step == "disburse":
        if not programmes.record_disbursement(s, programme.id, form.amount):
            raise Refused(
                409,
                "Disbursing this would pay out more than the programme has allocated.",
                "amount",
            )
        app.disbursed = app.disbursed + form.amount
    _move(s, app, edge, actor, reason=form.reason, amount=form.amount, reference=form.reference)
    uw.emit(
        "hibah_bansos.application.transitioned.v1",
        subject=app.number,
        actor=actor.pseudonym,
        data={
            "application_id": str(app.id),
            "application_number": app.number,
            "programme": programme.code,
            "from": edge.source.value,
            "to": edge.target.value,
            "step": edge.step,
            "amount": form.amount,
            "approved": app.approved,
            "disbursed": app.disbursed,
            "reference": form.reference or None,
        },
    )
    return app


def _approve(s: Session, tenant: Tenant, app: Application, programme: Programme, form) -> None:
    # eligibility again at approval: facts (and last year's grants) may have changed
    applicant = s.get(Applicant, app.applicant_id)
    errors = eligibility_errors(s, tenant, applicant, programme, form.amount)
    if errors:
        raise Refused(
            409, "No longer eligible: " + "; ".join(e["reason"] for e in errors), errors=errors
        )
    if programmes.allocate(s, programme.id, form.amount) is None:
        ceiling, allocated, _ = programmes.totals(s, programme.id)
        raise Refused(
            409,
            f"The programme ceiling (pagu) would be exceeded: {allocated} of "
            f"{ceiling} rupiah is allocated, {ceiling - allocated} remains, "
            f"{form.amount} was asked.",
            "amount",
            ceiling=ceiling,
            allocated=allocated,
            remaining=ceiling - allocated,
        )
    lpj_due = tenant.service_config(SERVICE).get("lpj_due")
    app.approved = form.amount
    app.decree_number, app.decree_date = form.reference, form.date
    app.lpj_due = lpj.due_date(programme.fiscal_year, lpj_due)


def file_lpj(uw, actor: Actor, number: str, form) -> Application:
    s = uw.session
    app = own_application(s, actor, number, for_update=True)
    edge = workflow.edge_for(app.status, Status.REPORTED.value, frozenset({workflow.APPLICANT}))
    lines = [(line.item, line.amount) for line in form.lines]
    problems = lpj.spending_problems(lines, app.disbursed)
    if problems:
        raise Refused(
            422,
            "; ".join(r for _, r in problems),
            errors=[{"field": f, "reason": r} for f, r in problems],
        )
    app.lpj = {
        "summary": form.summary,
        "lines": [{"item": i, "amount": a} for i, a in lines],
        "spent": sum(a for _, a in lines),
        "filed_at": datetime.now(UTC).isoformat(),
    }
    programme = s.get(Programme, app.programme_id)
    _move(s, app, edge, actor, reason=None, amount=app.lpj["spent"], reference=None)
    uw.emit(
        "hibah_bansos.lpj.filed.v1",
        subject=app.number,
        actor=actor.pseudonym,
        data={
            "application_id": str(app.id),
            "application_number": app.number,
            "programme": programme.code,
            "from": edge.source.value,
            "to": edge.target.value,
            "spent": app.lpj["spent"],
            "disbursed": app.disbursed,
            "lines": len(lines),
        },
    )
    return app


# --- views ------------------------------------------------------------------------------------


def steps(session: Session, application_id: uuid.UUID) -> list[ApplicationStep]:
    return list(
        session.execute(
            select(ApplicationStep)
            .where(ApplicationStep.application_id == application_id)
            .order_by(ApplicationStep.at)
        ).scalars()
    )


def other_active(session: Session, app: Application) -> list[Application]:
    """The same person's (NIK) or account's other active applications in this tenant."""
    same = (
        (Application.nik_index == app.nik_index)
        if app.nik_index
        else (Application.applicant_id == app.applicant_id)
    )
    return list(
        session.execute(
            select(Application)
            .where(same, Application.id != app.id, Application.status.in_(ACTIVE))
            .order_by(Application.created_at)
        ).scalars()
    )


def summary_view(app: Application, programme_code: str) -> dict:
    return {
        "application_number": app.number,
        "programme": programme_code,
        "status": app.status,
        "requested": app.requested,
        "recommended": app.recommended,
        "approved": app.approved,
        "disbursed": app.disbursed,
        "lpj_due": app.lpj_due and app.lpj_due.isoformat(),
        "lpj_overdue": lpj.is_overdue(app.status, app.lpj_due, today_utc()),
        "allowed_next": workflow.allowed_targets(app.status),
        "created_at": app.created_at.isoformat(),
    }


def programme_summary(session: Session, programme: Programme) -> dict:
    ceiling, allocated, disbursed = programmes.totals(session, programme.id)
    by_status = dict(
        session.execute(
            select(Application.status, func.count())
            .where(Application.programme_id == programme.id)
            .group_by(Application.status)
        ).all()
    )
    overdue = session.execute(
        select(func.count())
        .select_from(Application)
        .where(
            Application.programme_id == programme.id,
            Application.status.in_(("agreement_signed", "disbursed")),
            Application.lpj_due < today_utc(),
        )
    ).scalar_one()
    return {
        "programme": programme.code,
        "ceiling": ceiling,
        "allocated": allocated,
        "disbursed": disbursed,
        "remaining": ceiling - allocated,
        "by_status": by_status,
        "lpj_overdue": overdue,
    }


def search(
    session: Session,
    *,
    statuses: list[str] | None = None,
    programme: str | None = None,
    page: int = 1,
    per_page: int = 50,
    waiting: bool = False,
) -> tuple[list[tuple[Application, str]], int]:
    """Officials' list (API and worklist page): (application, programme code) rows and total.
    `waiting`: leave out fully paid applications, which wait for the recipient's LPJ, not for
    another tranche."""
    q = select(Application, Programme.code).join(
        Programme, Programme.id == Application.programme_id
    )
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
        q.order_by(Application.created_at, Application.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return [(a, c) for a, c in rows], total


def of_applicant(session: Session, applicant_id: uuid.UUID) -> list[dict]:
    rows = session.execute(
        select(Application, Programme.code)
        .join(Programme, Programme.id == Application.programme_id)
        .where(Application.applicant_id == applicant_id)
        .order_by(Application.created_at.desc())
    ).all()
    return [summary_view(a, code) for a, code in rows]


def proposal_text(session: Session, tenant: Tenant, app: Application) -> str:
    return (
        protect.decrypt_json(session, tenant.id, "applications", app.id, "proposal", app.proposal)
        if app.proposal
        else ""
    )


def detail_view(session: Session, tenant: Tenant, app: Application) -> dict:
    """One application as officials see it (API detail and office page): personal fields
    decrypted, history, documents, and the person's other active applications."""
    programme = session.get(Programme, app.programme_id)
    applicant = session.get(Applicant, app.applicant_id)
    view = summary_view(app, programme.code)
    view.update(
        applicant={
            "id": str(applicant.id),
            "type": applicant.kind,
            **personal(session, tenant, applicant),
        },
        proposal=proposal_text(session, tenant, app),
        rab=app.rab,
        decree_number=app.decree_number,
        decree_date=app.decree_date and app.decree_date.isoformat(),
        nphd_number=app.nphd_number,
        nphd_date=app.nphd_date and app.nphd_date.isoformat(),
        lpj=app.lpj,
        actors=app.actors,
        documents=[
            {
                "id": str(d.id),
                "code": d.code,
                "media_type": d.media_type,
                "size": d.size,
                "at": d.at.isoformat(),
            }
            for d in documents(session, app.id)
        ],
        history=[
            {
                "from": st.source,
                "to": st.target,
                "actor": st.actor,
                "reason": st.reason,
                "amount": st.amount,
                "reference": st.reference,
                "at": st.at.isoformat(),
            }
            for st in steps(session, app.id)
        ],
        other_active_applications=[
            {
                "application_number": o.number,
                "status": o.status,
                "programme": session.get(Programme, o.programme_id).code,
            }
            for o in other_active(session, app)
        ],
    )
    return view


def document_content(
    session: Session, tenant: Tenant, app: Application, document_id: uuid.UUID
) -> tuple[Document, bytes]:
    doc = session.get(Document, document_id)
    if doc is None or doc.application_id != app.id:
        raise Refused(404, "No such document.")
    return doc, protect.decrypt_bytes(
        session, tenant.id, "application_documents", doc.id, "content", doc.content
    )


def missing_documents(session: Session, app: Application) -> list[str]:
    """Required documents of the application's programme not attached yet (the same list
    `submit` checks)."""
    programme = session.get(Programme, app.programme_id)
    have = {d.code for d in documents(session, app.id)}
    return [c for c in programme.config.get("required_documents", []) if c not in have]
