"""Each service's `/openapi.json` describes every API route the app serves (read from its
url_map, so a route added without its description fails here), types paging as integers,
and lists the problem types its problems use."""

from __future__ import annotations

import re

import pytest

from shared.problem import PROBLEM_TYPES


def _api_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/t/<tenant>/api/"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


@pytest.mark.parametrize("service", ["whistleblowing", "hibah_bansos", "audit"])
def test_the_document_lists_every_api_route_of_the_app(service, wb_app, hb_app, audit_app):
    app = {"whistleblowing": wb_app, "hibah_bansos": hb_app, "audit": audit_app}[service]
    resp = app.test_client().get("/openapi.json")
    assert resp.status_code == 200 and resp.json["openapi"].startswith("3.1")
    doc = resp.json
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    routes = _api_routes(app)
    assert len(routes) >= 3
    assert routes - documented == set()
    assert documented - routes == set(), "documented but not served"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                if param["name"] in ("page", "per_page"):
                    assert param["schema"]["type"] == "integer", (path, method)
            assert "404" in op["responses"], (path, method)  # an unknown tenant
            if op.get("security"):
                assert "401" in op["responses"], (path, method)
    kinds = doc["components"]["schemas"]["Problem"]["properties"]["type"]["enum"]
    assert set(kinds) == {"about:blank", *(t.uri for t in PROBLEM_TYPES.values())}


def test_the_whistleblowing_document_describes_what_the_platform_plugs_in(wb_app):
    paths = wb_app.test_client().get("/openapi.json").json["paths"]
    for path in (
        "/t/{tenant}/api/v1/auth/token",
        "/t/{tenant}/api/v1/replication/requests",
        "/t/{tenant}/api/v1/admin/config",
        "/t/{tenant}/api/v1/tenant",
    ):
        assert path in paths


def test_a_date_is_text_for_the_document_and_the_server(hb):
    """Issue 21: `legal_entity_since: 0` was taken as 1970-01-01; both refuse it now."""
    from tests.support.hibah_bansos import organisation

    doc = hb.get("/openapi.json").json
    since = doc["components"]["schemas"]["OrganisationIn"]["properties"]["legal_entity_since"]
    assert since == {
        "format": "date",
        "title": "Legal Entity Since",
        "type": "string",
        "x-checked-against": "today: not in the future",
    }
    for value in (0, 1_600_000_000, "2020-01-01T00:00:00"):
        resp = hb.post("/t/cimahi/api/v1/applicants", json=organisation(legal_entity_since=value))
        assert resp.status_code == 422, value
        assert [e["field"] for e in resp.json["errors"]] == ["legal_entity_since"]
