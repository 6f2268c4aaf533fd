"""Operator-side management of officials (the `replika official` commands and the demo seed).

An official exists in every service database of `OFFICIAL_SERVICES` with the same id, the same
password hash and the same TOTP secret; these functions keep them in step. They connect as each
service's app role in a tenant session, so row-level security checks every write.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from operations.replication.provisioning import issue_enrolment_link
from operations.service_models import models_of
from shared.actor import SYSTEM
from shared.db import service_engine, session_factory, tenant_session
from shared.event_types import PLATFORM_OFFICIAL_CONTACT_CHANGED
from shared.officials import (
    OFFICIAL_SERVICES,
    TOTP_STEP_SECONDS,
    NewCredentials,
    OfficialError,
    add_official,
    email_of,
    find_official,
    hash_password,
    new_password,
    new_totp_secret,
    normalise_display_name,
    normalise_email,
    normalise_username,
    revoke_tokens,
    set_credentials,
    set_email,
    validate_roles,
)
from shared.tenancy import Tenant
from shared.uow import UnitOfWork

EVENT_SERVICE = "whistleblowing"  # platform events go to the hosting service's outbox
OPERATOR = SYSTEM.pseudonym  # the actor of a `replika official` command (not an official)


def tenant_id_of(slug: str) -> uuid.UUID:
    """The tenant's id (the same in every service database), or OfficialError."""
    ids = set()
    for service in OFFICIAL_SERVICES:
        model = models_of(service).TenantRow
        with session_factory(service_engine(service))() as session:
            ids.add(session.execute(select(model.id).where(model.slug == slug)).scalar())
    found = ids.pop() if len(ids) == 1 else None
    if found is None:
        raise OfficialError("tenant: no such tenant in every service; run `replika tenant apply`")
    return found


def _sessions(stack: ExitStack, tenant_id: uuid.UUID) -> dict[str, Session]:
    return {
        svc: stack.enter_context(tenant_session(session_factory(service_engine(svc)), tenant_id))
        for svc in OFFICIAL_SERVICES
    }


def _commit_all(sessions: dict[str, Session]) -> None:
    for session in sessions.values():
        session.flush()  # every database accepted the rows before any commits
    for session in sessions.values():
        session.commit()


def add(slug: str, username: str, roles: Iterable[str], email: str | None = None) -> NewCredentials:
    """Create an official in every service database with fresh random credentials (and, when
    given, the e-mail address notices go to, sealed)."""
    roles = check_separated(roles)
    tenant_id = tenant_id_of(slug)
    password, totp_secret, official_id = new_password(), new_totp_secret(), uuid.uuid4()
    password_hash = hash_password(password)
    with ExitStack() as stack:
        sessions = _sessions(stack, tenant_id)
        for svc, session in sessions.items():
            add_official(
                session,
                models_of(svc).OfficialRow,
                username,
                roles,
                official_id=official_id,
                password_hash=password_hash,
                totp_secret=totp_secret,
            )
            if email:
                set_email(session.get(models_of(svc).OfficialRow, official_id), email)
        _commit_all(sessions)
    return NewCredentials(official_id, normalise_username(username), password, totp_secret)


def ensure(
    slug: str, username: str, roles: Iterable[str], password: str, totp_secret: str, *, reset: bool
) -> uuid.UUID:
    """Make `username` exist with `roles` in every service database (the demo seed).

    A missing account is created with `password` and `totp_secret`; an existing one gets them
    only when `reset` (the caller generated new ones), so re-runs cost no password hashing.
    """
    roles = validate_roles(roles)
    tenant_id = tenant_id_of(slug)
    password_hash = None
    with ExitStack() as stack:
        sessions = _sessions(stack, tenant_id)
        found = {
            svc: find_official(s, models_of(svc).OfficialRow, username)
            for svc, s in sessions.items()
        }
        known = [o.id for o in found.values() if o is not None]
        official_id = known[0] if known else uuid.uuid4()
        for svc, session in sessions.items():
            official = found[svc]
            if official is None or reset:
                hashed = password_hash = password_hash or hash_password(password)
            if official is None:
                add_official(
                    session,
                    models_of(svc).OfficialRow,
                    username,
                    roles,
                    official_id=official_id,
                    password_hash=hashed,
                    totp_secret=totp_secret,
                )
                continue
            if reset:
                set_credentials(official, password_hash=hashed, totp_secret=totp_secret)
            elif sorted(official.roles) != roles or not official.active:
                revoke_tokens(official)  # a role change ends the tokens of the old roles
            official.roles, official.active = roles, True
        _commit_all(sessions)
    return official_id


def list_officials(slug: str) -> list[tuple[str, list[str], bool]]:
    """(username, roles, active) of a tenant's officials, from the first service database."""
    tenant_id = tenant_id_of(slug)
    service = OFFICIAL_SERVICES[0]
    model = models_of(service).OfficialRow
    with tenant_session(session_factory(service_engine(service)), tenant_id) as session:
        rows = session.execute(select(model).order_by(model.username)).scalars().all()
        return [(r.username, list(r.roles), r.active) for r in rows]


