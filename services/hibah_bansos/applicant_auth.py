"""Applicants' credentials: bearer tokens for the API and a page session for the pages.

Both are signed like officials' tokens (shared/auth.py) but with salts of their own, so an
applicant token never passes as an official's, nor the other way round, and a page session's
token (readable in the signed, not encrypted, session cookie) is no API bearer token.
The page session rides in Flask's session cookie, which shared/web.py makes Secure, HttpOnly
and SameSite=Lax; every page form carries a CSRF token (shared/auth_routes.py).
"""

from __future__ import annotations

import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from services.hibah_bansos import repository
from services.hibah_bansos.models import Applicant, LoginThrottleRow
from shared import login_throttle
from shared.actor import Actor
from shared.actor import applicant as applicant_actor
from shared.crypto import blind_index
from shared.problem import Problem
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
    """The applicant with this e-mail address (or, for residents without one, this NIK) and
    password, or None (the same Argon2 cost whether the account exists or not)."""
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
        if found is None or not found.password_hash:
            PasswordHasher().hash(password)  # same cost whether the account exists or not
            return None
        PasswordHasher().verify(found.password_hash, password)
        return found
    except (VerificationError, InvalidHashError):
        return None
