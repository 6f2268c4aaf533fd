"""Applicants' credentials: bearer tokens for the API and a page session for the pages.

Both are signed like officials' tokens (shared/auth.py) but with salts of their own, so an
applicant token never passes as an official's, nor the other way round, and a page session's
token (readable in the signed, not encrypted, session cookie) is no API bearer token.
The page session rides in Flask's session cookie, which shared/web.py makes Secure, HttpOnly
and SameSite=Lax; every page form carries a CSRF token (shared/auth_routes.py).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request, session, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from services.hibah_bansos import repository
from services.hibah_bansos.mailer import Mailer
from services.hibah_bansos.models import Applicant, LoginThrottleRow
from shared import login_throttle
from shared.actor import Actor
from shared.actor import applicant as applicant_actor
from shared.crypto import blind_index
from shared.db import utcnow
from shared.problem import Problem, Refused
from shared.request_context import db
from shared.tenancy import Tenant

TOKEN_TTL_SECONDS = 3600
SALT = "replika.hibah-bansos.applicant-token"
PAGE_SALT = "replika.hibah-bansos.applicant-page"
PAGE_TTL_SECONDS = 8 * 3600
SESSION_KEY = "hb_applicant"


def _serializer(salt: str = SALT) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def issue(tenant_id: uuid.UUID, applicant_id: uuid.UUID) -> str:
    return _serializer().dumps({"a": str(applicant_id), "t": str(tenant_id)})


def _applicant_of(token: str, salt: str, ttl: int) -> uuid.UUID | None:
    try:
        data = _serializer(salt).loads(token, max_age=ttl)
    except (SignatureExpired, BadSignature):
        return None
    if data.get("t") != str(g.tenant.id):
        return None  # another city's token means nothing here
    return uuid.UUID(data["a"])


def presented_applicant() -> uuid.UUID | None:
    """The applicant id of this request's bearer token, for the request's tenant only."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    return _applicant_of(header[7:].strip(), SALT, TOKEN_TTL_SECONDS)


def api_applicant() -> Actor:
    """The applicant whose bearer token this API request carries (401 when there is none)."""
    applicant_id = presented_applicant()
    if applicant_id is None:
        raise Problem(401, "Unauthorized", "Sign in as an applicant: POST .../applicants/token.")
    return applicant_actor(applicant_id)


def sign_in_page(tenant_id: uuid.UUID, applicant_id: uuid.UUID) -> None:
    session.clear()  # a fresh session (and CSRF token) for the signed-in applicant
    session[SESSION_KEY] = _serializer(PAGE_SALT).dumps(
        {"a": str(applicant_id), "t": str(tenant_id)}
    )


def sign_out_page() -> None:
    session.pop(SESSION_KEY, None)


def page_applicant() -> uuid.UUID | None:
    """The applicant signed in to the pages of the request's tenant, if any."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None
    return _applicant_of(token, PAGE_SALT, PAGE_TTL_SECONDS)


def checked_sign_in(email: str, password: str) -> tuple[Applicant | None, int]:
    """(applicant, 0), (None, 0) for wrong credentials, (None, seconds) when throttled; the
    one sign-in check of the pages and the API token. Failures count per account and per
    address in the shared login throttle, as officials' do."""
    s = db()
    keys = login_throttle.Keys.of(
        current_app.config["SECRET_KEY"],
        g.tenant.id,
        f"applicant:{email}",
        request.remote_addr or "unknown",
    )
    login_throttle.serialise_attempts(s, keys)
    wait = login_throttle.retry_after(s, LoginThrottleRow, keys)
    if wait:
        s.rollback()
        return None, wait
    applicant = check_password(s, g.tenant, email, password)
    if applicant is None:
        login_throttle.record_failure(s, LoginThrottleRow, g.tenant.id, keys)
        s.commit()
        return None, 0
    login_throttle.record_success(s, LoginThrottleRow, keys)
    s.commit()
    return applicant, 0


def check_password(session: Session, tenant: Tenant, email: str, password: str) -> Applicant | None:
    """The confirmed applicant with this e-mail address (or, for residents without one, this
    NIK) and password, or None (the same Argon2 cost whether the account exists, is
    unconfirmed, or not: an unconfirmed account answers like a wrong password, so that
    registering and then signing in tells nobody whether a NIK was held already)."""
    nik = "".join(email.split())
    if "@" not in email and nik.isascii() and nik.isdigit():
        found = repository.applicant_by_nik_index(
            session, blind_index(session, tenant.id, "nik", nik)
        )
    else:
        found = repository.applicant_by_email_index(
            session, blind_index(session, tenant.id, "email", email)
        )
    try:
        if found is None or not found.password_hash or found.confirmed_at is None:
            PasswordHasher().hash(password)  # same cost whether the account exists or not
            return None
        PasswordHasher().verify(found.password_hash, password)
        return found
    except (VerificationError, InvalidHashError):
        return None


# --- registration: a budget per address, one-time links by e-mail ------------------------------

# Registering is anonymous and costs an Argon2 hash: a few per address, then a growing wait.
REGISTRATION = login_throttle.Policy(
    10, timedelta(minutes=1), timedelta(hours=1), timedelta(hours=1)
)
CONFIRMATION_DAYS = 2  # a self-registered account's e-mail link
ACTIVATION_DAYS = 7  # the link of an account an official made at the counter


def registration_allowed() -> None:
    """Count this registration against the client address; 429 past the budget."""
    s = db()
    key = login_throttle.throttle_key(
        current_app.config["SECRET_KEY"],
        f"{g.tenant.id}:hb-register",
        request.remote_addr or "unknown",
    )
    wait = login_throttle.retry_after(s, LoginThrottleRow, [key])
    if wait:
        s.rollback()
        raise Refused(
            429,
            "Too many registrations from this address; try again later.",
            headers={"Retry-After": str(wait)},
        )
    login_throttle.count(s, LoginThrottleRow, g.tenant.id, [(key, REGISTRATION)])
    s.commit()


def link_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_link(applicant: Applicant, days: int, now: datetime | None = None) -> str:
    """A one-time link token for `applicant` (stored as a digest, expiring); the caller
    commits and mails it."""
    token = secrets.token_urlsafe(32)
    applicant.link_hash = link_digest(token)
    applicant.link_expires_at = (now or utcnow()) + timedelta(days=days)
    return token


def send_link(done) -> None:
    """Mail the one-time link of a registration (`cases.Registration`), if it made one."""
    if done.link is None or done.email is None:
        return
    activation = done.applicant.password_hash is None
    link = url_for("hb_pages.confirm", token=done.link, _external=True)
    mailer: Mailer = current_app.extensions["hb_mailer"]
    mailer.send(
        done.email,
        "Aktifkan akun Anda / Activate your account"
        if activation
        else "Konfirmasi pendaftaran / Confirm your registration",
        "Buka tautan ini untuk memakai akun hibah-bansos Anda "
        "(sekali pakai, berlaku beberapa hari). / "
        "Open this link to use your hibah-bansos account (works once, for a few days).\n\n"
        f"{link}\n",
    )