def _officials_named(sessions: dict[str, Session], username: str) -> list:
    """The official `username` in each service database that has them (at least one)."""
    found = [
        o
        for svc, session in sessions.items()
        if (o := find_official(session, models_of(svc).OfficialRow, username)) is not None
    ]
    if not found:
        raise OfficialError("username: no such official in this tenant")
    return found


def set_active(slug: str, username: str, active: bool) -> bool:
    """Deactivate (someone left or lost their phone) or reactivate an official in every
    service database; True when anything changed. A deactivated official cannot sign in,
    and every token and page session issued before is refused from the next request on."""
    with ExitStack() as stack:
        sessions = _sessions(stack, tenant_id_of(slug))
        officials = _officials_named(sessions, username)
        changed = any(o.active != active for o in officials)
        for official in officials:
            if official.active != active:
                revoke_tokens(official)
            official.active = active
        _commit_all(sessions)
    return changed


def reset_credentials(slug: str, username: str) -> NewCredentials:
    """New password and TOTP seed for an official (a lost phone or password): shown once.
    Every token and page session issued before is refused from the next request on."""
    password, totp_secret = new_password(), new_totp_secret()
    password_hash = hash_password(password)
    with ExitStack() as stack:
        sessions = _sessions(stack, tenant_id_of(slug))
        officials = _officials_named(sessions, username)
        for official in officials:
            set_credentials(official, password_hash=password_hash, totp_secret=totp_secret)
        _commit_all(sessions)
    return NewCredentials(officials[0].id, normalise_username(username), password, totp_secret)


# --- the city's own officials, managed by its tenant admin (pages and API) -----------------
#
# The same rules for the page at /t/<slug>/admin/officials and for the CLI: an official added
# here gets a one-time enrolment link (the onboarding link of replication), never a password
# chosen by someone else; roles that must stay apart are refused together.

# An identity custodian decrypts reporters' identities: they may not also investigate the
# cases those identities belong to (nor supervise the investigation).
SEPARATED_ROLES: tuple[frozenset[str], ...] = (
    frozenset({"identity_custodian", "wbs_investigator"}),
    frozenset({"identity_custodian", "wbs_supervisor"}),
)


def check_separated(roles: Iterable[str]) -> list[str]:
    """`validate_roles`, plus the separation rules (OfficialError naming `roles`)."""
    valid = validate_roles(roles)
    for rule in SEPARATED_ROLES:
        if rule <= set(valid):
            raise OfficialError(f"roles: {' and '.join(sorted(rule))} may not be held together")
    return valid


@dataclass(frozen=True)
class OfficialView:
    id: uuid.UUID
    username: str
    roles: list[str]
    active: bool
    enrolled: bool  # has set their own password and second factor
    last_sign_in: datetime | None  # the time of the last accepted TOTP code
    has_email: bool = False  # notices can reach them (the address itself is never listed)
    display_name: str | None = None  # the name colleagues read; None: the username


def officials_of(tenant_id: uuid.UUID) -> list[OfficialView]:
    """The tenant's officials, from the first service database (they are equal in each)."""
    service = OFFICIAL_SERVICES[0]
    model = models_of(service).OfficialRow
    with tenant_session(session_factory(service_engine(service)), tenant_id) as session:
        rows = session.execute(select(model).order_by(model.username)).scalars().all()
        return [_view(r) for r in rows]


def _view(row) -> OfficialView:
    step = row.last_totp_step
    seen = datetime.fromtimestamp(step * TOTP_STEP_SECONDS, UTC) if step else None
    return OfficialView(
        row.id,
        row.username,
        list(row.roles),
        row.active,
        step is not None,
        seen,
        bool(row.email),
        row.display_name,
    )


def official_of(tenant_id: uuid.UUID, official_id: uuid.UUID) -> OfficialView:
    for official in officials_of(tenant_id):
        if official.id == official_id:
            return official
    raise OfficialError("official: no such official in this tenant")


def change_display_name(
    tenant_id: uuid.UUID, official_id: uuid.UUID, display_name: str | None
) -> tuple[str | None, str | None]:
    """(previous, new) display name in every service database; empty removes it (colleagues
    then read the username)."""
    name = normalise_display_name(display_name)
    with ExitStack() as stack:
        sessions = _sessions(stack, tenant_id)
        rows = _rows_of(sessions, official_id)
        previous = rows[0].display_name
        for row in rows:
            row.display_name = name
        _commit_all(sessions)
    return previous, name


def enrol(
    tenant_id: uuid.UUID, username: str, roles: Iterable[str], display_name: str | None = None
) -> tuple[uuid.UUID, str]:
    """A new official in every service database, unable to sign in until they follow the
    one-time enrolment link (returned: its token) and set their own password and TOTP."""
    roles = check_separated(roles)
    name = normalise_display_name(display_name)
    official_id = uuid.uuid4()
    password_hash = hash_password(new_password())  # nobody knows it: the link sets the real one
    with ExitStack() as stack:
        sessions = _sessions(stack, tenant_id)
        for svc, session in sessions.items():
            row = add_official(
                session,
                models_of(svc).OfficialRow,
                username,
                roles,
                official_id=official_id,
                password_hash=password_hash,
                totp_secret=new_totp_secret(),
            )
            row.active, row.display_name = False, name
        _commit_all(sessions)
    return official_id, issue_enrolment_link(tenant_id, official_id)


