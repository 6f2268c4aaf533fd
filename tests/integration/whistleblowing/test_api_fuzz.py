"""Hostile input against the whistleblowing API, generated from the document it serves
(schemathesis, positive and negative data, every check but those tests/support/fuzz.py excludes
with its reason): the service never answers 5xx, refuses what the document refuses, accepts what
it allows, and answers as it says (status, content type, headers, body schema).

Runs in-process over WSGI against the real PostgreSQL; `tenant` is pinned to a demo city, but
the tenant's settings (`/admin/config`) to a throw-away city provisioned here as `replika tenant
apply` does, whose admin's saves of generated files cannot disturb other tests. Each operation
is called as every caller its `security` allows: an official holding every role of this app, a
reporter with a real receipt, or nobody for the public ones.
"""

from __future__ import annotations

import shutil
import uuid

import pytest
from schemathesis import GenerationMode

from tests.support import ROOT, fuzz

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

    doc = with_extensions(document(), [replication.paths], [replication.schemas])
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
def throwaway_city(tmp_path_factory, demo_tenants):
    """A city of its own for the settings operations: its file (copied from cimahi) in a
    temporary tenants directory, applied to every service as `replika tenant apply` does."""
    from operations import tenant_apply
    from operations.replication.template import template_file, write_new_tenant
    from shared.tenant_config import load_file

    tenants = tmp_path_factory.mktemp("tenants")
    shutil.copy(ROOT / "tenants" / "cimahi.yaml", tenants / "cimahi.yaml")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("REPLIKA_TENANTS_DIR", str(tenants))  # saves write the file back here
        path = write_new_tenant(
            tenants,
            template_file(tenants, "cimahi"),
            "cimahi",
            slug=f"fuzz-{uuid.uuid4().hex[:8]}",
            name="Pemerintah Kota Uji Fuzz",
            region_code="32.73",
        )
        config = load_file(path)
        tenant_apply.apply(config)
        yield config


@pytest.fixture(scope="module")
def identities(wb_app, demo_tenants, make_report, throwaway_city):
    from tests.support.officials import bearer

    official = {"Authorization": bearer(wb_app, demo_tenants["cimahi"].id, *ROLES)}
    filed = make_report("cimahi")
    return {
        "official": official,
        "reporter": {"Authorization": "Receipt " + filed["receipt"]},
        "anonymous": {},
        "case_number": filed["case_number"],
        "settings_admin": {
            "Authorization": bearer(wb_app, throwaway_city.id, "tenant_admin"),
        },
    }


SETTINGS = "/t/{tenant}/api/v1/admin/config"


def _settings_target(case, slug: str, version: int, real_target: bool) -> None:
    """A settings operation goes to the throw-away city. A save names the version it read,
    so the answer is about the file, not a stale version: in place of a valid version only
    (a negative case keeps what makes it invalid); a valid one also leaves out what the
    hosting deployment decides."""
    from operations.replication.config_admin import PLATFORM_KEYS

    params = case.path_parameters
    if params is not None and params.get("tenant") == "cimahi":
        params["tenant"] = slug
    body = case.body
    if not isinstance(body, dict):
        return
    sent = body.get("version")
    if isinstance(sent, int) and not isinstance(sent, bool) and sent >= 0:
        body["version"] = version
    if real_target and isinstance(body.get("config"), dict):
        if "version" in body:
            body["version"] = version
        else:  # the other way to name it
            case.headers = {**(case.headers or {}), "If-Match": f'"{version}"'}
        for key in PLATFORM_KEYS:
            body["config"].pop(key, None)


@pytest.mark.parametrize(
    "label,who,mode", CALLS, ids=[f"{label} as {who} {mode.value}" for label, who, mode in CALLS]
)
def test_the_whistleblowing_api_answers_as_its_document_says(
    label, who, mode, wb_app, schema, identities, throwaway_city
):
    settings = label.split(" ", 1)[1].startswith(SETTINGS)
    slug = throwaway_city.slug
    admin = identities["settings_admin"]

    def adjust(case, label, real_target):
        params = case.path_parameters
        if real_target and params and "case_number" in params:
            params["case_number"] = identities["case_number"]
        if settings:
            got = wb_app.test_client().get(SETTINGS.format(tenant=slug), headers=admin)
            assert got.status_code == 200, got.get_data(as_text=True)  # still served
            _settings_target(case, slug, got.json["version"], real_target)

    seen = STATUSES.setdefault(f"{label} as {who} {mode.value}", [])
    operation = fuzz.operations(schema)[label]
    caller = admin if settings and who == "official" else identities[who]
    fuzz.run(wb_app, operation, caller, mode, seen, adjust=adjust)


def test_the_fuzzer_reached_the_service():
    """Guards the test above against passing vacuously: requests were really answered, and
    not all by the same refusal."""
    statuses = [s for seen in STATUSES.values() for s in seen]
    assert len(statuses) >= len(CALLS) * 5
    assert len(set(statuses)) >= 4, sorted(set(statuses))
    assert any(200 <= s < 300 for s in statuses), sorted(set(statuses))
    # generated tenant files were really saved (to the throw-away city), not only refused
    saves = STATUSES.get(f"PUT {SETTINGS} as official positive", [])
    assert {200, 202} & set(saves), saves


def test_the_documents_refuse_the_empty_idempotency_key_the_servers_refuse():
    """Regression (found by the fuzzer above under another seed): the servers refuse an empty
    Idempotency-Key (1 to 200 characters), the documents allowed it."""
    from services.hibah_bansos.openapi import document as hibah
    from services.whistleblowing.openapi import document as whistleblowing

    found = [
        param["schema"]
        for doc in (whistleblowing(), hibah())
        for path in doc["paths"].values()
        for op in path.values()
        for param in op.get("parameters", [])
        if param.get("name") == "Idempotency-Key"
    ]
    assert len(found) >= 3 and all(s["minLength"] == 1 and s["maxLength"] == 200 for s in found)
