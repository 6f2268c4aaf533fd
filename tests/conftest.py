"""Fixtures for integration tests against the real stack that `make test` starts.

`make test` (infra/local.py `test`) provisions PostgreSQL and Kafka on free ports, migrates, and
runs pytest with their settings in the environment. Integration tests fail loudly, never skip,
when that environment is missing.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _require_stack() -> None:
    if not os.environ.get("WHISTLEBLOWING_DATABASE_URL"):
        pytest.fail("integration tests need the stack: run them with `make test`")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


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
    from shared import tenant_apply
    from shared.tenant_config import load_file
    configs = {slug: load_file(ROOT / "tenants" / f"{slug}.yaml") for slug in ("bandung", "cimahi")}
    for config in configs.values():
        tenant_apply.apply(config)
    return configs


@pytest.fixture(scope="session")
def wb_app(stack, demo_tenants):
    from services.whistleblowing.app import create_app
    app = create_app()
    app.config.update(TESTING=True)
    return app


@pytest.fixture(scope="session")
def hb_app(stack, demo_tenants):
    from services.hibah_bansos.app import create_app
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
    """Mint a bearer token for an official of `tenant` with `roles`:
    official_token(app, demo_tenants["cimahi"], "wbs_investigator") -> "Bearer ..." header value.
    (Login through the API is tested in the auth tests; this keeps service tests focused.)"""
    import uuid as _uuid
    from shared.auth import Principal, issue_token

    def make(app, tenant_config, *roles, official_id=None, username=None):
        principal = Principal(official_id or _uuid.uuid4(), tenant_config.id,
                              username or f"test-{_uuid.uuid4().hex[:6]}", frozenset(roles))
        with app.app_context():
            return "Bearer " + issue_token(principal)
    return make
