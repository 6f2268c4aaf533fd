"""The OpenAPI paths of what operations/apps.py plugs into the whistleblowing app: the
replication portal (operations/replication/web.py) and tenant settings (config_web.py), and the
component schemas they refer to: the tenant file's schema (shared/schemas/tenant.schema.json,
read here each time the document is built, its `$defs` as components). Added to that app's
`/openapi.json` with `shared.openapi.extend`."""

from __future__ import annotations

import copy
import json
from typing import Any

from operations.replication.config_admin import PLATFORM_KEYS
from shared.officials import USERNAME_RE
from shared.openapi import (
    CHECKED_AGAINST,
    FIELDS_WITHIN,
    OFFICIAL,
    UUID,
    Schema,
    json_schema_components,
    operation,
)
from shared.request_schemas import NO_CONTROLS
from shared.roles import ROLES as ROLE_NAMES
from shared.tenant_config import SCHEMA_PATH

P = "/t/{tenant}/api/v1"
REQUEST_ID: Schema = {"name": "request_id", "in": "path", "required": True, "schema": UUID}
REPLICATION_REQUEST: Schema = {
    "type": "object",
    "required": [
        "region_name",
        "region_code",
        "contact_name",
        "contact_email",
        "applications",
        "agreement_number",
        "agreement_date",
        "template",
    ],
    "properties": {
        "region_name": {"type": "string", "minLength": 1, "maxLength": 200},
        "region_code": {"type": "string", "pattern": "^[0-9]{2}(\\.[0-9]{2}){0,3}$"},
        "slug": {"type": "string", "pattern": "^[a-z][a-z0-9-]{1,62}$"},
        "contact_name": {"type": "string", "minLength": 1, "maxLength": 200},
        "contact_email": {"type": "string", "maxLength": 254},
        "applications": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"enum": ["whistleblowing", "hibah_bansos"]},
        },
        "agreement_number": {"type": "string", "minLength": 1, "maxLength": 100},
        "agreement_date": {"type": "string", "format": "date"},
        "template": {"type": "string", "description": "the slug of a city to start from"},
    },
}
DECISION: Schema = {
    "type": "object",
    "required": ["approve"],
    "properties": {"approve": {"type": "boolean"}, "reason": {"type": ["string", "null"]}},
}
SETTINGS = "TenantSettings"
CONFIG_SAVE: Schema = {
    "type": "object",
    "required": ["config"],
    "properties": {
        "config": {
            "$ref": f"#/components/schemas/{SETTINGS}",
            "description": "the whole tenant file, as JSON; a 422 names its fields by their "
            "path inside it (services/whistleblowing/sla/feedback_days)",
            FIELDS_WITHIN: True,
        },
        "version": {
            "type": "integer",
            "minimum": 0,
            "description": 'the version read (or send If-Match: "<version>")',
            CHECKED_AGAINST: "the If-Match header: without a version in the body, the "
            "header gives it",
        },
    },
}

# The rules of config_admin.update and check_rules that JSON Schema cannot say, by where they
# sit in the tenant file's schema (JSON pointers into it).
_PLATFORM = "the hosting deployment: left out, or the value it has now (GET)"
SETTINGS_RULES: dict[str, str] = {
    **{f"/properties/{key}": _PLATFORM for key in PLATFORM_KEYS},
    "/properties/branding/properties/primary_color": "contrast: at least 3:1 against the "
    "white page",
    "/properties/branding/properties/secondary_color": "contrast: at least 3:1 against the "
    "primary colour",
    "/$defs/whistleblowing/properties/categories/items/properties/code": "the other "
    "categories: each code once",
    "/$defs/document/properties/code": "the other required documents: each code once",
    "/$defs/programme/properties/code": "the other programmes: each code once",
    "/$defs/programme/properties/required_documents": "the required documents: codes "
    "among services/hibah_bansos/required_documents",
    "/$defs/programme/properties/closes": "its programme's opens: not before it",
}


def _at(schema: Schema, pointer: str) -> Schema:
    node: Any = schema
    for key in pointer.strip("/").split("/"):
        node = node[key]
    return node


def settings_schema() -> Schema:
    """The tenant file's schema as the API takes it: the platform settings may be left out
    (the save keeps them), and every rule the server adds is marked where it applies."""
    schema = copy.deepcopy(json.loads(SCHEMA_PATH.read_text()))
    schema["required"] = [k for k in schema.get("required", []) if k not in PLATFORM_KEYS]
    # saved here, the settings keep the service that serves them (config_admin)
    services = schema["properties"]["services"]
    services["required"] = sorted({*services.get("required", []), "whistleblowing"})
    schema["$defs"]["whistleblowing"]["properties"]["enabled"] = {"const": True, "default": True}
    for pointer, what in SETTINGS_RULES.items():
        _at(schema, pointer)[CHECKED_AGAINST] = what
    schema["description"] = (
        "a city's settings: the tenant file (shared/schemas/tenant.schema.json) without the "
        f"settings of the hosting deployment ({', '.join(PLATFORM_KEYS)}), which a save keeps"
    )
    return schema


def schemas() -> dict[str, Schema]:
    """The component schemas the paths refer to."""
    return json_schema_components(settings_schema(), SETTINGS)


ADMIN = "tenant_admin"


