"""Envelope encryption of personal fields, blind indexes and keyed hashes, per tenant.

    master key (keyring, outside the database)
      └─ wraps tenant keys (table `tenant_keys`): purpose "data" (AES-256-GCM),
         "index" (HMAC for blind indexes), "hash" (HMAC for receipts and digests)
           └─ the data key wraps one random key per record (table `record_keys`)
                └─ which encrypts that record's fields, with associated data
                   "tenant|table|row|field" so a ciphertext copied elsewhere fails.

Shredding a record deletes its record key; shredding a tenant destroys its tenant keys.
Every ciphertext starts with the id of the data key that wraps its record key.
Keys live in each service's own database, in the caller's tenant-scoped session (RLS applies).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import time
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, LargeBinary, MetaData, String, Table, Uuid, event, text
from sqlalchemy.orm import Session

from shared.bounded_cache import BoundedCache
from shared.change_feed import feed_for
from shared.keyring import KeyringError, keyring

BLOB_VERSION = b"\x01"
PURPOSES = ("data", "index", "hash")
_NOT_ASCII_DIGIT = re.compile(r"[^0-9]")


class DecryptionError(Exception):
    """A ciphertext could not be opened (wrong place, tampered, or its key was shredded)."""


def _aad(*parts: Any) -> bytes:
    return "|".join(str(p) for p in parts).encode()


# -- tenant keys ------------------------------------------------------------------------------

# Unwrapped tenant keys, per database (each service database has its own tenant keys), until
# the database says a key row changed (shared/change_feed.py): rotation and shredding reach
# running services at once, or within CACHE_SECONDS while a process does not hear it.
# Bounded (shared/bounded_cache.py): 514 cities x every purpose fit, a worker's memory stays flat.
TENANT_KEY_CACHE_SIZE = 4096
_tenant_key_cache: BoundedCache[tuple[str, uuid.UUID, str], tuple[float, int, str, bytes]] = (
    BoundedCache(TENANT_KEY_CACHE_SIZE)
)
CACHE_SECONDS = 30.0
_ACTIVE_KEY_SQL = text(
    "select key_id, purpose, master_key_id, wrapped from tenant_keys "
    "where tenant_id = :t and purpose = :p and active"
)
_ACTIVE_KEYS_SQL = text(
    "select key_id, purpose, master_key_id, wrapped from tenant_keys "
    "where tenant_id = :t and active"
)


class TenantShredded(DecryptionError):
    """The tenant's keys were destroyed (`replika keys shred-tenant`): nothing opens, and no
    new key is made for it."""


def forget_cached_keys() -> None:
    _tenant_key_cache.clear()


def _database_of(session: Session) -> str:
    return feed_for(session.get_bind().engine).database


def _unwrap_tenant_key(tenant_id: uuid.UUID, row) -> bytes:
    return keyring().unwrap(
        row.master_key_id, row.wrapped, _aad("tenant-key", tenant_id, row.purpose, row.key_id)
    )


def _active_tenant_key(session: Session, tenant_id: uuid.UUID, purpose: str) -> tuple[str, bytes]:
    """(key id, key) of the tenant's active key for `purpose`, created on first use."""
    cache_key = (_database_of(session), tenant_id, purpose)
    feed = feed_for(session.get_bind().engine)
    hit = _tenant_key_cache.get(cache_key)
    if hit and feed.fresh(hit[0], hit[1], CACHE_SECONDS):
        return hit[2], hit[3]
    # A miss loads every active key of the tenant in one statement: a request to a tenant not
    # seen for CACHE_SECONDS (most of them, on a deployment of 514 cities) needs several
    # purposes, and one round trip beats one per purpose (docs/benchmarks-profile-514.md).
    found: tuple[str, bytes] | None = None
    loaded, stamp = time.monotonic(), feed.stamp()
    for each in session.execute(_ACTIVE_KEYS_SQL, {"t": tenant_id}):
        key = _unwrap_tenant_key(tenant_id, each)
        _tenant_key_cache[(cache_key[0], tenant_id, each.purpose)] = (
            loaded,
            stamp,
            each.key_id,
            key,
        )
        if each.purpose == purpose:
            found = (each.key_id, key)
    if found is not None:
        return found
    # None yet for this purpose: created and committed on a connection of its own (a key that
    # lived only in the caller's transaction could be rolled back after data was encrypted or
    # hashed under it).
    with session.get_bind().engine.begin() as conn:
        conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})
        create_tenant_key(conn, tenant_id, purpose)
        row = conn.execute(_ACTIVE_KEY_SQL, {"t": tenant_id, "p": purpose}).one()
    key = _unwrap_tenant_key(tenant_id, row)
    _tenant_key_cache[cache_key] = (loaded, stamp, row.key_id, key)
    return row.key_id, key


