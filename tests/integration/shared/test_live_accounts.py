"""Tokens and page sessions are bound to a live account (issue 16, item 4), and a TOTP code is
taken once for all services: each test performs the attack and asserts it is refused."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pyotp
import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

ME = "/t/cimahi/api/v1/auth/me"
CASES = "/t/cimahi/whistleblowing/cases"


def _addr() -> dict:
    n = uuid.uuid4().int
    return {"REMOTE_ADDR": f"172.16.{n % 250}.{(n >> 8) % 250 + 1}"}


def _page_login(client, creds, csrf_token, otp: str) -> None:
    resp = client.post(
        "/t/cimahi/login",
        data={
            "csrf_token": csrf_token(client, "/t/cimahi/login"),
            "username": creds.username,
            "password": creds.password,
            "otp": otp,
        },
        environ_base=_addr(),
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _cli(*args: str):
    from operations.cli import main

    return CliRunner().invoke(main, ["official", *args])


def _codes(creds):
    """The TOTP codes of the step before now, now and after (sign-in allows one step of
    drift), in the order a code may be taken."""
    totp = pyotp.TOTP(creds.totp_secret)
    step = totp.timecode(datetime.now(UTC))
    return iter(totp.generate_otp(s) for s in (step - 1, step, step + 1))


@pytest.mark.parametrize("command", ["deactivate", "reset"])
def test_after_deactivate_or_reset_old_tokens_and_page_cookies_are_refused_at_once(
    wb, hb, make_official, api_login, csrf_token, command
):
    creds = make_official("cimahi", "wbs_supervisor")
    wb_token, hb_token = api_login(wb, "cimahi", creds), api_login(hb, "cimahi", creds)
    _page_login(wb, creds, csrf_token, _spare(creds))
    assert wb.get(ME, headers={"Authorization": wb_token}).status_code == 200
    assert hb.get(ME, headers={"Authorization": hb_token}).status_code == 200
    assert wb.get(CASES).status_code == 200  # the page cookie works

    result = _cli(command, "--tenant", "cimahi", "--username", creds.username)
    assert result.exit_code == 0, result.output

    assert wb.get(ME, headers={"Authorization": wb_token}).status_code == 401
    assert hb.get(ME, headers={"Authorization": hb_token}).status_code == 401
    assert wb.get(CASES).status_code == 401  # the same cookie, one request later


def _spare(creds) -> str:
    """A code of the step after now: api_login took the earlier ones."""
    totp = pyotp.TOTP(creds.totp_secret)
    return totp.generate_otp(totp.timecode(datetime.now(UTC)) + 1)


@pytest.mark.parametrize("client_name", ["wb", "hb"])
def test_a_token_signed_with_the_secret_for_a_random_official_is_refused(
    request, client_name, demo_tenants
):
    from shared.auth import ROLES, Principal, issue_token

    client = request.getfixturevalue(client_name)
    app = client.application
    forged = Principal(uuid.uuid4(), demo_tenants["cimahi"].id, "forger", frozenset(ROLES))
    with app.app_context():
        token = issue_token(forged, version=0, audience=app.extensions["replika"]["service"])
    assert client.get(ME, headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_logout_ends_the_page_session_server_side(wb, make_official, csrf_token):
    creds = make_official("cimahi", "wbs_supervisor")
    _page_login(wb, creds, csrf_token, next(_codes(creds)))
    stolen = _cookie(wb)
    assert wb.get(CASES).status_code == 200
    out = wb.post("/t/cimahi/logout", data={"csrf_token": csrf_token(wb, "/t/cimahi/login")})
    assert out.status_code == 302
    wb.set_cookie("session", stolen)  # the cookie copied before logout, replayed
    assert wb.get(CASES).status_code == 401


def test_logout_also_ends_the_officials_bearer_tokens_at_that_service(wb, make_official, api_login):
    creds = make_official("cimahi", "wbs_intake")
    first, second = api_login(wb, "cimahi", creds), api_login(wb, "cimahi", creds)
    assert wb.post("/t/cimahi/logout", headers={"Authorization": first}).status_code == 302
    for token in (first, second):
        assert wb.get(ME, headers={"Authorization": token}).status_code == 401


def test_the_page_cookie_carries_only_a_random_id_stored_as_a_digest(
    stack, wb, make_official, csrf_token
):
    import hashlib

    from shared.auth import SESSION_KEY

    creds = make_official("cimahi", "wbs_intake")
    _page_login(wb, creds, csrf_token, next(_codes(creds)))
    with wb.session_transaction() as s:
        session_id = s[SESSION_KEY]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", session_id)  # 256 random bits, no claims
    engine = create_engine(stack["WHISTLEBLOWING_MIGRATION_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("select id_hash from official_sessions where official_id = :o"),
                {"o": creds.official_id},
            ).scalars()
            assert list(rows) == [hashlib.sha256(session_id.encode()).hexdigest()]
    finally:
        engine.dispose()


def test_a_whistleblowing_token_is_refused_by_the_hibah_service(wb, hb, make_official, api_login):
    creds = make_official("cimahi", "auditor", "bansos_evaluator", "wbs_supervisor")
    wb_token = api_login(wb, "cimahi", creds)
    assert wb.get(ME, headers={"Authorization": wb_token}).status_code == 200
    assert hb.get(ME, headers={"Authorization": wb_token}).status_code == 401
    hb_token = api_login(hb, "cimahi", creds)
    assert wb.get(ME, headers={"Authorization": hb_token}).status_code == 401


def test_a_token_for_the_audit_service_opens_only_the_audit_service(
    wb, make_official, api_login, stack, demo_tenants
):
    from operations.apps import audit as create_audit

    audit = create_audit().test_client()
    creds = make_official("cimahi", "auditor")
    wb_token = api_login(wb, "cimahi", creds)
    base = "/t/cimahi/api/v1/audit?subject=WBS-NONE"
    assert audit.get(base, headers={"Authorization": wb_token}).status_code == 401
    resp = wb.post(
        "/t/cimahi/api/v1/auth/token",
        json={
            "username": creds.username,
            "password": creds.password,
            "otp": _spare(creds),
            "audience": "audit",
        },
        environ_base=_addr(),
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["expires_in"] == 300
    audit_token = "Bearer " + resp.json["access_token"]
    assert audit.get(base, headers={"Authorization": audit_token}).status_code == 200
    assert wb.get(ME, headers={"Authorization": audit_token}).status_code == 401
    body = {"username": creds.username, "password": creds.password, "otp": "000000"}
    bad = wb.post("/t/cimahi/api/v1/auth/token", json={**body, "audience": "hibah_bansos"})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "audience"


def test_a_removed_role_stops_working_at_once(wb, make_official, api_login):
    from operations import official_admin

    creds = make_official("cimahi", "wbs_supervisor", "wbs_intake")
    token = api_login(wb, "cimahi", creds)
    assert wb.get("/t/cimahi/api/v1/reports", headers={"Authorization": token}).status_code == 200
    official_admin.ensure("cimahi", creds.username, ["wbs_intake"], "", "", reset=False)
    assert wb.get(ME, headers={"Authorization": token}).status_code == 401


def test_a_totp_code_taken_at_one_service_is_refused_at_the_other(wb, hb, make_official):
    creds = make_official("cimahi", "wbs_intake")
    code = next(_codes(creds))
    body = {"username": creds.username, "password": creds.password, "otp": code}
    assert (
        wb.post("/t/cimahi/api/v1/auth/token", json=body, environ_base=_addr()).status_code == 200
    )
    assert (
        hb.post("/t/cimahi/api/v1/auth/token", json=body, environ_base=_addr()).status_code == 401
    )
    # and the other way round, with the next code
    body["otp"] = _spare(creds)
    assert (
        hb.post("/t/cimahi/api/v1/auth/token", json=body, environ_base=_addr()).status_code == 200
    )
    assert (
        wb.post("/t/cimahi/api/v1/auth/token", json=body, environ_base=_addr()).status_code == 401
    )
