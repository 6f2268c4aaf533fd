"""Reporter identity sealing: HPKE (RFC 9180) to the tenant's identity custodian.

Suite: ML-KEM-768 + X25519 hybrid KEM, HKDF-SHA256, AES-256-GCM (post-quantum by default).
The tenant id and report id are bound in as HPKE `info`, so a sealed identity moved to another
report or tenant does not open. The custodian's private key is stored only wrapped:
- under a key derived from the custodian's passphrase with Argon2id, and
- sealed to an offline recovery key (an X25519 HPKE key the city keeps on paper or in a safe),
so the service process cannot open an identity without the passphrase in that request, and a
lost passphrase does not lose every identity.

The key belongs to the custodian: they create it on their own page, typing their own
passphrase (never chosen or shown by Replika or an operator), see the recovery secret once,
and change or recover the passphrase there. A passphrase change never rewrites the key row:
it appends a new wrap (`custodian_passphrase_wraps`; the newest wins), and the application
database role may only SELECT and INSERT both tables (migration w006), so nobody with the
application's database access alone can swap the key. The public key is authenticated: an
HMAC under the tenant's hash key (shared/crypto.py, wrapped by the master key, which the
database never holds) over the tenant id and the key; sealing refuses a key without a valid
one. Wrong passphrases and recovery secrets are throttled in the `login_throttle` table,
counted in a transaction of their own so the refusal's rollback does not undo the count.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
import uuid
from datetime import timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Uuid, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from shared import crypto, login_throttle
from shared.bounded_cache import BoundedCache
from shared.change_feed import feed_for
from shared.db import session_factory, tenant_session

SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
RECOVERY_SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
# Argon2id parameters for the passphrase (RFC 9106 second recommendation: 64 MiB, 3 passes).
ARGON2: dict[str, int] = {"length": 32, "iterations": 3, "lanes": 4, "memory_cost": 64 * 1024}
MIN_PASSPHRASE = 12
# Wrong passphrases per custodian (and per tenant, summed over its custodians): a few free,
# then a lock that doubles up to an hour.
PER_CUSTODIAN = login_throttle.Policy(
    5, timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
)
PER_TENANT = login_throttle.Policy(20, timedelta(minutes=1), timedelta(hours=1), timedelta(days=1))
MAC_PURPOSE = "custodian-public-key"


class NoCustodian(RuntimeError):
    """The tenant has no identity custodian key yet (the custodian creates it on their page)."""


class UnauthenticatedCustodianKey(NoCustodian):
    """The stored public key carries no valid authentication: it was not made here (written
    to the database by someone else). Nothing is sealed to it."""


class CustodianExists(Exception):
    """The tenant already has a custodian key."""


class WrongPassphrase(Exception):
    pass


class WrongRecoverySecret(Exception):
    pass


class PassphraseThrottled(Exception):
    """Too many wrong passphrases (or recovery secrets): try again in `retry_after` s."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


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
    a = ARGON2
    return Argon2id(
        salt=salt,
        length=a["length"],
        iterations=a["iterations"],
        lanes=a["lanes"],
        memory_cost=a["memory_cost"],
    ).derive(passphrase.encode())


def _wrap_with_passphrase(
    tenant_id: uuid.UUID, private_raw: bytes, passphrase: str
) -> tuple[bytes, bytes]:
    salt = os.urandom(16)
    nonce = os.urandom(12)
    wrapped = nonce + AESGCM(_passphrase_key(passphrase, salt)).encrypt(
        nonce, private_raw, f"custodian|{tenant_id}".encode()
    )
    return salt, wrapped


def _mac(session: Session, tenant_id: uuid.UUID, public_raw: bytes) -> str:
    return crypto.keyed_hash(session, tenant_id, MAC_PURPOSE, f"{tenant_id}|".encode() + public_raw)