def create_tenant_key(conn, tenant_id: uuid.UUID, purpose: str, replace: bool = False) -> str:
    """A new tenant key for `purpose` on `conn` (a session or connection scoped to the tenant);
    race-safe: one active key per tenant and purpose, a concurrent insert wins quietly."""
    assert purpose in PURPOSES
    if conn.execute(
        text("select 1 from tenant_keys where tenant_id = :t and wrapped is null limit 1"),
        {"t": tenant_id},
    ).first():
        raise TenantShredded("the tenant's keys were destroyed")
    ring = keyring()
    master_id = ring.current_key_id()
    key_id = f"{purpose[0]}k-{uuid.uuid4().hex[:16]}"
    wrapped = ring.wrap(
        master_id, AESGCM.generate_key(256), _aad("tenant-key", tenant_id, purpose, key_id)
    )
    if replace:
        conn.execute(
            text(
                "update tenant_keys set active = false "
                "where tenant_id = :t and purpose = :p and active"
            ),
            {"t": tenant_id, "p": purpose},
        )
    conn.execute(
        text(
            "insert into tenant_keys (tenant_id, key_id, purpose, master_key_id, wrapped, active) "
            "values (:t, :k, :p, :m, :w, true) "
            "on conflict (tenant_id, purpose) where active do nothing"
        ),
        {"t": tenant_id, "k": key_id, "p": purpose, "m": master_id, "w": wrapped},
    )
    return key_id


def _tenant_key_by_id(session: Session, tenant_id: uuid.UUID, key_id: str) -> bytes:
    row = session.execute(
        text(
            "select key_id, purpose, master_key_id, wrapped from tenant_keys "
            "where tenant_id = :t and key_id = :k"
        ),
        {"t": tenant_id, "k": key_id},
    ).first()
    if row is None or row.wrapped is None:
        raise DecryptionError("key not available")
    return _unwrap_tenant_key(tenant_id, row)


# -- record keys and fields -------------------------------------------------------------------


# The columns written for a new record's key (each service's `record_keys`, migration k001).
RECORD_KEYS = Table(
    "record_keys",
    MetaData(),
    Column("tenant_id", Uuid, primary_key=True),
    Column("table_name", String(63), primary_key=True),
    Column("row_id", String(64), primary_key=True),
    Column("data_key_id", String(40)),
    Column("wrapped", LargeBinary),
)
_NEW_KEYS = "replika_new_record_keys"


@event.listens_for(Session, "after_soft_rollback")
def _forget_record_keys(session: Session, previous_transaction) -> None:
    # a record key created in a rolled-back transaction is gone: never encrypt under it again
    session.info.pop("replika_record_keys", None)
    session.info.pop(_NEW_KEYS, None)


def take_new_record_keys(session: Session) -> list[dict[str, Any]]:
    """The keys of new records made in this transaction and not written yet (rows for
    RECORD_KEYS); the caller writes them in the same transaction (shared/uow.py does, in its
    one write statement). Taken: a second call returns only keys made since."""
    return session.info.pop(_NEW_KEYS, [])


def has_new_record_keys(session: Session) -> bool:
    return bool(session.info.get(_NEW_KEYS))


@event.listens_for(Session, "before_commit")
def _write_new_record_keys(session: Session) -> None:
    # whoever did not write them (a session used without a unit of work): before the commit,
    # so a ciphertext never outlives its key. A plain insert: a conflict is an error here.
    rows = take_new_record_keys(session)
    if rows:
        session.execute(RECORD_KEYS.insert(), rows)


