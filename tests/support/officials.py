"""Signed-in officials for tests that need a caller without going through sign-in: the account
is real (a row in the app's own database, as `replika official add` writes it), because a
token or page session for an official who does not exist is refused (shared/auth.py).

    bearer(app, tenant_id, "wbs_supervisor") -> "Bearer ..."
    page_session(app, client, tenant_id, "wbs_supervisor")  # the client's cookie is signed in

An `official_id` that already exists gets the roles added (a test may mint several tokens for
one official with different roles; each token still counts only the roles it names).
"""

from __future__ import annotations

import secrets
import uuid
from functools import cache

from shared.auth import SESSION_KEY, SESSION_TENANT_KEY, Principal, issue_token, open_page_session
from shared.db import session_factory, tenant_session
from shared.officials import add_official, hash_password, new_totp_secret


@cache
def _password_hash() -> str:
    return hash_password(secrets.token_urlsafe(18))  # nobody signs in with it


def ensure_official(
    app,
    tenant_id: uuid.UUID,
    roles,
    *,
    official_id: uuid.UUID | None = None,
    username: str | None = None,
) -> tuple[uuid.UUID, str, int]:
    """(id, username, token version) of an active official holding `roles` in the app's own
    database, created if missing."""
    wiring = app.extensions["replika"]
    model = wiring["models"].official
    official_id = official_id or uuid.uuid4()
    with tenant_session(session_factory(wiring["engine"]), tenant_id) as s:
        row = s.get(model, official_id)
        if row is None:
            row = add_official(
                s,
                model,
                username or f"test-{uuid.uuid4().hex[:10]}",
                roles,
                official_id=official_id,
                password_hash=_password_hash(),
                totp_secret=new_totp_secret(),
            )
        else:
            row.roles = sorted(set(row.roles) | set(roles))
        found = (row.id, row.username, row.token_version or 0)
        s.commit()
    return found


def bearer(app, tenant_id: uuid.UUID, *roles: str, official_id=None, username=None) -> str:
    """An Authorization header value for an official of the tenant holding `roles`, issued
    for the app's service (the audit service, which has no officials, takes it as it is)."""
    wiring = app.extensions["replika"]
    if wiring["models"].official is None:
        official_id, username, version = official_id or uuid.uuid4(), username or "auditor", 0
    else:
        official_id, username, version = ensure_official(
            app, tenant_id, roles, official_id=official_id, username=username
        )
    principal = Principal(official_id, tenant_id, username, frozenset(roles))
    with app.app_context():
        return "Bearer " + issue_token(principal, version=version, audience=wiring["service"])


def page_session(app, client, tenant_id: uuid.UUID, *roles: str) -> uuid.UUID:
    """Sign `client` in to the app's pages as a new official holding `roles`; their id."""
    official_id, _, _ = ensure_official(app, tenant_id, roles)
    wiring = app.extensions["replika"]
    with tenant_session(session_factory(wiring["engine"]), tenant_id) as s:
        session_id = open_page_session(s, s.get(wiring["models"].official, official_id))
        s.commit()
    with client.session_transaction() as cookie:
        cookie[SESSION_KEY] = session_id
        cookie[SESSION_TENANT_KEY] = str(tenant_id)
    return official_id
