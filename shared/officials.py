"""Officials: per-tenant accounts with Argon2id passwords and a mandatory TOTP second factor.

Every official's account exists in each service database that officials sign in to (the
services share no database), with the same id; `replika official add` writes all of them.
TOTP is mandatory for every role: every role except `auditor` can see personal data, and an
auditor's view of the ledger is sensitive too, so one rule for all is simpler and safer.

Domain code only: no Flask. Callers pass the session (scoped to the tenant) and the clock.
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    select,
    text,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import (
    Mapped,
    Session,
    declared_attr,
    mapped_column,
    object_session,
    sessionmaker,
)

from shared import crypto
from shared.db import TenantOwned, service_engine, session_factory, tenant_session, utcnow
from shared.plain_text import control_character
from shared.roles import ROLES

# Services whose databases hold officials (the audit ledger has no sign-in of its own).
OFFICIAL_SERVICES = ("whistleblowing", "hibah_bansos")

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,62}$")
TOTP_STEP_SECONDS = 30
_hasher = PasswordHasher()  # argon2-cffi defaults: Argon2id, RFC 9106 low-memory profile
# Verified when the username is unknown, so both answers take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class OfficialRecord(TenantOwned):
    """Columns of the per-service `officials` table (mixed into each service's own Base)."""

    __tablename__ = "officials"

    @declared_attr.directive
    def __table_args__(cls):
        return (UniqueConstraint("tenant_id", "username", name="officials_tenant_username"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    username: Mapped[str] = mapped_column(String(63))
    # The name colleagues read on case pages ("Budi Santoso, Inspektorat"); None: the username.
    display_name: Mapped[str | None] = mapped_column(String(100), nullable=True, default=None)
    password_hash: Mapped[str] = mapped_column(String(255))
    # The TOTP seed, sealed under the tenant's data key ("v1:" + base64 of an AES-GCM
    # ciphertext bound to this row): a copied table or backup gives no second factor.
    # Rows from before migration a002 hold the plain base32 seed until the next sign-in.
    totp_secret: Mapped[str] = mapped_column(Text)
    # The last accepted TOTP time step: a code is accepted once (RFC 6238 section 5.2).
    last_totp_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    roles: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Where notices are sent (services/notifications): the address sealed under the tenant's
    # data key (FieldCipher field "email" of this row), never shown in a list; None: no notices.
    email: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, default=None)
    # Kinds of notice the official turned off (services/notifications/domain/rules.py).
    notify_opt_outs: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Every token and page session names the version it was issued under; bumping it
    # (deactivate, reset, role change, logout) revokes them all at their next request.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OfficialError(ValueError):
    """Invalid input for creating an official (message names the field, never its value)."""


@dataclass(frozen=True)
class NewCredentials:
    official_id: uuid.UUID
    username: str
    password: str
    totp_secret: str


DISPLAY_NAME_MAX = 100


def normalise_display_name(display_name: str | None) -> str | None:
    """NFC, stripped; empty is None (the username stands in). OfficialError naming
    `display_name` when it is too long or holds a control character."""
    if display_name is None:
        return None
    # checked as typed, as the API document states them (maxLength, no control character)
    if len(display_name) > DISPLAY_NAME_MAX:
        raise OfficialError(f"display_name: at most {DISPLAY_NAME_MAX} characters")
    if control_character(display_name) is not None:
        raise OfficialError("display_name: no control characters")
    return unicodedata.normalize("NFC", display_name).strip() or None


def name_of(official: Any) -> str:
    """The name colleagues read: the display name, else the username."""
    return official.display_name or official.username


def normalise_username(username: str) -> str:
    return username.strip().lower()


def validate_roles(roles: Iterable[str]) -> list[str]:
    roles = sorted(set(roles))
    if not roles:
        raise OfficialError("roles: at least one role is required")
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise OfficialError(
            f"roles: unknown role(s) {', '.join(sorted(unknown))}; known: {', '.join(ROLES)}"
        )
    return roles


def new_password() -> str:
    return secrets.token_urlsafe(18)  # 144 bits


def new_totp_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def provisioning_uri(totp_secret: str, username: str, tenant_slug: str) -> str:
    """otpauth:// URI for authenticator apps (shown once, with the secret)."""
    return pyotp.TOTP(totp_secret).provisioning_uri(
        name=f"{username}@{tenant_slug}", issuer_name="Replika"
    )


def find_official(session: Session, model: type[Any], username: str):
    """The official `username` of the session's tenant (the session scopes the query)."""
    return session.execute(
        select(model).where(model.username == normalise_username(username))
    ).scalar_one_or_none()


def add_official(
    session: Session,
    model: type[Any],
    username: str,
    roles: Iterable[str],
    *,
    official_id: uuid.UUID | None = None,
    password_hash: str,
    totp_secret: str,
) -> Any:
    """Add an official to the session's tenant; the caller commits."""
    username = normalise_username(username)
    if not USERNAME_RE.match(username):
        raise OfficialError("username: 3-63 characters: a-z, 0-9, '.', '_', '-'")
    if find_official(session, model, username) is not None:
        raise OfficialError("username: already taken in this tenant")
    row = model(
        id=official_id or uuid.uuid4(),
        username=username,
        password_hash=password_hash,
        totp_secret="",
        roles=validate_roles(roles),
        active=True,
    )
    session.add(row)
    session.flush()  # stamps the tenant the seal is bound to
    seal_totp_secret(row, totp_secret)
    session.flush()
    return row


def set_credentials(official, *, password_hash: str, totp_secret: str) -> None:
    official.password_hash = password_hash
    seal_totp_secret(official, totp_secret)
    official.last_totp_step = None
    revoke_tokens(official)


def revoke_tokens(official) -> None:
    """Every bearer token and page session issued to `official` so far stops working at its
    next request (they carry the version they were issued under; shared/auth.py checks it)."""
    official.token_version = (official.token_version or 0) + 1


SEALED = "v1:"


def _session_of(official: Any) -> Session:
    session = object_session(official)
    assert session is not None  # officials are always loaded through a session here
    return session


def seal_totp_secret(official, totp_secret: str) -> None:
    """Store `totp_secret` encrypted under the official's tenant data key."""
    session = _session_of(official)
    tenant_id = official.tenant_id or session.info["tenant_id"]
    blob = crypto.encrypt_field(
        session, tenant_id, "officials", official.id, "totp_secret", totp_secret
    )
    official.totp_secret = SEALED + base64.b64encode(blob).decode()


def totp_secret_of(official) -> str:
    stored = official.totp_secret
    if not stored.startswith(SEALED):
        return stored  # a seed stored before sealing (re-sealed at the next sign-in)
    return crypto.decrypt_field(
        _session_of(official),
        official.tenant_id,
        "officials",
        official.id,
        "totp_secret",
        base64.b64decode(stored[len(SEALED) :]),
    ).decode()


EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def normalise_email(email: str | None) -> str | None:
    """A typed e-mail address, trimmed; None when empty. OfficialError names the field."""
    email = (email or "").strip()
    if not email:
        return None
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise OfficialError("email: not an e-mail address")
    return email


def set_email(official, email: str | None) -> None:
    """Seal `email` (None or "" removes it) under the official's tenant data key."""
    email = normalise_email(email)
    if email is None:
        official.email = None
        return
    session = _session_of(official)
    tenant_id = official.tenant_id or session.info["tenant_id"]
    official.email = crypto.encrypt_field(
        session, tenant_id, "officials", official.id, "email", email
    )


def email_of(official) -> str | None:
    """The official's e-mail address, opened; None when none was given."""
    if not official.email:
        return None
    return crypto.decrypt_field(
        _session_of(official), official.tenant_id, "officials", official.id, "email", official.email
    ).decode()


def _password_ok(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _totp_step(totp_secret: str, otp: str, last_step: int | None, now: datetime) -> int | None:
    """The time step whose code is `otp` (allowing one step of clock drift), if not yet used."""
    otp = (otp or "").strip().replace(" ", "")
    if not otp.isdigit():
        return None
    totp = pyotp.TOTP(totp_secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), otp):
            return step
    return None


def check_credentials(
    session: Session,
    model: type[Any],
    username: str,
    password: str,
    otp: str,
    now: datetime | None = None,
    *,
    claim_step: Callable[[Any, int], bool] | None = None,
):
    """The active official when username, password and TOTP code all match, else None.

    Unknown user, wrong password, wrong or replayed code: all None, after the same work.
    Marks the code as used and upgrades an outdated hash; the caller commits. `claim_step`
    (official, step) -> False when the step was already taken elsewhere (another service).
    """
    now = now or utcnow()
    official = find_official(session, model, username) if username else None
    stored = official.password_hash if official is not None else _DUMMY_HASH
    password_ok = _password_ok(stored, password or "")
    if official is None or not official.active or not password_ok:
        return None
    try:
        secret = totp_secret_of(official)
    except crypto.DecryptionError:
        return None  # its tenant's keys are shredded: nobody signs in any more
    step = _totp_step(secret, otp, official.last_totp_step, now)
    if step is None or (claim_step is not None and not claim_step(official, step)):
        return None
    official.last_totp_step = step
    if not official.totp_secret.startswith(SEALED):
        seal_totp_secret(official, secret)
    if _hasher.check_needs_rehash(official.password_hash):
        official.password_hash = hash_password(password)
    return official


# The database whose `officials.last_totp_step` decides whether a code was already used: one
# place for every service, so a code taken at one service is refused at the others. It is
# hibah_bansos's because both web services already reach it (the whistleblowing container
# holds its app-role URL for tenant apply), so the hibah_bansos container keeps its one
# database URL (tests/unit/test_compose.py).
TOTP_ARBITER = "hibah_bansos"
_CLAIM = text(
    "update officials set last_totp_step = :step where id = :id "
    "and (last_totp_step is null or last_totp_step < :step)"
)


def claim_totp_step(
    session: Session, service: str, tenant_id: uuid.UUID, official_id: uuid.UUID, step: int
) -> bool:
    """Take TOTP time step `step` of the official for good, once for all services: a
    conditional UPDATE in the arbiter's database, which PostgreSQL's row lock serialises (a
    concurrent claim of the same step waits, then finds it taken). In the arbiter's own
    requests the claim is part of the request's transaction (`session`); elsewhere it is
    committed at once through the arbiter's app role, so a failing sign-in later still leaves
    the code spent. False when the step (or a later one) was taken already."""
    params = {"step": step, "id": official_id}
    if service == TOTP_ARBITER:
        return cast(CursorResult, session.execute(_CLAIM, params)).rowcount == 1
    with tenant_session(_arbiter_sessions(), tenant_id) as arbiter:
        claimed = cast(CursorResult, arbiter.execute(_CLAIM, params)).rowcount == 1
        arbiter.commit()
    return claimed


@cache
def _arbiter_sessions() -> sessionmaker[Session]:
    """Sessions on the arbiter's database through its app role (one engine per process)."""
    return session_factory(service_engine(TOTP_ARBITER))