def _record_key(
    session: Session, tenant_id: uuid.UUID, table: str, row_id: str, create: bool | str
) -> tuple[str, bytes]:
    cache = session.info.setdefault("replika_record_keys", {})
    ck = (tenant_id, table, row_id)
    if ck in cache:
        return cache[ck]
    if create == "new":
        # a row this transaction makes (a fresh random id): no key can exist yet, so none is
        # looked for; the key is written with the transaction's other rows, and a key that
        # did exist makes that insert fail (never a second key for one record)
        data_key_id, data_key = _active_tenant_key(session, tenant_id, "data")
        record_key = AESGCM.generate_key(256)
        nonce = os.urandom(12)
        wrapped = nonce + AESGCM(data_key).encrypt(
            nonce, record_key, _aad("record-key", tenant_id, table, row_id)
        )
        session.info.setdefault(_NEW_KEYS, []).append(
            {
                "tenant_id": tenant_id,
                "table_name": table,
                "row_id": row_id,
                "data_key_id": data_key_id,
                "wrapped": wrapped,
            }
        )
        cache[ck] = (data_key_id, record_key)
        return cache[ck]
    if create:
        # Writes are mostly of new records: try the insert first (one round trip); an
        # existing key (an older record, or a concurrent transaction's) is then read below.
        data_key_id, data_key = _active_tenant_key(session, tenant_id, "data")
        record_key = AESGCM.generate_key(256)
        nonce = os.urandom(12)
        wrapped = nonce + AESGCM(data_key).encrypt(
            nonce, record_key, _aad("record-key", tenant_id, table, row_id)
        )
        inserted = session.execute(
            text(
                "insert into record_keys (tenant_id, table_name, row_id, data_key_id, wrapped) "
                "values (:t, :tb, :r, :k, :w) on conflict do nothing returning row_id"
            ),
            {"t": tenant_id, "tb": table, "r": row_id, "k": data_key_id, "w": wrapped},
        ).first()
        if inserted is not None:
            cache[ck] = (data_key_id, record_key)
            return cache[ck]
    row = session.execute(
        text(
            "select data_key_id, wrapped from record_keys "
            "where tenant_id = :t and table_name = :tb and row_id = :r"
        ),
        {"t": tenant_id, "tb": table, "r": row_id},
    ).first()
    if row is None:
        raise DecryptionError("record key not available")
    try:
        data_key = _tenant_key_by_id(session, tenant_id, row.data_key_id)
        record_key = AESGCM(data_key).decrypt(
            row.wrapped[:12], row.wrapped[12:], _aad("record-key", tenant_id, table, row_id)
        )
    except InvalidTag:
        raise DecryptionError("record key does not open") from None
    cache[ck] = (row.data_key_id, record_key)
    return cache[ck]


def encrypt_field(
    session: Session,
    tenant_id: uuid.UUID,
    table: str,
    row_id: Any,
    field: str,
    value: bytes | str,
    *,
    new_row: bool = False,
) -> bytes:
    """AES-256-GCM of one field of one record, bound to (tenant, table, row id, field).
    `new_row`: the record is being made in this transaction (its key is written at commit)."""
    plaintext = value.encode() if isinstance(value, str) else value
    row_id = str(row_id)
    key_id, key = _record_key(session, tenant_id, table, row_id, create="new" if new_row else True)
    nonce = os.urandom(12)
    kid = key_id.encode()
    return (
        BLOB_VERSION
        + bytes([len(kid)])
        + kid
        + nonce
        + AESGCM(key).encrypt(nonce, plaintext, _aad(tenant_id, table, row_id, field))
    )


def decrypt_field(
    session: Session, tenant_id: uuid.UUID, table: str, row_id: Any, field: str, blob: bytes
) -> bytes:
    row_id = str(row_id)
    try:
        if blob[:1] != BLOB_VERSION:
            raise DecryptionError("unknown ciphertext format")
        n = blob[1]
        body = blob[2 + n :]
        _, key = _record_key(session, tenant_id, table, row_id, create=False)
        return AESGCM(key).decrypt(body[:12], body[12:], _aad(tenant_id, table, row_id, field))
    except (InvalidTag, IndexError, ValueError):
        raise DecryptionError("ciphertext does not open here") from None
    except KeyringError as exc:  # its master key is gone from the keyring
        raise DecryptionError("master key not available") from exc


