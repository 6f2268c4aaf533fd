"""Use cases of hibah-bansos applications, everything that changes state: register, apply,
attach, submit, move through the workflow, file the LPJ. Each runs inside the caller's unit of
work (`with unit_of_work() as uw:` in the handlers, shared/web.py) and never commits by itself.

Queries live in repository.py, reads that only present data in views.py, rules in domain/.
Personal data lives only in encrypted columns; events carry ids, states and amounts.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.hibah_bansos import applicant_auth as applicant_links
from services.hibah_bansos import programmes, repository, social_registry, views
from services.hibah_bansos.domain import eligibility, lpj, rab, workflow
from services.hibah_bansos.domain import nik as nik_rules
from services.hibah_bansos.domain.access import EVALUATOR
from services.hibah_bansos.domain.workflow import Status
from services.hibah_bansos.models import (
    Applicant,
    Application,
    ApplicationStep,
    BudgetLineRow,
    Document,
    Programme,
    RegistryCheck,
)
from shared import event_types as ev
from shared.actor import APPLICANT_KIND, SYSTEM, Actor
from shared.crypto import FieldCipher, blind_index
from shared.officials import hash_password
from shared.pdf_clean import PdfNotCleanable, clean_pdf
from shared.problem import Refused
from shared.separation import check_separation
from shared.tenancy import Tenant, today
from shared.uow import UnitOfWork

SERVICE = "hibah_bansos"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
DOCUMENT_TYPES = ("application/pdf", "image/jpeg", "image/png")
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
APPLICANT_STEP = frozenset({workflow.APPLICANT})
EDITABLE = (Status.DRAFT.value, Status.RETURNED.value)  # the applicant may change these
LPJ_EVIDENCE = ("lpj_receipt", "lpj_photo")  # receipts (kuitansi, nota) and activity photos


def new_number(year: int) -> str:
    """HB-2026-XXXXXXXX: 40 random bits in Crockford base32 (not guessable, not sequential)."""
    n = secrets.randbits(40)
    return f"HB-{year}-" + "".join(CROCKFORD[(n >> (5 * i)) & 31] for i in range(7, -1, -1))


def integrity_refusal(exc: IntegrityError) -> Refused:
    """The service's hook for shared/web.py's unit of work: a unique index that fired under a
    concurrent duplicate is answered 409 naming the field, never 500."""
    if "applicants_registration" in str(exc.orig):
        return Refused(
            409, "This legal entity already has an account in this city.", "registration_number"
        )
    if "applications_one_per_person" in str(exc.orig):
        return Refused(
            409,
            "This person (NIK) already has an application in this programme this fiscal year.",
            "nik",
        )
    return Refused(409, "A concurrent request changed the same record; try again.")


def _refuse(status: int, errors: list[dict[str, str]], message: str) -> None:
    if errors:
        raise Refused(status, message, errors=errors)


def _emit(
    uw: UnitOfWork,
    type_: str,
    actor: Actor,
    app: Application,
    programme: Programme,
    *,
    edge: workflow.Edge | None = None,
    **data: Any,
) -> None:
    """One event about `app`: its ids and programme, the edge it moved along (if any), and
    `data` (ids, states and amounts only, never personal data)."""
    moved = {"from": edge.source.value, "to": edge.target.value} if edge is not None else {}
    uw.emit(
        type_,
        subject=app.number,
        actor=actor.pseudonym,
        data={
            "application_id": str(app.id),
            "application_number": app.number,
            "programme": programme.code,
            **moved,
            **data,
        },
    )


# --- applicants -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    """What a registration did: the new account (None when the details are already held:
    a self-registration then answers exactly as if it had made one) and the one-time link to
    mail to `email` (None without an e-mail address)."""

    applicant: Applicant | None
    link: str | None = None
    email: str | None = None


def register_applicant(uw: UnitOfWork, form: Any, *, registrar: Actor | None) -> Registration:
    """An applicant account; `registrar` is the official entering it at the counter (None:
    the applicant registers themselves).

    Self-registration is no oracle: an e-mail address, NIK or legal entity that already has
    an account creates nothing and is answered like a new one; a new account stays
    unconfirmed (no sign-in, its NIK claimable at the counter) until its e-mail link is
    followed. An official never chooses the password: the account they make is confirmed
    (they saw the person) and its e-mail gets an activation link. Only a bansos evaluator
    may set `in_social_registry`; who did is kept on the row and is the event's actor."""
    s, tenant = uw.session, uw.tenant
    by_official = registrar is not None and registrar.is_official
    if by_official and form.password:
        raise Refused(
            422,
            "An official never sets an applicant's password: leave it out, the applicant "
            "sets it through the activation link mailed to them.",
            "password",
        )
    # the official who sets the social-registry (DTKS) flag, if any
    dtks = registrar if by_official and getattr(form, "in_social_registry", False) else None
    if dtks is not None and EVALUATOR not in dtks.roles:
        raise Refused(
            403,
            "Only a bansos evaluator confirms a social-registry (DTKS) entry.",
            "in_social_registry",
            required_roles=[EVALUATOR],
        )
    if not by_official and not form.password:
        # no e-mail is fine (many recipients have none): NIK and password sign in, once the
        # registration is confirmed at the counter (recovery.issue_at_counter)
        raise Refused(422, "Give a password of at least 12 characters.", "password")
    on = today(tenant)
    # hashed before any look-up, so "already held" costs the same time as "created"
    password_hash = hash_password(form.password) if form.password else None
    applicant = Applicant(
        id=uuid.uuid4(),
        kind=form.type,
        tenant_id=tenant.id,
        in_social_registry=False,
        password_hash=password_hash,
        confirmed_at=datetime.now(UTC) if by_official else None,
    )
    held = False  # a self-registration whose details have an account already
    claimed: Applicant | None = None
    if form.email:
        applicant.email_index = blind_index(s, tenant.id, "email", form.email)
        if repository.applicant_taken(s, Applicant.email_index, applicant.email_index):
            if by_official:
                raise Refused(
                    409, "An account with this e-mail address exists; sign in instead.", "email"
                )
            held = True
    personal = {
        "name": form.name,
        "address": form.address,
        "phone": form.phone,
        "bank_account": form.bank_account,
    }
    if form.email:  # sealed like the rest: where status notices go (services/notifications)
        personal["email"] = form.email
    if form.type == "organisation":
        if form.legal_entity_since > on:
            raise Refused(
                422, "The legal entity cannot be registered in the future.", "legal_entity_since"
            )
        applicant.organisation_name = form.name  # public: published if funded
        applicant.registration_index = blind_index(
            s, tenant.id, "registration_number", "".join(form.registration_number.upper().split())
        )
        if repository.applicant_taken(
            s, Applicant.registration_index, applicant.registration_index
        ):
            if by_official:
                raise Refused(
                    409,
                    "This legal entity already has an account in this city; sign in with it.",
                    "registration_number",
                )
            held = True
        applicant.legal_entity_since = form.legal_entity_since
        personal.update(
            chairperson=form.chairperson,
            npwp=form.npwp,
            registration_number=form.registration_number,
        )
    else:
        errors = [{"field": "nik", "reason": r} for r in nik_rules.nik_problems(form.nik, on)]
        errors += [{"field": "kk", "reason": r} for r in nik_rules.kk_problems(form.kk)]
        _refuse(422, errors, "; ".join(f"{e['field']}: {e['reason']}" for e in errors))
        applicant.nik_index = blind_index(s, tenant.id, "nik", form.nik)
        holder = repository.applicant_by_index(s, Applicant.nik_index, applicant.nik_index)
        if holder is not None and not by_official:
            held = True
        elif holder is not None:
            claimed = _claimable(s, holder)
        applicant.nik_region = nik_rules.region_of(form.nik)
        if dtks is not None:
            applicant.in_social_registry = True
            applicant.social_registry_set_by = dtks.pseudonym
        personal.update(nik=form.nik, kk=form.kk)
    if held:
        return Registration(None, None, form.email)
    if claimed is not None:
        # it never confirmed, so it never signed in nor applied; reset codes it asked for go
        # with it
        repository.delete_password_resets(s, claimed.id)
        s.delete(claimed)
        s.flush()
    link = None
    if form.email:
        link = applicant_links.new_link(
            applicant,
            applicant_links.ACTIVATION_DAYS if by_official else applicant_links.CONFIRMATION_DAYS,
        )
    applicant.bank_account_index = blind_index(s, tenant.id, "bank_account", form.bank_account)
    applicant.personal = FieldCipher(s, tenant.id, "applicants", applicant.id).encrypt_json(
        "personal", personal
    )
    s.add(applicant)
    s.flush()
    data: dict[str, Any] = {
        "applicant_id": str(applicant.id),
        "kind": applicant.kind,
        "registered_by": "official" if by_official else "self",
    }
    if applicant.in_social_registry:
        data["in_social_registry"] = True
    if claimed is not None:
        data["claimed_from_unconfirmed"] = str(claimed.id)
    uw.emit(
        ev.HB_APPLICANT_REGISTERED,
        subject=str(applicant.id),
        actor=registrar.pseudonym if registrar is not None else APPLICANT_KIND,
        data=data,
    )
    return Registration(applicant, link, form.email)


