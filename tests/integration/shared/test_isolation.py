"""Tenant isolation guarantees.

(a) Row-level security: the services' database role reads nothing of a tenant-owned table
    without `app.tenant_id`, and only that tenant's rows with it; it cannot write another's.
(b) Every protected route of both services, called with another tenant's token, answers 404;
    without a token 401; every route of an unknown tenant answers 404.
"""

from __future__ import annotations

import uuid

import pyotp
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from werkzeug.routing import IntegerConverter, UUIDConverter

SERVICE_DBS = {"whistleblowing": "WHISTLEBLOWING", "hibah_bansos": "HIBAH_BANSOS"}
# Tables with a tenant_id that deliberately have no row-level security, and why.
NO_RLS = {"outbox": "the relay publishes every tenant's events; they hold no personal data"}


@pytest.fixture(scope="module")
def engines(stack):
    made = {
        svc: (
            create_engine(stack[f"{p}_DATABASE_URL"]),
            create_engine(stack[f"{p}_MIGRATION_DATABASE_URL"]),
        )
        for svc, p in SERVICE_DBS.items()
    }
    yield made
    for app_engine, owner_engine in made.values():
        app_engine.dispose()
        owner_engine.dispose()


@pytest.fixture(scope="module")
def populated(demo_tenants, wb_app, hb_app):
    """Officials and login-throttle rows in both tenants of both service databases."""
    from operations import official_admin

    for slug in ("bandung", "cimahi"):
        official_admin.add(slug, f"iso-{uuid.uuid4().hex[:8]}", ["auditor"])
        for app in (wb_app, hb_app):
            app.test_client().post(
                f"/t/{slug}/api/v1/auth/token",
                json={"username": "nobody", "password": "x", "otp": "1"},
                environ_base={"REMOTE_ADDR": "198.51.100.7"},
            )
    return demo_tenants


def _tenant_tables(conn) -> list[str]:
    return (
        conn.execute(
            text(
                "select table_name from information_schema.columns where table_schema = 'public' "
                "and column_name = 'tenant_id' order by table_name"
            )
        )
        .scalars()
        .all()
    )


@pytest.mark.parametrize("service", SERVICE_DBS)
def test_every_tenant_table_has_row_level_security(engines, populated, service):
    _, owner = engines[service]
    with owner.connect() as conn:
        tables = [t for t in _tenant_tables(conn) if t not in NO_RLS]
        assert {"officials", "login_throttle"} <= set(tables)
        for table in tables:
            enabled = conn.execute(
                text(
                    "select relrowsecurity from pg_class where relname = :t "
                    "and relnamespace = 'public'::regnamespace"
                ),
                {"t": table},
            ).scalar_one()
            policies = conn.execute(
                text("select count(*) from pg_policies where tablename = :t"), {"t": table}
            ).scalar_one()
            assert enabled and policies >= 1, f"{service}.{table} lacks row-level security"


@pytest.mark.parametrize("service", SERVICE_DBS)
def test_a_raw_read_without_the_tenant_setting_returns_no_rows(engines, populated, service):
    app, owner = engines[service]
    with owner.connect() as conn:
        tables = [t for t in _tenant_tables(conn) if t not in NO_RLS]
        stored = {t: conn.execute(text(f"select count(*) from {t}")).scalar_one() for t in tables}
    assert stored["officials"] > 0 and stored["login_throttle"] > 0  # the reads below see rows
    with app.connect() as conn:
        for table in tables:
            assert conn.execute(text(f"select count(*) from {table}")).scalar_one() == 0, table


@pytest.mark.parametrize("service", SERVICE_DBS)
def test_with_the_setting_only_that_tenants_rows_are_visible(engines, populated, service):
    app, _ = engines[service]
    cimahi, bandung = populated["cimahi"].id, populated["bandung"].id
    with app.connect() as conn, conn.begin():
        conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(cimahi)})
        tenants = set(conn.execute(text("select distinct tenant_id from officials")).scalars())
        assert tenants == {cimahi}
        throttled = set(
            conn.execute(text("select distinct tenant_id from login_throttle")).scalars()
        )
        assert throttled == {cimahi}
    with app.connect() as conn, conn.begin():
        conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(bandung)})
        assert cimahi not in set(conn.execute(text("select tenant_id from officials")).scalars())