def fingerprint(public_raw: bytes) -> str:
    """The public key's SHA-256, grouped for reading aloud or comparing on paper."""
    digest = hashlib.sha256(public_raw).hexdigest()[:32].upper()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def grouped(recovery_secret: str) -> str:
    """The recovery secret as written on paper: RK- then groups of four characters."""
    body = recovery_secret.removeprefix("RK-")
    return "RK- " + " ".join(body[i : i + 4] for i in range(0, len(body), 4))


def create_custodian_keys(session: Session, tenant_id: uuid.UUID, passphrase: str) -> str:
    """Create the tenant's custodian key pair; returns the offline recovery secret (show once)."""
    if len(passphrase) < MIN_PASSPHRASE:
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
            "insert into custodian_keys (tenant_id, public_key, public_key_mac, passphrase_salt,"
            " wrapped_by_passphrase, wrapped_by_recovery) values (:t, :p, :m, :s, :wp, :wr)"
        ),
        {
            "t": tenant_id,
            "p": public_raw,
            "m": _mac(session, tenant_id, public_raw),
            "s": salt,
            "wp": by_passphrase,
            "wr": by_recovery,
        },
    )
    raw = recovery.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
    return "RK-" + base64.b32encode(raw).decode().rstrip("=")


def _custodian_row(session: Session, tenant_id: uuid.UUID):
    """The key row, with the newest passphrase wrap in place of the first one."""
    row = session.execute(
        text(
            "select k.public_key, k.public_key_mac, k.wrapped_by_recovery, k.created_at, "
            "coalesce(w.passphrase_salt, k.passphrase_salt) as passphrase_salt, "
            "coalesce(w.wrapped_by_passphrase, k.wrapped_by_passphrase) "
            "as wrapped_by_passphrase, coalesce(w.version, 0) as version "
            "from custodian_keys k left join lateral (select * from custodian_passphrase_wraps "
            "w where w.tenant_id = k.tenant_id order by w.version desc limit 1) w on true "
            "where k.tenant_id = :t"
        ),
        {"t": tenant_id},
    ).first()
    if row is None:
        raise NoCustodian("this tenant has no identity custodian key")
    return row


# Authenticated public keys, per database and tenant (a confidential report then seals without
# reading the key), until the database says a key row changed (shared/change_feed.py; a few
# seconds while this process does not hear it). Only a key whose authentication checked out is
# kept; the app role cannot rewrite the key row (operators can: it is read again then).
PUBLIC_KEY_CACHE_SECONDS = 10.0
PUBLIC_KEY_CACHE_SIZE = 2048  # entries (database, tenant): bounded, 514 cities fit
_public_keys: BoundedCache[tuple[str, uuid.UUID], tuple[float, int, bytes]] = BoundedCache(
    PUBLIC_KEY_CACHE_SIZE
)


def forget_public_keys() -> None:
    _public_keys.clear()


def authenticated_public_key(session: Session, tenant_id: uuid.UUID) -> bytes:
    """The custodian's public key, only if its authentication checks out."""
    cache_key = (crypto._database_of(session), tenant_id)
    feed = feed_for(session.get_bind().engine)
    hit = _public_keys.get(cache_key)
    if hit and feed.fresh(hit[0], hit[1], PUBLIC_KEY_CACHE_SECONDS):
        return hit[2]
    loaded, stamp = time.monotonic(), feed.stamp()
    row = _custodian_row(session, tenant_id)
    if not row.public_key_mac or not crypto.hashes_equal(
        row.public_key_mac, _mac(session, tenant_id, row.public_key)
    ):
        _public_keys.pop(cache_key, None)
        raise UnauthenticatedCustodianKey("the custodian key was not made by this deployment")
    _public_keys[cache_key] = (loaded, stamp, row.public_key)
    return row.public_key


