"""RFC 9457 problem details: the one error shape of every API response, and the one refusal.

Use cases raise `Refused` (status, reason, field at fault); domain errors carry their own
`status`, `field` and `extra` (they import nothing from here). The service factory has the one
handler that turns either into a problem document (API) or a localized page (HTML).
"""

from __future__ import annotations

from typing import Any, Protocol

from flask import Response, json

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


class Problem(Exception):
    """Raise anywhere below a handler to answer with a problem document.

    `errors` lists the fields that are wrong: [{"field": "nik", "reason": "..."}].
    """

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        errors: list[dict[str, str]] | None = None,
        **extra: Any,
    ) -> None:
        title = title or title_of(status)
        super().__init__(detail or title)
        self.status, self.title, self.detail = status, title, detail
        self.type, self.errors, self.extra = type_, errors or [], extra

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
