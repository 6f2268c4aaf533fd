"""OpenAPI 3.1 description of the auditor API (services/audit/api.py), served at
/openapi.json of the audit service. Auditors sign in at a service; its token is valid here."""

from __future__ import annotations

from functools import lru_cache

from shared import openapi
from shared.openapi import OFFICIAL, Schema
from shared.request_schemas import NO_CONTROLS, stripped_at_least

STRING: Schema = {"type": "string"}
ENTRY: Schema = {
    "type": "object",
    "required": ["seq", "event_id", "type", "subject", "time", "digest", "prev_hash", "hash"],
    "properties": {
        "seq": {"type": "integer"},
        "event_id": STRING,
        "type": STRING,
        "subject": STRING,
        "time": STRING,
        "actor": {"type": ["string", "null"]},
        "digest": STRING,
        "prev_hash": STRING,
        "hash": STRING,
        "data": {"type": ["object", "null"]},
        "recorded_at": STRING,
    },
}
CHECKPOINT: Schema = {
    "type": "object",
    "required": ["seq", "head_hash", "time", "key_id", "signature"],
    "properties": {
        "seq": {"type": "integer"},
        "head_hash": STRING,
        "time": STRING,
        "key_id": {"type": "string", "format": "uuid"},
        "signature": {"type": "string", "description": "base64 Ed25519 signature"},
    },
}


@lru_cache(maxsize=1)
def document() -> Schema:
    p = "/t/{tenant}/api/v1/audit"
    paths = {
        p: {
            "get": openapi.operation(
                "One subject's ledger entries in order, with their hashes (auditor)",
                security=OFFICIAL,
                params=[
                    {
                        "name": "subject",
                        "in": "query",
                        "required": True,
                        # as the server reads it: no control characters, something
                        # besides white space (PostgreSQL cannot store a NUL to compare)
                        "schema": {
                            "type": "string",
                            "minLength": 1,
                            "pattern": stripped_at_least(NO_CONTROLS, 1),
                        },
                        "description": "the aggregate, e.g. a case or application id",
                    }
                ],
                errors=(403, 422),
                ok_schema={
                    "type": "object",
                    "required": ["tenant", "subject", "entries"],
                    "properties": {
                        "tenant": STRING,
                        "subject": STRING,
                        "entries": {"type": "array", "items": ENTRY},
                    },
                },
            )
        },
        f"{p}/checkpoints": {
            "get": openapi.operation(
                "The tenant's signed chain heads (auditor)",
                security=OFFICIAL,
                errors=(403,),
                ok_schema={
                    "type": "object",
                    "required": ["tenant", "tenant_id", "signed_message", "checkpoints"],
                    "properties": {
                        "tenant": STRING,
                        "tenant_id": {"type": "string", "format": "uuid"},
                        "signed_message": STRING,
                        "checkpoints": {"type": "array", "items": CHECKPOINT},
                    },
                },
            )
        },
        f"{p}/public-key": {
            "get": openapi.operation(
                "The Ed25519 key that verifies the checkpoints (public; 404 before the first)",
                ok_schema={
                    "type": "object",
                    "required": ["tenant", "key_id", "algorithm", "public_key", "pem"],
                    "properties": {
                        "tenant": STRING,
                        "key_id": {"type": "string", "format": "uuid"},
                        "algorithm": {"const": "Ed25519"},
                        "public_key": STRING,
                        "pem": STRING,
                    },
                },
                errors=(404,),
            )
        },
    }
    return openapi.document(
        "Replika audit API",
        "The tamper-evident ledger of every service's events, for the city's inspectorate: "
        "read only. Errors are application/problem+json.",
        paths,
        sign_in_here=False,
    )