def _claimable(s: Session, holder: Applicant) -> Applicant:
    """The account holding a NIK an official registers at the counter: claimable only when it
    never confirmed (a squatter's, or a real person's abandoned one) and so never applied."""
    if holder.confirmed_at is None and not repository.has_applications(s, holder.id):
        return holder
    raise Refused(
        409,
        "This NIK is already registered in this city; an official can help you recover the "
        "account.",
        "nik",
    )


def confirm_applicant(uw: UnitOfWork, token: str, password: str | None) -> Applicant:
    """Follow a one-time link: confirm a self-registered account's e-mail address, or activate
    an account an official made with the applicant's own `password`. The link then is spent."""
    s = uw.session
    applicant = repository.applicant_by_link(s, applicant_links.link_digest(token))
    now = datetime.now(UTC)
    if applicant is None or applicant.link_expires_at is None or applicant.link_expires_at < now:
        raise Refused(
            410, "This link is not valid any more; register again or ask at the counter.", "token"
        )
    how = "confirmed"
    if applicant.password_hash is None:
        if not password or len(password) < 12:
            raise Refused(422, "Choose a password of at least 12 characters.", "password")
        applicant.password_hash = hash_password(password)
        how = "activated"
    applicant.confirmed_at = applicant.confirmed_at or now
    applicant.link_hash = applicant.link_expires_at = None
    uw.emit(
        ev.HB_APPLICANT_CONFIRMED,
        subject=str(applicant.id),
        actor=APPLICANT_KIND,
        data={"applicant_id": str(applicant.id), "how": how},
    )
    return applicant


