"""Hostile input against the whistleblowing API, generated from its own OpenAPI document
(schemathesis): whatever a client sends, the service never answers 5xx.

Runs in-process over WSGI against the real PostgreSQL; the `tenant` path parameter is pinned to
a demo city, and operations that need an official get a token holding every handler role, so
the generated requests reach validation and the domain rather than stopping at 401.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from services.whistleblowing.openapi import document

# (schemathesis's own pytest plugin does not run under pytest 9, so each operation's
# hypothesis strategy is driven here directly)
SCHEMA = schemathesis.openapi.from_dict(document())
STATUSES: list[int] = []
OPERATIONS = {op.label: op for op in (r.ok() for r in SCHEMA.get_all_operations())}

ROLES = ("wbs_intake", "wbs_investigator", "wbs_supervisor", "identity_custodian", "auditor")


@pytest.fixture(scope="module")
def official_header(wb_app, demo_tenants):
    import uuid

    from shared.auth import Principal, issue_token

    principal = Principal(uuid.uuid4(), demo_tenants["cimahi"].id, "fuzzer", frozenset(ROLES))
    with wb_app.app_context():
        return {"Authorization": "Bearer " + issue_token(principal)}


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_input_makes_the_whistleblowing_api_fail_with_5xx(label, wb_app, official_header):
    operation = OPERATIONS[label]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        if case.path_parameters is not None and "tenant" in case.path_parameters:
            case.path_parameters["tenant"] = "cimahi"
        headers = dict(case.headers or {})
        if not headers.get("Authorization", "").startswith("Receipt"):
            headers.update(official_header)
        case.headers = headers
        response = case.call(app=wb_app)
        STATUSES.append(response.status_code)
        assert response.status_code < 500, (label, case.formatted_path, response.text[:300])

    check()


def test_the_fuzzer_reached_the_service(wb_app):
    """Guards the test above against passing vacuously: requests were really answered, and
    not all by the same refusal."""
    assert len(STATUSES) >= len(OPERATIONS) * 5
    assert len(set(STATUSES)) >= 3, sorted(set(STATUSES))
