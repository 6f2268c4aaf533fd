"""Per-tenant Ed25519 audit signing keys, kept in the audit database.

The public key is published (auditor API); the private key is stored only wrapped with
AES-256-GCM under a key the database does not hold, so whoever can edit the ledger's tables
still cannot sign a checkpoint for a rewritten chain.

Wrapping key: the current master key of the deployment's keyring (`shared/keyring.py`,
`REPLIKA_MASTER_KEY_FILE`); each row's `wrapping` names the method and master key id.
Rows written before the keyring existed ("hkdf-sha256(REPLIKA_SECRET_KEY)...") still unwrap.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.audit.models import AuditKeyRow
from shared.keyring import keyring

LEGACY_WRAPPING = "hkdf-sha256(REPLIKA_SECRET_KEY)+aes-256-gcm.v1"
KEYRING_PREFIX = "keyring:"


@dataclass(frozen=True)
class SigningKey:
    key_id: uuid.UUID
    private: Ed25519PrivateKey


def _wrapping_key() -> bytes:
    secret = os.environ.get("REPLIKA_SECRET_KEY")
    if not secret:
        raise RuntimeError("REPLIKA_SECRET_KEY is not set: needed to unwrap audit keys")
    return HKDF(hashes.SHA256(), 32, salt=b"replika.audit", info=b"audit-key-wrap.v1").derive(
        secret.encode()
    )


def _aad(tenant_id: uuid.UUID, key_id: uuid.UUID) -> bytes:
    # binds the wrapped key to its tenant and id: a row copied to another tenant won't unwrap
    return b"replika.audit.key|" + tenant_id.bytes + key_id.bytes


def wrap(private: Ed25519PrivateKey, tenant_id: uuid.UUID, key_id: uuid.UUID) -> tuple[bytes, str]:
    """(wrapped key, wrapping method) under the keyring's current master key."""
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    master_id = keyring().current_key_id()
    return (keyring().wrap(master_id, raw, _aad(tenant_id, key_id)), KEYRING_PREFIX + master_id)


def unwrap(
    blob: bytes, tenant_id: uuid.UUID, key_id: uuid.UUID, wrapping: str
) -> Ed25519PrivateKey:
    if wrapping.startswith(KEYRING_PREFIX):
        raw = keyring().unwrap(wrapping[len(KEYRING_PREFIX) :], blob, _aad(tenant_id, key_id))
    else:
        raw = AESGCM(_wrapping_key()).decrypt(blob[:12], blob[12:], _aad(tenant_id, key_id))
    return Ed25519PrivateKey.from_private_bytes(raw)


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(raw: bytes) -> str:
    return (
        Ed25519PublicKey.from_public_bytes(raw)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def signing_key(session: Session, tenant_id: uuid.UUID) -> SigningKey:
    """The tenant's signing key, created on first use (INSERT only: the role cannot UPDATE)."""
    row = session.execute(
        select(AuditKeyRow).where(AuditKeyRow.tenant_id == tenant_id)
    ).scalar_one_or_none()
    if row is None:
        key_id, private = uuid.uuid4(), Ed25519PrivateKey.generate()
        # two consumers may race here: the unique tenant_id keeps the first key, both use it
        wrapped, wrapping = wrap(private, tenant_id, key_id)
        session.execute(
            insert(AuditKeyRow)
            .values(
                id=key_id,
                tenant_id=tenant_id,
                public_key=raw_public(private.public_key()),
                wrapped_private_key=wrapped,
                wrapping=wrapping,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        row = session.execute(
            select(AuditKeyRow).where(AuditKeyRow.tenant_id == tenant_id)
        ).scalar_one()
    return SigningKey(row.id, unwrap(row.wrapped_private_key, tenant_id, row.id, row.wrapping))


def public_key(session: Session, tenant_id: uuid.UUID) -> tuple[uuid.UUID, bytes] | None:
    row = session.execute(
        select(AuditKeyRow).where(AuditKeyRow.tenant_id == tenant_id)
    ).scalar_one_or_none()
    return None if row is None else (row.id, row.public_key)
