"""Request bodies of the API, validated at the boundary (pydantic v2, strict: no coercion of
"1000" or 1000.0 into money). Errors become 422 problems naming each wrong field."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
)

from services.hibah_bansos.domain import workflow
from shared.openapi import checked_against
from shared.problem import validation_error
from shared.request_schemas import EMAIL_PATTERN, number_text, text
from shared.request_schemas import S as S  # re-exported: `schemas.parse(...)` at the call sites
from shared.request_schemas import Strict as Strict
from shared.request_schemas import parse as parse


def _iso_date_text(value: object) -> object:
    """A date is text, YYYY-MM-DD, as the document says (`format: date`): pydantic alone would
    take 0 as 1970-01-01 and a date-time at midnight as its date."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date as text, YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_text)]


def _whole_number(value: object) -> object:
    """JSON has one number type: 1500000.0 is the whole number JSON Schema's `integer` allows;
    anything with a fraction stays a float and is refused (money is integer rupiah)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def whole_number(field: Any) -> Any:
    """A JSON integer within the bounds of `field` (a pydantic `Field`): strict (no "3"), but
    3.0 is taken as 3, since JSON Schema's `integer`, which the document says, allows it."""
    return Annotated[Annotated[StrictInt, field], BeforeValidator(_whole_number)]


Rupiah = Annotated[
    Annotated[StrictInt, Field(gt=0, le=10**15, description="integer rupiah")],
    BeforeValidator(_whole_number),
]
Email = Annotated[str, StringConstraints(pattern=EMAIL_PATTERN, max_length=254)]
# Numbers people type: ASCII digits after NFKC (fullwidth digits become ASCII; Arabic-Indic
# and other scripts' digits are refused), spaces and dashes dropped: the value stored and
# blind-indexed is the one form of the number (shared/plain_text.py).
Digits16 = number_text((16, 16))
Phone = number_text((6, 20), keep_plus=True)
BankAccount = number_text((6, 30))


# The applicant's own password: a resident registering gives it, an official entering the
# applicant at the counter never does (the applicant sets it through the mailed link).
ApplicantPassword = Annotated[
    str,
    StringConstraints(min_length=12, max_length=200),
    Field(
        json_schema_extra=checked_against(
            "the caller: required when residents register themselves, refused from an official"
        )
    ),
]


class OrganisationIn(Strict):
    type: Literal["organisation"]
    email: Email
    password: ApplicantPassword | None = None
    name: text(200)
    registration_number: text(100)  # legal-entity approval (AHU) number
    legal_entity_since: Annotated[
        IsoDate, Field(json_schema_extra=checked_against("today: not in the future"))
    ]
    npwp: Annotated[str, StringConstraints(pattern=r"^[0-9.\-]{15,20}$")]
    address: text(500)
    chairperson: text(200)
    phone: Phone
    bank_account: BankAccount


class IndividualIn(Strict):
    type: Literal["individual"]
    email: Email | None = None
    password: ApplicantPassword | None = None
    nik: Digits16
    kk: Digits16
    name: text(200)
    address: text(500)
    phone: Phone
    bank_account: BankAccount
    # set only by a bansos evaluator registering someone; ignored from self-registration
    in_social_registry: StrictBool = False


def parse_applicant(data) -> OrganisationIn | IndividualIn:
    """The applicant's `type` chooses the form."""
    kind = data.get("type") if isinstance(data, dict) else None
    if kind not in ("organisation", "individual"):
        raise validation_error([{"field": "type", "reason": "one of: organisation, individual"}])
    # a password is the applicant's own: required when they register themselves, refused
    # from an official (cases.register_applicant, which knows who registers)
    form: OrganisationIn | IndividualIn = (
        parse(OrganisationIn, data) if kind == "organisation" else parse(IndividualIn, data)
    )
    return form


class ConfirmIn(Strict):
    token: Annotated[
        str,
        StringConstraints(min_length=20, max_length=100),
        Field(json_schema_extra=checked_against("the links mailed: issued, unused, not expired")),
    ]
    password: Annotated[str, StringConstraints(min_length=12, max_length=200)] | None = None


class ResetRequestIn(Strict):
    email: Email


class TokenIn(Strict):
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class RabLineIn(Strict):
    """A budget line: item, volume, unit and unit price (the total is computed as volume x
    unit price), or, as before, an item and its total `amount` only."""

    item: text(300)
    volume: whole_number(Field(gt=0, le=10**9)) | None = None
    unit: text(40, 0) | None = None  # "orang", "paket", "hari", ...
    unit_price: Rupiah | None = None
    amount: Rupiah | None = None


class ApplicationIn(Strict):
    MULTILINE = frozenset({"proposal"})
    programme: text(40)
    proposal: text(20000, 10)
    requested: Rupiah
    rab: list[RabLineIn] = Field(
        min_length=1,
        max_length=200,
        json_schema_extra=checked_against("`requested`: the lines add up to it"),
    )
    # officials entering an application on someone's behalf
    applicant_id: str | None = Field(
        default=None,
        json_schema_extra=checked_against(
            "the caller: an official names the applicant; an applicant files for themself"
        ),
    )


class TransitionIn(Strict):
    MULTILINE = frozenset({"reason"})
    to: workflow.Status  # the document lists the statuses; a step not open from here is 409
    reason: text(2000, 0) | None = None
    amount: Rupiah | None = None
    reference: text(100, 0) | None = None  # decree, NPHD, receipt or transfer number
    date: IsoDate | None = None
    checklist: dict[Annotated[str, StringConstraints(max_length=40)], StrictBool] | None = None


class LpjLineIn(Strict):
    item: text(300)
    amount: Rupiah
    # the budget-plan line (0-based position) the money was spent on: RAB against actual
    rab_line: whole_number(Field(ge=0, lt=200)) | None = None


class RefundIn(Strict):
    """The unspent balance returned to the kas daerah (the regional treasury)."""

    amount: Rupiah
    date: IsoDate
    reference: text(100)  # the deposit slip (STS) or transfer number


class LpjIn(Strict):
    MULTILINE = frozenset({"summary"})
    summary: text(5000, 0) = ""
    lines: list[LpjLineIn] = Field(min_length=1, max_length=500)
    refund: RefundIn | None = None
