"""Whistleblowing test helpers: the demo city's pages, a client address of a test's own, an
official signed in through the sign-in page."""

from __future__ import annotations

import uuid

P = "/t/cimahi/whistleblowing"  # the citizens' pages of the demo city


def addr() -> dict:
    n = uuid.uuid4().int
    return {"REMOTE_ADDR": f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"}


def sign_in(client, make_official, csrf_token, role):
    import pyotp

    creds = make_official("cimahi", role)
    resp = client.post(
        "/t/cimahi/login",
        environ_base=addr(),
        data={
            "csrf_token": csrf_token(client, "/t/cimahi/login"),
            "username": creds.username,
            "password": creds.password,
            "otp": pyotp.TOTP(creds.totp_secret).now(),
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return creds
