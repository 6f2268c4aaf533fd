"""Reporter identity sealing: HPKE (RFC 9180) to the tenant's identity custodian.

Suite: ML-KEM-768 + X25519 hybrid KEM, HKDF-SHA256, AES-256-GCM (post-quantum by default).
The tenant id and report id are bound in as HPKE `info`, so a sealed identity moved to another
report or tenant does not open. The custodian's private key is stored only wrapped:
- under a key derived from the custodian's passphrase with Argon2id, and
- sealed to an offline recovery key (an X25519 HPKE key the city keeps on paper or in a safe),
so the service process cannot open an identity without the passphrase in that request, and a
lost passphrase does not lose every identity.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import uuid
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from shared.db import session_factory, tenant_session

SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
RECOVERY_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
# Argon2id parameters for the passphrase (RFC 9106 second recommendation: 64 MiB, 3 passes).
ARGON2 = {"length": 32, "iterations": 3, "lanes": 4, "memory_cost": 64 * 1024}


class NoCustodian(RuntimeError):
    """The tenant has no identity custodian key yet (`replika` provisioning creates one)."""


class WrongPassphrase(Exception):
    pass


class WrongRecoverySecret(Exception):
    pass


class IdentityDoesNotOpen(Exception):
    """The sealed identity does not belong to this tenant and report, or was altered."""


def _info(tenant_id: uuid.UUID, report_id: Any) -> bytes:
    return f"replika/identity/v1|{tenant_id}|{report_id}".encode()


def _private_bytes(key_m: mlkem.MLKEM768PrivateKey, key_x: x25519.X25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization as s

    return key_m.private_bytes_raw() + key_x.private_bytes(
        s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption()
    )


def _private_key(raw: bytes) -> hpke.MLKEM768X25519PrivateKey:
    return hpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(raw[:64]),
        x25519.X25519PrivateKey.from_private_bytes(raw[64:]),
    )


def _public_key(raw: bytes) -> hpke.MLKEM768X25519PublicKey:
    return hpke.MLKEM768X25519PublicKey(
        mlkem.MLKEM768PublicKey.from_public_bytes(raw[:1184]),
        x25519.X25519PublicKey.from_public_bytes(raw[1184:]),
    )


def _passphrase_key(passphrase: str, salt: bytes) -> bytes:
    return Argon2id(salt=salt, **ARGON2).derive(passphrase.encode())


def _wrap_with_passphrase(
    tenant_id: uuid.UUID, private_raw: bytes, passphrase: str
) -> tuple[bytes, bytes]:
    salt = os.urandom(16)
    nonce = os.urandom(12)
    wrapped = nonce + AESGCM(_passphrase_key(passphrase, salt)).encrypt(
        nonce, private_raw, f"custodian|{tenant_id}".encode()
    )
    return salt, wrapped


def create_custodian_keys(session: Session, tenant_id: uuid.UUID, passphrase: str) -> str:
    """Create the tenant's custodian key pair; returns the offline recovery secret (show once)."""
    if len(passphrase) < 12:
        raise ValueError("the custodian passphrase must have at least 12 characters")
    key_m, key_x = mlkem.MLKEM768PrivateKey.generate(), x25519.X25519PrivateKey.generate()
    private_raw = _private_bytes(key_m, key_x)
    from cryptography.hazmat.primitives import serialization as s

    public_raw = key_m.public_key().public_bytes_raw() + key_x.public_key().public_bytes(
        s.Encoding.Raw, s.PublicFormat.Raw
    )
    salt, by_passphrase = _wrap_with_passphrase(tenant_id, private_raw, passphrase)
    recovery = x25519.X25519PrivateKey.generate()
    by_recovery = RECOVERY_SUITE.encrypt(
        private_raw, recovery.public_key(), info=f"custodian-recovery|{tenant_id}".encode()
    )
    session.execute(
        text(
            "insert into custodian_keys (tenant_id, public_key, passphrase_salt, wrapped_by_passphrase,"
            " wrapped_by_recovery) values (:t, :p, :s, :wp, :wr)"
        ),
        {"t": tenant_id, "p": public_raw, "s": salt, "wp": by_passphrase, "wr": by_recovery},
    )
    raw = recovery.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
    return "RK-" + base64.b32encode(raw).decode().rstrip("=")


