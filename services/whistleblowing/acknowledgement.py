"""Signed acknowledgements: a reporter's proof of filing that reveals nothing about them.

The document names the tenant, the case number, the time of receipt and the SHA-256 of what
was submitted (RFC 8785 canonical JSON of category and content, so the reporter can check it
against their own copy); it is signed with the tenant's Ed25519 key, whose public half anyone
can fetch. No identity, no receipt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from services.whistleblowing import views
from services.whistleblowing.models import Report, SigningKey
from shared.crypto import FieldCipher
from shared.db import utcnow
from shared.tenancy import Tenant

ALGORITHM = "Ed25519"
FORMAT = "replika.whistleblowing.acknowledgement.v1"


def _raw(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def signing_key(session: Session, tenant: Tenant) -> tuple[SigningKey, Ed25519PrivateKey]:
    """The tenant's key, created on first use (a concurrent creator's key wins; both use it)."""
    row = session.execute(select(SigningKey)).scalar_one_or_none()
    if row is None:
        key_id, private = uuid.uuid4(), Ed25519PrivateKey.generate()
        public = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        session.execute(
            insert(SigningKey)
            .values(
                id=key_id,
                tenant_id=tenant.id,
                public_key=public,
                created_at=utcnow(),
                private_key=FieldCipher(session, tenant.id, "wb_signing_keys", key_id).encrypt(
                    "private_key", _raw(private)
                ),
            )
            .on_conflict_do_nothing(index_elements=["tenant_id"])
        )
        row = session.execute(select(SigningKey)).scalar_one()
    raw = FieldCipher(session, tenant.id, "wb_signing_keys", row.id).decrypt(
        "private_key", row.private_key
    )
    return row, Ed25519PrivateKey.from_private_bytes(raw)


def submitted_digest(category: str, content: dict[str, Any]) -> str:
    return hashlib.sha256(rfc8785.dumps({"category": category, **content})).hexdigest()


def issue(
    session: Session,
    tenant: Tenant,
    *,
    case_number: str,
    received_at: str,
    category: str,
    content: dict[str, Any],
) -> dict[str, Any]:
    key, private = signing_key(session, tenant)
    statement = {
        "format": FORMAT,
        "tenant": tenant.slug,
        "authority": tenant.display_name,
        "case_number": case_number,
        "received_at": received_at,
        "submitted_sha256": submitted_digest(category, content),
        "key_id": str(key.id),
        "algorithm": ALGORITHM,
    }
    signature = private.sign(rfc8785.dumps(statement))
    return {**statement, "signature": base64.b64encode(signature).decode()}


def acknowledge(session: Session, tenant: Tenant, report: Report) -> dict[str, Any]:
    """The reporter's acknowledgement of `report` (the tenant's key is made on first use, so
    callers run this in a unit of work)."""
    return issue(
        session,
        tenant,
        case_number=report.case_number,
        received_at=report.received_at.isoformat(),
        category=report.category,
        content=views.content_of(session, tenant, report),
    )


def public_key(session: Session, tenant: Tenant) -> dict[str, str]:
    key, _ = signing_key(session, tenant)
    pem = (
        Ed25519PublicKey.from_public_bytes(key.public_key)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return {"key_id": str(key.id), "algorithm": ALGORITHM, "public_key_pem": pem}


def verify(document: dict[str, Any], public_key_pem: str) -> bool:
    """Anyone's check: the signature covers every other field of the document."""
    statement = {k: v for k, v in document.items() if k != "signature"}
    key = serialization.load_pem_public_key(public_key_pem.encode())
    try:
        key.verify(base64.b64decode(document["signature"]), rfc8785.dumps(statement))
    except (InvalidSignature, KeyError, ValueError):
        return False
    return True


def qr_payload(document: dict[str, Any]) -> str:
    """The document in a QR code: base64url of its canonical JSON (no identity, no receipt)."""
    return base64.urlsafe_b64encode(rfc8785.dumps(document)).rstrip(b"=").decode()


def from_qr_payload(payload: str) -> dict[str, Any] | None:
    """The document a QR payload (or a verification link's `d`) carries, or None."""
    text = payload.strip()
    if "d=" in text:  # a whole verification link was pasted
        text = text.split("d=", 1)[1].split("&", 1)[0]
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return parse_document(raw)
    except ValueError:
        return None


def parse_document(raw: bytes) -> dict[str, Any] | None:
    """An uploaded acknowledgement file, or None when it is not one."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return None
    return doc


def check(session: Session, tenant: Tenant, document: dict[str, Any]) -> bool:
    """Whether `document` is an acknowledgement this tenant signed (its key, its slug). Says
    nothing about the case beyond what the document itself holds."""
    row = session.execute(select(SigningKey)).scalar_one_or_none()
    if row is None or document.get("tenant") != tenant.slug:
        return False
    if document.get("key_id") != str(row.id) or document.get("algorithm") != ALGORITHM:
        return False
    statement = {k: v for k, v in document.items() if k != "signature"}
    try:
        Ed25519PublicKey.from_public_bytes(row.public_key).verify(
            base64.b64decode(str(document.get("signature", "")), validate=True),
            rfc8785.dumps(statement),
        )
    except (InvalidSignature, ValueError, TypeError, rfc8785.CanonicalizationError):
        return False
    return True
