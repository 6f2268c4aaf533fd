"""Operator actions on keys, across every service database (admin connections, owner role):
master-key rotation, tenant crypto-shredding, and custodian set-up."""
from __future__ import annotations

import secrets
import uuid

from sqlalchemy import text

from shared import crypto, settings
from shared.db import service_engine, session_factory, tenant_session
from shared.keyring import keyring

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
            rows = conn.execute(text(
                "select tenant_id, key_id, purpose, master_key_id, wrapped from tenant_keys "
                "where wrapped is not null for update")).all()
            for row in rows:
                aad = crypto._aad("tenant-key", row.tenant_id, row.purpose, row.key_id)
                key = ring.unwrap(row.master_key_id, row.wrapped, aad)
                conn.execute(text("update tenant_keys set master_key_id = :m, wrapped = :w "
                                  "where tenant_id = :t and key_id = :k"),
                             {"m": new_id, "w": ring.wrap(new_id, key, aad),
                              "t": row.tenant_id, "k": row.key_id})
                n += 1
        tenants = [r[0] for r in engine.connect().execute(text(
            "select distinct tenant_id from tenant_keys where purpose = 'data' and active"))]
        factory = session_factory(engine)
        for tenant_id in tenants:
            with tenant_session(factory, tenant_id) as session, session.begin():
                crypto.create_tenant_key(session, tenant_id, "data", replace=True)
        counts[service] = n
    crypto.forget_cached_keys()
    return counts


def shred_tenant(tenant_id: uuid.UUID) -> None:
    """Destroy every key of a tenant in every service: its encrypted data becomes unreadable."""
    for service in KEYED_SERVICES:
        with service_engine(service, migration=True).begin() as conn:
            conn.execute(text("update tenant_keys set wrapped = null, active = false "
                              "where tenant_id = :t"), {"t": tenant_id})
            conn.execute(text("delete from record_keys where tenant_id = :t"), {"t": tenant_id})
            if service == "whistleblowing":
                conn.execute(text("delete from custodian_keys where tenant_id = :t"),
                             {"t": tenant_id})
    crypto.forget_cached_keys()


def ensure_custodian(tenant_id: uuid.UUID, passphrase: str | None = None) -> dict | None:
    """Create the tenant's identity custodian key if it has none. Returns the new passphrase
    and offline recovery secret (shown once), or None when the tenant already has one."""
    from shared import identity
    factory = session_factory(service_engine("whistleblowing", migration=True))
    with tenant_session(factory, tenant_id) as session, session.begin():
        if identity.has_custodian(session, tenant_id):
            return None
        passphrase = passphrase or secrets.token_urlsafe(18)
        recovery = identity.create_custodian_keys(session, tenant_id, passphrase)
    return {"passphrase": passphrase, "recovery_secret": recovery}


def tenant_id_of(slug: str) -> uuid.UUID:
    from shared.tenant_config import tenant_id_for
    engine = service_engine(settings.SERVICES[0], migration=True)
    with engine.connect() as conn:
        row = conn.execute(text("select id from tenants where slug = :s"), {"s": slug}).first()
    return row[0] if row else tenant_id_for(slug)