# --- applications -----------------------------------------------------------------------------


def in_social_registry(applicant: Applicant, standing: repository.Standing) -> bool:
    """The bansos fact: entered so by an official at registration or import, listed by the
    social registry's latest answer, or vouched for by an official after the registry said no."""
    return applicant.in_social_registry or bool(standing.registry_listed) or standing.vouched


def eligibility_errors(
    uw: UnitOfWork,
    applicant: Applicant,
    programme: Programme,
    amount: int,
    *,
    defer_registry: bool = False,
    standing: repository.Standing | None = None,
) -> list[dict[str, str]]:
    """Every rule the applicant fails; `defer_registry`: leave the social-registry rule for
    later (a draft of a person who may still ask an official to verify them); `standing`:
    read already by the caller."""
    return failed_eligibility(
        uw.session,
        uw.tenant,
        applicant,
        programme,
        amount,
        defer_registry=defer_registry,
        standing=standing,
    )


def failed_eligibility(
    session: Session,
    tenant: Tenant,
    applicant: Applicant,
    programme: Programme,
    amount: int,
    *,
    defer_registry: bool = False,
    standing: repository.Standing | None = None,
) -> list[dict[str, str]]:
    """eligibility_errors outside a unit of work (the pages say before the form what fails)."""
    standing = standing or repository.standing(session, applicant, programme)
    facts = eligibility.Facts(
        applicant_type=applicant.kind,
        requested=amount,
        nik_region=applicant.nik_region,
        legal_entity_since=applicant.legal_entity_since,
        hibah_last_year=standing.funded_last_year,
        in_social_registry=in_social_registry(applicant, standing),
    )
    rules = dict(programme.config.get("eligibility", {}))
    if defer_registry:
        rules.pop("social_registry_required", None)
    regions = tenant.service_config(SERVICE).get("region_codes", [])
    return [
        {"field": f"eligibility.{rule}", "reason": reason}
        for rule, reason in eligibility.failed_rules(rules, facts, regions, today(tenant))
    ]


