"""The HTTP standards the API claims, on every service: a 401 says how to authenticate
(RFC 9110 §11.6.1, RFC 6750 §3), a body that is not JSON is 400 and one of another media type
415 (RFC 9110 §15.5), problems with extension members name a type of their own (RFC 9457
§3.1.1) that resolves to its description, and titles come from the one table."""

from __future__ import annotations

import json
import re

import pytest

from shared.problem import PROBLEM_TYPES, TITLES

T = "/t/cimahi/api/v1"
BEARER = re.compile(r'^Bearer realm="cimahi"(, error="invalid_token")?$')


def _apps(wb_app, hb_app, audit_app):
    return {"whistleblowing": wb_app, "hibah_bansos": hb_app, "audit": audit_app}


def _bearer_protected_get_routes(app) -> list[str]:
    """Every GET API route behind `require_roles`, with path parameters filled in."""
    paths = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if "/api/v1/" not in rule.rule or "GET" not in rule.methods:
            continue
        if getattr(view, "required_roles", None) is None:
            continue
        path = rule.rule.replace("<tenant>", "cimahi")
        path = re.sub(r"<uuid:\w+>", "00000000-0000-4000-8000-000000000000", path)
        paths.append(re.sub(r"<(?:\w+:)?\w+>", "x", path))
    return paths


@pytest.mark.parametrize("service", ["whistleblowing", "hibah_bansos", "audit"])
def test_every_401_of_a_bearer_protected_route_carries_a_bearer_challenge(
    service, wb_app, hb_app, audit_app
):
    app = _apps(wb_app, hb_app, audit_app)[service]
    client = app.test_client()
    paths = _bearer_protected_get_routes(app)
    assert paths, "no protected route found"
    for path in paths:
        bare = client.get(path)
        assert bare.status_code == 401, path
        assert bare.headers["WWW-Authenticate"] == 'Bearer realm="cimahi"', path
        refused = client.get(path, headers={"Authorization": "Bearer not-a-token"})
        assert refused.status_code == 401, path
        assert refused.headers["WWW-Authenticate"] == (
            'Bearer realm="cimahi", error="invalid_token"'
        ), path


