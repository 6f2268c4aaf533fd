"""Request bodies of the API, validated at the boundary (pydantic v2, strict: no coercion of
"1000" or 1000.0 into money). Errors become 422 problems naming each wrong field."""

from __future__ import annotations

import datetime as dt
import re
from functools import partial
from typing import Annotated, ClassVar, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
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


def _iso_date_text(value: object) -> object:
    """A date is text, YYYY-MM-DD, as the document says (`format: date`): pydantic alone would
    take 0 as 1970-01-01 and a date-time at midnight as its date."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date as text, YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_text)]
Rupiah = Annotated[StrictInt, Field(gt=0, le=10**15, description="integer rupiah")]
Email = Annotated[
    str, StringConstraints(pattern=r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$", max_length=254)
]
# Numbers people type: ASCII digits after NFKC (fullwidth digits become ASCII; Arabic-Indic
# and other scripts' digits are refused), spaces and dashes dropped: the value stored and
# blind-indexed is the one form of the number (shared/plain_text.py).
Digits16 = Annotated[str, BeforeValidator(partial(typed_number, digits=(16, 16)))]
Phone = Annotated[str, BeforeValidator(partial(typed_number, digits=(6, 20), keep_plus=True))]
BankAccount = Annotated[str, BeforeValidator(partial(typed_number, digits=(6, 30)))]


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


class OrganisationIn(Strict):
    type: Literal["organisation"]
    email: Email
    password: Annotated[str, StringConstraints(min_length=12, max_length=200)]
    name: _text(200)
    registration_number: _text(100)  # legal-entity approval (AHU) number
    legal_entity_since: IsoDate
    npwp: Annotated[str, StringConstraints(pattern=r"^[0-9.\-]{15,20}$")]
    address: _text(500)
    chairperson: _text(200)
    phone: Phone
    bank_account: BankAccount


class IndividualIn(Strict):
    type: Literal["individual"]
    email: Email | None = None
    password: Annotated[str, StringConstraints(min_length=12, max_length=200)] | None = None
    nik: Digits16
    kk: Digits16
    name: _text(200)
    address: _text(500)
    phone: Phone
    bank_account: BankAccount
    in_social_registry: StrictBool = False  # honoured only when an official registers


def parse_applicant(data) -> OrganisationIn | IndividualIn:
    """The applicant's `type` chooses the form."""
    kind = data.get("type") if isinstance(data, dict) else None
    if kind not in ("organisation", "individual"):
        raise validation_error([{"field": "type", "reason": "one of: organisation, individual"}])
    form: OrganisationIn | IndividualIn = (
        parse(OrganisationIn, data) if kind == "organisation" else parse(IndividualIn, data)
    )
    if form.email and not form.password:  # an e-mail signs in only with a password (else 500)
        raise validation_error(
            [{"field": "password", "reason": "give a password of at least 12 characters"}]
        )
    return form


class ResetRequestIn(Strict):
    email: Email


class TokenIn(Strict):
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class RabLineIn(Strict):
    item: _text(300)
    amount: Rupiah


class ApplicationIn(Strict):
    MULTILINE = frozenset({"proposal"})
    programme: _text(40)
    proposal: _text(20000, 10)
    requested: Rupiah
    rab: list[RabLineIn] = Field(min_length=1, max_length=200)
    applicant_id: str | None = None  # officials entering an application on someone's behalf


class TransitionIn(Strict):
    MULTILINE = frozenset({"reason"})
    to: _text(20)
    reason: _text(2000, 0) | None = None
    amount: Rupiah | None = None
    reference: _text(100, 0) | None = None  # decree, NPHD, receipt or transfer number
    date: IsoDate | None = None
    checklist: dict[Annotated[str, StringConstraints(max_length=40)], StrictBool] | None = None


class LpjLineIn(Strict):
    item: _text(300)
    amount: Rupiah


class LpjIn(Strict):
    MULTILINE = frozenset({"summary"})
    summary: _text(5000, 0) = ""
    lines: list[LpjLineIn] = Field(min_length=1, max_length=500)


def parse(model: type[S], data: object) -> S:
    if not isinstance(data, dict):
        raise validation_error([{"field": "(body)", "reason": "send a JSON object"}])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(
            [
                {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "reason": e["msg"]}
                for e in exc.errors()
            ]
        ) from None