def idempotency_digest(applicant_id: uuid.UUID | None, key: str) -> str:
    """Keys are per applicant: two applicants' equal keys never meet."""
    return hashlib.sha256(f"{applicant_id}|{key}".encode()).hexdigest()


def create_application(
    uw: UnitOfWork,
    actor: Actor,
    form: Any,
    *,
    idempotency_key: str | None,
    defer_registry: bool = False,
) -> Application:
    """A draft; `defer_registry` (the pages): a person the social registry does not list may
    keep a draft and ask an official to verify them (ask_verification) instead of submitting."""
    s, tenant = uw.session, uw.tenant
    applicant, programme, standing = repository.intake_read(
        s, tenant.id, _applicant_id_for(actor, form.applicant_id), form.programme
    )
    if applicant is None:
        raise _no_such_applicant(actor)
    if programme is None or standing is None:
        raise Refused(404, "No such programme.", "programme")
    if not programmes.is_open(programme, today(tenant)):
        raise Refused(409, "This programme is not open for applications.", "programme")
    errors = _rab_errors(form)
    errors += eligibility_errors(
        uw, applicant, programme, form.requested, defer_registry=defer_registry, standing=standing
    )
    _refuse(422, errors, "; ".join(e["reason"] for e in errors))
    _refuse_duplicate_person(applicant, programme, standing)
    app = Application(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        number=new_number(programme.fiscal_year),
        programme_id=programme.id,
        applicant_id=applicant.id,
        status=Status.DRAFT.value,
        requested=form.requested,
        nik_index=applicant.nik_index,
        actors={},
        disbursed=0,
        idempotency_key=idempotency_digest(applicant.id, idempotency_key)
        if idempotency_key
        else None,
    )
    cipher = FieldCipher(s, tenant.id, "applications", app.id, new_row=True)
    app.proposal = cipher.encrypt_json("proposal", form.proposal)
    app.rab = None  # the budget plan is its lines
    # the draft, its budget lines, its record key and its event: the commit's one write
    # statement (the lines refer to the draft: foreign keys are checked at the statement's end)
    uw.add_new(app)
    for line in _rab_rows(cipher, app, rab.lines_of(form.rab)[0]):
        uw.add_new(line)
    _emit(
        uw,
        ev.HB_APPLICATION_CREATED,
        actor,
        app,
        programme,
        status=app.status,
        requested=app.requested,
        kind=programme.kind,
    )
    return app


def _rab_errors(form: Any) -> list[dict[str, str]]:
    """The budget plan's problems: each line's own (totals computed from volume x unit
    price), then whether the lines add up to the requested amount."""
    lines, problems = rab.lines_of(form.rab)
    if not problems:
        problems = rab.check_rab(lines, form.requested)
    return [{"field": f, "reason": r} for f, r in problems]


def _write_rab(session: Session, app: Application, lines: list[rab.BudgetLine]) -> None:
    """The budget plan as rows, replacing any earlier ones (a returned application's edit)."""
    for old in repository.rab_lines(session, app.id):
        session.delete(old)
    session.flush()
    cipher = FieldCipher(session, app.tenant_id, "applications", app.id)
    session.add_all(_rab_rows(cipher, app, lines))
    app.rab = None
    session.flush()


def _rab_rows(
    cipher: FieldCipher, app: Application, lines: list[rab.BudgetLine]
) -> list[BudgetLineRow]:
    """The budget plan's rows (each item encrypted under the application's record key)."""
    rows = []
    for position, line in enumerate(lines):
        row = BudgetLineRow(
            id=uuid.uuid4(),
            tenant_id=app.tenant_id,
            application_id=app.id,
            position=position,
            volume=line.volume,
            unit=line.unit,
            unit_price=line.unit_price,
            amount=line.amount,
        )
        row.item = cipher.encrypt(f"rab_lines.{row.id}.item", line.item)
        rows.append(row)
    return rows


