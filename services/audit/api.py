"""The auditor API (read only, `auditor` role):

- `GET /t/<tenant>/api/v1/audit?subject=ID`       one case's entries in order, with hashes
- `GET /t/<tenant>/api/v1/audit/checkpoints`      the tenant's signed chain heads
- `GET /t/<tenant>/api/v1/audit/public-key`       the key that verifies them (public)
- `GET /openapi.json`                             this API's OpenAPI document

Auditors sign in at a service (the token names the tenant and is valid on every service).
"""

from __future__ import annotations

import base64

from flask import Blueprint, g, jsonify, request

from services.audit import chain, keys, ledger, openapi
from services.audit.models import LedgerEntryRow
from shared.auth import require_roles
from shared.openapi import served
from shared.plain_text import control_character, describe
from shared.problem import not_found, validation_error
from shared.web import db

bp = Blueprint("audit", __name__)
API = "/t/<tenant>/api/v1/audit"


def _entry_json(row: LedgerEntryRow) -> dict:
    return {
        "seq": row.seq,
        "event_id": row.event_id,
        "type": row.type,
        "subject": row.subject,
        "time": row.time.isoformat(),
        "actor": row.actor,
        "digest": row.digest,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
        "data": row.event.get("data"),
        "recorded_at": row.recorded_at.isoformat(),
    }


@bp.get("/openapi.json")
def openapi_document():
    return served(openapi.document())


@bp.get(API)
@require_roles("auditor")
def case_entries():
    subject = request.args.get("subject", "")
    ch = control_character(subject)
    if ch is not None:  # before stripping: the document refuses them anywhere in the value
        reason = f"holds the control character {describe(ch)}; remove it"
        raise validation_error([{"field": "subject", "reason": reason}])
    subject = subject.strip()
    if not subject:
        raise validation_error([{"field": "subject", "reason": "required"}])
    rows = ledger.subject_entries(db(), g.tenant.id, subject)
    return jsonify(tenant=g.tenant.slug, subject=subject, entries=[_entry_json(r) for r in rows])


@bp.get(f"{API}/checkpoints")
@require_roles("auditor")
def checkpoints():
    rows = ledger.checkpoint_rows(db(), g.tenant.id)
    return jsonify(
        tenant=g.tenant.slug,
        tenant_id=str(g.tenant.id),
        signed_message=(
            "Ed25519 over the RFC 8785 JSON of {purpose: "
            "'replika.audit.checkpoint.v1', tenant_id, seq, head_hash, time}"
        ),
        checkpoints=[
            {
                "seq": r.seq,
                "head_hash": r.head_hash,
                "time": chain.normalize_time(r.time),
                "key_id": str(r.key_id),
                "signature": base64.b64encode(r.signature).decode(),
            }
            for r in rows
        ],
    )


@bp.get(f"{API}/public-key")
def public_key():
    found = keys.public_key(db(), g.tenant.id)
    if found is None:
        raise not_found("audit key (no checkpoint signed yet)")
    key_id, raw = found
    return jsonify(
        tenant=g.tenant.slug,
        key_id=str(key_id),
        algorithm="Ed25519",
        public_key=base64.b64encode(raw).decode(),
        pem=keys.public_pem(raw),
    )