@pytest.mark.parametrize("service", SERVICE_DBS)
def test_the_app_role_cannot_write_a_row_of_another_tenant(engines, populated, service):
    app, _ = engines[service]
    cimahi, bandung = populated["cimahi"].id, populated["bandung"].id
    with app.connect() as conn:
        with pytest.raises(DBAPIError, match="row-level security"), conn.begin():
            conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(cimahi)})
            conn.execute(
                text(
                    "insert into officials (id, tenant_id, username, password_hash, totp_secret, "
                    "roles) values (:i, :t, 'intruder', 'x', 'x', '[\"tenant_admin\"]')"
                ),
                {"i": uuid.uuid4(), "t": bandung},
            )


@pytest.mark.parametrize("service", SERVICE_DBS)
def test_the_app_role_is_no_superuser_and_owns_no_table(engines, service):
    app, _ = engines[service]
    with app.connect() as conn:
        role = conn.execute(text("select current_user")).scalar_one()
        superuser, bypass = conn.execute(
            text("select rolsuper, rolbypassrls from pg_roles where rolname = current_user")
        ).one()
        owned = conn.execute(
            text("select count(*) from pg_tables where tableowner = :r"), {"r": role}
        ).scalar_one()
    assert not superuser and not bypass and owned == 0


# --- Routes --------------------------------------------------------------------------------


def _url(rule, tenant: str) -> str:
    values = {}
    for arg in rule.arguments:
        converter = rule._converters.get(arg)
        if arg == "tenant":
            values[arg] = tenant
        elif isinstance(converter, UUIDConverter):
            values[arg] = uuid.uuid4()
        elif isinstance(converter, IntegerConverter):
            values[arg] = 1
        else:
            values[arg] = "x"
    return rule.build(values, append_unknown=False)[1]


def _tenant_routes(app, protected_only: bool):
    for rule in app.url_map.iter_rules():
        if "tenant" not in rule.arguments:
            continue
        view = app.view_functions[rule.endpoint]
        if protected_only and not hasattr(view, "required_roles"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


@pytest.mark.parametrize("app_name", ["wb_app", "hb_app"])
def test_every_protected_route_answers_404_to_another_tenants_token(
    request, app_name, official_token
):
    from shared.roles import ROLES

    app = request.getfixturevalue(app_name)
    demo = request.getfixturevalue("demo_tenants")
    # every role: only the tenant is wrong
    cimahi_token = official_token(app, demo["cimahi"], *ROLES)
    client = app.test_client()
    routes = list(_tenant_routes(app, protected_only=True))
    assert any(rule.endpoint == "auth.me" for rule, _ in routes)
    for rule, method in routes:
        url = _url(rule, "bandung")
        foreign = client.open(url, method=method, headers={"Authorization": cimahi_token})
        assert foreign.status_code == 404, f"{method} {rule.rule}"
        assert foreign.mimetype == "application/problem+json"
        anonymous = client.open(url, method=method)
        assert anonymous.status_code in (401, 400), f"{method} {rule.rule}"  # 400: form CSRF
        if anonymous.status_code == 400:
            assert "CSRF" in anonymous.get_data(as_text=True)


@pytest.mark.parametrize("app_name", ["wb_app", "hb_app"])
def test_every_route_of_an_unknown_tenant_is_a_404_problem(request, app_name):
    app = request.getfixturevalue(app_name)
    client = app.test_client()
    routes = list(_tenant_routes(app, protected_only=False))
    assert routes
    for rule, method in routes:
        resp = client.open(_url(rule, "atlantis"), method=method)
        assert resp.status_code == 404, f"{method} {rule.rule}"
        assert resp.mimetype == "application/problem+json"


def test_a_page_session_of_one_tenant_is_nobody_on_another(wb, make_official, csrf_token):
    creds = make_official("cimahi", "wbs_intake")
    wb.post(
        "/t/cimahi/login",
        environ_base={"REMOTE_ADDR": "198.51.100.8"},
        data={
            "csrf_token": csrf_token(wb, "/t/cimahi/login"),
            "username": creds.username,
            "password": creds.password,
            "otp": pyotp.TOTP(creds.totp_secret).now(),
        },
    )
    assert creds.username in wb.get("/t/cimahi/login").get_data(as_text=True)
    assert creds.username not in wb.get("/t/bandung/login").get_data(as_text=True)


def test_a_token_of_another_tenant_on_the_api_is_404_not_401(wb, make_official, api_login):
    token = api_login(wb, "cimahi", make_official("cimahi", "auditor"))
    assert wb.get("/t/cimahi/api/v1/auth/me", headers={"Authorization": token}).status_code == 200
    assert wb.get("/t/bandung/api/v1/auth/me", headers={"Authorization": token}).status_code == 404
    assert wb.get("/t/bandung/api/v1/auth/me").status_code == 401