def update_application(uw: UnitOfWork, actor: Actor, number: str, form: Any) -> Application:
    """A draft, or an application returned for revision, gets a new proposal, requested
    amount and budget plan (the same rules as a new one); then it can be submitted."""
    s, tenant = uw.session, uw.tenant
    app = repository.own_application(s, actor, number, for_update=True)
    if app.status not in EDITABLE:
        raise Refused(
            409,
            "Only a draft or an application returned for revision can be changed.",
            "status",
        )
    programme = s.get_one(Programme, app.programme_id)
    if form.programme != programme.code:
        raise Refused(422, "An application stays in its programme.", "programme")
    errors = _rab_errors(form)
    applicant = s.get_one(Applicant, app.applicant_id)
    errors += eligibility_errors(uw, applicant, programme, form.requested, defer_registry=True)
    _refuse(422, errors, "; ".join(e["reason"] for e in errors))
    app.requested = form.requested
    app.proposal = FieldCipher(s, tenant.id, "applications", app.id).encrypt_json(
        "proposal", form.proposal
    )
    _write_rab(s, app, rab.lines_of(form.rab)[0])
    _emit(
        uw,
        ev.HB_APPLICATION_UPDATED,
        actor,
        app,
        programme,
        status=app.status,
        requested=app.requested,
    )
    return app


def remove_document(uw: UnitOfWork, actor: Actor, number: str, document_id: uuid.UUID) -> None:
    """A wrong document taken off a draft or a returned application (its encrypted content
    goes with the row)."""
    s = uw.session
    app = repository.own_application(s, actor, number, for_update=True)
    if app.status not in EDITABLE:
        raise Refused(
            409,
            "Documents can be removed while the application is a draft or returned for revision.",
            "status",
        )
    doc = repository.document(s, app, document_id)
    code = doc.code
    s.delete(doc)
    s.flush()
    _emit(
        uw,
        ev.HB_DOCUMENT_REMOVED,
        actor,
        app,
        s.get_one(Programme, app.programme_id),
        document_id=str(document_id),
        code=code,
    )


def _applicant_id_for(actor: Actor, applicant_id: str | None) -> uuid.UUID:
    """Whom `actor` applies for: themselves (an applicant), or the applicant an official
    names (`applicant_id` of the body)."""
    if not actor.is_official:
        if applicant_id not in (None, str(actor.applicant_id)):
            raise Refused(403, "Applicants apply for themselves only.", "applicant_id")
        if actor.applicant_id is None:  # not signed in as an applicant
            raise _no_such_applicant(actor)
        return actor.applicant_id
    try:
        return uuid.UUID(applicant_id or "")
    except ValueError:
        raise Refused(
            422, "Name the applicant you enter this application for.", "applicant_id"
        ) from None


def _no_such_applicant(actor: Actor) -> Refused:
    return Refused(404 if actor.is_official else 401, "No such applicant.", "applicant_id")


def _refuse_duplicate_person(
    applicant: Applicant, programme: Programme, standing: repository.Standing
) -> None:
    """One NIK, one programme (one fiscal year). The partial unique index
    applications_one_per_person is the backstop against a concurrent second request."""
    if applicant.nik_index is None:
        return
    if number := standing.in_programme:
        raise Refused(
            409,
            f"This person (NIK) already has application {number} in "
            f"{programme.code} (fiscal year {programme.fiscal_year}); a NIK may "
            f"receive a programme once a year.",
            "nik",
            existing_application=number,
        )


def add_document(uw: UnitOfWork, actor: Actor, number: str, code: str, content: bytes) -> Document:
    import filetype

    s, tenant = uw.session, uw.tenant
    uw.write_new()  # a draft made in this unit of work (the page's documents) is read below
    app = repository.own_application(s, actor, number, for_update=True)
    evidence = code in LPJ_EVIDENCE
    if evidence and app.status != Status.DISBURSED.value:
        raise Refused(
            409,
            "Evidence for the LPJ is added once the money is disbursed, before filing.",
            "status",
        )
    if not evidence and app.status not in EDITABLE:
        raise Refused(
            409,
            "Documents can be added while the application is a draft or returned for revision.",
            "status",
        )
    programme = s.get_one(Programme, app.programme_id)
    known = (
        set(programme.config.get("required_documents", []))
        | {d["code"] for d in tenant.service_config(SERVICE).get("required_documents", [])}
        | set(LPJ_EVIDENCE)
    )
    if code not in known:
        raise Refused(422, f"Unknown document type; one of: {', '.join(sorted(known))}.", "code")
    if not content:
        raise Refused(422, "The file is empty.", "file")
    if len(content) > DOCUMENT_MAX_BYTES:
        raise Refused(413, "The file is larger than 10 MB.", "file")
    kind = filetype.guess(content)  # from the bytes, never from the name or the header
    if kind is None or kind.mime not in DOCUMENT_TYPES:
        raise Refused(415, "Upload a PDF, JPEG or PNG file.", "file")
    if kind.mime == "application/pdf":
        try:
            content = clean_pdf(content)  # no metadata, scripts or embedded files (issue 16)
        except PdfNotCleanable:
            raise Refused(
                422,
                f"The {code} PDF cannot be cleaned of its metadata, scripts and embedded "
                "files (damaged, or locked with a password); upload it unlocked.",
                "file",
            ) from None
    doc = Document(
        id=uuid.uuid4(),
        tenant_id=tenant.id,
        application_id=app.id,
        code=code,
        media_type=kind.mime,
        size=len(content),
    )
    doc.content = FieldCipher(s, tenant.id, "application_documents", doc.id).encrypt(
        "content", content
    )
    s.add(doc)
    s.flush()
    _emit(
        uw,
        ev.HB_DOCUMENT_ADDED,
        actor,
        app,
        programme,
        document_id=str(doc.id),
        code=code,
        media_type=kind.mime,
        size=len(content),
    )
    return doc


