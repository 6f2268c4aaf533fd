"""Applicants' credentials: bearer tokens for the API and a page session for the pages.

Both are signed like officials' tokens (shared/auth.py) but with salts of their own, so an
applicant token never passes as an official's, nor the other way round, and a page session's
token (readable in the signed, not encrypted, session cookie) is no API bearer token.
The page session rides in Flask's session cookie, which shared/web.py makes Secure, HttpOnly
and SameSite=Lax; every page form carries a CSRF token (shared/auth_routes.py).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from flask import current_app, g, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from shared import login_throttle
from shared.web import db

if TYPE_CHECKING:
    from services.hibah_bansos.models import Applicant

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
    from services.hibah_bansos import applications as cases
    from services.hibah_bansos.models import LoginThrottleRow

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
    applicant = cases.check_applicant_password(s, g.tenant, email, password)
    if applicant is None:
        login_throttle.record_failure(s, LoginThrottleRow, g.tenant.id, keys)
        s.commit()
        return None, 0
    login_throttle.record_success(s, LoginThrottleRow, keys)
    s.commit()
    return applicant, 0
