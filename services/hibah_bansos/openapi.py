"""OpenAPI 3.1 description of the JSON API, served at /openapi.json. Request bodies come from
the pydantic models that validate them, so the document cannot drift from what is accepted;
what every service shares (sign-in, the tenant, problem documents, paging) is in
shared/openapi.py."""

from __future__ import annotations

from functools import lru_cache

from services.hibah_bansos import schemas
from shared import openapi
from shared.openapi import FILE_PART, OFFICIAL, PAGING, checked_against

NUMBER = {
    "name": "number",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^HB-[0-9]{4}-[0-9A-HJKMNP-TV-Z]{8}$"},
}
# Parts of an upload whose values the programme decides.
PARTS = {"code": {"type": "string", **checked_against("the programme's document types")}}
CODE = {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}
APPLICANT: list[dict[str, list[str]]] = [{"applicantBearer": []}]


def _op(summary, *, multipart=None, **kwargs):
    """An operation of this API; `multipart` names the form's parts (`file` is the upload)."""
    if multipart:
        kwargs["multipart"] = {
            k: FILE_PART if k == "file" else PARTS.get(k, {"type": "string"}) for k in multipart
        }
        kwargs["required_parts"] = multipart
    return openapi.operation(summary, **kwargs)


def _register_op() -> dict:
    """Self-registration: 202 with the same body whether an account was made or the details
    had one (no oracle), 429 past the address's budget; an official at the counter: 201
    (403 setting in_social_registry without the evaluator role, 409 for held details)."""
    op = _op(
        "Register an organisation or a person",
        body="ApplicantIn",
        ok="202",
        errors=(403, 409, 422, 429),
    )
    op["responses"]["201"] = {
        "description": "Registered by an official at the counter",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    return op


@lru_cache(maxsize=1)
def document() -> dict:
    p = "/t/{tenant}/api/v1"
    components = openapi.model_schemas(
        (
            schemas.OrganisationIn,
            schemas.IndividualIn,
            schemas.TokenIn,
            schemas.ConfirmIn,
            schemas.ApplicationIn,
            schemas.TransitionIn,
            schemas.LpjIn,
            schemas.RefundIn,
        )
    )
    components["ApplicantIn"] = {
        "oneOf": [
            {"$ref": "#/components/schemas/OrganisationIn"},
            {"$ref": "#/components/schemas/IndividualIn"},
        ],
        "discriminator": {"propertyName": "type"},
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
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
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
        f"{p}/transparency": {
            "get": _op(
                "Funded hibah by organisation (name, amounts, decree and NPHD numbers); bansos "
                "only as totals per programme (public)",
                errors=(404,),
            )
        },
        f"{p}/applicants": {
            "post": _register_op(),
        },
        f"{p}/applicants/confirmations": {
            "post": _op(
                "Follow the e-mailed one-time link (with a password for an account an "
                "official made) -> an applicant's bearer token",
                body="ConfirmIn",
                errors=(410, 422),
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
                    {"name": "status", "in": "query", "schema": {"type": "string"}},
                    {"name": "programme", "in": "query", "schema": {"type": "string"}},
                    *PAGING,
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
            ),
            "put": _op(
                "Change a draft or an application returned for revision (proposal, requested "
                "amount, RAB lines)",
                body="ApplicationIn",
                security=APPLICANT,
                params=[NUMBER],
                errors=(401, 404, 409, 422),
            ),
        },
        f"{p}/applications/{{number}}/documents/{{document_id}}": {
            "delete": _op(
                "Remove a wrong document from a draft or a returned application",
                security=APPLICANT,
                params=[
                    NUMBER,
                    {
                        "name": "document_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "format": "uuid"},
                    },
                ],
                ok="204",
                errors=(401, 404, 409),
            )
        },
        f"{p}/applications/{{number}}/refund": {
            "post": _op(
                "Record the return of the unspent balance to the kas daerah (after the LPJ)",
                body="RefundIn",
                security=APPLICANT,
                params=[NUMBER],
                errors=(401, 404, 409, 422),
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
    return openapi.document(
        "Replika hibah-bansos API",
        "Regional grants (hibah) and social aid (bansos), from proposal to accountability "
        "report (LPJ). Errors are application/problem+json.",
        paths,
        schemas=components,
        security_schemes={
            "applicantBearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "an applicant's token (/applicants/token)",
            }
        },
    )