def submit(uw: UnitOfWork, actor: Actor, number: str) -> Application:
    s = uw.session
    app = repository.own_application(s, actor, number, for_update=True)
    edge = workflow.edge_for(app.status, Status.SUBMITTED.value, APPLICANT_STEP)
    programme = s.get_one(Programme, app.programme_id)
    errors = [
        {"field": f"documents.{c}", "reason": "required document missing"}
        for c in repository.missing_documents(s, app)
    ]
    applicant = s.get_one(Applicant, app.applicant_id)
    errors += eligibility_errors(uw, applicant, programme, app.requested)
    _refuse(  # 409: the application's state (its documents, its fit), not the request, is short
        409, errors, "The application is not complete: " + ", ".join(e["field"] for e in errors)
    )
    _move(uw, app, edge, actor)
    _emit(
        uw,
        ev.HB_APPLICATION_SUBMITTED,
        actor,
        app,
        programme,
        edge=edge,
        requested=app.requested,
    )
    return app


# --- the social registry (DTKS/DTSEN) ---------------------------------------------------------


def record_registry_answer(
    uw: UnitOfWork, applicant_id: uuid.UUID, answer: social_registry.Answer
) -> RegistryCheck | None:
    """Keep the registry's yes/no and data period for the person (nothing else of the
    registry's record ever reaches this function); an unavailable answer keeps nothing."""
    if answer.listed is None:
        return None
    return _record_check(uw, applicant_id, "registry", answer.listed, answer.period, "registry")


def _record_check(
    uw: UnitOfWork,
    applicant_id: uuid.UUID,
    source: str,
    listed: bool,
    period: str | None,
    actor: str,
    application_number: str | None = None,
) -> RegistryCheck:
    row = RegistryCheck(
        tenant_id=uw.tenant.id,
        applicant_id=applicant_id,
        source=source,
        listed=listed,
        period=period,
        actor=actor,
    )
    uw.session.add(row)
    uw.session.flush()
    uw.emit(
        ev.HB_APPLICANT_REGISTRY_CHECKED,
        subject=str(applicant_id),
        actor=SYSTEM.pseudonym if source == "registry" else actor,  # the registry answered
        data={
            "applicant_id": str(applicant_id),
            "source": source,
            "listed": listed,
            "period": period,
            "application_number": application_number,
        },
    )
    return row


def ask_verification(uw: UnitOfWork, actor: Actor, number: str) -> Application:
    """The applicant's draft goes to the OPD's worklist (status verification) for an official
    to verify a person the social registry does not list. Everything else must be complete,
    as for submitting."""
    s = uw.session
    app = repository.own_application(s, actor, number, for_update=True)
    edge = workflow.edge_for(app.status, Status.VERIFICATION.value, APPLICANT_STEP)
    programme = s.get_one(Programme, app.programme_id)
    if not programme.config.get("eligibility", {}).get("social_registry_required"):
        raise Refused(
            409,
            "This programme does not need the social registry; submit the application.",
            "status",
        )
    applicant = s.get_one(Applicant, app.applicant_id)
    errors = [
        {"field": f"documents.{c}", "reason": "required document missing"}
        for c in repository.missing_documents(s, app)
    ]
    errors += eligibility_errors(uw, applicant, programme, app.requested, defer_registry=True)
    _refuse(  # 409: the application's state (its documents, its fit), not the request, is short
        409, errors, "The application is not complete: " + ", ".join(e["field"] for e in errors)
    )
    _move(uw, app, edge, actor)
    _emit(
        uw,
        ev.HB_APPLICATION_VERIFICATION_REQUESTED,
        actor,
        app,
        programme,
        edge=edge,
        requested=app.requested,
    )
    return app


