"""What every service's OpenAPI 3.1 document shares: the tenant parameter, paging, the problem
document (with the registered problem types), the routes every service has (officials' sign-in,
the tenant's description) and the one way to build an operation.

A service's `openapi.py` builds its own paths with `operation()` and `document()`; the
composition root (operations/apps.py) adds the paths of what it plugs in, and the component
schemas they refer to, with `extend(app, paths, schemas)` (`json_schema_components` turns a
JSON Schema file into components), and `served(doc)` is what `/openapi.json` answers: the
document and what was plugged in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue

from shared.pagination import API_MAXIMUM
from shared.problem import BLANK, PROBLEM_TYPES

Schema = dict[str, Any]

TENANT: Schema = {
    "name": "tenant",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[a-z0-9-]{2,63}$"},
    "description": "the city's slug, e.g. cimahi",
}
PAGING: list[Schema] = [
    {
        "name": "page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 999_999_999, "default": 1},
        "description": "from 1",
    },
    {
        "name": "per_page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": API_MAXIMUM, "default": 20},
    },
]
UUID: Schema = {"type": "string", "format": "uuid"}
OFFICIAL: list[dict[str, list[str]]] = [{"bearer": []}]
BEARER_SCHEME: Schema = {
    "type": "http",
    "scheme": "bearer",
    "description": "an official's token, from POST /t/{tenant}/api/v1/auth/token (valid on "
    "every service of the tenant); a 401 answers `WWW-Authenticate: Bearer "
    'realm="<tenant>"`',
}
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
JSON = "application/json"


def problem_schema() -> Schema:
    """RFC 9457 problem details; `type` is `about:blank` or one of the registered types, whose
    extension members each type's description (`GET /problems/<name>`) explains."""
    types = [BLANK, *(t.uri for t in PROBLEM_TYPES.values())]
    listed = "; ".join(f"`{t.uri}`: {t.description}" for t in PROBLEM_TYPES.values())
    return {
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {
                "type": "string",
                "enum": types,
                "description": "about:blank (nothing beyond the status) or a problem type, a "
                "relative reference resolving to GET /problems/<name> on the same host. " + listed,
            },
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "reason"],
                    "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
                },
            },
        },
    }


def problem_response(description: str = "problem details (RFC 9457)") -> Schema:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }


def operation(
    summary: str,
    *,
    body: str | Schema | None = None,
    security: list[dict[str, list[str]]] | None = None,
    params: Iterable[Schema] = (),
    ok: str = "200",
    ok_schema: Schema | None = None,
    errors: Iterable[int] = (401, 404, 422),
    multipart: Mapping[str, Schema] | None = None,
    required_parts: Iterable[str] = (),
    produces: str = JSON,
    tenant: bool = True,
    headers: Mapping[str, Schema] | None = None,
) -> Schema:
    """One operation: its parameters (the tenant first), the success answer, the problems it
    may answer. A body is the name of a component schema or a schema; a JSON body adds 400
    (not JSON) and 415 (another media type), an upload 415."""
    statuses = set(errors)
    if body is not None or multipart is not None:
        statuses |= {400, 413, 415} if body is not None else {413, 415}
    if security:
        statuses.add(401)
    if tenant:
        statuses.add(404)  # no such tenant
    op: Schema = {
        "summary": summary,
        "parameters": [*([TENANT] if tenant else []), *params],
        "responses": {
            ok: {
                "description": "OK",
                "content": {produces: {"schema": ok_schema or {"type": "object"}}},
                **({"headers": dict(headers)} if headers else {}),
            },
            **{str(e): problem_response() for e in sorted(statuses)},
        },
    }
    if security is not None:
        op["security"] = security
    if body is not None:
        schema = {"$ref": f"#/components/schemas/{body}"} if isinstance(body, str) else body
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": schema}}}
    if multipart is not None:
        op["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": list(required_parts),
                        "properties": dict(multipart),
                    }
                }
            },
        }
    return op


# A property whose valid values the city's own data decides (its categories, document types,
# officials, role rules) or, for files, their content: JSON Schema cannot list them, so the
# document names what it is checked against, and a 422/415 naming only such fields is the
# server keeping a rule the document states in words (tests/support/fuzz.py reads it so).
CHECKED_AGAINST = "x-checked-against"


def checked_against(what: str) -> dict[str, Any]:
    """The marker for a property checked against `what` (pydantic `json_schema_extra`)."""
    return {CHECKED_AGAINST: what}


FILE_PART: Schema = {
    "type": "string",
    "format": "binary",
    CHECKED_AGAINST: "its content: PDF, JPEG or PNG by their first bytes",
}

TOKEN_IN: Schema = {
    "type": "object",
    "required": ["username", "password", "otp"],
    "properties": {
        "username": {"type": "string"},
        "password": {"type": "string"},
        "otp": {"type": "string", "description": "the TOTP code"},
    },
}
TOKEN_OUT: Schema = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in"],
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"const": "Bearer"},
        "expires_in": {"type": "integer"},
    },
}


