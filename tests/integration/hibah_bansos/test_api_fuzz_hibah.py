"""Hostile input against the hibah-bansos API, generated from the document it serves
(schemathesis, positive and negative data, every check but those tests/support/fuzz.py excludes
with its reason): never 5xx, and what it answers conforms to the document (status code, content
type, headers, body schema).

Runs in-process over WSGI against the real PostgreSQL. The `tenant` path parameter is pinned to
a demo city. Every operation is called as each caller its `security` allows: an official holding
every hibah-bansos role, a registered applicant (own bearer token), or nobody for the public
ones. In half of the generated requests the `number`/`code` path parameters, a body's
`programme` and the token request's credentials are swapped for a real application of that
applicant, a real programme and the applicant's own, so they reach the domain, not a 404/401.
"""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis import GenerationMode

from services.hibah_bansos.openapi import document
from tests.support import fuzz
from tests.support.applicant_mail import post_registration, register_confirmed
from tests.support.hibah_bansos import BANSOS, HIBAH, application, organisation

OPERATIONS = fuzz.operations(schemathesis.openapi.from_dict(document()))
NAMES = {"bearer": "official", "applicantBearer": "applicant"}
ROLES = ("bansos_evaluator", "bansos_verifier", "bansos_approver", "bansos_finance", "auditor")
T = "/t/cimahi/api/v1"
STATUSES: dict[str, list[int]] = {}
CALLS = [
    (label, who, mode)
    for label in sorted(OPERATIONS)
    for who in fuzz.callers(OPERATIONS[label], NAMES)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
]


@pytest.fixture(scope="module")
def schema(hb_app):
    return fuzz.load(hb_app)


@pytest.fixture(scope="module")
def identities(hb_app, demo_tenants):
    """Headers of each kind of caller, and a real draft application and programme codes."""
    from tests.support.officials import bearer

    official = {"Authorization": bearer(hb_app, demo_tenants["cimahi"].id, *ROLES)}
    client = hb_app.test_client()
    org = organisation()
    applicant = {"Authorization": "Bearer " + register_confirmed(client, "cimahi", org)}
    resp = client.post(f"{T}/applications", json=application(), headers=applicant)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return {
        "official": official,
        "applicant": applicant,
        "anonymous": {},
        "number": resp.json["application_number"],
        "codes": [HIBAH, BANSOS],
        "credentials": {"email": org["email"], "password": org["password"]},
    }


@pytest.mark.parametrize(
    "label,who,mode", CALLS, ids=[f"{label} as {who} {mode.value}" for label, who, mode in CALLS]
)
def test_the_hibah_bansos_api_answers_as_its_document_says(
    label, who, mode, hb_app, schema, identities
):
    def adjust(case, label, real_target):
        params = case.path_parameters
        if real_target and params is not None:
            if "number" in params:
                params["number"] = identities["number"]
            if "code" in params:
                params["code"] = identities["codes"][len(str(params["code"])) % 2]
        if real_target and isinstance(case.body, dict):  # past the look-ups, into the domain
            if "programme" in case.body:
                case.body["programme"] = identities["codes"][len(case.body) % 2]
            if label.endswith("/applicants/token"):
                case.body.update(identities["credentials"])

    seen = STATUSES.setdefault(f"{label} as {who} {mode.value}", [])
    fuzz.run(hb_app, fuzz.operations(schema)[label], identities[who], mode, seen, adjust=adjust)


def test_the_fuzzer_reached_the_service(hb_app):
    """Guards the test above against passing vacuously: every caller's requests were
    answered, not all by the same refusal, and some got past validation to a 2xx."""
    statuses = [s for seen in STATUSES.values() for s in seen]
    for call, seen in sorted(STATUSES.items()):
        print(f"\n{call}: {len(seen)} requests, statuses {sorted(set(seen))}", end="")
    assert len(statuses) >= len(CALLS) * 5
    assert len(set(statuses)) >= 4, sorted(set(statuses))
    assert any(200 <= s < 300 for s in statuses), sorted(set(statuses))


def test_an_email_without_a_password_is_422_not_500(hb, demo_tenants):
    """Regression (found by the fuzzer above): an individual registering with an e-mail but no
    password reached the password hashing with None and answered 500."""
    from tests.support.hibah_bansos import person

    body = person()
    del body["password"]
    resp = post_registration(hb, "cimahi", body)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert [e["field"] for e in resp.json["errors"]] == ["password"]


def test_a_whole_number_sent_as_1_0_is_the_integer_the_document_allows():
    """Regression (found by the fuzzer above under another seed): JSON Schema's `integer`,
    which the document gives an LPJ line's `rab_line`, allows 3.0; the server refused it."""
    from services.hibah_bansos.schemas import LpjLineIn, RabLineIn
    from shared.problem import Problem
    from shared.request_schemas import parse

    assert parse(LpjLineIn, {"item": "Sewa", "amount": 5000, "rab_line": 3.0}).rab_line == 3
    assert parse(RabLineIn, {"item": "Sewa", "volume": 2.0, "unit_price": 5000}).volume == 2
    for wrong in (3.5, "3", True, 200.0):
        with pytest.raises(Problem) as refused:
            parse(LpjLineIn, {"item": "Sewa", "amount": 5000, "rab_line": wrong})
        assert [e["field"] for e in refused.value.errors] == ["rab_line"], wrong


def test_the_document_refuses_the_checklist_keys_the_server_refuses():
    """Regression (found by the fuzzer above under another seed): a transition's checklist key
    holding a control character (U+000C, U+0084) was refused by the server, allowed by the
    document."""
    import re

    from services.hibah_bansos.schemas import TransitionIn
    from shared.problem import Problem
    from shared.request_schemas import parse

    (checklist,) = [
        b
        for b in TransitionIn.model_json_schema()["properties"]["checklist"]["anyOf"]
        if b.get("type") == "object"
    ]
    pattern = checklist["propertyNames"]["pattern"]
    for key, allowed in (("ktp_ok", True), ("form\x0c", False), ("a\x84b", False)):
        assert bool(re.search(pattern, key)) is allowed, repr(key)
        body = {"to": "evaluated", "checklist": {key: True}}
        if allowed:
            parse(TransitionIn, body)
        else:
            with pytest.raises(Problem) as refused:
                parse(TransitionIn, body)
            assert [e["field"] for e in refused.value.errors] == ["checklist"]
