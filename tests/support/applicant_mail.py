"""Applicants' one-time links, read from the local mail catcher (.eml files, as
services/hibah_bansos/mailer.EmlDirectory writes them for applicant_auth.send_link), and the
registration every test of an applicant needs: register, follow the e-mailed link, get a
bearer token.

    token = register_confirmed(client, "cimahi", organisation())
"""

from __future__ import annotations

import email
import re
import uuid
from urllib.parse import parse_qs, urlsplit


def link_token(to: str) -> str | None:
    """The token of the newest link mailed to `to`, if any."""
    from services.hibah_bansos.mailer import MAIL_DIR as folder

    needle = f"To: {to}".encode()
    for path in sorted(folder.glob("*.eml"), reverse=True) if folder.exists() else []:
        raw = path.read_bytes()
        if needle not in raw:  # cheap: the catcher keeps every test run's mail
            continue
        message = email.message_from_bytes(raw)
        if message["To"] == to:
            body = message.get_payload(decode=True).decode()
            found = re.search(r"https?://\S+confirm\?token=\S+", body)
            if found:
                return parse_qs(urlsplit(found.group(0)).query)["token"][0]
    return None


def mails_to(to: str) -> int:
    from services.hibah_bansos.mailer import MAIL_DIR as folder

    paths = folder.glob("*.eml") if folder.exists() else []
    needle = f"To: {to}".encode()
    return sum(
        email.message_from_bytes(raw)["To"] == to
        for raw in (p.read_bytes() for p in paths)
        if needle in raw
    )


def confirm(client, slug: str, to: str, password: str | None = None):
    """POST the link mailed to `to` (with `password` for an account an official made)."""
    body = {"token": link_token(to)}
    if password is not None:
        body["password"] = password
    return client.post(f"/t/{slug}/api/v1/applicants/confirmations", json=body)


def register_confirmed(client, slug: str, body: dict, headers: dict | None = None) -> str:
    """Register `body` (by themselves, or by the official of `headers` at the counter, who
    leaves the password out), follow the mailed link (an official's account is activated with
    the body's password), and return the applicant's bearer token (without "Bearer ")."""
    resp = post_registration(client, slug, body, headers)
    assert resp.status_code == (201 if headers else 202), resp.get_data(as_text=True)
    confirmed = confirm(client, slug, body["email"], body.get("password") if headers else None)
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    return confirmed.json["access_token"]


def post_registration(client, slug: str, body: dict, headers: dict | None = None):
    """POST /applicants from an address of its own (registration has a budget per address),
    leaving the password out when an official registers (they never choose it)."""
    posted = {k: v for k, v in body.items() if k != "password"} if headers else body
    return client.post(
        f"/t/{slug}/api/v1/applicants",
        json=posted,
        headers=headers or {},
        environ_base={"REMOTE_ADDR": own_address()},
    )


def own_address() -> str:
    n = uuid.uuid4().int
    return f"10.{200 + n % 50}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"
