"""OpenAPI 3.1 description of the JSON API, served at /openapi.json.

Request bodies come from the pydantic models that validate them, so the document cannot
drift from what the service accepts. What every service shares (sign-in, the tenant, problem
documents, paging) is in shared/openapi.py.
"""

from __future__ import annotations

from functools import lru_cache

from services.whistleblowing import schemas
from services.whistleblowing.domain import lifecycle
from shared import openapi
from shared.openapi import FILE_PART, OFFICIAL, PAGING, UUID

FILTERS = [
    {
        "name": "status",
        "in": "query",
        # empty is what a list page's "all statuses" sends: no filter
        "schema": {"enum": ["", *sorted(s.value for s in lifecycle.Status)]},
    },
    {"name": "category", "in": "query", "schema": {"type": "string"}},
    {"name": "overdue", "in": "query", "schema": {"enum": ["true", "false"]}},
    {
        "name": "assignee",
        "in": "query",
        "schema": {"anyOf": [{"enum": ["", "me", "none"]}, UUID]},
        "description": "an official's id, me or none (empty: anyone)",
    },
]
CASE = {
    "name": "case_number",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^WBS-[0-9]{4}-[0-9A-HJKMNP-TV-Z]{8}$"},
}
REQUEST_ID = {"name": "request_id", "in": "path", "required": True, "schema": UUID}
REFERRAL_ID = {"name": "referral_id", "in": "path", "required": True, "schema": UUID}
RECEIPT: list[dict[str, list[str]]] = [{"receipt": []}]


def _op(summary, *, body=None, multipart=False, **kwargs):
    """An operation of this API (bodies named by their pydantic model)."""
    return openapi.operation(
        summary,
        body=body.__name__ if body is not None else None,
        multipart={"file": FILE_PART} if multipart else None,
        required_parts=("file",) if multipart else (),
        **kwargs,
    )


