"""Who is calling: officials (bearer tokens for the API, sessions for pages) and their roles.

Roles are per tenant. A bearer token is signed with REPLIKA_SECRET_KEY and names its tenant,
so a token of one city is useless on another's URLs (answered 404, like any other tenant's
id). A signature alone proves nothing about the account today, so every request checks it:
- the token names its official, its audience (the service it was issued for: a
  whistleblowing token opens nothing at hibah_bansos) and the official's token version; the
  official's row in this service's database must exist, be active and still have that version
  (deactivate, reset, a role change and logout bump it), and the token's roles count only as
  far as the row still grants them. The row is read on every request (no cache: one primary
  key lookup in the request's own session), so a revocation holds at the next request.
- a page session is a row of `official_sessions`; the cookie carries only its random id
  (stored as a SHA-256 digest), logout deletes it, and it names the token version too.
- the audit service has no officials of its own: it takes tokens issued for the audience
  `audit` by a service (after that service checked the account), valid for five minutes.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import column, delete, insert, select, table
from sqlalchemy.orm import Session

from shared.actor import OFFICIAL_KIND, Actor
from shared.db import utcnow
from shared.problem import Problem, not_found
from shared.request_context import db, ext
from shared.roles import ROLES  # defined without Flask, so domain code can import it

TOKEN_TTL_SECONDS = 3600
AUDIT_AUDIENCE = "audit"
AUDIT_TOKEN_TTL_SECONDS = 300  # the audit service cannot check the account: short-lived
PAGE_SESSION_SECONDS = 3600
API_TOKEN_SALT = "replika.official-api-token.v2"  # page sessions are no tokens at all
SESSION_KEY, SESSION_TENANT_KEY = "official", "official_tenant"

# The page sessions' table (migration b001 of each service with officials); Core only, so
# no service's models need a class for it.
SESSIONS = table(
    "official_sessions",
    column("id_hash"),
    column("tenant_id"),
    column("official_id"),
    column("token_version"),
    column("created_at"),
    column("expires_at"),
)


@dataclass(frozen=True)
class Principal:
    official_id: uuid.UUID
    tenant_id: uuid.UUID
    username: str
    roles: frozenset[str]

    @property
    def pseudonym(self) -> str:
        """Stable pseudonymous id for events and the ledger (no name, no username)."""
        key = current_app.config["SECRET_KEY"].encode()
        digest = hmac.new(key, self.official_id.bytes, hashlib.sha256).hexdigest()[:16]
        return f"official:{digest}"

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=API_TOKEN_SALT)


def token_ttl(audience: str) -> int:
    return AUDIT_TOKEN_TTL_SECONDS if audience == AUDIT_AUDIENCE else TOKEN_TTL_SECONDS


def issue_token(principal: Principal, *, version: int, audience: str) -> str:
    """A bearer token for `audience` (a service name) under the official's token `version`."""
    return _serializer().dumps(
        {
            "o": str(principal.official_id),
            "t": str(principal.tenant_id),
            "u": principal.username,
            "r": sorted(principal.roles),
            "v": version,
            "aud": audience,
        }
    )


def _claims(token: str) -> dict | None:
    """The token's claims when it is signed, unexpired and meant for this service."""
    audience = ext()["service"]
    try:
        data = _serializer().loads(token, max_age=token_ttl(audience))
        if data.get("aud") != audience:
            return None
        uuid.UUID(data["o"]), uuid.UUID(data["t"]), int(data["v"])
    except (SignatureExpired, BadSignature, KeyError, TypeError, ValueError):
        return None
    return data


def _live(
    official_id: uuid.UUID, tenant_id: uuid.UUID, version: int, roles: frozenset[str] | None
) -> Principal | None:
    """The principal when the account exists in this tenant, is active and still has token
    `version`; its roles are those the row grants (and the credential named, if it did)."""
    model = ext()["models"].official
    row = db().get(model, official_id)
    if row is None or not row.active or row.token_version != version:
        return None
    granted = frozenset(row.roles)
    return Principal(row.id, tenant_id, row.username, granted if roles is None else granted & roles)


