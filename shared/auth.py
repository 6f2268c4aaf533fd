"""Who is calling: officials (bearer tokens for the API, sessions for pages) and their roles.

Roles are per tenant. A token is signed with REPLIKA_SECRET_KEY and names its tenant, so a
token of one city is useless on another's URLs (answered 404, like any other tenant's id).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, g, request, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from shared.actor import OFFICIAL_KIND, Actor
from shared.problem import Problem, not_found
from shared.roles import ROLES  # defined without Flask, so domain code can import it

TOKEN_TTL_SECONDS = 3600


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
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="replika.api-token")


def issue_token(principal: Principal) -> str:
    return _serializer().dumps(
        {
            "o": str(principal.official_id),
            "t": str(principal.tenant_id),
            "u": principal.username,
            "r": sorted(principal.roles),
        }
    )


def _principal_from_token(token: str) -> Principal | None:
    try:
        data = _serializer().loads(token, max_age=TOKEN_TTL_SECONDS)
    except (SignatureExpired, BadSignature):
        return None
    return Principal(uuid.UUID(data["o"]), uuid.UUID(data["t"]), data["u"], frozenset(data["r"]))


def is_api_request() -> bool:
    """JSON API routes live under /t/<tenant>/api/; they take bearer tokens only."""
    parts = request.path.split("/")
    return len(parts) > 3 and parts[1] == "t" and parts[3] == "api"


def _presented_principal() -> Principal | None:
    """Whoever the request's credentials name, whatever their tenant.

    A bearer header is used anywhere (browsers never attach it by themselves, so it needs no
    CSRF token); the session cookie only on pages, whose forms are CSRF-protected.
    """
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return _principal_from_token(header[7:].strip())
    if "official" in session and not is_api_request():
        return _principal_from_token(session["official"])
    return None


def current_principal() -> Principal | None:
    """The authenticated official of this request, if any, for the request's tenant only."""
    if "principal" in g:
        return g.principal
    principal = _presented_principal()
    tenant = getattr(g, "tenant", None)
    g.foreign_principal = principal is not None and (
        tenant is None or principal.tenant_id != tenant.id
    )
    if g.foreign_principal:
        principal = None  # another tenant's credentials mean nothing here
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
