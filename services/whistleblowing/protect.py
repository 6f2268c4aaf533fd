"""The one door to shared crypto for this service: field encryption, keyed hashes, sealing.

Every ciphertext is bound to (tenant, table, row id, field), so callers name all four; values
go in and come out as `str` or JSON here, as `bytes` below.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.orm import Session


def encrypt_text(
    session: Session, tenant_id: uuid.UUID, table: str, row_id: uuid.UUID, field: str, value: str
) -> bytes:
    from shared.crypto import encrypt_field

    return encrypt_field(session, tenant_id, table, row_id, field, value.encode())


def decrypt_text(
    session: Session, tenant_id: uuid.UUID, table: str, row_id: uuid.UUID, field: str, blob: bytes
) -> str:
    from shared.crypto import decrypt_field

    return decrypt_field(session, tenant_id, table, row_id, field, blob).decode()


def encrypt_json(session, tenant_id, table, row_id, field, value: Any) -> bytes:
    return encrypt_text(
        session,
        tenant_id,
        table,
        row_id,
        field,
        json.dumps(value, ensure_ascii=False, sort_keys=True),
    )


def decrypt_json(session, tenant_id, table, row_id, field, blob: bytes) -> Any:
    return json.loads(decrypt_text(session, tenant_id, table, row_id, field, blob))


def encrypt_bytes(session, tenant_id, table, row_id, field, value: bytes) -> bytes:
    from shared.crypto import encrypt_field

    return encrypt_field(session, tenant_id, table, row_id, field, value)


def decrypt_bytes(session, tenant_id, table, row_id, field, blob: bytes) -> bytes:
    from shared.crypto import decrypt_field

    return decrypt_field(session, tenant_id, table, row_id, field, blob)


def keyed_hash(session: Session, tenant_id: uuid.UUID, purpose: str, value: str) -> str:
    from shared.crypto import keyed_hash as _keyed_hash

    return _keyed_hash(session, tenant_id, purpose, value)


def digest(session: Session, tenant_id: uuid.UUID, value: Any) -> str:
    """A keyed digest for events and acknowledgements: proves what was submitted without
    letting anyone confirm a guessed text (a plain SHA-256 of a short text could be guessed)."""
    text = (
        value
        if isinstance(value, str)
        else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    )
    return keyed_hash(session, tenant_id, "wb-digest", text)


def seal_identity(
    session: Session, tenant_id: uuid.UUID, report_id: uuid.UUID, identity: dict
) -> bytes:
    from shared.identity import seal_identity as _seal

    return _seal(session, tenant_id, report_id, identity)


def open_identity(
    session: Session, tenant_id: uuid.UUID, report_id: uuid.UUID, sealed: bytes, passphrase: str
) -> dict:
    from shared.identity import open_identity as _open

    return _open(session, tenant_id, report_id, sealed, passphrase)


def shred(session: Session, tenant_id: uuid.UUID, table: str, row_id: uuid.UUID) -> None:
    """Crypto-shredding: the record's key is destroyed, so its ciphertexts (also in backups)
    can never be opened again."""
    from shared.crypto import shred_record

    shred_record(session, tenant_id, table, row_id)


def identity_errors() -> dict[str, tuple[type[Exception], ...]]:
    """The shared.identity exceptions, by what the caller should answer."""
    from shared import identity

    return {
        "no_custodian": (identity.NoCustodian,),
        "wrong_passphrase": (identity.WrongPassphrase,),
        "does_not_open": (identity.IdentityDoesNotOpen,),
    }