def _bearer_principal(token: str) -> tuple[Principal | None, bool]:
    """(principal, foreign): `foreign` when a valid token names another tenant."""
    data = _claims(token)
    if data is None:
        return None, False
    official_id, tenant_id = uuid.UUID(data["o"]), uuid.UUID(data["t"])
    tenant = getattr(g, "tenant", None)
    if tenant is None or tenant_id != tenant.id:
        return None, True  # another tenant's credentials mean nothing here
    roles = frozenset(data.get("r") or ())
    if ext()["models"].official is None:  # the audit service: checked by the issuer
        return Principal(official_id, tenant_id, data.get("u", ""), roles), False
    return _live(official_id, tenant_id, int(data["v"]), roles), False


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_page_session(s: Session, official) -> str:
    """A new page session of `official` (a row; the caller commits); returns its random id,
    the only thing the cookie carries. Expired sessions of the tenant are dropped."""
    now = utcnow()
    session_id = secrets.token_urlsafe(32)
    s.execute(delete(SESSIONS).where(SESSIONS.c.expires_at < now))
    s.execute(
        insert(SESSIONS).values(
            id_hash=_digest(session_id),
            tenant_id=official.tenant_id,
            official_id=official.id,
            token_version=official.token_version or 0,
            created_at=now,
            expires_at=now + timedelta(seconds=PAGE_SESSION_SECONDS),
        )
    )
    return session_id


def end_page_sessions(s: Session, official_id: uuid.UUID) -> None:
    """Delete every page session of the official (logout; the caller commits)."""
    s.execute(delete(SESSIONS).where(SESSIONS.c.official_id == official_id))


def _page_principal() -> tuple[Principal | None, bool]:
    session_id, tenant_of = session.get(SESSION_KEY), session.get(SESSION_TENANT_KEY)
    if not isinstance(session_id, str):
        return None, False
    tenant = getattr(g, "tenant", None)
    if tenant is None or tenant_of != str(tenant.id):
        return None, True
    if ext()["models"].official is None:
        return None, False
    row = (
        db()
        .execute(
            select(SESSIONS.c.official_id, SESSIONS.c.token_version).where(
                SESSIONS.c.id_hash == _digest(session_id), SESSIONS.c.expires_at > utcnow()
            )
        )
        .first()
    )
    if row is None:
        return None, False
    return _live(row.official_id, tenant.id, row.token_version, None), False


def is_api_request() -> bool:
    """JSON API routes live under /t/<tenant>/api/; they take bearer tokens only."""
    parts = request.path.split("/")
    return len(parts) > 3 and parts[1] == "t" and parts[3] == "api"


def _presented_principal() -> tuple[Principal | None, bool]:
    """(whoever the request's credentials name in this tenant, whether they name another).

    A bearer header is used anywhere (browsers never attach it by themselves, so it needs no
    CSRF token); the session cookie only on pages, whose forms are CSRF-protected.
    """
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return _bearer_principal(header[7:].strip())
    if SESSION_KEY in session and not is_api_request():
        return _page_principal()
    return None, False


def current_principal() -> Principal | None:
    """The authenticated official of this request, if any, for the request's tenant only."""
    if "principal" in g:
        return g.principal
    principal, g.foreign_principal = _presented_principal()
    g.principal = principal
    return principal


def bearer_challenge() -> str:
    """The `WWW-Authenticate` of a 401 on a bearer-protected route (RFC 6750 §3): the realm is
    the tenant; `error="invalid_token"` when a bearer token was sent and refused."""
    tenant = getattr(g, "tenant", None)
    realm = tenant.slug if tenant is not None else "replika"
    challenge = f'Bearer realm="{realm}"'
    if request.headers.get("Authorization", "").startswith("Bearer "):
        challenge += ', error="invalid_token"'
    return challenge


def official_actor() -> Actor:
    """The one builder of an official's `Actor`: the request's signed-in official (401 when
    there is none; `require_roles` on the view has already said which roles may come)."""
    p = current_principal()
    if p is None:
        raise Problem(401, "Unauthorized", "Sign in as an official of this tenant.")
    return Actor(OFFICIAL_KIND, p.pseudonym, official_id=p.official_id, roles=frozenset(p.roles))


def require_roles(*roles: str) -> Callable:
    """Decorator: the caller is an official of this tenant holding one of `roles`.

    No credentials: 401. Another tenant's valid credentials: 404, exactly as for another
    tenant's ids, so a token reveals nothing about other cities. Wrong role: 403.
    """
    unknown = set(roles) - set(ROLES)
    assert not unknown, f"unknown roles {unknown}"

    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def inner(*args, **kwargs):
            principal = current_principal()
            if principal is None and g.get("foreign_principal"):
                raise not_found()
            if principal is None:
                raise Problem(401, "Unauthorized", "Sign in as an official of this tenant.")
            if roles and not principal.has(*roles):
                raise Problem(
                    403,
                    "Forbidden",
                    "Your role does not allow this action.",
                    required_roles=list(roles),
                )
            return view(*args, **kwargs)

        inner.required_roles = frozenset(roles)  # type: ignore[attr-defined]  # tests find every protected route by it
        return inner

    return wrap
