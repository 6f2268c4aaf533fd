"""Applicants' credentials: bearer tokens for the API and a page session for the pages.

Both are signed like officials' tokens (shared/auth.py) but with salts of their own, so an
applicant token never passes as an official's, nor the other way round, and a page session's
token (readable in the signed, not encrypted, session cookie) is no API bearer token.
The page session rides in Flask's session cookie, which shared/web.py makes Secure, HttpOnly
and SameSite=Lax; every page form carries a CSRF token (shared/auth_routes.py).
"""
from __future__ import annotations

import uuid

from flask import current_app, g, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

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
    session[SESSION_KEY] = _serializer(PAGE_SALT).dumps({"a": str(applicant_id),
                                                         "t": str(tenant_id)})


def sign_out_page() -> None:
    session.pop(SESSION_KEY, None)


def page_applicant() -> uuid.UUID | None:
    """The applicant signed in to the pages of the request's tenant, if any."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str):
        return None
    return _applicant_of(token, PAGE_SALT, PAGE_TTL_SECONDS)
