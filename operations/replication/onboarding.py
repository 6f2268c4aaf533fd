"""The first tenant admin's one-time onboarding (no Flask): a link that works once, before it
expires, and only finishes with a new password and a TOTP code from the enrolled app.

The link's token is exchanged on its first GET: the link row then answers only to a fresh
token kept in that browser's session, so the token of the link (which a mail relay, a proxy or
an access log may have seen) no longer opens anything."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from sqlalchemy import select

from operations.replication.models import OnboardingLink
from operations.replication.provisioning import token_hash
from services.hibah_bansos.models import OfficialRow as HibahOfficial
from services.whistleblowing.models import OfficialRow as WhistleblowingOfficial
from shared.db import service_engine, session_factory, tenant_session, utcnow
from shared.officials import _totp_step, hash_password, seal_totp_secret
from shared.problem import Refused

MIN_PASSWORD_LENGTH = 12


def open_link(
    session, token: str, *, for_update: bool = False, now: datetime | None = None
) -> OnboardingLink:
    """The valid link of `token` in the session's tenant; 404 unknown, 410 used or expired."""
    query = select(OnboardingLink).where(OnboardingLink.token_hash == token_hash(token or ""))
    link = session.execute(query.with_for_update() if for_update else query).scalar_one_or_none()
    if link is None:
        raise Refused(404, "no such onboarding link")
    if link.used_at is not None or link.expires_at <= (now or utcnow()):
        raise Refused(410, "this onboarding link was used or has expired")
    return link


def exchange(session, token: str, now: datetime | None = None) -> str:
    """Spend the link's token for a fresh one (returned, for the browser's session only)."""
    link = open_link(session, token, for_update=True, now=now)
    fresh = secrets.token_urlsafe(32)
    link.token_hash = token_hash(fresh)
    return fresh


def check_password(password: str, confirm: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Refused(422, f"at least {MIN_PASSWORD_LENGTH} characters", "password")
    if password != confirm:
        raise Refused(422, "the two passwords differ", "password_confirm")


def complete(
    session,
    tenant_id: uuid.UUID,
    token: str,
    password: str,
    confirm: str,
    totp_secret: str,
    otp: str,
    now: datetime | None = None,
) -> uuid.UUID:
    """Set the admin's password and TOTP secret in every official database and use up the
    link. `session` is the whistleblowing session of the new tenant; the caller commits it
    (with the onboarded event) after the other databases were written."""
    now = now or utcnow()
    link = open_link(session, token, for_update=True, now=now)
    check_password(password, confirm)
    step = _totp_step(totp_secret, otp, None, now)
    if step is None:
        raise Refused(
            422,
            "the code does not match the secret shown; check the time on "
            "your phone and try the next code",
            "otp",
        )
    password_hash = hash_password(password)
    # hibah_bansos first: if whistleblowing then fails, the link still works for a retry
    with tenant_session(session_factory(service_engine("hibah_bansos")), tenant_id) as other:
        _set(other, HibahOfficial, link.official_id, password_hash, totp_secret, step)
        other.commit()
    _set(session, WhistleblowingOfficial, link.official_id, password_hash, totp_secret, step)
    link.used_at = now
    return link.official_id


def _set(session, model, official_id, password_hash, totp_secret, step) -> None:
    official = session.get(model, official_id)
    if official is None:
        raise Refused(409, "the tenant admin account is missing; ask the hosting city")
    official.password_hash = password_hash
    seal_totp_secret(official, totp_secret)
    official.last_totp_step = step  # the enrolment code cannot be replayed to sign in
    official.active = True
