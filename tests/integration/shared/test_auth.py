"""Officials' sign-in: Argon2id passwords, mandatory TOTP, throttling, tokens, pages, CSRF."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import create_engine, text

from shared import login_throttle


def _addr() -> dict:
    """A client address of its own, so one test's failures never throttle another's."""
    n = uuid.uuid4().int
    return {"REMOTE_ADDR": f"192.168.{n % 250}.{(n >> 8) % 250 + 1}"}


def _post_token(client, slug, username, password, otp, environ=None):
    return client.post(
        f"/t/{slug}/api/v1/auth/token",
        json={"username": username, "password": password, "otp": otp},
        environ_base=environ or _addr(),
    )


def _code(creds, at: datetime | None = None) -> str:
    return pyotp.TOTP(creds.totp_secret).at(at or datetime.now(UTC))


# --- API tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize("client_name", ["wb", "hb"])
def test_an_official_gets_a_bearer_token_and_it_names_them(request, client_name, make_official):
    client = request.getfixturevalue(client_name)
    creds = make_official("cimahi", "wbs_investigator")
    resp = _post_token(client, "cimahi", creds.username, creds.password, _code(creds))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["token_type"] == "Bearer"
    assert resp.json["expires_in"] == 3600
    assert resp.headers["Cache-Control"] == "no-store"
    me = client.get(
        "/t/cimahi/api/v1/auth/me", headers={"Authorization": "Bearer " + resp.json["access_token"]}
    )
    assert me.status_code == 200
    assert me.json == {
        "official_id": str(creds.official_id),
        "username": creds.username,
        "roles": ["wbs_investigator"],
        "tenant": "cimahi",
    }


def test_the_same_official_signs_in_to_both_services(wb, hb, make_official, api_login):
    creds = make_official("bandung", "auditor", "tenant_admin")
    ids = set()
    for client in (wb, hb):
        me = client.get(
            "/t/bandung/api/v1/auth/me",
            headers={"Authorization": api_login(client, "bandung", creds)},
        )
        ids.add(me.json["official_id"])
        assert me.json["roles"] == ["auditor", "tenant_admin"]
    assert ids == {str(creds.official_id)}


def test_wrong_password_and_unknown_user_get_the_same_401_problem(wb, make_official):
    creds = make_official("cimahi", "wbs_intake")
    wrong = _post_token(wb, "cimahi", creds.username, "not-the-password", _code(creds))
    unknown = _post_token(
        wb, "cimahi", "nobody-" + uuid.uuid4().hex[:8], creds.password, _code(creds)
    )
    for resp in (wrong, unknown):
        assert resp.status_code == 401
        assert resp.mimetype == "application/problem+json"
        assert creds.username not in resp.get_data(as_text=True)
    assert wrong.json == unknown.json


def test_the_totp_code_is_mandatory_and_single_use(wb, make_official):
    creds = make_official("cimahi", "wbs_supervisor")
    assert _post_token(wb, "cimahi", creds.username, creds.password, "").status_code == 401
    wrong_code = f"{(int(_code(creds)) + 1) % 10**6:06d}"
    assert _post_token(wb, "cimahi", creds.username, creds.password, wrong_code).status_code == 401
    code = _code(creds)
    assert _post_token(wb, "cimahi", creds.username, creds.password, code).status_code == 200
    assert _post_token(wb, "cimahi", creds.username, creds.password, code).status_code == 401


def test_an_official_of_one_tenant_cannot_sign_in_on_another(wb, make_official):
    creds = make_official("cimahi", "wbs_intake")
    resp = _post_token(wb, "bandung", creds.username, creds.password, _code(creds))
    assert resp.status_code == 401


def test_missing_fields_are_a_422_naming_them(wb):
    resp = wb.post("/t/cimahi/api/v1/auth/token", json={"username": "x"})
    assert resp.status_code == 422
    assert {e["field"] for e in resp.json["errors"]} == {"password", "otp"}


def test_an_account_is_locked_after_repeated_failures_from_any_address(wb, make_official):
    creds = make_official("cimahi", "bansos_finance")
    for _ in range(login_throttle.ACCOUNT.free_failures):
        assert _post_token(wb, "cimahi", creds.username, "wrong", "000000").status_code == 401
    # the right credentials, from a fresh address: still locked, with a time to wait
    resp = _post_token(wb, "cimahi", creds.username, creds.password, _code(creds))
    assert resp.status_code == 429
    assert resp.mimetype == "application/problem+json"
    assert 0 < int(resp.headers["Retry-After"]) <= 30


def test_unknown_usernames_are_throttled_like_real_ones(wb):
    name = "ghost-" + uuid.uuid4().hex[:8]
    for _ in range(login_throttle.ACCOUNT.free_failures):
        assert _post_token(wb, "cimahi", name, "wrong", "000000").status_code == 401
    assert _post_token(wb, "cimahi", name, "wrong", "000000").status_code == 429


def test_an_address_is_throttled_after_many_failures_on_any_accounts(wb, make_official):
    address = _addr()
    for _ in range(login_throttle.ADDRESS.free_failures):
        resp = _post_token(
            wb, "cimahi", "spray-" + uuid.uuid4().hex[:8], "wrong", "000000", environ=address
        )
        assert resp.status_code == 401
    creds = make_official("cimahi", "wbs_intake")
    blocked = _post_token(
        wb, "cimahi", creds.username, creds.password, _code(creds), environ=address
    )
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    elsewhere = _post_token(wb, "cimahi", creds.username, creds.password, _code(creds))
    assert elsewhere.status_code == 200


def test_a_guesser_at_one_address_is_slowed_down_but_the_owner_signs_in_elsewhere(
    stack, wb_app, wb, make_official
):
    """Failures of one username from one address delay that pair (429, Retry-After growing
    with each further failure); the right password + code from another address still works."""
    creds = make_official("cimahi", "wbs_intake")
    guesser = _addr()
    for _ in range(login_throttle.ACCOUNT_AT_ADDRESS.free_failures):
        resp = _post_token(wb, "cimahi", creds.username, "wrong", "000000", environ=guesser)
        assert resp.status_code == 401
    first = _post_token(wb, "cimahi", creds.username, "wrong", "000000", environ=guesser)
    assert first.status_code == 429
    first_wait = int(first.headers["Retry-After"])
    assert 0 < first_wait <= 30
    # the guesser waits out the delay (the lock is expired in the database) and fails again:
    # the next delay is longer
    engine = create_engine(stack["WHISTLEBLOWING_MIGRATION_DATABASE_URL"])
    with engine.begin() as conn:
        tenant_id = conn.execute(
            text("select tenant_id from officials where id = :i"), {"i": creds.official_id}
        ).scalar_one()
        keys = login_throttle.Keys.of(
            wb_app.config["SECRET_KEY"], tenant_id, creds.username, guesser["REMOTE_ADDR"]
        )
        conn.execute(
            text(
                "update login_throttle set locked_until = now() - interval '1 second' "
                "where key = :k"
            ),
            {"k": keys.account_at_address},
        )
    engine.dispose()
    assert (
        _post_token(wb, "cimahi", creds.username, "wrong", "000000", environ=guesser).status_code
        == 401
    )
    again = _post_token(wb, "cimahi", creds.username, creds.password, _code(creds), environ=guesser)
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > first_wait
    # the owner, from their own address, signs in with the right password and code
    owner = _post_token(wb, "cimahi", creds.username, creds.password, _code(creds))
    assert owner.status_code == 200, owner.get_data(as_text=True)


def test_one_persons_failures_do_not_lock_the_office_behind_one_address(wb, make_official):
    """An office NAT: one official mistypes their own password until delayed, and keeps
    trying; colleagues behind the same address still sign in."""
    office = _addr()
    careless = make_official("cimahi", "wbs_intake")
    for _ in range(3 * login_throttle.ACCOUNT_AT_ADDRESS.free_failures):
        resp = _post_token(wb, "cimahi", careless.username, "wrong", "000000", environ=office)
        assert resp.status_code in (401, 429)
    assert resp.status_code == 429
    for role in ("wbs_investigator", "wbs_intake", "auditor"):
        colleague = make_official("cimahi", role)
        signed = _post_token(
            wb, "cimahi", colleague.username, colleague.password, _code(colleague), environ=office
        )
        assert signed.status_code == 200, signed.get_data(as_text=True)


def test_failures_are_counted_in_the_database_so_every_worker_sees_them(
    stack, demo_tenants, wb, make_official
):
    from operations.apps import whistleblowing as create_app

    other_worker = create_app().test_client()  # its own process memory, same database
    creds = make_official("cimahi", "wbs_intake")
    for _ in range(login_throttle.ACCOUNT.free_failures):
        assert _post_token(wb, "cimahi", creds.username, "wrong", "000000").status_code == 401
    resp = _post_token(other_worker, "cimahi", creds.username, creds.password, _code(creds))
    assert resp.status_code == 429


def test_concurrent_guesses_at_one_account_cannot_outrun_the_count(wb_app, make_official):
    from concurrent.futures import ThreadPoolExecutor

    creds = make_official("cimahi", "wbs_intake")

    def guess(_):
        return _post_token(wb_app.test_client(), "cimahi", creds.username, "wrong", "000000")

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(r.status_code for r in pool.map(guess, range(12)))
    assert statuses.count(401) == login_throttle.ACCOUNT.free_failures
    assert statuses.count(429) == 12 - login_throttle.ACCOUNT.free_failures


def test_a_success_resets_the_account_counter(wb, make_official):
    creds = make_official("cimahi", "wbs_intake")
    now = datetime.now(UTC)
    for _ in range(login_throttle.ACCOUNT.free_failures - 1):
        assert _post_token(wb, "cimahi", creds.username, "wrong", "000000").status_code == 401
    assert (
        _post_token(wb, "cimahi", creds.username, creds.password, _code(creds, now)).status_code
        == 200
    )
    for _ in range(login_throttle.ACCOUNT.free_failures - 1):
        assert _post_token(wb, "cimahi", creds.username, "wrong", "000000").status_code == 401
    assert (
        _post_token(
            wb, "cimahi", creds.username, creds.password, _code(creds, now + timedelta(seconds=30))
        ).status_code
        == 200
    )


def test_the_database_holds_only_an_argon2id_hash(stack, make_official):
    creds = make_official("cimahi", "wbs_intake")
    for var in ("WHISTLEBLOWING_MIGRATION_DATABASE_URL", "HIBAH_BANSOS_MIGRATION_DATABASE_URL"):
        engine = create_engine(stack[var])
        with engine.connect() as conn:
            stored = conn.execute(
                text("select password_hash from officials where id = :i"), {"i": creds.official_id}
            ).scalar_one()
        engine.dispose()
        assert stored.startswith("$argon2id$") and creds.password not in stored


def test_the_totp_seed_is_stored_sealed_and_a_plain_legacy_seed_is_sealed_at_sign_in(
    stack, wb, hb, make_official
):
    import base64

    creds = make_official("cimahi", "wbs_intake")
    engines = [
        create_engine(stack[v])
        for v in ("WHISTLEBLOWING_MIGRATION_DATABASE_URL", "HIBAH_BANSOS_MIGRATION_DATABASE_URL")
    ]

    def stored() -> list[str]:
        out = []
        for engine in engines:
            with engine.connect() as conn:
                out.append(
                    conn.execute(
                        text("select totp_secret from officials where id = :i"),
                        {"i": creds.official_id},
                    ).scalar_one()
                )
        return out

    try:
        for value in stored():
            assert value.startswith("v1:") and creds.totp_secret not in value
            assert creds.totp_secret.encode() not in base64.b64decode(value[3:])
        assert (
            _post_token(wb, "cimahi", creds.username, creds.password, _code(creds)).status_code
            == 200
        )
        # a seed written before sealing existed still signs in, and is sealed by doing so
        for engine in engines:
            with engine.begin() as conn:
                conn.execute(
                    text(
                        "update officials set totp_secret = :s, last_totp_step = null where id = :i"
                    ),
                    {"s": creds.totp_secret, "i": creds.official_id},
                )
        assert (
            _post_token(hb, "cimahi", creds.username, creds.password, _code(creds)).status_code
            == 200
        )
        wb_value, hb_value = stored()
        assert wb_value == creds.totp_secret and hb_value.startswith("v1:")
    finally:
        for engine in engines:
            engine.dispose()


def test_a_token_from_a_session_cookie_does_not_open_the_api(wb, make_official, csrf_token):
    creds = make_official("cimahi", "wbs_intake")
    _page_login(wb, creds, csrf_token)
    assert wb.get("/t/cimahi/api/v1/auth/me").status_code == 401


# --- Pages: login, logout, CSRF, cookies ---------------------------------------------------


def _page_login(client, creds, csrf_token, code=None):
    token = csrf_token(client, "/t/cimahi/login")
    return client.post(
        "/t/cimahi/login",
        data={
            "csrf_token": token,
            "username": creds.username,
            "password": creds.password,
            "otp": code or _code(creds),
        },
        environ_base=_addr(),
    )


def test_the_login_page_speaks_indonesian_by_default_and_english_on_request(wb):
    page = wb.get("/t/cimahi/login")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Masuk untuk petugas" in html and "Kata sandi" in html
    english = wb.get("/t/cimahi/login?lang=en").get_data(as_text=True)
    assert "Sign in for officials" in english and "Password" in english
    assert 'name="csrf_token"' in html


def test_a_form_post_without_the_csrf_token_is_refused(wb, make_official):
    creds = make_official("cimahi", "wbs_intake")
    resp = wb.post(
        "/t/cimahi/login",
        data={"username": creds.username, "password": creds.password, "otp": _code(creds)},
    )
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    assert "official" not in _session(wb)


def test_page_login_then_logout(wb, make_official, csrf_token):
    creds = make_official("cimahi", "wbs_investigator")
    resp = _page_login(wb, creds, csrf_token)
    assert resp.status_code == 302
    assert "official" in _session(wb)
    signed_in = wb.get("/t/cimahi/login?lang=en").get_data(as_text=True)
    assert f"You are signed in as {creds.username}." in signed_in
    # logging out is a form too: refused without the token, done with it
    assert wb.post("/t/cimahi/logout").status_code == 400
    out = wb.post("/t/cimahi/logout", data={"csrf_token": csrf_token(wb, "/t/cimahi/login")})
    assert out.status_code == 302 and out.headers["Location"].endswith("/t/cimahi/login")
    assert "official" not in _session(wb)


def test_a_failed_page_login_says_so_without_naming_the_account(wb, make_official, csrf_token):
    creds = make_official("cimahi", "wbs_intake")
    token = csrf_token(wb, "/t/cimahi/login?lang=en")
    resp = wb.post(
        "/t/cimahi/login?lang=en",
        environ_base=_addr(),
        data={
            "csrf_token": token,
            "username": creds.username,
            "password": "wrong",
            "otp": "123456",
        },
    )
    assert resp.status_code == 401
    html = resp.get_data(as_text=True)
    assert "Username, password or code is not right." in html
    assert creds.username not in html  # not even echoed back into the form


def test_login_redirects_only_within_the_tenant(wb, make_official, csrf_token):
    for target, expected in (
        ("/t/cimahi/cases", "/t/cimahi/cases"),
        # an unsafe `next` is dropped: the sign-in lands on the service's officials' home
        ("https://evil.example/", "/t/cimahi/whistleblowing/office"),
        ("//evil.example/t/cimahi/", "/t/cimahi/whistleblowing/office"),
        ("/t/bandung/cases", "/t/cimahi/whistleblowing/office"),
    ):
        creds = make_official("cimahi", "wbs_intake")
        resp = wb.post(
            "/t/cimahi/login",
            query_string={"next": target},
            environ_base=_addr(),
            data={
                "csrf_token": csrf_token(wb, "/t/cimahi/login"),
                "username": creds.username,
                "password": creds.password,
                "otp": _code(creds),
            },
        )
        assert resp.status_code == 302
        assert resp.headers["Location"] == expected, target


def test_session_cookies_are_secure_httponly_and_samesite(stack, demo_tenants, monkeypatch):
    monkeypatch.delenv("REPLIKA_INSECURE_COOKIES", raising=False)
    from operations.apps import whistleblowing as create_app

    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    resp = app.test_client().get("/t/cimahi/login", base_url="https://localhost")
    cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_over_https_a_form_works_without_a_referer(stack, demo_tenants, monkeypatch, make_official):
    # production: Secure cookies, HTTPS, and `Referrer-Policy: no-referrer` on every page
    monkeypatch.delenv("REPLIKA_INSECURE_COOKIES", raising=False)
    from operations.apps import whistleblowing as create_app

    client = create_app().test_client()
    creds = make_official("cimahi", "wbs_intake")
    page = client.get("/t/cimahi/login", base_url="https://localhost")
    assert page.headers["Referrer-Policy"] == "no-referrer"
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    resp = client.post(
        "/t/cimahi/login",
        base_url="https://localhost",
        environ_base=_addr(),
        data={
            "csrf_token": token,
            "username": creds.username,
            "password": creds.password,
            "otp": _code(creds),
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)


def test_bearer_requests_need_no_csrf_token(wb, make_official, api_login):
    # a browser never attaches a bearer header by itself, so it cannot be forged cross-site
    creds = make_official("cimahi", "wbs_intake")
    resp = wb.post("/t/cimahi/logout", headers={"Authorization": api_login(wb, "cimahi", creds)})
    assert resp.status_code == 302


def test_a_separation_of_duties_violation_is_a_409_problem(stack, demo_tenants):
    from operations.apps import hibah_bansos as create_app
    from shared.separation import check_separation

    app = create_app()

    @app.post("/t/<tenant>/api/v1/test-separation")
    def approve():
        check_separation(
            {"evaluate": "official:a"},
            "approve",
            "official:a",
            [frozenset({"evaluate", "approve"})],
        )
        return "approved"

    resp = app.test_client().post("/t/cimahi/api/v1/test-separation")
    assert resp.status_code == 409
    assert resp.mimetype == "application/problem+json"
    assert (resp.json["step"], resp.json["conflicting_step"]) == ("approve", "evaluate")


def _session(client) -> dict:
    with client.session_transaction() as s:
        return dict(s)


def test_official_add_command_creates_the_account_in_both_services(
    stack, demo_tenants, wb, hb, api_login
):
    from click.testing import CliRunner

    from operations.cli import main
    from shared.officials import NewCredentials

    username = "cli-" + uuid.uuid4().hex[:8]
    result = CliRunner().invoke(
        main,
        [
            "official",
            "add",
            "--tenant",
            "bandung",
            "--username",
            username,
            "--role",
            "wbs_intake",
            "--role",
            "auditor",
        ],
    )
    assert result.exit_code == 0, result.output
    out = dict(re.findall(r"^(\w+): (\S+)$", result.output, re.M))
    creds = NewCredentials(
        uuid.UUID(out["official"]), out["username"], out["password"], out["totp_secret"]
    )
    assert out["totp_uri"].startswith("otpauth://totp/")
    me_wb = wb.get(
        "/t/bandung/api/v1/auth/me", headers={"Authorization": api_login(wb, "bandung", creds)}
    )
    me_hb = hb.get(
        "/t/bandung/api/v1/auth/me", headers={"Authorization": api_login(hb, "bandung", creds)}
    )
    assert me_wb.json["official_id"] == me_hb.json["official_id"] == out["official"]
    assert me_wb.json["roles"] == ["auditor", "wbs_intake"]
    listed = CliRunner().invoke(main, ["official", "list", "--tenant", "bandung"])
    assert f"{username}\tauditor,wbs_intake\tactive" in listed.output
    again = CliRunner().invoke(
        main,
        ["official", "add", "--tenant", "bandung", "--username", username, "--role", "wbs_intake"],
    )
    assert again.exit_code != 0 and "already taken" in again.output
    bad_role = CliRunner().invoke(
        main,
        [
            "official",
            "add",
            "--tenant",
            "bandung",
            "--username",
            "x-" + username,
            "--role",
            "mayor",
        ],
    )
    assert bad_role.exit_code != 0 and "unknown role" in bad_role.output
    no_tenant = CliRunner().invoke(
        main,
        [
            "official",
            "add",
            "--tenant",
            "atlantis",
            "--username",
            "x-" + username,
            "--role",
            "auditor",
        ],
    )
    assert no_tenant.exit_code != 0 and "no such tenant" in no_tenant.output


def test_deactivate_reset_and_reactivate_an_official_from_the_command_line(wb, hb, make_official):
    from click.testing import CliRunner

    from operations.cli import main
    from shared.officials import NewCredentials

    creds = make_official("cimahi", "wbs_intake")

    def run(*args):
        cli_args = ["official", *args, "--tenant", "cimahi", "--username", creds.username]
        return CliRunner().invoke(main, cli_args)

    off = run("deactivate")
    assert off.exit_code == 0 and "inactive" in off.output
    for client in (wb, hb):  # refused everywhere, exactly like a wrong password
        assert (
            _post_token(client, "cimahi", creds.username, creds.password, _code(creds)).status_code
            == 401
        )
    assert "(already)" in run("deactivate").output
    reset = run("reset")
    assert reset.exit_code == 0, reset.output
    out = dict(re.findall(r"^(\w+): (\S+)$", reset.output, re.M))
    new = NewCredentials(creds.official_id, creds.username, out["password"], out["totp_secret"])
    assert new.password != creds.password and new.totp_secret != creds.totp_secret
    assert run("activate").exit_code == 0
    assert (
        _post_token(wb, "cimahi", creds.username, creds.password, _code(creds)).status_code == 401
    )  # the old credentials are gone
    assert _post_token(hb, "cimahi", new.username, new.password, _code(new)).status_code == 200
    missing = CliRunner().invoke(
        main, ["official", "deactivate", "--tenant", "cimahi", "--username", "nobody-here"]
    )
    assert missing.exit_code != 0 and "no such official" in missing.output


@pytest.mark.parametrize("proxies, expected", [("0", "10.0.0.1"), ("1", "198.51.100.9")])
def test_client_addresses_come_from_trusted_proxies_only(
    stack, demo_tenants, monkeypatch, proxies, expected
):
    """Behind one proxy, the address it saw is the client (throttles count clients, not the
    proxy); an address the client wrote into X-Forwarded-For itself is never believed."""
    from flask import request

    from operations.apps import whistleblowing as create_app

    monkeypatch.setenv("REPLIKA_TRUSTED_PROXIES", proxies)
    app = create_app()

    @app.get("/t/<tenant>/api/v1/test-client-address")
    def client_address():
        return {"address": request.remote_addr}

    resp = app.test_client().get(
        "/t/cimahi/api/v1/test-client-address",
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
        headers={"X-Forwarded-For": "203.0.113.7, 198.51.100.9"},
    )
    assert resp.json["address"] == expected


def test_a_wrong_trusted_proxies_setting_stops_the_service(stack, monkeypatch):
    from operations.apps import whistleblowing as create_app

    monkeypatch.setenv("REPLIKA_TRUSTED_PROXIES", "all")
    with pytest.raises(RuntimeError, match="REPLIKA_TRUSTED_PROXIES"):
        create_app()
