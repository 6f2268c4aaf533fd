"""Operator actions on keys, across every service database (admin connections, owner role):
master-key rotation, tenant crypto-shredding, and custodian set-up."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from services.audit import keys as audit_keys
from shared import crypto, identity, settings
from shared.db import service_engine, session_factory, tenant_session
from shared.keyring import keyring
from shared.tenant_config import tenant_id_for

KEYED_SERVICES = ("whistleblowing", "hibah_bansos")


def rotate_master() -> dict[str, int]:
    """Add a new master key, re-wrap every tenant key under it, and start a new data key per
    tenant so new records carry the new key id. Old data stays readable: old data keys remain
    (re-wrapped) for decryption. Safe while services run: each row is re-wrapped atomically
    and running services re-read the keyring file when it changes."""
    ring = keyring()
    new_id = ring.add_key()
    counts = {}
    for service in KEYED_SERVICES:
        engine = service_engine(service, migration=True)
        n = 0
        with engine.begin() as conn:
            rows = conn.execute(
                text(
                    "select tenant_id, key_id, purpose, master_key_id, wrapped from tenant_keys "
                    "where wrapped is not null for update"
                )
            ).all()
            for row in rows:
                aad = crypto._aad("tenant-key", row.tenant_id, row.purpose, row.key_id)
                key = ring.unwrap(row.master_key_id, row.wrapped, aad)
                conn.execute(
                    text(
                        "update tenant_keys set master_key_id = :m, wrapped = :w "
                        "where tenant_id = :t and key_id = :k"
                    ),
                    {
                        "m": new_id,
                        "w": ring.wrap(new_id, key, aad),
                        "t": row.tenant_id,
                        "k": row.key_id,
                    },
                )
                n += 1
        tenants = [
            r[0]
            for r in engine.connect().execute(
                text("select distinct tenant_id from tenant_keys where purpose = 'data' and active")
            )
        ]
        factory = session_factory(engine)
        for tenant_id in tenants:
            with tenant_session(factory, tenant_id) as session, session.begin():
                crypto.create_tenant_key(session, tenant_id, "data", replace=True)
        counts[service] = n
    counts["audit"] = _rewrap_audit_keys()
    crypto.forget_cached_keys()
    return counts


def _rewrap_audit_keys() -> int:
    """The audit ledger's signing keys are wrapped by the master key too (services/audit/keys.py):
    re-wrap them so an old master key can be retired once nothing names it."""
    n = 0
    with service_engine("audit", migration=True).begin() as conn:
        rows = conn.execute(
            text("select id, tenant_id, wrapped_private_key, wrapping from audit_keys for update")
        ).all()
        for row in rows:
            private = audit_keys.unwrap(
                row.wrapped_private_key, row.tenant_id, row.id, row.wrapping
            )
            wrapped, wrapping = audit_keys.wrap(private, row.tenant_id, row.id)
            conn.execute(
                text("update audit_keys set wrapped_private_key = :w, wrapping = :m where id = :i"),
                {"w": wrapped, "m": wrapping, "i": row.id},
            )
            n += 1
    return n


def shred_tenant(tenant_id: uuid.UUID) -> dict[str, int]:
    """Destroy every key of a tenant in every service: its encrypted data becomes unreadable,
    and no new key is made for it (crypto.TenantShredded). Returns keys destroyed per service.
    Running services drop their cached copies within crypto.CACHE_SECONDS."""
    counts = {}
    for service in KEYED_SERVICES:
        with service_engine(service, migration=True).begin() as conn:
            n = conn.execute(
                text(
                    "update tenant_keys set wrapped = null, active = false "
                    "where tenant_id = :t and wrapped is not null"
                ),
                {"t": tenant_id},
            ).rowcount
            n += conn.execute(
                text("delete from record_keys where tenant_id = :t"), {"t": tenant_id}
            ).rowcount
            if service == "whistleblowing":
                n += conn.execute(
                    text("delete from custodian_passphrase_wraps where tenant_id = :t"),
                    {"t": tenant_id},
                ).rowcount
                n += conn.execute(
                    text("delete from custodian_keys where tenant_id = :t"), {"t": tenant_id}
                ).rowcount
            # a tenant that never had a key gets a destroyed marker, so none is made later
            conn.execute(
                text(
                    "insert into tenant_keys (tenant_id, key_id, purpose, master_key_id, wrapped, "
                    "active) values (:t, 'shredded', 'data', '-', null, false) "
                    "on conflict do nothing"
                ),
                {"t": tenant_id},
            )
        counts[service] = n
    crypto.forget_cached_keys()
    return counts


def ensure_custodian(tenant_id: uuid.UUID, passphrase: str | None = None) -> dict | None:
    """Demo data and tests only: create the tenant's identity custodian key if it has none.
    Returns the passphrase and offline recovery secret, or None when the tenant already has
    one. A real city's custodian creates the key on their own page (CUSTODIAN_PAGE); no
    command chooses or prints a custodian passphrase."""
    return identity.ensure_demo_custodian(
        service_engine("whistleblowing", migration=True), tenant_id, passphrase
    )


CUSTODIAN_PAGE = "/t/{slug}/whistleblowing/custodian"


def _custodian_session(tenant_id: uuid.UUID):
    return tenant_session(session_factory(service_engine("whistleblowing")), tenant_id)


def custodian_status(tenant_id: uuid.UUID) -> dict | None:
    with _custodian_session(tenant_id) as session:
        return identity.custodian_status(session, tenant_id)


def change_custodian_passphrase(tenant_id: uuid.UUID, old: str, new: str) -> None:
    """The custodian at the operator's terminal (passphrases typed, never printed); the same
    throttle as the page. Runs as the application role: a new wrap is appended."""
    with _custodian_session(tenant_id) as session, session.begin():
        identity.change_custodian_passphrase(session, tenant_id, old, new, who="cli")


def recover_custodian(tenant_id: uuid.UUID, recovery_secret: str, new: str) -> None:
    with _custodian_session(tenant_id) as session, session.begin():
        identity.recover_custodian(session, tenant_id, recovery_secret, new, who="cli")


def authenticate_custodian(tenant_id: uuid.UUID, expected_fingerprint: str) -> str:
    """Authenticate a custodian key made before migration k002 (it has no MAC yet), once the
    custodian has read its fingerprint from their page and it equals `expected_fingerprint`.
    Owner connection: the application role cannot UPDATE the key row."""
    engine = service_engine("whistleblowing", migration=True)
    with tenant_session(session_factory(engine), tenant_id) as session, session.begin():
        row = session.execute(
            text(
                "select public_key, public_key_mac from custodian_keys where tenant_id = :t "
                "for update"
            ),
            {"t": tenant_id},
        ).first()
        if row is None:
            raise identity.NoCustodian("this tenant has no identity custodian key")
        found = identity.fingerprint(row.public_key)
        if "".join(expected_fingerprint.split()).upper() != "".join(found.split()):
            raise ValueError(f"the key's fingerprint is {found}, not the one given")
        session.execute(
            text("update custodian_keys set public_key_mac = :m where tenant_id = :t"),
            {"m": identity._mac(session, tenant_id, row.public_key), "t": tenant_id},
        )
    return found


def tenant_id_of(slug: str) -> uuid.UUID:
    engine = service_engine(settings.SERVICES[0], migration=True)
    with engine.connect() as conn:
        row = conn.execute(text("select id from tenants where slug = :s"), {"s": slug}).first()
    return row[0] if row else tenant_id_for(slug)
