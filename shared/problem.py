"""RFC 9457 problem details: the one error shape of every API response, and the one refusal.

Use cases raise `Refused` (status, reason, field at fault); domain errors carry their own
`status`, `field` and `extra` (they import nothing from here). The service factory has the one
handler that turns either into a problem document (API) or a localized page (HTML).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import Response, json

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# The one status → title table (RFC 9110 reason phrases).
TITLES: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def title_of(status: int) -> str:
    return TITLES.get(status, "Error")


# Problem types (RFC 9457 §3.1.1). `about:blank` says no more than the status, so a problem that
# carries extension members names a type of its own, which says what they mean. Type URIs are
# relative references: resolved against the request's URL they name `GET /problems/<name>` of
# the same service, which describes the type (shared/web.py); the OpenAPI documents list them.
PROBLEM_TYPE_BASE = "/problems/"
BLANK = "about:blank"


@dataclass(frozen=True)
class ProblemType:
    """One kind of problem: its name (the last segment of its URI), its status and title,
    what it means, and its extension members with what each one holds."""

    name: str
    status: int | None  # None: any status
    title: str | None
    description: str
    members: dict[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return PROBLEM_TYPE_BASE + self.name

    def describe(self) -> dict[str, Any]:
        return {
            "type": self.uri,
            "status": self.status,
            "title": self.title,
            "description": self.description,
            "members": dict(self.members)
            if self.name == "invalid-fields"
            else {**self.members, **ERRORS_MEMBER},
        }


# `errors` ([{"field", "reason"}], the fields at fault) may come with any of these types; alone it
# makes a problem an `invalid-fields` one, whatever its status (422 mostly, 409 for a taken value).
ERRORS_MEMBER = {"errors": "the request's fields at fault: [{field, reason}]"}

PROBLEM_TYPES: dict[str, ProblemType] = {
    t.name: t
    for t in (
        ProblemType(
            "invalid-fields",
            None,
            None,
            "Fields of the request are wrong or refused; `errors` names each with its reason.",
            ERRORS_MEMBER,
        ),
        ProblemType(
            "role-required",
            403,
            "Forbidden",
            "The caller is signed in, but none of its roles allows this action.",
            {"required_roles": "the roles any one of which allows it"},
        ),
        ProblemType(
            "illegal-transition",
            409,
            "Conflict",
            "No step of the case's lifecycle leads from its state to the one asked for.",
            {"source": "the case's state", "target": "the state asked for"},
        ),
        ProblemType(
            "separation-of-duties",
            409,
            "Conflict",
            "The official did an earlier step of this case that may not be combined with this one.",
            {"step": "the step refused", "conflicting_step": "the step the official already did"},
        ),
        ProblemType(
            "requester-without-standing",
            409,
            "Conflict",
            "The official who asked for a reporter's identity may no longer handle the case "
            "(recused, reassigned or inactive): nothing is disclosed.",
            {"requester_standing": "recused, not_assigned, inactive or no_disclosure_role"},
        ),
        ProblemType(
            "duplicate-application",
            409,
            "Conflict",
            "This person (NIK) already has an application in the programme this fiscal year.",
            {"existing_application": "the number of that application"},
        ),
        ProblemType(
            "ceiling-exceeded",
            409,
            "Conflict",
            "The amount would take the programme past its ceiling (pagu).",
            {
                "ceiling": "the programme's ceiling, in rupiah",
                "allocated": "rupiah already allocated",
                "remaining": "rupiah that remain",
            },
        ),
        ProblemType(
            "file-header",
            422,
            "Unprocessable Content",
            "The header row of an imported file lacks columns or names one twice; nothing was "
            "imported.",
            {
                "header_row": "the row (as Excel numbers it) read as the header",
                "expected_columns": "the columns an import file may have",
            },
        ),
        ProblemType(
            "sheet-not-found",
            422,
            "Unprocessable Content",
            "The workbook has no sheet of the name asked for.",
            {"sheets": "the names of the sheets it has"},
        ),
        ProblemType(
            "throttled",
            429,
            "Too Many Requests",
            "Too many attempts from this account or address; the Retry-After header says when "
            "to try again.",
            {"retry_after": "seconds to wait (as in Retry-After)"},
        ),
        ProblemType(
            "not-ready",
            503,
            "Service Unavailable",
            "A component this answer needs (database, Kafka, ...) is not reachable; retry later.",
            {
                "failed": "the names of the components that are not reachable",
                "reasons": "for each of them, why (readiness check only)",
            },
        ),
        ProblemType(
            "tenant-suspended",
            503,
            "Service Unavailable",
            "The city's services are read-only for now: nothing can be changed.",
            {"tenant_suspended": "always true"},
        ),
        ProblemType(
            "provisioning-interrupted",
            503,
            "Service Unavailable",
            "Provisioning a new city stopped part way; POST .../provision resumes it.",
            {"request_id": "the replication request", "steps": "the steps done so far"},
        ),
    )
}


def type_of(status: int, members: Any) -> str:
    """The type URI for a problem of `status` carrying these extension members: `about:blank`
    when it carries none, else the registered type whose members they are."""
    names = set(members) - {"errors"}
    if not names:
        return PROBLEM_TYPES["invalid-fields"].uri if "errors" in set(members) else BLANK
    for t in PROBLEM_TYPES.values():
        if t.status == status and names <= set(t.members):
            return t.uri
    # tests/unit/test_problem_types.py keeps every member used in the code registered
    log.warning("no problem type for status %s with members %s", status, sorted(names))
    return BLANK


class Problem(Exception):
    """Raise anywhere below a handler to answer with a problem document.

    `type_` defaults to the registered type of the extension members given (`about:blank`
    when there are none); `errors` lists the fields that are wrong: [{"field": "nik", "reason": "..."}].
    """

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        type_: str | None = None,
        errors: list[dict[str, str]] | None = None,
        **extra: Any,
    ) -> None:
        title = title or title_of(status)
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.errors, self.extra = errors or [], extra
        self.type = type_ or type_of(status, [*extra, *(["errors"] if self.errors else [])])

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class Refused(Exception):
    """A request the rules refuse: `status` is the HTTP answer, `field` the input at fault,
    `errors` every field at fault, `headers` what the answer must carry (Retry-After, ...),
    `extra` further problem members."""

    def __init__(
        self,
        status: int,
        message: str,
        field: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status, self.field, self.extra = status, field, extra
        self.headers = dict(headers or {})
        self.errors = (
            errors
            if errors is not None
            else ([{"field": field, "reason": message}] if field else [])
        )

    def to_problem(self) -> Problem:
        return Problem(self.status, None, str(self), errors=self.errors, **self.extra)


class DomainError(Protocol):
    """What a domain error carries (domain modules define these attributes, import nothing)."""

    status: int
    field: str | None


def problem_of(exc: BaseException) -> Problem:
    """The problem document for a `Problem`, a `Refused` or a domain error with a status."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, Refused):
        return exc.to_problem()
    status = int(getattr(exc, "status", 500))
    field = getattr(exc, "field", None)
    errors = [{"field": field, "reason": str(exc)}] if field else None
    extra: dict[str, Any] = dict(getattr(exc, "extra", None) or {})
    return Problem(status, None, str(exc), errors=errors, **extra)


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(problem.to_dict()), status=problem.status, mimetype=PROBLEM_JSON)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def not_found(what: str = "resource") -> Problem:
    return Problem(404, "Not Found", f"No such {what}.")


def validation_error(errors: list[dict[str, str]]) -> Problem:
    fields = ", ".join(e["field"] for e in errors)
    return Problem(422, "Unprocessable Content", f"Invalid field(s): {fields}", errors=errors)
