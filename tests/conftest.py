"""Fixtures for the tests against the real stack that `make test` starts.

The folder of a test says what it needs: tests/unit nothing (`make test-unit` runs it alone;
its conftest makes `stack` fail), tests/integration/<area> the real PostgreSQL and Kafka
(areas as in the code: whistleblowing, hibah_bansos, audit, shared, operations), tests/faults
the stack plus the right to stop parts of it, tests/browser the stack and a headless Chromium.
Data builders and rigs that several test modules use are in tests/support.

`make test` (infra/local.py `test`) provisions PostgreSQL and Kafka on free ports, migrates, and
runs pytest with their settings in the environment. Integration tests fail loudly, never skip,
when that environment is missing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import pytest
from sqlalchemy import create_engine

from tests.support.applicant_mail import register_confirmed
from tests.support.hibah_bansos import application, organisation

ROOT = Path(__file__).resolve().parent.parent


def _require_stack() -> None:
    if not os.environ.get("WHISTLEBLOWING_DATABASE_URL"):
        pytest.fail("integration tests need the stack: run them with `make test`")


@pytest.fixture(scope="session")
def stack() -> dict[str, str]:
    _require_stack()
    return dict(os.environ)


@pytest.fixture(scope="session")
def kafka_bootstrap(stack) -> str:
    return stack["KAFKA_BOOTSTRAP_SERVERS"]


@pytest.fixture(scope="session")
def demo_tenants(stack):
    """The demo tenants bandung and cimahi, applied to every service database."""
    from operations import tenant_apply
    from shared.tenant_config import load_file

    configs = {slug: load_file(ROOT / "tenants" / f"{slug}.yaml") for slug in ("bandung", "cimahi")}
    from operations import key_admin

    for config in configs.values():
        tenant_apply.apply(config)
        key_admin.ensure_custodian(config.id, f"test-custodian-{config.slug}")
    return configs


@pytest.fixture(scope="session")
def wb_app(stack, demo_tenants):
    from operations.apps import whistleblowing as create_app

    app = create_app()
    app.config.update(TESTING=True)
    return app


@pytest.fixture(scope="session")
def hb_app(stack, demo_tenants):
    from operations.apps import hibah_bansos as create_app

    app = create_app()
    app.config.update(TESTING=True)
    return app


@pytest.fixture(scope="session")
def audit_app(stack, demo_tenants):
    from operations.apps import audit as create_app

    app = create_app()
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def wb(wb_app):
    return wb_app.test_client()


@pytest.fixture
def hb(hb_app):
    return hb_app.test_client()


@pytest.fixture
def official_token():
    """A bearer token for a real official of `tenant` with `roles`, issued for the app's service:
    official_token(app, demo_tenants["cimahi"], "wbs_investigator") -> "Bearer ..." header value.
    The official exists in the app's database (tests/support/officials.py); an existing
    `official_id` gets the roles added. (Login through the API is tested in the auth tests;
    this keeps service tests focused.)"""
    from tests.support.officials import bearer

    def make(app, tenant_config, *roles, official_id=None, username=None):
        return bearer(app, tenant_config.id, *roles, official_id=official_id, username=username)

    return make


@pytest.fixture
def make_official(stack, demo_tenants):
    """Create a real official in every service database with fresh random credentials:
    make_official("cimahi", "wbs_intake") -> NewCredentials(official_id, username, password,
    totp_secret). Use `api_login` to get a token the way a client would."""
    import uuid as _uuid

    from operations import official_admin

    def make(slug, *roles, username=None):
        return official_admin.add(slug, username or f"t-{_uuid.uuid4().hex[:12]}", roles)

    return make


class NewApplication(NamedTuple):
    number: str  # the application number, HB-YYYY-...
    applicant: dict[str, str]  # the Authorization header of the applicant who made it


@pytest.fixture(scope="session")
def make_report(wb_app):
    """File a report through the whistleblowing API as an anonymous reporter:
    make_report("cimahi", what="...", identity={...}) -> the 201 body (case_number, receipt).
    `tenant` is a slug or anything with a `.slug`; the body is a minimal valid report
    (category korupsi) updated with `overrides`."""

    def make(tenant, **overrides) -> dict:
        slug = getattr(tenant, "slug", tenant)
        body = {"category": "korupsi", "what": "Pungutan di loket pelayanan.", **overrides}
        resp = wb_app.test_client().post(f"/t/{slug}/api/v1/reports", json=body)
        assert resp.status_code == 201, resp.get_data(as_text=True)
        return resp.json

    return make


@pytest.fixture(scope="session")
def make_application(hb_app):
    """A draft hibah application of a newly registered (and confirmed) organisation:
    make_application("cimahi", requested=20_000_000) -> NewApplication(number, applicant).
    `tenant` is a slug or anything with a `.slug`; `overrides` go to
    tests.support.hibah_bansos.application (programme, requested, proposal, rab, ...)."""

    def make(tenant="cimahi", **overrides) -> NewApplication:
        base = f"/t/{getattr(tenant, 'slug', tenant)}/api/v1"
        client = hb_app.test_client()
        token = register_confirmed(client, getattr(tenant, "slug", tenant), organisation())
        applicant = {"Authorization": f"Bearer {token}"}
        created = client.post(
            f"{base}/applications", json=application(**overrides), headers=applicant
        )
        assert created.status_code == 201, created.get_data(as_text=True)
        return NewApplication(created.json["application_number"], applicant)

    return make


@pytest.fixture
def api_login():
    """POST /t/<slug>/api/v1/auth/token with a TOTP code not used yet -> "Bearer ..." header
    value: api_login(client, "cimahi", creds). A code is taken once for all services, so each
    call of a test takes the next unused time step of the official, from the one before the
    current (the clock drift that sign-in allows) upwards; a test's own `now` code after one
    call still works. Each call comes from its own client address, so the per-address login
    throttle of one test never affects another."""
    import time
    import uuid as _uuid
    from datetime import UTC, datetime

    import pyotp

    taken: dict[str, int] = {}

    def next_code(secret: str) -> str:
        totp = pyotp.TOTP(secret)
        while True:
            current = totp.timecode(datetime.now(UTC))
            step = max(current - 1, taken.get(secret, current - 2) + 1)
            if step <= current + 1:
                taken[secret] = step
                return totp.generate_otp(step)
            time.sleep(1)

    def login(client, slug, creds, *, otp=None):
        resp = client.post(
            f"/t/{slug}/api/v1/auth/token",
            json={
                "username": creds.username,
                "password": creds.password,
                "otp": otp or next_code(creds.totp_secret),
            },
            environ_base={"REMOTE_ADDR": f"10.{_uuid.uuid4().int % 250}.0.1"},
        )
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return "Bearer " + resp.json["access_token"]

    return login


@pytest.fixture
def csrf_token():
    """The CSRF token of a page's form: csrf_token(client, "/t/cimahi/login"). Every HTML form
    POST needs it (field `csrf_token`); the JSON API and bearer-token requests do not."""
    import re

    def token(client, path, **kwargs):
        html = client.get(path, **kwargs).get_data(as_text=True)
        match = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert match, f"no csrf_token field in the page at {path}"
        return match.group(1)

    return token


def emitted_event_problems() -> list[str]:
    """Every event in both services' outboxes that is not a valid Replika event, or not
    signed by its service (the audit ledger would dead-letter it)."""
    from sqlalchemy import text

    from shared import event_signing, events
    from shared.db import service_engine

    found = []
    trusted = event_signing.TrustedKeys()
    for service in ("whistleblowing", "hibah_bansos"):
        with service_engine(service, migration=True).connect() as conn:
            for seq, payload in conn.execute(text("select seq, payload from outbox order by seq")):
                problems = events.problems(payload)
                try:
                    trusted.check(service, payload)
                except event_signing.SignatureProblem as exc:
                    problems.append(f"signature: {exc}")
                found += [
                    f"{service} outbox seq {seq} ({payload.get('type')}): {p}" for p in problems
                ]
    return found


@pytest.fixture(scope="session", autouse=True)
def every_emitted_event_is_valid():
    """Every event emitted during the test run validates against its schemas.
    Checked once at the end of the session (an error there names the bad events)."""
    yield
    if os.environ.get("WHISTLEBLOWING_DATABASE_URL"):  # unit-only runs have no outbox
        problems = emitted_event_problems()
        assert not problems, "invalid events emitted:\n" + "\n".join(problems[:50])


@pytest.fixture(scope="session")
def custodian_passphrase(stack, demo_tenants):
    """custodian_passphrase(tenant_config) -> the passphrase of that tenant's identity custodian
    (created on first use with a test passphrase; real tenants get a random one)."""
    from operations import key_admin

    def get(config) -> str:
        passphrase = f"test-custodian-{config.slug}"
        key_admin.ensure_custodian(config.id, passphrase)
        return passphrase

    return get


@pytest.fixture(scope="module")
def hb_owner_db(stack):
    """The hibah-bansos migration owner's connection: sees every row (RLS does not bind it)."""
    engine = create_engine(stack["HIBAH_BANSOS_MIGRATION_DATABASE_URL"])
    yield engine
    engine.dispose()
