"""Provisioning an approved replication request: idempotent and resumable (no Flask).

Each step is recorded on the request row when it is done; a re-run (after a crash, a timeout,
a database hiccup) skips the recorded steps and continues. Every step is itself safe to
repeat, because a crash can come between doing a step and recording it.

    tenant_file  write <REPLIKA_TENANTS_DIR>/<slug>.yaml from the template city's file
    applied      apply it to every service database (operations/tenant_apply)
    keys         the tenant's data, index and hash keys in each keyed service (shared/crypto)
    admin        the first `tenant_admin` official, inactive until onboarded
    onboarding   a one-time onboarding link (only its hash is stored)
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, text, update

from operations import tenant_apply
from operations.replication.models import OnboardingLink, ReplicationRequest
from operations.replication.template import TenantExists, template_file, write_new_tenant
from operations.service_models import models_of
from services.audit import keys as audit_keys
from shared import crypto
from shared.db import service_engine, session_factory, tenant_session, utcnow
from shared.event_types import PLATFORM_ONBOARDING_REISSUED, PLATFORM_TENANT_PROVISIONED
from shared.officials import (
    OFFICIAL_SERVICES,
    add_official,
    find_official,
    hash_password,
    new_password,
    new_totp_secret,
)
from shared.problem import Refused
from shared.tenant_config import load_file, tenant_id_for

STEPS = ("tenant_file", "applied", "keys", "admin", "onboarding")
ADMIN_USERNAME = "admin"
ONBOARDING_TTL = timedelta(hours=72)
KEYED_SERVICES = ("whistleblowing", "hibah_bansos")


def tenants_dir() -> Path:
    return Path(os.environ.get("REPLIKA_TENANTS_DIR", "tenants"))


def token_hash(token: str) -> str:
    # the token carries 256 random bits: a plain hash is enough to make a stolen table useless
    return hashlib.sha256(token.encode()).hexdigest()


def onboarding_path(slug: str, token: str) -> str:
    return f"/t/{slug}/onboarding/{token}"


@dataclass
class Provisioned:
    request: ReplicationRequest
    tenant_id: uuid.UUID
    onboarding_token: str | None  # only when this run issued the link: shown once


@contextmanager
def _exclusive(session, request_id: uuid.UUID):
    """One provisioning run per request at a time, across processes (advisory lock on a
    connection of its own, so the step commits of the run do not release it)."""
    key = int.from_bytes(request_id.bytes[:8], "big", signed=True)
    with session.get_bind().engine.connect() as conn:
        if not conn.execute(text("select pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            raise Refused(409, "provisioning of this request is already running")
        try:
            yield
        finally:
            conn.execute(text("select pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def _step_tenant_file(req: ReplicationRequest) -> None:
    directory = tenants_dir()
    try:
        write_new_tenant(
            directory,
            template_file(directory, req.template),
            req.template,
            slug=req.new_slug,
            name=req.region_name,
            region_code=req.region_code,
            applications=list(req.applications),
        )
    except TenantExists:
        # written by an interrupted run (or by hand): use it only if it is this city's file
        existing = load_file(directory / f"{req.new_slug}.yaml")
        if existing.data.get("region_code") != req.region_code:
            raise Refused(409, "a different tenant file with this slug exists", "slug") from None


def _step_applied(req: ReplicationRequest) -> None:
    tenant_apply.apply(load_file(tenants_dir() / f"{req.new_slug}.yaml"))
    from operations.replication import template_updates  # (imports config_admin, which imports us)

    template_updates.follow(req.template, req.new_slug)  # offered the template city's updates


def _step_keys(tenant_id: uuid.UUID) -> None:
    for service in KEYED_SERVICES:
        with service_engine(service, migration=True).begin() as conn:
            conn.execute(
                text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)}
            )
            for purpose in crypto.PURPOSES:  # a concurrent or earlier key wins quietly
                crypto.create_tenant_key(conn, tenant_id, purpose)
    # the ledger's signing key now, not on the first event: the city can publish its public
    # key (to verify checkpoints) from day one
    with session_factory(service_engine("audit", migration=True))() as session:
        audit_keys.signing_key(session, tenant_id)  # created if missing, else kept
        session.commit()


def _step_admin(tenant_id: uuid.UUID) -> uuid.UUID:
    """The first tenant admin in every official database, inactive and with credentials
    nobody knows: the onboarding page sets the real ones."""
    official_id = None
    sessions = []
    try:
        for service in OFFICIAL_SERVICES:
            cm = tenant_session(session_factory(service_engine(service)), tenant_id)
            session = cm.__enter__()
            sessions.append(cm)
            model = models_of(service).OfficialRow
            row = find_official(session, model, ADMIN_USERNAME)
            if row is None:
                row = add_official(
                    session,
                    model,
                    ADMIN_USERNAME,
                    ["tenant_admin"],
                    official_id=official_id,
                    password_hash=hash_password(new_password()),
                    totp_secret=new_totp_secret(),
                )
                row.active = False
            official_id = official_id or row.id
            session.commit()
    finally:
        for cm in sessions:
            cm.__exit__(None, None, None)
    assert official_id is not None  # OFFICIAL_SERVICES is never empty
    return official_id


def admin_id(tenant_id: uuid.UUID) -> uuid.UUID:
    model = models_of("whistleblowing").OfficialRow
    with tenant_session(session_factory(service_engine("whistleblowing")), tenant_id) as s:
        return find_official(s, model, ADMIN_USERNAME).id


def issue_onboarding_link(tenant_id: uuid.UUID, request_id: uuid.UUID) -> str:
    """A new one-time link for the first tenant admin; earlier unused links stop working."""
    return _issue_link(tenant_id, admin_id(tenant_id), request_id)


# An official's enrolment link (added by the city's own tenant admin) answers to no request.
NO_REQUEST = uuid.UUID(int=0)


def issue_enrolment_link(tenant_id: uuid.UUID, official_id: uuid.UUID) -> str:
    """A one-time link for an official the city's admin added (or whose second factor was
    reset): the same page as the first admin's onboarding. Earlier unused links of this
    official stop working."""
    return _issue_link(tenant_id, official_id, NO_REQUEST)


def _issue_link(tenant_id: uuid.UUID, official: uuid.UUID, request_id: uuid.UUID) -> str:
    token = secrets.token_urlsafe(32)
    factory = session_factory(service_engine("whistleblowing"))
    with tenant_session(factory, tenant_id) as session:
        now = utcnow()
        session.execute(
            update(OnboardingLink)
            .where(OnboardingLink.used_at.is_(None), OnboardingLink.official_id == official)
            .values(expires_at=now)
        )
        session.add(
            OnboardingLink(
                token_hash=token_hash(token),
                tenant_id=tenant_id,
                official_id=official,
                request_id=request_id,
                created_at=now,
                expires_at=now + ONBOARDING_TTL,
            )
        )
        session.commit()
    return token


def provision(uow, request_id: uuid.UUID, actor: str) -> Provisioned:
    """Run (or resume) provisioning of an approved request of the uow's (hosting) tenant.
    Commits after each step through the uow; the last commit carries the provisioned event."""
    session = uow.session
    with _exclusive(session, request_id):
        session.rollback()  # read the request fresh, after taking the lock
        req = session.execute(
            select(ReplicationRequest).where(ReplicationRequest.id == request_id)
        ).scalar_one_or_none()
        if req is None:
            raise Refused(404, "no such replication request")
        tenant_id = tenant_id_for(req.new_slug)
        if req.status == "provisioned":
            return Provisioned(req, tenant_id, None)
        if req.status != "approved":
            raise Refused(409, f"only an approved request is provisioned ({req.status})")
        token = None
        for step in STEPS:
            if step in req.steps:
                continue
            if step == "tenant_file":
                _step_tenant_file(req)
            elif step == "applied":
                _step_applied(req)
            elif step == "keys":
                _step_keys(tenant_id)
            elif step == "admin":
                _step_admin(tenant_id)
            elif step == "onboarding":
                token = issue_onboarding_link(tenant_id, req.id)
            req.steps = [*req.steps, step]  # a new list, so the JSON column is written
            if step == STEPS[-1]:
                req.status, req.provisioned_at = "provisioned", utcnow()
                uow.emit(
                    PLATFORM_TENANT_PROVISIONED,
                    f"replication:{req.id}",
                    actor,
                    {
                        "request_id": str(req.id),
                        "tenant_id": str(tenant_id),
                        "slug": req.new_slug,
                        "template": req.template,
                        "services": sorted(req.applications),
                        "steps": list(req.steps),
                    },
                )
            uow.commit()
        return Provisioned(req, tenant_id, token)


def reissue_onboarding(uow, request_id: uuid.UUID, actor: str) -> str:
    """A fresh link when the first one was lost or expired (only before onboarding); the
    caller commits the reissued event."""
    session = uow.session
    req = session.execute(
        select(ReplicationRequest).where(ReplicationRequest.id == request_id)
    ).scalar_one_or_none()
    if req is None:
        raise Refused(404, "no such replication request")
    if req.status != "provisioned":
        raise Refused(409, "the tenant is not provisioned yet")
    tenant_id = tenant_id_for(req.new_slug)
    factory = session_factory(service_engine("whistleblowing"))
    with tenant_session(factory, tenant_id) as s:
        used = select(OnboardingLink).where(
            OnboardingLink.used_at.is_not(None), OnboardingLink.request_id == request_id
        )
        if s.execute(used).first():
            raise Refused(409, "the tenant admin has already completed onboarding")
    token = issue_onboarding_link(tenant_id, req.id)
    uow.emit(
        PLATFORM_ONBOARDING_REISSUED,
        f"replication:{req.id}",
        actor,
        {"request_id": str(req.id), "tenant_id": str(tenant_id)},
    )
    return token