def _bearer_protected_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every API route behind `require_roles`, whatever its method."""
    routes = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if "/api/v1/" not in rule.rule or getattr(view, "required_roles", None) is None:
            continue
        path = rule.rule.replace("<tenant>", "cimahi")
        path = re.sub(r"<uuid:\w+>", "00000000-0000-4000-8000-000000000000", path)
        path = re.sub(r"<(?:\w+:)?\w+>", "x", path)
        routes += [(m, path) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


@pytest.mark.parametrize("service", ["whistleblowing", "hibah_bansos", "audit"])
def test_every_method_of_a_bearer_protected_route_challenges(service, wb_app, hb_app, audit_app):
    """Writes too (POST, PUT, PATCH), the replication portal and tenant settings that the
    composition root plugs into the whistleblowing app, and the auditor API."""
    app = _apps(wb_app, hb_app, audit_app)[service]
    client = app.test_client()
    routes = _bearer_protected_routes(app)
    paths = {path for _, path in routes}
    if service == "whistleblowing":
        plugged = ("/replication/requests", "/admin/config", "/admin/officials")
        assert all(any(p in path for path in paths) for p in plugged), sorted(paths)
        assert {"PUT", "POST", "PATCH"} <= {m for m, _ in routes}
    if service == "audit":
        assert any("/audit/" in path for path in paths), sorted(paths)
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}):
            resp = client.open(path, method=method, headers=headers, json={})
            assert resp.status_code == 401, (method, path, resp.status_code)
            assert BEARER.match(resp.headers.get("WWW-Authenticate", "")), (method, path)


def test_applicants_and_the_token_endpoints_challenge_too(hb, wb):
    for resp in (
        hb.get(f"{T}/applications/mine"),
        hb.get(f"{T}/applications/mine", headers={"Authorization": "Bearer forged"}),
        hb.post(f"{T}/applicants/token", json={"email": "a@b.example", "password": "wrong"}),
        wb.post(f"{T}/auth/token", json={"username": "nobody", "password": "x", "otp": "1"}),
    ):
        assert resp.status_code == 401
        assert BEARER.match(resp.headers["WWW-Authenticate"]), resp.headers


def test_receipts_keep_their_own_scheme(wb):
    resp = wb.get(f"{T}/inbox")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Receipt ")


@pytest.mark.parametrize(
    "path",
    [f"{T}/reports", f"{T}/auth/token"],
    ids=["whistleblowing report", "official sign-in"],
)
def test_malformed_json_is_400_and_another_media_type_415(wb, path):
    broken = wb.post(path, data='{"category": ', content_type="application/json")
    assert broken.status_code == 400, broken.get_data(as_text=True)
    assert broken.mimetype == "application/problem+json"
    assert broken.json["title"] == "Bad Request"
    not_utf8 = wb.post(path, data=b'{"a": "\xff"}', content_type="application/json")
    assert not_utf8.status_code == 400
    form = wb.post(path, data={"category": "korupsi"})  # a form post, not JSON
    assert form.status_code == 415, form.get_data(as_text=True)
    assert form.json["title"] == "Unsupported Media Type"
    assert form.headers["Accept-Post"] == "application/json"
    text = wb.post(path, data="{}", content_type="text/plain")
    assert text.status_code == 415
    # JSON it is, but the wrong JSON: the schema's 422 as before
    assert wb.post(path, json=[]).status_code == 422


def test_hibah_bodies_follow_the_same_rules(hb, make_application):
    made = make_application("cimahi")
    assert hb.post(f"{T}/applicants", data="{", content_type="application/json").status_code == 400
    assert hb.post(f"{T}/applicants", data="x=1", content_type="text/csv").status_code == 415
    lpj = hb.post(
        f"{T}/applications/{made.number}/lpj",
        data="summary=x",
        content_type="application/x-www-form-urlencoded",
        headers=made.applicant,
    )
    assert lpj.status_code == 415
    upload = hb.post(
        f"{T}/applications/{made.number}/documents",
        json={"code": "proposal"},
        headers=made.applicant,
    )
    assert upload.status_code == 415 and upload.headers["Accept-Post"] == "multipart/form-data"


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_json_nested_deeply_is_400_not_500(wb, depth):
    body = "[" * depth + "]" * depth
    resp = wb.post(f"{T}/reports", data=body, content_type="application/json")
    assert resp.status_code == 400, resp.get_data(as_text=True)[:200]
    assert "nests deeper" in resp.json["detail"]


def test_json_as_deep_as_the_limit_reaches_the_schema(wb):
    body = {"category": "korupsi", "what": "x" * 20, "reported_persons": [{}]}
    nested: object = "x"
    for _ in range(30):
        nested = [nested]
    body["when"] = nested
    resp = wb.post(f"{T}/reports", data=json.dumps(body), content_type="application/json")
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "when"


def test_413_has_the_title_of_the_one_table(wb_app):
    client = wb_app.test_client()
    limit = wb_app.config["MAX_CONTENT_LENGTH"]
    resp = client.post(
        f"{T}/reports", data=b"[" + b" " * limit + b"]", content_type="application/json"
    )
    assert resp.status_code == 413
    assert resp.json["title"] == TITLES[413] == "Content Too Large"


def test_problems_with_extension_members_name_their_type_and_it_resolves(
    wb, wb_app, official_token, demo_tenants
):
    token = official_token(wb_app, demo_tenants["cimahi"], "tenant_admin")
    resp = wb.get(f"{T}/reports", headers={"Authorization": token})
    assert resp.status_code == 403
    assert resp.json["type"] == "/problems/role-required" and resp.json["required_roles"]
    described = wb.get(resp.json["type"])
    assert described.status_code == 200
    assert described.json["members"]["required_roles"]
    assert described.json["status"] == 403
    invalid = wb.post(f"{T}/reports", json={"category": "korupsi"})
    assert invalid.status_code == 422 and invalid.json["type"] == "/problems/invalid-fields"
    # nothing beyond the status: about:blank
    missing = wb.get(f"{T}/reports/WBS-2026-00000000")
    assert missing.status_code == 401
    assert set(missing.json) <= {"type", "title", "status", "detail"}
    assert missing.json["type"] == "about:blank"
    assert wb.get("/problems/no-such-type").status_code == 404


def test_every_problem_type_is_described_by_every_service(wb, hb, audit_app):
    audit = audit_app.test_client()
    for name, problem_type in PROBLEM_TYPES.items():
        for client in (wb, hb, audit):
            resp = client.get(problem_type.uri)
            assert resp.status_code == 200, name
            assert resp.json["type"] == problem_type.uri