def _custodian_row(session: Session, tenant_id: uuid.UUID):
    row = session.execute(
        text(
            "select public_key, passphrase_salt, wrapped_by_passphrase, wrapped_by_recovery "
            "from custodian_keys where tenant_id = :t"
        ),
        {"t": tenant_id},
    ).first()
    if row is None:
        raise NoCustodian("this tenant has no identity custodian key")
    return row


def has_custodian(session: Session, tenant_id: uuid.UUID) -> bool:
    return (
        session.execute(
            text("select 1 from custodian_keys where tenant_id = :t"), {"t": tenant_id}
        ).first()
        is not None
    )


def seal_identity(session: Session, tenant_id: uuid.UUID, report_id: Any, identity: dict) -> bytes:
    row = _custodian_row(session, tenant_id)
    plaintext = json.dumps(identity, ensure_ascii=False, sort_keys=True).encode()
    return SUITE.encrypt(plaintext, _public_key(row.public_key), info=_info(tenant_id, report_id))


def _unlock(row, tenant_id: uuid.UUID, passphrase: str) -> bytes:
    blob = row.wrapped_by_passphrase
    try:
        return AESGCM(_passphrase_key(passphrase, row.passphrase_salt)).decrypt(
            blob[:12], blob[12:], f"custodian|{tenant_id}".encode()
        )
    except InvalidTag:
        raise WrongPassphrase() from None


def check_passphrase(session: Session, tenant_id: uuid.UUID, passphrase: str) -> None:
    _unlock(_custodian_row(session, tenant_id), tenant_id, passphrase)


def open_identity(
    session: Session, tenant_id: uuid.UUID, report_id: Any, sealed: bytes, passphrase: str
) -> dict:
    private_raw = _unlock(_custodian_row(session, tenant_id), tenant_id, passphrase)
    try:
        plaintext = SUITE.decrypt(
            sealed, _private_key(private_raw), info=_info(tenant_id, report_id)
        )
    except Exception:  # wrong context or altered ciphertext: never say more
        raise IdentityDoesNotOpen() from None
    return json.loads(plaintext)


def change_custodian_passphrase(session: Session, tenant_id: uuid.UUID, old: str, new: str) -> None:
    row = _custodian_row(session, tenant_id)
    _store_passphrase_wrap(session, tenant_id, _unlock(row, tenant_id, old), new)


def recover_custodian(
    session: Session, tenant_id: uuid.UUID, recovery_secret: str, new_passphrase: str
) -> None:
    """Re-wrap the custodian key under a new passphrase using the offline recovery secret."""
    row = _custodian_row(session, tenant_id)
    try:
        b32 = recovery_secret.strip().removeprefix("RK-")
        raw = base64.b32decode(b32 + "=" * (-len(b32) % 8))
        recovery = x25519.X25519PrivateKey.from_private_bytes(raw)
        private_raw = RECOVERY_SUITE.decrypt(
            row.wrapped_by_recovery, recovery, info=f"custodian-recovery|{tenant_id}".encode()
        )
    except Exception:
        raise WrongRecoverySecret() from None
    _store_passphrase_wrap(session, tenant_id, private_raw, new_passphrase)


def _store_passphrase_wrap(session, tenant_id, private_raw: bytes, passphrase: str) -> None:
    if len(passphrase) < 12:
        raise ValueError("the custodian passphrase must have at least 12 characters")
    salt, wrapped = _wrap_with_passphrase(tenant_id, private_raw, passphrase)
    session.execute(
        text(
            "update custodian_keys set passphrase_salt = :s, "
            "wrapped_by_passphrase = :w where tenant_id = :t"
        ),
        {"s": salt, "w": wrapped, "t": tenant_id},
    )


def ensure_demo_custodian(
    session_factory_or_engine, tenant_id: uuid.UUID, passphrase: str | None = None
) -> dict | None:
    """Create the tenant's custodian key if it has none (whistleblowing database), with a random
    passphrase unless one is given. Returns {"passphrase", "recovery_secret"} (show once), or
    None when the tenant already has a custodian key."""
    factory = session_factory_or_engine
    if isinstance(factory, Engine):
        factory = session_factory(factory)
    with tenant_session(factory, tenant_id) as session, session.begin():
        if has_custodian(session, tenant_id):
            return None
        passphrase = passphrase or secrets.token_urlsafe(18)
        recovery = create_custodian_keys(session, tenant_id, passphrase)
    return {"passphrase": passphrase, "recovery_secret": recovery}