def _with_pending(op: Schema) -> Schema:
    """PUT of the settings: 202 when security settings wait for a second tenant admin."""
    op["responses"]["202"] = {
        "description": "Security settings kept for a second tenant admin's approval; the "
        "other settings of the body are saved",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    return op


PENDING_ID: Schema = {"name": "pending_id", "in": "path", "required": True, "schema": UUID}
OFFICIAL_ID: Schema = {"name": "official_id", "in": "path", "required": True, "schema": UUID}
ROLES: Schema = {
    "type": "array",
    "items": {"type": "string", "enum": sorted(ROLE_NAMES)},
    "uniqueItems": True,
    CHECKED_AGAINST: "the separation rules: at least one role; an identity custodian neither "
    "investigates nor supervises; an admin cannot drop their own admin role",
}
DISPLAY_NAME: Schema = {
    "type": ["string", "null"],
    "maxLength": 100,
    "pattern": NO_CONTROLS,
    "description": "the name colleagues read on case pages; empty or null: the username",
}
NEW_OFFICIAL: Schema = {
    "type": "object",
    "required": ["username", "roles"],
    "properties": {
        "username": {
            "type": "string",
            "pattern": USERNAME_RE.pattern,
            CHECKED_AGAINST: "the city's officials: a username not yet taken",
        },
        "roles": ROLES,
        "display_name": DISPLAY_NAME,
    },
}
OFFICIAL_CHANGE: Schema = {
    "type": "object",
    "properties": {
        "roles": ROLES,
        "active": {"type": "boolean"},
        "display_name": DISPLAY_NAME,
    },
}


def paths() -> dict[str, Schema]:
    r = f"{P}/replication"
    return {
        f"{r}/catalogue": {
            "get": operation(
                "What this deployment offers a new city (only where replication_host: true)",
                errors=(404,),
            )
        },
        f"{r}/requests": {
            "post": operation(
                "Ask to replicate the applications for a new city (a few a day per address)",
                body=REPLICATION_REQUEST,
                ok="201",
                errors=(404, 409, 422, 429),
            ),
            "get": operation(
                f"The requests ({ADMIN})",
                security=OFFICIAL,
                params=[{"name": "status", "in": "query", "schema": {"type": "string"}}],
                errors=(403, 404),
            ),
        },
        f"{r}/requests/{{request_id}}": {
            "get": operation(
                f"One request ({ADMIN})",
                security=OFFICIAL,
                params=[REQUEST_ID],
                errors=(403, 404),
            )
        },
        f"{r}/requests/{{request_id}}/decision": {
            "post": operation(
                f"Approve (and provision) or reject ({ADMIN})",
                security=OFFICIAL,
                params=[REQUEST_ID],
                body=DECISION,
                errors=(403, 404, 409, 422, 503),
            )
        },
        f"{r}/requests/{{request_id}}/provision": {
            "post": operation(
                f"Resume an interrupted provisioning ({ADMIN})",
                security=OFFICIAL,
                params=[REQUEST_ID],
                errors=(403, 404, 409, 503),
            )
        },
        f"{r}/requests/{{request_id}}/onboarding-link": {
            "post": operation(
                f"A new one-time onboarding link for the new city's first admin ({ADMIN})",
                security=OFFICIAL,
                params=[REQUEST_ID],
                errors=(403, 404, 409),
            )
        },
        f"{P}/admin/config": {
            "get": operation(
                f"The tenant's settings: version, digest, config; ETag ({ADMIN})",
                security=OFFICIAL,
                errors=(403, 404),
            ),
            "put": _with_pending(
                operation(
                    f"Save the tenant's settings (409 when the version is not the latest; 202 "
                    f"when security settings wait for a second tenant admin) ({ADMIN})",
                    security=OFFICIAL,
                    body=CONFIG_SAVE,
                    params=[{"name": "If-Match", "in": "header", "schema": {"type": "string"}}],
                    errors=(403, 404, 409, 422),
                )
            ),
        },
        f"{P}/admin/officials": {
            "get": operation(
                f"The tenant's officials: username, roles, active, last sign-in ({ADMIN})",
                security=OFFICIAL,
                errors=(403, 404),
            ),
            "post": operation(
                f"Add an official: answers a one-time enrolment URL, never a password ({ADMIN})",
                security=OFFICIAL,
                body=NEW_OFFICIAL,
                ok="201",
                errors=(403, 404, 409, 422),
            ),
        },
        f"{P}/admin/officials/{{official_id}}": {
            "patch": operation(
                f"Change an official's roles or deactivate/reactivate them ({ADMIN})",
                security=OFFICIAL,
                params=[OFFICIAL_ID],
                body=OFFICIAL_CHANGE,
                errors=(403, 404, 409, 422),
            )
        },
        f"{P}/admin/officials/{{official_id}}/second-factor-reset": {
            "post": operation(
                f"Reset an official's second factor: a new enrolment URL ({ADMIN})",
                security=OFFICIAL,
                params=[OFFICIAL_ID],
                errors=(403, 404, 409),
            )
        },
        f"{P}/admin/config/versions": {
            "get": operation(
                f"Saved versions, newest first ({ADMIN})", security=OFFICIAL, errors=(403, 404)
            )
        },
        f"{P}/admin/config/pending": {
            "get": operation(
                f"Changes to security settings awaiting a second tenant admin, with old and "
                f"new values ({ADMIN})",
                security=OFFICIAL,
                errors=(403, 404),
            )
        },
        f"{P}/admin/config/pending/{{pending_id}}/approve": {
            "post": operation(
                f"Approve a pending change (a tenant admin other than its proposer): saved as "
                f"the next version ({ADMIN})",
                security=OFFICIAL,
                params=[PENDING_ID],
                errors=(403, 404, 409, 422),
            )
        },
        f"{P}/admin/config/pending/{{pending_id}}/reject": {
            "post": operation(
                f"Reject a pending change (a tenant admin other than its proposer) ({ADMIN})",
                security=OFFICIAL,
                params=[PENDING_ID],
                ok="204",
                errors=(403, 404, 409),
            )
        },
    }
