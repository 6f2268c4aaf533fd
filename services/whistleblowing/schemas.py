"""Request bodies of the API, validated at the boundary (pydantic v2).

Errors become 422 problems naming each wrong field (`errors: [{"field", "reason"}]`).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, ClassVar, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from shared.plain_text import check_no_control_characters, typed_number
from shared.problem import validation_error


def _text(max_length: int, min_length: int = 1):
    return Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)
    ]


class Strict(BaseModel):
    """Every body: unknown fields refused, strings stripped, and no control characters in
    any string (422 naming the field); the fields named in `MULTILINE` may hold LF and TAB."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    MULTILINE: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _no_control_characters(cls, value: object, info: ValidationInfo) -> object:
        return check_no_control_characters(value, multiline=info.field_name in cls.MULTILINE)


S = TypeVar("S", bound=Strict)


class ReportedPerson(Strict):
    name: _text(200, 0) = ""
    position: _text(200, 0) = ""
    work_unit: _text(200, 0) = ""


class Identity(Strict):
    name: _text(200)
    # ASCII digits after NFKC, spaces and dashes dropped (shared/plain_text.py): `\d` took
    # fullwidth and Arabic-Indic digits, one NIK in many spellings
    nik: Annotated[str, BeforeValidator(partial(typed_number, digits=(16, 16)))] | None = None
    phone: (
        Annotated[
            str,
            BeforeValidator(
                partial(typed_number, digits=(6, 20), keep_plus=True, keep_format=True)
            ),
        ]
        | None
    ) = None
    email: (
        Annotated[
            str,
            StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$", max_length=254),
        ]
        | None
    ) = None


class ReportIn(Strict):
    """The 4W+1H of a report: what, who, where, when, how the reporter knows."""

    MULTILINE = frozenset({"what", "how_known"})

    category: _text(63)
    what: _text(10000, 10)
    reported_persons: list[ReportedPerson] = Field(default_factory=list, max_length=20)
    where: _text(500, 0) = ""
    when: _text(200, 0) = ""
    how_known: _text(2000, 0) = ""
    identity: Identity | None = None

    def content(self) -> dict:
        """What is encrypted as the report's content (everything but category and identity)."""
        return self.model_dump(exclude={"category", "identity"})


class MessageIn(Strict):
    MULTILINE = frozenset({"body"})
    body: _text(5000)


class TransitionIn(Strict):
    MULTILINE = frozenset({"reason"})
    to: _text(20)
    outcome: _text(40) | None = None
    reason: str | None = Field(default=None, max_length=4000)
    referral: str | None = Field(default=None, max_length=200)


# an official's id as uuid.UUID reads it (the document and the server refuse the same strings)
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class AssignmentIn(Strict):
    official_id: str = Field(pattern=UUID_PATTERN)


class RecusalIn(Strict):
    MULTILINE = frozenset({"reason"})
    official_id: str = Field(pattern=UUID_PATTERN)
    reason: _text(2000)


class HandlerProfileIn(Strict):
    work_unit: _text(200)
    name: _text(200, 0) = ""


class IdentityRequestIn(Strict):
    MULTILINE = frozenset({"reason"})
    reason: _text(2000, 10)


class DecisionIn(Strict):
    decision: Literal["approve", "reject"]
    passphrase: str | None = Field(default=None, max_length=1024)


def parse(model: type[S], body: object) -> S:
    """The validated body, or a 422 problem naming each wrong field (values never echoed)."""
    if not isinstance(body, dict):
        raise validation_error([{"field": "(body)", "reason": "a JSON object is required"}])
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise validation_error(
            [
                {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "reason": e["msg"]}
                for e in exc.errors(include_input=False)
            ]
        ) from None
