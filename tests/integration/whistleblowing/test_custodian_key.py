"""The identity custodian's key belongs to the custodian (shared/identity.py, the custodian's
page in services/whistleblowing/office_pages.py, migration k002): created on their own page
with their own passphrase, the recovery secret shown once; passphrase changed and recovered
there; wrong passphrases throttled; the application role cannot UPDATE the key; sealing
refuses a public key this deployment did not authenticate."""

from __future__ import annotations

import re
import uuid

import pyotp
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from sqlalchemy import create_engine, text
from sqlalchemy.exc import ProgrammingError

from operations.cli import main
from shared import identity
from shared.db import service_engine, session_factory, tenant_session
from tests.support.eventing import fresh_tenant
from tests.support.whistleblowing import addr

PASS = "kunci rahasia milik saya sendiri"


def page(tenant) -> str:
    return f"/t/{tenant.slug}/whistleblowing/custodian"


def signed_in(wb_app, make_official, csrf_token, tenant, role="identity_custodian"):
    client = wb_app.test_client()
    creds = make_official(tenant.slug, role)
    resp = client.post(
        f"/t/{tenant.slug}/login",
        environ_base=addr(),
        data={
            "csrf_token": csrf_token(client, f"/t/{tenant.slug}/login"),
            "username": creds.username,
            "password": creds.password,
            "otp": pyotp.TOTP(creds.totp_secret).now(),
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    client.official_id = str(creds.official_id)
    return client


def post(client, csrf_token, tenant, action: str, **data):
    token = csrf_token(client, page(tenant))
    return client.post(f"{page(tenant)}/{action}", data={"csrf_token": token, **data})


def app_session(tenant):
    return tenant_session(session_factory(service_engine("whistleblowing")), tenant.id)


def opens(tenant, passphrase: str) -> bool:
    report = uuid.uuid4()
    with app_session(tenant) as session, session.begin():
        sealed = identity.seal_identity(session, tenant.id, report, {"name": "Siti"})
        try:
            identity.open_identity(session, tenant.id, report, sealed, passphrase, who="test")
        except identity.WrongPassphrase:
            return False
    return True


def test_the_custodian_creates_changes_and_recovers_their_own_key(
    stack, wb_app, make_official, csrf_token
):
    tenant = fresh_tenant("cust")
    admin = signed_in(wb_app, make_official, csrf_token, tenant, "tenant_admin")
    assert admin.get(page(tenant)).status_code == 403  # not the administrator's key
    client = signed_in(wb_app, make_official, csrf_token, tenant)
    form = client.get(page(tenant))
    assert form.status_code == 200 and 'action="' + page(tenant) + '/key"' in form.get_data(
        as_text=True
    )
    differ = post(client, csrf_token, tenant, "key", passphrase=PASS, confirm=PASS + "!")
    assert differ.status_code == 422 and not identity_row(tenant)
    short = post(client, csrf_token, tenant, "key", passphrase="pendek", confirm="pendek")
    assert short.status_code == 422 and not identity_row(tenant)

    made = post(client, csrf_token, tenant, "key", passphrase=PASS, confirm=PASS)
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.headers["Cache-Control"].startswith("no-store")
    html = made.get_data(as_text=True)
    shown = re.search(r'id="recovery-secret">(RK-(?: [A-Z2-7]{1,4})+)<', html).group(1)
    assert len(shown.split()) > 10  # grouped for writing down
    assert PASS not in html
    again = client.get(page(tenant)).get_data(as_text=True)
    assert "recovery-secret" not in again and shown.split()[1] not in again  # shown once
    assert "key-fingerprint" in again
    twice = post(client, csrf_token, tenant, "key", passphrase=PASS, confirm=PASS)
    assert twice.status_code == 409
    assert opens(tenant, PASS)

    wrong = post(
        client,
        csrf_token,
        tenant,
        "passphrase",
        current="bukan ini",
        new="x" * 14,
        confirm="x" * 14,
    )
    assert wrong.status_code == 403 and opens(tenant, PASS)
    new = "frasa baru yang panjang"
    changed = post(client, csrf_token, tenant, "passphrase", current=PASS, new=new, confirm=new)
    assert changed.status_code == 303
    assert opens(tenant, new) and not opens(tenant, PASS)

    lost = "setelah kehilangan frasa"
    bad = post(
        client, csrf_token, tenant, "recovery", recovery_secret="RK- AAAA", new=lost, confirm=lost
    )
    assert bad.status_code == 403
    recovered = post(
        client, csrf_token, tenant, "recovery", recovery_secret=shown, new=lost, confirm=lost
    )
    assert recovered.status_code == 303  # typed as shown, groups and all
    assert opens(tenant, lost) and not opens(tenant, new)
    with service_engine("whistleblowing", migration=True).connect() as conn:  # appended
        versions = conn.execute(
            text("select version from custodian_passphrase_wraps where tenant_id = :t"),
            {"t": tenant.id},
        ).scalars()
        assert sorted(versions) == [1, 2]


def identity_row(tenant):
    with service_engine("whistleblowing", migration=True).connect() as conn:
        return conn.execute(
            text("select public_key_mac from custodian_keys where tenant_id = :t"),
            {"t": tenant.id},
        ).first()


def test_wrong_passphrases_are_throttled_even_when_the_right_one_follows(
    stack, wb_app, make_official, csrf_token
):
    tenant = fresh_tenant("thr")
    client = signed_in(wb_app, make_official, csrf_token, tenant)
    assert post(client, csrf_token, tenant, "key", passphrase=PASS, confirm=PASS).status_code == 201
    new = "frasa baru yang panjang"
    for _ in range(identity.PER_CUSTODIAN.free_failures):
        resp = post(
            client, csrf_token, tenant, "passphrase", current="tebakan salah", new=new, confirm=new
        )
        assert resp.status_code == 403
    locked = post(client, csrf_token, tenant, "passphrase", current=PASS, new=new, confirm=new)
    assert locked.status_code == 429  # the right passphrase waits too
    with app_session(tenant) as session:  # the same counter from the command line's side
        with pytest.raises(identity.PassphraseThrottled):
            identity.change_custodian_passphrase(
                session, tenant.id, PASS, new, who=client.official_id
            )


def test_the_application_role_cannot_update_or_delete_the_custodian_key(
    stack, custodian_passphrase
):
    tenant = fresh_tenant("grant")
    custodian_passphrase(tenant)
    app_role = create_engine(stack["WHISTLEBLOWING_DATABASE_URL"])
    try:
        for statement in (
            "update custodian_keys set public_key = '\\x00'::bytea where tenant_id = :t",
            "update custodian_keys set public_key_mac = null where tenant_id = :t",
            "delete from custodian_keys where tenant_id = :t",
            "update custodian_passphrase_wraps set version = 9 where tenant_id = :t",
        ):
            with app_role.connect() as conn:
                conn.execute(
                    text("select set_config('app.tenant_id', :t, false)"), {"t": str(tenant.id)}
                )
                with pytest.raises(ProgrammingError, match="permission denied"):
                    conn.execute(text(statement), {"t": tenant.id})
    finally:
        app_role.dispose()
    assert opens(tenant, custodian_passphrase(tenant))


def _foreign_public_key() -> bytes:
    m, x = mlkem.MLKEM768PrivateKey.generate(), x25519.X25519PrivateKey.generate()
    return m.public_key().public_bytes_raw() + x.public_key().public_bytes(
        s.Encoding.Raw, s.PublicFormat.Raw
    )


def test_sealing_refuses_a_key_this_deployment_did_not_authenticate(stack, wb):
    """A key row written straight into the database (someone with database access, or a key
    from before authentication): nothing is sealed to it until the operator authenticates it
    with the fingerprint the custodian reads."""
    tenant = fresh_tenant("unauth")
    public = _foreign_public_key()
    with service_engine("whistleblowing", migration=True).begin() as conn:
        conn.execute(
            text(
                "insert into custodian_keys (tenant_id, public_key, public_key_mac, "
                "passphrase_salt, wrapped_by_passphrase, wrapped_by_recovery) "
                "values (:t, :p, :m, '\\x00', '\\x00', '\\x00')"
            ),
            {"t": tenant.id, "p": public, "m": "0" * 64},
        )
    with app_session(tenant) as session, pytest.raises(identity.UnauthenticatedCustodianKey):
        identity.seal_identity(session, tenant.id, uuid.uuid4(), {"name": "Siti"})
    filed = wb.post(
        f"/t/{tenant.slug}/api/v1/reports",
        json={
            "category": "korupsi",
            "what": "Pungutan liar pada pengurusan izin usaha.",
            "identity": {"name": "Rina Pelapor"},
        },
        environ_base=addr(),
    )
    assert filed.status_code == 422 and filed.json["errors"][0]["field"] == "identity"

    fp = identity.fingerprint(public)
    wrong = CliRunner().invoke(
        main, ["keys", "authenticate-custodian", tenant.slug, "--fingerprint", "AAAA " * 8]
    )
    assert wrong.exit_code == 1 and fp in wrong.output
    right = CliRunner().invoke(
        main, ["keys", "authenticate-custodian", tenant.slug, "--fingerprint", fp]
    )
    assert right.exit_code == 0, right.output
    with app_session(tenant) as session:
        assert identity.seal_identity(session, tenant.id, uuid.uuid4(), {"name": "Siti"})


def test_init_custodian_chooses_and_prints_no_passphrase(stack, custodian_passphrase):
    tenant = fresh_tenant("init")
    result = CliRunner().invoke(main, ["keys", "init-custodian", tenant.slug])
    assert result.exit_code == 0, result.output
    assert page(tenant) in result.output and "RK-" not in result.output
    assert "passphrase:" not in result.output and identity_row(tenant) is None
    passphrase = custodian_passphrase(tenant)
    new = "ganti lewat terminal"
    changed = CliRunner().invoke(
        main,
        ["keys", "custodian-passphrase", tenant.slug],
        input=f"{passphrase}\n{new}\n{new}\n",
    )
    assert changed.exit_code == 0, changed.output
    assert passphrase not in changed.output and new not in changed.output
    assert opens(tenant, new)
    exists = CliRunner().invoke(main, ["keys", "init-custodian", tenant.slug])
    assert exists.exit_code == 1 and "already has a custodian key" in exists.output