def _rows_of(sessions: dict[str, Session], official_id: uuid.UUID) -> list:
    found = [
        row
        for svc, session in sessions.items()
        if (row := session.get(models_of(svc).OfficialRow, official_id)) is not None
    ]
    if not found:
        raise OfficialError("official: no such official in this tenant")
    return found


def change_roles(
    tenant_id: uuid.UUID, official_id: uuid.UUID, roles: Iterable[str], *, by: uuid.UUID
) -> tuple[list[str], list[str]]:
    """(previous roles, new roles); a tenant admin cannot take the role away from themself
    (the city would be left without anyone to manage its officials)."""
    roles = check_separated(roles)
    if official_id == by and "tenant_admin" not in roles:
        raise OfficialError("roles: you cannot remove tenant_admin from your own account")
    with ExitStack() as stack:
        sessions = _sessions(stack, tenant_id)
        rows = _rows_of(sessions, official_id)
        previous = sorted(rows[0].roles)
        for row in rows:
            row.roles = roles
        _commit_all(sessions)
    return previous, roles


def change_active(
    tenant_id: uuid.UUID, official_id: uuid.UUID, active: bool, *, by: uuid.UUID | None = None
) -> bool:
    """Deactivate or reactivate in every service database; True when anything changed."""
    if official_id == by and not active:
        raise OfficialError("active: you cannot deactivate your own account")
    with ExitStack() as stack:
        sessions = _sessions(stack, tenant_id)
        rows = _rows_of(sessions, official_id)
        if active and not any(r.last_totp_step for r in rows):
            raise OfficialError("active: the official has not enrolled yet; send a new link")
        changed = any(r.active != active for r in rows)
        for row in rows:
            row.active = active
        _commit_all(sessions)
    return changed


def reset_second_factor(tenant_id: uuid.UUID, official_id: uuid.UUID) -> str:
    """Lost phone: the official's password and TOTP stop working at once; a new one-time
    enrolment link (its token returned) lets them set both again."""
    password_hash = hash_password(new_password())
    with ExitStack() as stack:
        sessions = _sessions(stack, tenant_id)
        for row in _rows_of(sessions, official_id):
            set_credentials(row, password_hash=password_hash, totp_secret=new_totp_secret())
        _commit_all(sessions)
    return issue_enrolment_link(tenant_id, official_id)


def change_email(tenant_id: uuid.UUID, official_id: uuid.UUID, email: str | None) -> bool:
    """Set (or, with None or "", remove) the e-mail address notices go to, sealed under the
    tenant's data key in every service database; True when the address is another now."""
    changed = False
    with ExitStack() as stack:
        sessions = _sessions(stack, tenant_id)
        for row in _rows_of(sessions, official_id):
            changed = changed or email_of(row) != normalise_email(email)
            set_email(row, email)
        _commit_all(sessions)
    return changed


def email_changed(uw: UnitOfWork, official_id: uuid.UUID, email: str | None, actor: str) -> None:
    """The one record of an address change, whichever path made it (the admin's page or API,
    `replika official email`): `platform.official.contact_changed.v1`, without the address (it
    is personal data), only whether one is set now; services/notifications tells the city's
    tenant admins."""
    uw.emit(
        PLATFORM_OFFICIAL_CONTACT_CHANGED,
        f"official:{official_id}",
        actor,
        {"official_id": str(official_id), "has_email": normalise_email(email) is not None},
    )


def set_email_by_username(slug: str, username: str, email: str | None) -> bool:
    """`replika official email`: the same, by tenant slug and username; a change is recorded
    as the page's is (`email_changed`, by the operator). True when the address is another now."""
    tenant_id = tenant_id_of(slug)
    changed = False
    with ExitStack() as stack:
        sessions = _sessions(stack, tenant_id)
        rows = _officials_named(sessions, username)
        for row in rows:
            changed = changed or email_of(row) != normalise_email(email)
            set_email(row, email)
        _commit_all(sessions)
    if changed:
        model = models_of(EVENT_SERVICE)
        factory = session_factory(service_engine(EVENT_SERVICE))
        with tenant_session(factory, tenant_id) as session:
            tenant = session.get(model.TenantRow, tenant_id)
            assert tenant is not None  # tenant_id_of found it
            uw = UnitOfWork(
                session,
                Tenant(id=tenant.id, slug=tenant.slug, config=tenant.config),
                EVENT_SERVICE,
                model.OutboxRow,
            )
            email_changed(uw, rows[0].id, email, OPERATOR)
            uw.commit()
    return changed


def change_opt_outs(tenant_id: uuid.UUID, official_id: uuid.UUID, kinds: Iterable[str]) -> None:
    """The kinds of notice the official turned off, in every service database."""
    chosen = sorted(set(kinds))
    with ExitStack() as stack:
        sessions = _sessions(stack, tenant_id)
        for row in _rows_of(sessions, official_id):
            row.notify_opt_outs = chosen
        _commit_all(sessions)
