"""Security checks over every route: headers on every response, no caching of
reporter pages, CSRF on every form, stored XSS escaped, SQL injection inert."""

from __future__ import annotations

import pytest

APPS = ["wb_app", "hb_app"]


def concrete_routes(app, methods):
    """(method, path) of every route whose only variable is the tenant, filled with cimahi."""
    for rule in app.url_map.iter_rules():
        if set(rule.arguments) - {"tenant"}:
            continue
        for method in sorted(rule.methods & methods):
            yield method, rule.rule.replace("<tenant>", "cimahi")


@pytest.mark.parametrize("app_name", APPS)
def test_every_get_response_carries_the_security_headers(request, app_name):
    app = request.getfixturevalue(app_name)
    client = app.test_client()
    routes = list(concrete_routes(app, {"GET"}))
    assert len(routes) >= 5
    for _, path in routes:
        resp = client.get(path)
        csp = resp.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp or "sandbox" in csp, path
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        assert resp.headers.get("X-Content-Type-Options") == "nosniff", path
        assert "max-age=" in resp.headers.get("Strict-Transport-Security", ""), path


def test_reporter_pages_are_never_cached(wb):
    for path in (
        "/t/cimahi/whistleblowing",
        "/t/cimahi/whistleblowing/report",
        "/t/cimahi/whistleblowing/inbox",
    ):
        resp = wb.get(path)
        assert resp.status_code == 200, path
        assert "no-store" in resp.headers.get("Cache-Control", ""), path


@pytest.mark.parametrize("app_name", APPS)
def test_every_html_form_post_without_a_csrf_token_is_refused(request, app_name, demo_tenants):
    """Signed in by page session (no bearer header), a POST to any page route without the
    CSRF token changes nothing and is answered 400."""
    from shared.auth import ROLES
    from tests.support.officials import page_session

    app = request.getfixturevalue(app_name)
    client = app.test_client()
    page_session(app, client, demo_tenants["cimahi"].id, *ROLES)
    posts = [path for method, path in concrete_routes(app, {"POST"}) if "/api/" not in path]
    assert posts, "no HTML form routes found"
    for path in posts:
        resp = client.post(path, data={"anything": "x"})
        assert resp.status_code == 400, (path, resp.status_code)


def test_stored_script_comes_back_escaped_on_the_officials_page(wb, demo_tenants):
    from tests.support.officials import page_session

    payload = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
    filed = wb.post(
        "/t/cimahi/api/v1/reports",
        json={
            "category": "korupsi",
            "what": payload,
            "reported_persons": [{"name": payload, "position": "Kepala", "work_unit": "Dinas X"}],
        },
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    case = filed.json["case_number"]
    page_session(wb.application, wb, demo_tenants["cimahi"].id, "wbs_supervisor")
    html = wb.get(f"/t/cimahi/whistleblowing/cases/{case}").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in html
    assert '<script>alert("xss")' not in html and "<img src=x" not in html


@pytest.mark.parametrize(
    "query",
    [
        "status=' OR '1'='1",
        "category=x'; DROP TABLE reports;--",
        "assignee=1 OR 1=1",
        "page=-1 UNION SELECT 1",
    ],
)
def test_sql_injection_in_filters_is_inert(wb, demo_tenants, official_token, query):
    token = official_token(wb.application, demo_tenants["cimahi"], "wbs_supervisor")
    resp = wb.get(f"/t/cimahi/api/v1/reports?{query}", headers={"Authorization": token})
    assert resp.status_code in (200, 422), resp.get_data(as_text=True)
    if resp.status_code == 200:
        assert resp.json["items"] == [] or all(
            i["status"]
            in {"received", "acknowledged", "triaged", "investigating", "concluded", "archived"}
            for i in resp.json["items"]
        )
    # the table is still there
    assert wb.get("/t/cimahi/api/v1/reports", headers={"Authorization": token}).status_code == 200


def test_sql_injection_in_a_path_is_a_404(wb, demo_tenants, official_token):
    token = official_token(wb.application, demo_tenants["cimahi"], "wbs_supervisor")
    resp = wb.get("/t/cimahi/api/v1/reports/WBS-2026-' OR 1=1--", headers={"Authorization": token})
    assert resp.status_code == 404
    assert resp.mimetype == "application/problem+json"
