"""Hostile input against the whistleblowing API, generated from the document it serves
(schemathesis, positive and negative data, every check but those tests/support/fuzz.py excludes
with its reason): the service never answers 5xx, refuses what the document refuses, accepts what
it allows, and answers as it says (status, content type, headers, body schema).

Runs in-process over WSGI against the real PostgreSQL; `tenant` is pinned to a demo city. Each
operation is called as every caller its `security` allows: an official holding every role of
this app, a reporter with a real receipt, or nobody for the public ones.
"""

from __future__ import annotations

import pytest
from schemathesis import GenerationMode

from tests.support import fuzz

ROLES = (
    "wbs_intake",
    "wbs_investigator",
    "wbs_supervisor",
    "identity_custodian",
    "auditor",
    "tenant_admin",
)
STATUSES: dict[str, list[int]] = {}


@pytest.fixture(scope="module")
def schema(wb_app):
    return fuzz.load(wb_app)


def _calls():
    """(operation, caller, mode) of the document the composed app serves (built here from
    the same code, since parametrize runs before any fixture)."""
    import schemathesis

    from operations.replication import openapi as replication
    from services.whistleblowing.openapi import document
    from shared.openapi import with_extensions

    doc = with_extensions(document(), [replication.paths])
    ops = fuzz.operations(schemathesis.openapi.from_dict(doc))
    names = {"bearer": "official", "receipt": "reporter"}
    return [
        (label, who, mode)
        for label in sorted(ops)
        for who in fuzz.callers(ops[label], names)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]


CALLS = _calls()


@pytest.fixture(scope="module")
def identities(wb_app, demo_tenants, make_report):
    from tests.support.officials import bearer

    official = {"Authorization": bearer(wb_app, demo_tenants["cimahi"].id, *ROLES)}
    filed = make_report("cimahi")
    return {
        "official": official,
        "reporter": {"Authorization": "Receipt " + filed["receipt"]},
        "anonymous": {},
        "case_number": filed["case_number"],
    }


@pytest.mark.parametrize(
    "label,who,mode", CALLS, ids=[f"{label} as {who} {mode.value}" for label, who, mode in CALLS]
)
def test_the_whistleblowing_api_answers_as_its_document_says(
    label, who, mode, wb_app, schema, identities
):
    def adjust(case, label, real_target):
        params = case.path_parameters
        if real_target and params and "case_number" in params:
            params["case_number"] = identities["case_number"]

    seen = STATUSES.setdefault(f"{label} as {who} {mode.value}", [])
    operation = fuzz.operations(schema)[label]
    fuzz.run(wb_app, operation, identities[who], mode, seen, adjust=adjust)


def test_the_fuzzer_reached_the_service():
    """Guards the test above against passing vacuously: requests were really answered, and
    not all by the same refusal."""
    statuses = [s for seen in STATUSES.values() for s in seen]
    assert len(statuses) >= len(CALLS) * 5
    assert len(set(statuses)) >= 4, sorted(set(statuses))
    assert any(200 <= s < 300 for s in statuses), sorted(set(statuses))
