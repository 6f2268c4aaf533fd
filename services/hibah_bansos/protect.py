"""The one door to shared crypto for this service: personal fields in, ciphertexts out.

Every ciphertext is bound to (tenant, table, row id, field); blind indexes (HMAC under the
tenant's index key) let us find a NIK or bank account, and refuse duplicates, without
decrypting anything.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.orm import Session


def encrypt_json(
    session: Session, tenant_id: uuid.UUID, table: str, row_id: uuid.UUID, field: str, value: Any
) -> bytes:
    from shared.crypto import encrypt_field

    return encrypt_field(
        session,
        tenant_id,
        table,
        row_id,
        field,
        json.dumps(value, ensure_ascii=False, sort_keys=True).encode(),
    )


def decrypt_json(
    session: Session, tenant_id: uuid.UUID, table: str, row_id: uuid.UUID, field: str, blob: bytes
) -> Any:
    from shared.crypto import decrypt_field

    return json.loads(decrypt_field(session, tenant_id, table, row_id, field, blob))


def encrypt_bytes(session, tenant_id, table, row_id, field, value: bytes) -> bytes:
    from shared.crypto import encrypt_field

    return encrypt_field(session, tenant_id, table, row_id, field, value)


def decrypt_bytes(session, tenant_id, table, row_id, field, blob: bytes) -> bytes:
    from shared.crypto import decrypt_field

    return decrypt_field(session, tenant_id, table, row_id, field, blob)


def blind_index(session: Session, tenant_id: uuid.UUID, kind: str, value: str) -> str:
    from shared.crypto import blind_index as _blind_index

    return _blind_index(session, tenant_id, kind, value)


def keyed_hash(session: Session, tenant_id: uuid.UUID, purpose: str, value: str) -> str:
    from shared.crypto import keyed_hash as _keyed_hash

    return _keyed_hash(session, tenant_id, purpose, value)