def custodian_status(session: Session, tenant_id: uuid.UUID) -> dict | None:
    """What the custodian's page shows: fingerprint, when made, passphrase changes, and
    whether the key is authenticated. None without a key."""
    try:
        row = _custodian_row(session, tenant_id)
    except NoCustodian:
        return None
    try:
        authenticated_public_key(session, tenant_id)
        ok = True
    except UnauthenticatedCustodianKey:
        ok = False
    return {
        "fingerprint": fingerprint(row.public_key),
        "created_at": row.created_at,
        "passphrase_changes": row.version,
        "authenticated": ok,
    }


def has_custodian(session: Session, tenant_id: uuid.UUID) -> bool:
    return (
        session.execute(
            text("select 1 from custodian_keys where tenant_id = :t"), {"t": tenant_id}
        ).first()
        is not None
    )


def seal_identity(session: Session, tenant_id: uuid.UUID, report_id: Any, identity: dict) -> bytes:
    public_raw = authenticated_public_key(session, tenant_id)
    plaintext = json.dumps(identity, ensure_ascii=False, sort_keys=True).encode()
    return SUITE.encrypt(plaintext, _public_key(public_raw), info=_info(tenant_id, report_id))


# -- throttling wrong passphrases (the login_throttle table of the whistleblowing database) ----

_THROTTLE = Table(
    "login_throttle",
    MetaData(),
    Column("tenant_id", Uuid),
    Column("key", String(64), primary_key=True),
    Column("failures", Integer),
    Column("last_failure_at", DateTime(timezone=True)),
    Column("locked_until", DateTime(timezone=True)),
)


class _Throttle:
    """The table in the shape shared/login_throttle.py reads (a model's attributes)."""

    __table__ = _THROTTLE
    key = _THROTTLE.c.key
    locked_until = _THROTTLE.c.locked_until


def _throttle_keys(tenant_id: uuid.UUID, who: str) -> list[tuple[str, login_throttle.Policy]]:
    def key(kind: str) -> str:
        return hashlib.sha256(f"{tenant_id}:custodian-passphrase:{kind}".encode()).hexdigest()

    return [(key(f"custodian:{who}"), PER_CUSTODIAN), (key("tenant"), PER_TENANT)]


def _guard(session: Session, tenant_id: uuid.UUID, who: str) -> None:
    keys = [k for k, _ in _throttle_keys(tenant_id, who)]
    wait = login_throttle.retry_after(session, _Throttle, keys)
    if wait:
        raise PassphraseThrottled(wait)


def _failed(session: Session, tenant_id: uuid.UUID, who: str) -> None:
    """Count a wrong guess in a transaction of its own: the caller's is rolled back."""
    bind = session.get_bind()
    with Session(bind.engine) as other, other.begin():
        other.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})
        login_throttle.count(other, _Throttle, tenant_id, _throttle_keys(tenant_id, who))


def _succeeded(session: Session, tenant_id: uuid.UUID, who: str) -> None:
    key = _throttle_keys(tenant_id, who)[0][0]
    session.execute(_THROTTLE.delete().where(_THROTTLE.c.key == key))


def _unlock(
    session: Session, row, tenant_id: uuid.UUID, passphrase: str, who: str = "custodian"
) -> bytes:
    _guard(session, tenant_id, who)
    blob = row.wrapped_by_passphrase
    try:
        private_raw = AESGCM(_passphrase_key(passphrase, row.passphrase_salt)).decrypt(
            blob[:12], blob[12:], f"custodian|{tenant_id}".encode()
        )
    except InvalidTag:
        _failed(session, tenant_id, who)
        raise WrongPassphrase() from None
    _succeeded(session, tenant_id, who)
    return private_raw


def check_passphrase(
    session: Session, tenant_id: uuid.UUID, passphrase: str, *, who: str = "custodian"
) -> None:
    _unlock(session, _custodian_row(session, tenant_id), tenant_id, passphrase, who)


