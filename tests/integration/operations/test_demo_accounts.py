"""Demo accounts of `make run`: one official per role per demo tenant, credentials in a 0600
file, stable across re-runs, other keys (the custodian's passphrase) kept."""

from __future__ import annotations

import json
import stat
import time

import pyotp

from operations import demo
from shared.roles import ROLES


def _login_status(client, slug, entry, later: int = 0) -> int:
    """The sign-in's status with the TOTP code of `later` seconds from now."""
    return client.post(
        f"/t/{slug}/api/v1/auth/token",
        environ_base={"REMOTE_ADDR": "198.51.100.20"},
        json={
            "username": entry["username"],
            "password": entry["password"],
            "otp": pyotp.TOTP(entry["totp_secret"]).at(time.time() + later),
        },
    ).status_code


def test_demo_seed_writes_every_role_and_keeps_them_across_runs(tmp_path, stack, wb, hb):
    path = tmp_path / "demo-credentials.json"
    path.write_text(json.dumps({"bandung": {"identity_custodian": {"passphrase": "kept"}}}))
    creds = demo.seed(tmp_path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == creds
    assert set(creds) == {"bandung", "cimahi"}
    for slug in creds:
        assert set(creds[slug]) == set(ROLES)
        for entry in creds[slug].values():
            assert {"username", "password", "totp_secret"} <= set(entry)
    assert creds["bandung"]["identity_custodian"]["passphrase"] == "kept"
    assert _login_status(wb, "cimahi", creds["cimahi"]["wbs_investigator"]) == 200
    assert _login_status(hb, "bandung", creds["bandung"]["bansos_verifier"]) == 200

    again = demo.seed(tmp_path)
    assert again == creds  # nothing regenerated

    path.unlink()  # credentials lost: new ones are made, and the database gets them
    fresh = demo.seed(tmp_path)
    assert fresh["cimahi"]["auditor"]["password"] != creds["cimahi"]["auditor"]["password"]
    assert _login_status(wb, "cimahi", fresh["cimahi"]["auditor"]) == 200
    # a TOTP code is taken once for all services: the other service gets the next step's
    assert _login_status(hb, "cimahi", fresh["cimahi"]["auditor"], later=30) == 200


def test_the_local_runner_seeds_through_the_operator_command(tmp_path, stack, wb):
    """`make run` seeds by running `replika demo seed` as a process (infra imports nothing
    from operations): the credentials file it writes signs in."""
    from infra.local import seed_demo

    seed_demo(tmp_path)
    path = tmp_path / "demo-credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    creds = json.loads(path.read_text())
    assert _login_status(wb, "bandung", creds["bandung"]["tenant_admin"]) == 200
