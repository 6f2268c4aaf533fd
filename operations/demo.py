"""Demo data for `make run`: the tenants under `tenants/` and one official per role.

Credentials are random when first created and written to `.local/demo-credentials.json`
(mode 0600) as {tenant: {role: {"username", "password", "totp_secret", ...}}}. Re-runs keep
them: an account whose credentials are already in the file is left as it is (or re-created
with them if the database was wiped); other keys in an entry (the identity custodian's
`passphrase`) are kept. The production path never calls this; the local runner runs it as
`replika demo seed --state .local` (infra/local.py imports nothing from here).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from operations import key_admin, official_admin, tenant_apply
from shared.files import write_private
from shared.officials import new_password, new_totp_secret
from shared.roles import ROLES
from shared.tenant_config import load_file

DEMO_TENANTS = ("bandung", "cimahi")


def demo_username(role: str) -> str:
    return role.replace("_", "-")


def seed_officials(slug: str, accounts: dict) -> None:
    """One official per role of tenant `slug`; `accounts` (the file's entry) is updated in place."""
    for role in ROLES:
        entry = accounts.setdefault(role, {})
        reset = not (entry.get("username") and entry.get("password") and entry.get("totp_secret"))
        if reset:  # new credentials: the database gets them too
            entry.update(
                username=entry.get("username") or demo_username(role),
                password=new_password(),
                totp_secret=new_totp_secret(),
            )
        official_id = official_admin.ensure(
            slug, entry["username"], [role], entry["password"], entry["totp_secret"], reset=reset
        )
        # where `make run`'s mail catcher shows this official's notices (.local/mail/)
        entry["email"] = f"{entry['username']}@{slug}.demo.replika.localhost"
        official_admin.change_email(official_admin.tenant_id_of(slug), official_id, entry["email"])


def seed_custodian(tenant_id, entry: dict) -> None:
    """The tenant's identity custodian key; its passphrase (and the offline recovery secret,
    which a real city would keep on paper) go into the custodian's entry of the file."""
    created = key_admin.ensure_custodian(tenant_id, entry.get("passphrase"))
    if created is not None:
        entry.update(created)


def seed(state: Path) -> dict:
    tenants_dir = Path(os.environ.get("REPLIKA_TENANTS_DIR", "tenants"))
    creds_path = state / "demo-credentials.json"
    creds: dict = json.loads(creds_path.read_text()) if creds_path.exists() else {}
    for slug in DEMO_TENANTS:
        config = load_file(tenants_dir / f"{slug}.yaml")
        tenant_apply.apply(config)
        seed_officials(slug, creds.setdefault(slug, {}))
        seed_custodian(config.id, creds[slug].setdefault("identity_custodian", {}))
        # Written after the database has them: if seeding fails midway, the next run finds
        # the file without those credentials and resets them in the database.
        write_private(creds_path, json.dumps(creds, indent=2))
    return creds
