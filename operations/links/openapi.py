"""The OpenAPI paths of agreements between cities (operations/links/web.py), added to the
whistleblowing app's `/openapi.json` by operations/apps.py."""

from __future__ import annotations

from shared.agreements import SCOPES
from shared.openapi import OFFICIAL, UUID, Schema, operation

P = "/t/{tenant}/api/v1/links"
ADMIN = "tenant_admin"
AGREEMENT_ID: Schema = {"name": "agreement_id", "in": "path", "required": True, "schema": UUID}
PROPOSAL: Schema = {
    "type": "object",
    "required": ["partner", "scopes"],
    "additionalProperties": False,
    "properties": {
        "partner": {"type": "string", "pattern": "^[a-z][a-z0-9-]{1,62}$"},
        "scopes": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"enum": list(SCOPES)},
        },
    },
}
DECISION: Schema = {
    "type": "object",
    "required": ["accept"],
    "properties": {"accept": {"type": "boolean"}},
}


def paths() -> dict[str, Schema]:
    return {
        P: {
            "get": operation(
                f"This city's agreements with other cities, newest first ({ADMIN})",
                security=OFFICIAL,
                errors=(401, 403, 404),
            ),
            "post": operation(
                f"Propose an agreement to another city of this deployment ({ADMIN})",
                security=OFFICIAL,
                body=PROPOSAL,
                ok="201",
                errors=(401, 403, 404, 409, 422),
            ),
        },
        f"{P}/{{agreement_id}}": {
            "get": operation(
                f"One agreement ({ADMIN})",
                security=OFFICIAL,
                params=[AGREEMENT_ID],
                errors=(401, 403, 404),
            )
        },
        f"{P}/{{agreement_id}}/decision": {
            "post": operation(
                f"Accept or decline a proposal this city received ({ADMIN})",
                security=OFFICIAL,
                params=[AGREEMENT_ID],
                body=DECISION,
                errors=(401, 403, 404, 409, 422),
            )
        },
        f"{P}/{{agreement_id}}/end": {
            "post": operation(
                f"End an agreement (either city; {ADMIN})",
                security=OFFICIAL,
                params=[AGREEMENT_ID],
                errors=(401, 403, 404, 409),
            )
        },
    }
