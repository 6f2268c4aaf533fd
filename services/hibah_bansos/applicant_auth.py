"""Applicants' bearer tokens: signed like officials' (shared/auth.py) but with their own salt,
so an applicant token never passes as an official's, nor the other way round."""
from __future__ import annotations

import uuid

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

TOKEN_TTL_SECONDS = 3600
SALT = "replika.hibah-bansos.applicant-token"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def issue(tenant_id: uuid.UUID, applicant_id: uuid.UUID) -> str:
    return _serializer().dumps({"a": str(applicant_id), "t": str(tenant_id)})


def presented_applicant() -> uuid.UUID | None:
    """The applicant id of this request's bearer token, for the request's tenant only."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        data = _serializer().loads(header[7:].strip(), max_age=TOKEN_TTL_SECONDS)
    except (SignatureExpired, BadSignature):
        return None
    if data.get("t") != str(g.tenant.id):
        return None  # another city's token means nothing here
    return uuid.UUID(data["a"])