@lru_cache(maxsize=1)
def document() -> dict:
    p = "/t/{tenant}/api/v1"
    models = (
        schemas.ReportIn,
        schemas.AssistedReportIn,
        schemas.MessageIn,
        schemas.TransitionIn,
        schemas.AssignmentIn,
        schemas.RecusalIn,
        schemas.IdentityRequestIn,
        schemas.DecisionIn,
        schemas.HandlerProfileIn,
        schemas.ContactIn,
        schemas.LaporOfferIn,
        schemas.LaporDecisionIn,
        schemas.ReferralIn,
        schemas.ReferralDecisionIn,
        schemas.ResealIn,
    )
    components = openapi.model_schemas(models)
    filed = {
        "type": "object",
        "required": ["case_number", "receipt", "status"],
        "properties": {
            "case_number": {"type": "string"},
            "status": {"type": "string"},
            "receipt": {
                "type": "string",
                "description": "shown only here: 25 Crockford base32 characters in 5 groups",
            },
        },
    }
    submit = _op(
        "File a report (anonymous unless `identity` is given)",
        body=schemas.ReportIn,
        ok="201",
        ok_schema=filed,
        errors=(409, 422),
    )
    submit["parameters"].append(
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": "same key and body within 24 h: the same 201 "
            "body, with Idempotent-Replayed: true",
        }
    )
    assisted = _op(
        "File a report received by walk-in, phone, letter or e-mail (intake officials); "
        "the receipt in the answer is for the reporter, on paper",
        security=OFFICIAL,
        body=schemas.AssistedReportIn,
        ok="201",
        ok_schema={
            "type": "object",
            "required": ["case_number", "receipt", "status", "channel"],
            "properties": {
                "case_number": {"type": "string"},
                "status": {"type": "string"},
                "receipt": {
                    "type": "string",
                    "description": "for the reporter, on paper; shown only here",
                },
                "channel": {"enum": ["walk_in", "phone", "letter", "email"]},
            },
        },
        errors=(401, 403, 404, 409, 422),
    )
    assisted["parameters"].append(dict(submit["parameters"][-1]))
    lapor_forward = {
        "type": "object",
        "required": ["status", "text", "tracking_id", "waiting_for_lapor", "updates"],
        "properties": {
            "status": {"enum": ["offered", "declined", "queued", "sent"]},
            "text": {"type": "string", "description": "what leaves for SP4N-LAPOR!"},
            "tracking_id": {"type": ["string", "null"]},
            "waiting_for_lapor": {
                "type": "boolean",
                "description": "queued, and SP4N-LAPOR! could not be reached yet (retried)",
            },
            "attempts": {"type": "integer"},
            "next_attempt_at": {"type": ["string", "null"], "format": "date-time"},
            "updates": {"type": "array", "items": {"type": "object"}},
        },
    }
    paths = {
        f"{p}/cases/{{case_number}}/lapor-forward": {
            "post": _op(
                "Offer the reporter to forward a case triaged as a public-service complaint to "
                "SP4N-LAPOR! with this text (intake roles; the reporter may edit it)",
                security=OFFICIAL,
                params=[CASE],
                body=schemas.LaporOfferIn,
                ok="201",
                ok_schema=lapor_forward,
                errors=(401, 403, 404, 409, 422),
            )
        },
        f"{p}/inbox/lapor-forward": {
            "get": _op(
                "The forward of the reporter's case to SP4N-LAPOR!: text, tracking ID, updates",
                security=RECEIPT,
                ok_schema=lapor_forward,
                errors=(401, 404, 429),
            ),
            "post": _op(
                "The reporter consents (with the text as approved: no NIK, phone or e-mail) "
                "or declines; once",
                security=RECEIPT,
                body=schemas.LaporDecisionIn,
                ok_schema=lapor_forward,
                errors=(401, 404, 409, 422, 429),
            ),
        },
        f"{p}/assisted-reports": {"post": assisted},
        f"{p}/inbox/transcript-confirmation": {
            "post": _op(
                "The reporter confirms the transcript of a report an intake official entered "
                "for them (once; again answers the first time)",
                security=RECEIPT,
                ok_schema={
                    "type": "object",
                    "required": ["case_number", "transcript_confirmed_at"],
                    "properties": {
                        "case_number": {"type": "string"},
                        "transcript_confirmed_at": {"type": "string", "format": "date-time"},
                    },
                },
                errors=(401, 409, 429),
            )
        },
        f"{p}/reports": {
            "post": submit,
            "get": _op(
                "List cases (filters status, category, overdue, assignee; paging)",
                security=OFFICIAL,
                params=[*FILTERS, *PAGING],
                errors=(401, 403, 404, 422),
            ),
        },
        f"{p}/inbox": {
            "get": _op("The reporter's view of their case", security=RECEIPT, errors=(401, 429))
        },
        f"{p}/inbox/acknowledgement": {
            "get": _op(
                "A signed acknowledgement of filing (no identity, no receipt)",
                security=RECEIPT,
                errors=(401, 429),
            )
        },
        f"{p}/acknowledgement-key": {
            "get": _op("The public key of this city's acknowledgements", errors=(404,))
        },
        f"{p}/inbox/messages": {
            "post": _op(
                "Reporter writes to the handlers",
                security=RECEIPT,
                body=schemas.MessageIn,
                ok="201",
                errors=(401, 409, 422, 429),
            )
        },
        f"{p}/inbox/attachments": {
            "post": _op(
                "Reporter adds evidence",
                security=RECEIPT,
                multipart=True,
                ok="201",
                errors=(401, 409, 413, 415, 422, 429),
            )
        },
        f"{p}/inbox/contact": {
            "put": _op(
                "Reporter gives or replaces the contact for new-reply notices (sealed)",
                security=RECEIPT,
                body=schemas.ContactIn,
                errors=(401, 409, 422, 429),
            ),
            "delete": _op(
                "Reporter withdraws the notice contact (shredded at once)",
                security=RECEIPT,
                errors=(401, 429),
            ),
        },
        f"{p}/reports/{{case_number}}": {
            "get": _op("A case with its content and timeline", security=OFFICIAL, params=[CASE])
        },
        f"{p}/reports/{{case_number}}/attachments/{{attachment_id}}": {
            "get": _op(
                "Download an evidence file (cleaned; generated file name)",
                security=OFFICIAL,
                params=[
                    CASE,
                    {
                        "name": "attachment_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "format": "uuid"},
                    },
                ],
                errors=(401, 403, 404),
                produces="application/octet-stream",
                ok_schema={"type": "string", "format": "binary"},
            )
        },
        f"{p}/reports/{{case_number}}/transitions": {
            "post": _op(
                "Move a case along its lifecycle",
                security=OFFICIAL,
                params=[CASE],
                body=schemas.TransitionIn,
                errors=(401, 403, 404, 409, 412, 422),
            )
        },
        f"{p}/reports/{{case_number}}/assignments": {
            "post": _op(
                "Assign a handler",
                security=OFFICIAL,
                params=[CASE],
                body=schemas.AssignmentIn,
                ok="201",
                errors=(401, 403, 404, 409, 412, 422),
            )
        },
        f"{p}/reports/{{case_number}}/recusals": {
            "post": _op(
                "Record that an official is excluded from the case",
                security=OFFICIAL,
                params=[CASE],
                body=schemas.RecusalIn,
                ok="201",
                errors=(401, 403, 404, 409, 422),
            )
        },
        f"{p}/handlers/{{official_id}}/profile": {
            "put": _op(
                "A handler's work unit and name, for automatic recusal (stored as keyed hashes)",
                security=OFFICIAL,
                params=[
                    {
                        "name": "official_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "format": "uuid"},
                    }
                ],
                body=schemas.HandlerProfileIn,
                errors=(401, 403, 404, 422),
            )
        },
        f"{p}/reports/{{case_number}}/messages": {
            "post": _op(
                "Handler writes to the reporter",
                security=OFFICIAL,
                params=[CASE],
                body=schemas.MessageIn,
                ok="201",
                errors=(401, 403, 404, 409, 422),
            )
        },
        f"{p}/reports/{{case_number}}/identity-requests": {
            "post": _op(
                "Ask the custodian to disclose the reporter's identity",
                security=OFFICIAL,
                params=[CASE],
                body=schemas.IdentityRequestIn,
                ok="201",
                errors=(401, 403, 404, 409, 422),
            )
        },
        # referrals between linked cities (referrals.py, issue 23)
        f"{p}/reports/{{case_number}}/referrals": {
            "post": _op(
                "Refer the case to a linked city (the reporter is asked first)",
                security=OFFICIAL,
                params=[CASE],
                body=schemas.ReferralIn,
                ok="201",
                errors=(401, 403, 404, 409, 422),
            ),
            "get": _op(
                "The case's referral, either way",
                security=OFFICIAL,
                params=[CASE],
                errors=(401, 403, 404),
            ),
        },
        f"{p}/inbox/referrals/{{referral_id}}/decision": {
            "post": _op(
                "Reporter consents to a referral (the case moves) or refuses it",
                security=RECEIPT,
                params=[REFERRAL_ID],
                body=schemas.ReferralDecisionIn,
                errors=(401, 404, 409, 422, 429),
            )
        },
        f"{p}/referrals/{{referral_id}}/identity": {
            "post": _op(
                "Sending custodian re-seals the identity to the receiving city's custodian",
                security=OFFICIAL,
                params=[REFERRAL_ID],
                body=schemas.ResealIn,
                errors=(401, 403, 404, 409, 422, 429),
            )
        },
        f"{p}/identity-requests": {
            "get": _op(
                "Pending identity requests (custodian)", security=OFFICIAL, errors=(401, 403)
            )
        },
        f"{p}/identity-requests/{{request_id}}/decisions": {
            "post": _op(
                "Custodian approves (with passphrase) or rejects",
                security=OFFICIAL,
                params=[REQUEST_ID],
                body=schemas.DecisionIn,
                errors=(401, 403, 404, 409, 422),
            )
        },
        f"{p}/identity-requests/{{request_id}}": {
            "get": _op(
                "The requester reads the disclosed identity, once",
                security=OFFICIAL,
                params=[REQUEST_ID],
                errors=(401, 403, 404, 409, 410),
            )
        },
        f"{p}/stats": {
            "get": _op("Statistics for officials", security=OFFICIAL, errors=(401, 403))
        },
        f"{p}/stats.csv": {
            "get": _op(
                "Statistics as CSV",
                security=OFFICIAL,
                errors=(401, 403),
                produces="text/csv",
                ok_schema={"type": "string"},
            )
        },
        f"{p}/reports.csv": {
            "get": _op(
                "Case list as CSV (no content)",
                security=OFFICIAL,
                params=FILTERS,
                errors=(401, 403, 422),
                produces="text/csv",
                ok_schema={"type": "string"},
            )
        },
        f"{p}/public/stats": {
            "get": _op("Public statistics (cells below 5 hidden)", errors=(404,))
        },
    }
    return openapi.document(
        "Replika whistleblowing API",
        "Reports of wrongdoing, anonymous unless the reporter says who they are. Errors are "
        "application/problem+json. See services/whistleblowing/README.md.",
        paths,
        schemas=components,
        security_schemes={
            "receipt": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Receipt <receipt>`; a 401 answers `WWW-Authenticate: Receipt "
                'realm="whistleblowing"`',
            }
        },
    )
