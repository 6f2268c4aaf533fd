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
    """Create the tenant's identity custodian key if it has none. Returns the new passphrase
    and offline recovery secret (shown once), or None when the tenant already has one."""
    return identity.ensure_demo_custodian(
        service_engine("whistleblowing", migration=True), tenant_id, passphrase
    )


def tenant_id_of(slug: str) -> uuid.UUID:
    engine = service_engine(settings.SERVICES[0], migration=True)
    with engine.connect() as conn:
        row = conn.execute(text("select id from tenants where slug = :s"), {"s": slug}).first()
    return row[0] if row else tenant_id_for(slug)