def _move(
    uw: UnitOfWork,
    app: Application,
    edge: workflow.Edge,
    actor: Actor,
    *,
    reason: str | None = None,
    amount: int | None = None,
    reference: str | None = None,
) -> None:
    step = ApplicationStep(
        id=uuid.uuid4(),
        tenant_id=app.tenant_id,
        application_id=app.id,
        source=app.status,
        target=edge.target.value,
        actor=actor.pseudonym,
        amount=amount,
        reference=reference,
    )
    step.reason = seal_reason(uw.session, app, step.id, reason)
    uw.session.add(step)
    app.status = edge.target.value
    if actor.is_official:
        app.actors = {**app.actors, edge.step: actor.pseudonym}  # new dict: JSON is replaced
    uw.session.flush()


def seal_reason(
    session: Session, app: Application, step_id: uuid.UUID, reason: str | None
) -> bytes | None:
    """A step's reason, encrypted under its application's record key and bound to the step
    (field `steps.<step id>.reason`): shredding the application shreds its history's text."""
    if not reason:
        return None
    cipher = FieldCipher(session, app.tenant_id, "applications", app.id)
    return cipher.encrypt(f"steps.{step_id}.reason", reason)


def transition(uw: UnitOfWork, actor: Actor, number: str, form: Any) -> Application:
    """An official's step: the domain names the edge, checks its fields and amounts and says
    what the step records (workflow.outcome); budget rules are enforced by guarded UPDATEs in
    this transaction."""
    s, tenant = uw.session, uw.tenant
    app = repository.by_number(s, number, for_update=True)
    edge = workflow.edge_for(app.status, form.to, actor.roles)
    workflow.check_fields(
        edge,
        {
            "amount": form.amount,
            "reason": form.reason,
            "reference": form.reference,
            "date": form.date,
        },
    )
    check_separation(
        views.step_actors(s, app), edge.step, actor.pseudonym, workflow.SEPARATED_STEPS
    )
    programme = s.get_one(Programme, app.programme_id)
    workflow.check_amount(
        edge,
        form.amount,
        requested=app.requested,
        approved=app.approved or 0,
        disbursed=app.disbursed,
    )
    out = workflow.outcome(
        edge,
        amount=form.amount,
        reference=form.reference,
        on=form.date,
        disbursed=app.disbursed,
        fiscal_year=programme.fiscal_year,
        lpj_due=tenant.service_config(SERVICE).get("lpj_due"),
    )
    if out.confirms_person:  # the official vouches for the person: audited, kept for approval
        _record_check(uw, app.applicant_id, "official", True, None, actor.pseudonym, app.number)
    if out.recheck_eligibility:
        _still_eligible(uw, app, programme, out.allocate)
    if out.allocate:
        _allocate(uw, programme, out.allocate)
    if out.pay and not programmes.record_disbursement(s, programme.id, out.pay):
        raise Refused(
            409, "Disbursing this would pay out more than the programme has allocated.", "amount"
        )
    for column, value in out.record.items():
        setattr(app, column, value)
    _move(uw, app, edge, actor, reason=form.reason, amount=form.amount, reference=form.reference)
    _emit(
        uw,
        ev.HB_APPLICATION_TRANSITIONED,
        actor,
        app,
        programme,
        edge=edge,
        step=edge.step,
        amount=form.amount,
        approved=app.approved,
        disbursed=app.disbursed,
        reference=form.reference or None,
    )
    return app


def _still_eligible(uw: UnitOfWork, app: Application, programme: Programme, amount: int) -> None:
    # eligibility again at approval: facts (and last year's grants) may have changed
    applicant = uw.session.get_one(Applicant, app.applicant_id)
    errors = eligibility_errors(uw, applicant, programme, amount)
    _refuse(409, errors, "No longer eligible: " + "; ".join(e["reason"] for e in errors))


