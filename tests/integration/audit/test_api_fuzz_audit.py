"""Hostile input against the auditor API, generated from the document the audit service serves
(schemathesis, positive and negative data, the checks of tests/support/fuzz.py): never 5xx, and
answers as the document says. Called as an auditor and as nobody."""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis import GenerationMode

from services.audit.openapi import document
from tests.support import fuzz

OPERATIONS = fuzz.operations(schemathesis.openapi.from_dict(document()))
CALLS = [
    (label, who, mode)
    for label in sorted(OPERATIONS)
    for who in (*fuzz.callers(OPERATIONS[label], {"bearer": "auditor"}), "anonymous")
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
]
STATUSES: dict[str, list[int]] = {}


@pytest.fixture(scope="module")
def schema(audit_app):
    return fuzz.load(audit_app)


@pytest.fixture(scope="module")
def identities(audit_app, demo_tenants):
    from tests.support.officials import bearer

    auditor = bearer(audit_app, demo_tenants["cimahi"].id, "auditor")
    return {"auditor": {"Authorization": auditor}, "anonymous": {}}


@pytest.mark.parametrize(
    "label,who,mode", CALLS, ids=[f"{label} as {who} {mode.value}" for label, who, mode in CALLS]
)
def test_the_audit_api_answers_as_its_document_says(
    label, who, mode, audit_app, schema, identities
):
    seen = STATUSES.setdefault(f"{label} as {who} {mode.value}", [])
    fuzz.run(audit_app, fuzz.operations(schema)[label], identities[who], mode, seen)


def test_the_fuzzer_reached_the_audit_service():
    statuses = [s for seen in STATUSES.values() for s in seen]
    assert len(statuses) >= len(CALLS) * 5
    assert {200, 401} <= set(statuses), sorted(set(statuses))


def test_a_control_character_in_the_subject_is_a_422_naming_it(audit_app, identities):
    """Regression (found by the fuzzer above under another seed): a NUL in `subject`, which
    PostgreSQL cannot compare, was a 422 naming no field; the document now refuses it too."""
    client = audit_app.test_client()
    base = "/t/cimahi/api/v1/audit"
    for subject in ("WBS%00X", "%09WBS", "WBS%C2%84"):
        resp = client.get(f"{base}?subject={subject}", headers=identities["auditor"])
        assert resp.status_code == 422, (subject, resp.get_data(as_text=True))
        assert [e["field"] for e in resp.json["errors"]] == ["subject"], subject
    ok = client.get(f"{base}?subject=%20WBS-1%20", headers=identities["auditor"])
    assert ok.status_code == 200 and ok.json["subject"] == "WBS-1"