def open_identity(
    session: Session,
    tenant_id: uuid.UUID,
    report_id: Any,
    sealed: bytes,
    passphrase: str,
    *,
    who: str = "custodian",
) -> dict:
    """Open a sealed identity with the custodian's passphrase; `who` (the custodian's
    official id) names the throttle counter of wrong passphrases."""
    row = _custodian_row(session, tenant_id)
    private_raw = _unlock(session, row, tenant_id, passphrase, who)
    try:
        plaintext = SUITE.decrypt(
            sealed, _private_key(private_raw), info=_info(tenant_id, report_id)
        )
    except Exception:  # wrong context or altered ciphertext: never say more
        raise IdentityDoesNotOpen() from None
    return json.loads(plaintext)


def change_custodian_passphrase(
    session: Session, tenant_id: uuid.UUID, old: str, new: str, *, who: str = "custodian"
) -> None:
    if len(new) < MIN_PASSPHRASE:  # before the old one is tried (and maybe counted)
        raise ValueError("the custodian passphrase must have at least 12 characters")
    row = _custodian_row(session, tenant_id)
    _store_passphrase_wrap(session, tenant_id, _unlock(session, row, tenant_id, old, who), new, who)


def _recovery_key(recovery_secret: str) -> x25519.X25519PrivateKey:
    """The recovery key from the secret as the custodian types it (grouped or not)."""
    b32 = "".join(recovery_secret.split()).upper().replace("-", "")
    b32 = b32.removeprefix("RK")
    raw = base64.b32decode(b32 + "=" * (-len(b32) % 8))
    return x25519.X25519PrivateKey.from_private_bytes(raw)


def recover_custodian(
    session: Session,
    tenant_id: uuid.UUID,
    recovery_secret: str,
    new_passphrase: str,
    *,
    who: str = "custodian",
) -> None:
    """Re-wrap the custodian key under a new passphrase using the offline recovery secret."""
    if len(new_passphrase) < MIN_PASSPHRASE:
        raise ValueError("the custodian passphrase must have at least 12 characters")
    row = _custodian_row(session, tenant_id)
    _guard(session, tenant_id, who)
    try:
        private_raw = RECOVERY_SUITE.decrypt(
            row.wrapped_by_recovery,
            _recovery_key(recovery_secret),
            info=f"custodian-recovery|{tenant_id}".encode(),
        )
    except Exception:
        _failed(session, tenant_id, who)
        raise WrongRecoverySecret() from None
    _succeeded(session, tenant_id, who)
    _store_passphrase_wrap(session, tenant_id, private_raw, new_passphrase, who)


def _store_passphrase_wrap(
    session: Session, tenant_id: uuid.UUID, private_raw: bytes, passphrase: str, who: str
) -> None:
    """A new wrap, appended (the key row itself is never rewritten)."""
    if len(passphrase) < MIN_PASSPHRASE:
        raise ValueError("the custodian passphrase must have at least 12 characters")
    salt, wrapped = _wrap_with_passphrase(tenant_id, private_raw, passphrase)
    session.execute(
        text(
            "insert into custodian_passphrase_wraps (tenant_id, version, passphrase_salt, "
            "wrapped_by_passphrase, created_by) select :t, coalesce(max(version), 0) + 1, :s, "
            ":w, :b from custodian_passphrase_wraps where tenant_id = :t"
        ),
        {"s": salt, "w": wrapped, "t": tenant_id, "b": who[:64]},
    )


def create_own_custodian_key(
    session: Session, tenant_id: uuid.UUID, passphrase: str, confirm: str
) -> str:
    """The custodian's own flow: their passphrase, typed twice; returns the recovery secret
    (show it once, grouped). CustodianExists when the tenant has a key."""
    if passphrase != confirm:
        raise ValueError("the two passphrases differ")
    # one creation at a time per tenant (the primary key refuses a second one anyway)
    session.execute(
        text("select pg_advisory_xact_lock(hashtextextended(:k, 0))"),
        {"k": f"custodian-key:{tenant_id}"},
    )
    if has_custodian(session, tenant_id):
        raise CustodianExists()
    return create_custodian_keys(session, tenant_id, passphrase)


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