def common_paths(*, sign_in_here: bool = True) -> dict[str, Schema]:
    """The routes every service has (shared/auth_routes.py, shared/web.py)."""
    p = "/t/{tenant}/api/v1"
    if sign_in_here:
        token = operation(
            "An official's bearer token (429 with Retry-After after repeated failures)",
            body=TOKEN_IN,
            ok_schema=TOKEN_OUT,
            errors=(401, 404, 422, 429),
        )
    else:
        token = operation(
            "Not here: officials sign in at a service, whose token is valid here too",
            body=TOKEN_IN,
            errors=(404,),
        )
    return {
        f"{p}/auth/token": {"post": token},
        f"{p}/auth/me": {
            "get": operation(
                "Who the token belongs to",
                security=OFFICIAL,
                errors=(401, 404),
                ok_schema={
                    "type": "object",
                    "required": ["official_id", "username", "roles", "tenant"],
                    "properties": {
                        "official_id": UUID,
                        "username": {"type": "string"},
                        "roles": {"type": "array", "items": {"type": "string"}},
                        "tenant": {"type": "string"},
                    },
                },
            )
        },
        f"{p}/tenant": {
            "get": operation(
                "The city: names, locale, time zone, branding, services",
                errors=(404,),
                ok_schema={
                    "type": "object",
                    "required": ["slug", "locale", "timezone", "services"],
                    "properties": {
                        "slug": {"type": "string"},
                        "locale": {"type": "string"},
                        "timezone": {"type": "string"},
                        "services": {"type": "array", "items": {"type": "string"}},
                    },
                },
            )
        },
    }


def document(
    title: str,
    description: str,
    paths: dict[str, Schema],
    *,
    schemas: Mapping[str, Schema] | None = None,
    security_schemes: Mapping[str, Schema] | None = None,
    sign_in_here: bool = True,
) -> Schema:
    """A service's whole document: its paths, the common ones, the problem schema."""
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": "1.0.0", "description": description},
        "paths": {**common_paths(sign_in_here=sign_in_here), **paths},
        "components": {
            "schemas": {**(schemas or {}), "Problem": problem_schema()},
            "securitySchemes": {"bearer": BEARER_SCHEME, **(security_schemes or {})},
        },
    }


def model_schemas(models: Iterable[type]) -> dict[str, Schema]:
    """Component schemas from pydantic models (each model's `$defs` lifted beside it)."""
    components: dict[str, Schema] = {}
    for m in models:
        s = m.model_json_schema(ref_template="#/components/schemas/{model}")  # type: ignore[attr-defined]
        components.update(s.pop("$defs", {}))
        components[m.__name__] = s
    return components


# A request body property whose refusals name their fields by the path inside that property
# ("services/whistleblowing/sla", not "config/services/..."): tests/support/fuzz.py reads it
# to find what an error names.
FIELDS_WITHIN = "x-error-fields-within"

# JSON Schema keywords that are no place for a component of an OpenAPI document: an `$id`
# would move the base of every `$ref` inside it away from the document.
_FILE_ONLY_KEYWORDS = ("$schema", "$id")


def json_schema_components(schema: Schema, name: str) -> dict[str, Schema]:
    """Component schemas from a JSON Schema file (2020-12, the dialect of OpenAPI 3.1): the
    root as `name`, each of its `$defs` as `name.<def>`, every `#/$defs/<def>` reference
    rewritten to point at that component. Built from the file each time (no copy kept)."""

    def rewritten(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: rewritten(v) for k, v in node.items() if k != "$defs"}
            ref = out.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                out["$ref"] = f"#/components/schemas/{name}.{ref.removeprefix('#/$defs/')}"
            return out
        if isinstance(node, list):
            return [rewritten(v) for v in node]
        return node

    root = {k: v for k, v in schema.items() if k not in _FILE_ONLY_KEYWORDS}
    components = {f"{name}.{key}": rewritten(d) for key, d in schema.get("$defs", {}).items()}
    return {name: rewritten(root), **components}


# --- what the composition root plugs in -------------------------------------------------------

PathsBuilder = Callable[[], dict[str, Schema]]
SchemasBuilder = Callable[[], dict[str, Schema]]


def extend(app: Flask, builder: PathsBuilder, schemas: SchemasBuilder | None = None) -> None:
    """Add the paths of blueprints the composition root registers on `app` to its document,
    and the component schemas those paths refer to."""
    app.extensions["replika"].setdefault("openapi_paths", []).append(builder)
    if schemas is not None:
        app.extensions["replika"].setdefault("openapi_schemas", []).append(schemas)


def with_extensions(
    doc: Schema, builders: Iterable[PathsBuilder], schemas: Iterable[SchemasBuilder] = ()
) -> Schema:
    paths = dict(doc["paths"])
    for builder in builders:
        paths.update(builder())
    components = dict(doc.get("components", {}))
    added = dict(components.get("schemas", {}))
    for schema_builder in schemas:
        added.update(schema_builder())
    return {**doc, "paths": paths, "components": {**components, "schemas": added}}


def served(doc: Schema) -> ResponseReturnValue:
    """The answer of `GET /openapi.json`: the service's document and what was plugged in."""
    wiring = current_app.extensions["replika"]
    return jsonify(
        with_extensions(doc, wiring.get("openapi_paths", []), wiring.get("openapi_schemas", []))
    )