def ciphertext_key_id(blob: bytes) -> str:
    """The id of the data key behind a ciphertext (for rotation checks and audits)."""
    return blob[2 : 2 + blob[1]].decode()


def shred_record(session: Session, tenant_id: uuid.UUID, table: str, row_id: Any) -> None:
    """Crypto-shredding: the record's fields can never be decrypted again."""
    row_id = str(row_id)
    session.execute(
        text("delete from record_keys where tenant_id = :t and table_name = :tb and row_id = :r"),
        {"t": tenant_id, "tb": table, "r": row_id},
    )
    session.info.get("replika_record_keys", {}).pop((tenant_id, table, row_id), None)
    pending = session.info.get(_NEW_KEYS)
    if pending:  # a key made in this transaction and not written yet is never written
        session.info[_NEW_KEYS] = [
            k
            for k in pending
            if (k["tenant_id"], k["table_name"], k["row_id"]) != (tenant_id, table, row_id)
        ]


@dataclass(frozen=True)
class FieldCipher:
    """The fields of one record: every ciphertext is bound to (tenant, table, row, field), so
    a cipher is made for one row and names only the field."""

    session: Session
    tenant_id: uuid.UUID
    table: str
    row_id: Any
    new_row: bool = False  # a record this transaction makes: its key is written at commit

    def encrypt(self, field: str, value: bytes | str) -> bytes:
        return encrypt_field(
            self.session,
            self.tenant_id,
            self.table,
            self.row_id,
            field,
            value,
            new_row=self.new_row,
        )

    def decrypt(self, field: str, blob: bytes) -> bytes:
        return decrypt_field(self.session, self.tenant_id, self.table, self.row_id, field, blob)

    def decrypt_text(self, field: str, blob: bytes) -> str:
        return self.decrypt(field, blob).decode()

    def encrypt_json(self, field: str, value: Any) -> bytes:
        return self.encrypt(field, json.dumps(value, ensure_ascii=False, sort_keys=True))

    def decrypt_json(self, field: str, blob: bytes) -> Any:
        return json.loads(self.decrypt(field, blob))

    def shred(self) -> None:
        """Crypto-shredding: the record's key is destroyed, so its ciphertexts (also in
        backups) can never be opened again."""
        shred_record(self.session, self.tenant_id, self.table, self.row_id)


# -- blind indexes and keyed hashes -------------------------------------------------------------


DIGIT_KINDS = ("nik", "kk", "bank_account", "npwp")


def normalise(kind: str, value: str) -> str:
    """The one form of `value` a blind index is taken over: NFKC first (fullwidth digits are
    ASCII digits), then numbers keep their ASCII digits 0-9 only (`\\d` would keep
    Arabic-Indic and other scripts' digits, a second index for the same number)."""
    value = unicodedata.normalize("NFKC", value).strip()
    if kind in DIGIT_KINDS:
        return _NOT_ASCII_DIGIT.sub("", value)
    if kind == "phone":
        digits = _NOT_ASCII_DIGIT.sub("", value)
        if digits.startswith("0"):
            digits = "62" + digits[1:]
        elif digits.startswith("8"):
            digits = "62" + digits
        return "+" + digits
    if kind == "email":
        return value.lower()
    return value


def blind_index(session: Session, tenant_id: uuid.UUID, kind: str, value: str) -> str:
    """HMAC-SHA256 of the normalised value under the tenant's index key: equality look-ups
    and duplicate checks without decrypting."""
    _, key = _active_tenant_key(session, tenant_id, "index")
    msg = f"{kind}:{normalise(kind, value)}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def keyed_hash(session: Session, tenant_id: uuid.UUID, purpose: str, value: bytes | str) -> str:
    _, key = _active_tenant_key(session, tenant_id, "hash")
    data = value.encode() if isinstance(value, str) else value
    return hmac.new(key, purpose.encode() + b"\x00" + data, hashlib.sha256).hexdigest()


def hashes_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def random_token(nbytes: int = 16) -> str:
    return secrets.token_urlsafe(nbytes)
