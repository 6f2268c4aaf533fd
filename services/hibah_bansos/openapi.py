"""OpenAPI 3.1 description of the JSON API, served at /openapi.json. Request bodies come from
the pydantic models that validate them, so the document cannot drift from what is accepted."""

from __future__ import annotations

from functools import lru_cache

from services.hibah_bansos import schemas

TENANT = {
    "name": "tenant",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "the city's slug, e.g. cimahi",
}
NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^HB-[0-9]{4}-[0-9A-HJKMNP-TV-Z]{8}$"},
}
CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
PROBLEM = {
    "description": "problem details (RFC 9457)",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
OFFICIAL = [{"bearer": []}]
APPLICANT = [{"applicantBearer": []}]


def _op(
    summary,
    *,
    body=None,
    security=None,
    params=(),
    ok="200",
    errors=(401, 404, 422),
    multipart=None,
):
    op = {
        "summary": summary,
        "parameters": [TENANT, *params],
        "responses": {
            ok: {
                "description": "OK",
                "content": {"application/json": {"schema": {"type": "object"}}},
            },
            **{str(e): PROBLEM for e in errors},
        },
    }
    if security is not None:
        op["security"] = security
    if body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    if multipart:
        op["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": list(multipart),
                        "properties": {
                            k: (
                                {"type": "string", "format": "binary"}
                                if k == "file"
                                else {"type": "string"}
                            )
                            for k in multipart
                        },
                    }
                }
            },
        }
    return op


@lru_cache(maxsize=1)
def document() -> dict:
    p = "/t/{tenant}/api/v1"
    components = {}
    for m in (
        schemas.OrganisationIn,
        schemas.IndividualIn,
        schemas.TokenIn,
        schemas.ApplicationIn,
        schemas.TransitionIn,
        schemas.LpjIn,
    ):
        s = m.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(s.pop("$defs", {}))
        components[m.__name__] = s
    components["ApplicantIn"] = {
        "oneOf": [
            {"$ref": "#/components/schemas/OrganisationIn"},
            {"$ref": "#/components/schemas/IndividualIn"},
        ],
        "discriminator": {"propertyName": "type"},
    }
    components["Problem"] = {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
                },
            },
        },
    }
    create = _op(
        "Apply (applicant) or enter an application on someone's behalf (official)",
        body="ApplicationIn",
        ok="201",
        security=APPLICANT + OFFICIAL,
        errors=(401, 403, 404, 409, 422),
    )
    create["parameters"].append(
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 200},
        }
    )
    csv_export = _op(
        "The programme's applications as CSV (amounts, decree and NPHD numbers, "
        "LPJ; organisations by name; never NIK, bank accounts or people's names)",
        security=OFFICIAL,
        params=[CODE],
        errors=(401, 403, 404),
    )
    csv_export["responses"]["200"] = {
        "description": "one row per application",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
    paths = {
        f"{p}/programmes": {"get": _op("Open programmes (public)", errors=(404,))},
        f"{p}/applicants": {
            "post": _op(
                "Register an organisation or a person",
                body="ApplicantIn",
                ok="201",
                errors=(409, 422),
            )
        },
        f"{p}/applicants/token": {
            "post": _op(
                "An applicant's bearer token (429 with Retry-After after repeated failures)",
                body="TokenIn",
                errors=(401, 404, 422, 429),
            )
        },
        f"{p}/applications": {
            "post": create,
            "get": _op(
                "Worklist (filters status, programme; paging)",
                security=OFFICIAL,
                params=[
                    {"name": n, "in": "query", "schema": {"type": "string"}}
                    for n in ("status", "programme", "page", "per_page")
                ],
                errors=(401, 403, 422),
            ),
        },
        f"{p}/applications/mine": {
            "get": _op("The applicant's applications", security=APPLICANT, errors=(401,))
        },
        f"{p}/applications/{{number}}": {
            "get": _op(
                "One application, its history and the person's other active applications",
                security=OFFICIAL,
                params=[NUMBER],
                errors=(401, 403, 404),
            )
        },
        f"{p}/applications/{{number}}/documents": {
            "post": _op(
                "Attach a document (PDF, JPEG, PNG; type read from the content)",
                security=APPLICANT,
                params=[NUMBER],
                ok="201",
                multipart=("code", "file"),
                errors=(401, 404, 409, 413, 415, 422),
            )
        },
        f"{p}/applications/{{number}}/submit": {
            "post": _op(
                "Submit (completeness and eligibility checked)",
                security=APPLICANT,
                params=[NUMBER],
                errors=(401, 404, 409, 422),
            )
        },
        f"{p}/applications/{{number}}/transitions": {
            "post": _op(
                "Move through the workflow (evaluate, verify, approve, sign, disburse, close, "
                "return, reject)",
                body="TransitionIn",
                security=OFFICIAL,
                params=[NUMBER],
                errors=(401, 403, 404, 409, 422),
            )
        },
        f"{p}/applications/{{number}}/lpj": {
            "post": _op(
                "File the accountability report (LPJ)",
                body="LpjIn",
                security=APPLICANT,
                params=[NUMBER],
                ok="201",
                errors=(401, 404, 409, 422),
            )
        },
        f"{p}/programmes/{{code}}/summary": {
            "get": _op(
                "Ceiling, allocated, disbursed, remaining, counts by status",
                security=OFFICIAL,
                params=[CODE],
                errors=(401, 403, 404),
            )
        },
        f"{p}/programmes/{{code}}/applications.csv": {"get": csv_export},
        f"{p}/programmes/{{code}}/imports": {
            "post": _op(
                "Import bansos beneficiaries (CSV: nik,kk,name,address,phone,bank_account,amount)",
                security=OFFICIAL,
                params=[CODE],
                multipart=("file",),
                errors=(401, 403, 404, 409, 413, 422),
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Replika hibah-bansos API",
            "version": "1.0.0",
            "description": "Regional grants (hibah) and social aid (bansos), from "
            "proposal to accountability report (LPJ).",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an official's token (/auth/token)",
                },
                "applicantBearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an applicant's token (/applicants/token)",
                },
            },
        },
    }
