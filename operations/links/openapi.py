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
REMOTE_PROPOSAL: Schema = {
    "type": "object",
    "required": ["partner_url", "partner_tenant", "instance_key", "scopes"],
    "additionalProperties": False,
    "properties": {
        "partner_url": {"type": "string", "format": "uri", "maxLength": 300},
        "partner_tenant": {"type": "string", "pattern": "^[a-z][a-z0-9-]{1,62}$"},
        "instance_key": {
            "type": "string",
            "description": "the other deployment's `replika instance public-key` document",
        },
        "scopes": PROPOSAL["properties"]["scopes"],
    },
}
SIGNED = (
    "Called by another deployment, not by a person: the request is signed by that "
    "deployment's instance key (headers Replika-Signer, Replika-Timestamp, Replika-Nonce, "
    "Replika-Signature; operations/links/remote.py) and taken once."
)
SIGNED_BODY: Schema = {"type": "object"}
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
                f"Propose an agreement to another city of this deployment, or to a city of "
                f"another deployment named by its address, slug and instance key ({ADMIN})",
                security=OFFICIAL,
                body={"oneOf": [PROPOSAL, REMOTE_PROPOSAL]},
                ok="201",
                errors=(401, 403, 404, 409, 422, 502),
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
                errors=(401, 403, 404, 409, 422, 502),
            )
        },
        f"{P}/{{agreement_id}}/end": {
            "post": operation(
                f"End an agreement (either city; {ADMIN})",
                security=OFFICIAL,
                params=[AGREEMENT_ID],
                errors=(401, 403, 404, 409, 502),
            )
        },
        f"{P}/remote/proposals": {
            "post": operation(
                f"A proposal from a city of another deployment. {SIGNED}",
                body=SIGNED_BODY,
                ok="201",
                errors=(401, 404, 409, 422),
            )
        },
        **{
            f"{P}/remote/{{agreement_id}}/{step}": {
                "post": operation(
                    f"{summary} {SIGNED}",
                    params=[AGREEMENT_ID],
                    body=SIGNED_BODY,
                    errors=(401, 404, 409, 422),
                )
            }
            for step, summary in (
                ("decision", "The other deployment's city accepted or declined our proposal."),
                ("end", "The other deployment's city ended the agreement."),
                ("tokens", "The other deployment's city's duplicate-aid tokens (its full list)."),
            )
        },
    }