def _allocate(uw: UnitOfWork, programme: Programme, amount: int) -> None:
    if programmes.allocate(uw.session, programme.id, amount) is None:
        ceiling, allocated, _ = programmes.totals(uw.session, programme.id)
        raise Refused(
            409,
            f"The programme ceiling (pagu) would be exceeded: {allocated} of "
            f"{ceiling} rupiah is allocated, {ceiling - allocated} remains, "
            f"{amount} was asked.",
            "amount",
            ceiling=ceiling,
            allocated=allocated,
            remaining=ceiling - allocated,
        )


def file_lpj(uw: UnitOfWork, actor: Actor, number: str, form: Any) -> Application:
    """The accountability report: spending lines (each may name the budget-plan line it was
    spent on: RAB against actual), evidence uploaded before (LPJ_EVIDENCE documents) and,
    if any money is unspent, its return to the kas daerah (or recorded later: record_refund)."""
    s, tenant = uw.session, uw.tenant
    app = repository.own_application(s, actor, number, for_update=True)
    edge = workflow.edge_for(app.status, Status.REPORTED.value, APPLICANT_STEP)
    lines = [(line.item, line.amount) for line in form.lines]
    problems = lpj.spending_problems(lines, app.disbursed)
    rows = repository.rab_lines(s, app.id)
    by_line = [(line.rab_line, line.amount) for line in form.lines]
    problems += lpj.actual_by_line(by_line, len(rows))
    spent = sum(a for _, a in lines)
    if form.refund is not None and not problems:
        problems += lpj.refund_problems(
            form.refund.amount, form.refund.date, app.disbursed, spent, today(tenant)
        )
    _refuse(
        422,
        [{"field": f, "reason": r} for f, r in problems],
        "; ".join(r for _, r in problems),
    )
    if rows and any(line is not None for line, _ in by_line):
        for position, row in enumerate(rows):
            row.actual = sum(a for line, a in by_line if line == position)
    app.lpj = FieldCipher(s, app.tenant_id, "applications", app.id).encrypt_json(
        "lpj",
        {
            "summary": form.summary,
            "lines": [
                {"item": ln.item, "amount": ln.amount, "rab_line": ln.rab_line} for ln in form.lines
            ],
            "spent": spent,
            "filed_at": datetime.now(UTC).isoformat(),
        },
    )
    app.lpj_spent = spent
    programme = s.get_one(Programme, app.programme_id)
    _move(uw, app, edge, actor, amount=spent)
    _emit(
        uw,
        ev.HB_LPJ_FILED,
        actor,
        app,
        programme,
        edge=edge,
        spent=spent,
        disbursed=app.disbursed,
        lines=len(lines),
    )
    if form.refund is not None:
        _set_refund(uw, actor, app, programme, form.refund)
    return app


def _set_refund(
    uw: UnitOfWork, actor: Actor, app: Application, programme: Programme, refund: Any
) -> None:
    app.refund_amount = refund.amount
    app.refund_date = refund.date
    app.refund_reference = refund.reference
    uw.session.flush()
    _emit(
        uw,
        ev.HB_LPJ_REFUND_RECORDED,
        actor,
        app,
        programme,
        amount=refund.amount,
        date=refund.date.isoformat(),
        reference=refund.reference,
    )


def record_refund(uw: UnitOfWork, actor: Actor, number: str, refund: Any) -> Application:
    """The return of the unspent balance to the kas daerah, recorded after the LPJ was filed
    (before the evaluator closes the application), once."""
    s, tenant = uw.session, uw.tenant
    app = repository.own_application(s, actor, number, for_update=True)
    if app.status != Status.REPORTED.value or app.refund_amount is not None:
        raise Refused(
            409,
            "A return is recorded once, after the LPJ is filed and before it is closed.",
            "refund",
        )
    problems = lpj.refund_problems(
        refund.amount, refund.date, app.disbursed, app.lpj_spent or 0, today(tenant)
    )
    _refuse(
        422,
        [{"field": f, "reason": r} for f, r in problems],
        "; ".join(r for _, r in problems),
    )
    _set_refund(uw, actor, app, s.get_one(Programme, app.programme_id), refund)
    return app
