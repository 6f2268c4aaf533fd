"""Request bodies of the API, validated at the boundary (pydantic v2).

Errors become 422 problems naming each wrong field (`errors: [{"field", "reason"}]`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    StringConstraints,
)

from services.whistleblowing.domain import contact as contact_rules
from services.whistleblowing.domain import lifecycle
from shared.openapi import checked_against
from shared.request_schemas import EMAIL_PATTERN, number_text, text
from shared.request_schemas import S as S  # re-exported: `schemas.parse(...)` at the call sites
from shared.request_schemas import Strict as Strict
from shared.request_schemas import parse as parse


class ReportedPerson(Strict):
    name: text(200, 0) = ""
    position: text(200, 0) = ""
    work_unit: text(200, 0) = ""


class Identity(Strict):
    name: text(200)
    # ASCII digits after NFKC, spaces and dashes dropped (shared/plain_text.py): `\d` took
    # fullwidth and Arabic-Indic digits, one NIK in many spellings
    nik: number_text((16, 16)) | None = None
    phone: number_text((6, 20), keep_plus=True, keep_format=True) | None = None
    email: (
        Annotated[
            str,
            StringConstraints(pattern=EMAIL_PATTERN, max_length=254),
        ]
        | None
    ) = None


def _contact(value: object) -> str:
    """A notice contact in its one stored form (`domain/contact.py`), or ValueError."""
    if not isinstance(value, str):
        raise ValueError("send the contact as text")
    try:
        return contact_rules.read(value).address
    except contact_rules.BadContact as exc:
        raise ValueError(str(exc)) from None


NotifyContact = Annotated[
    str,
    BeforeValidator(_contact),
    Field(
        description="optional: an e-mail address or an Indonesian mobile number (08…, +62…) "
        "to be told only that a new reply waits; sealed, never shown to handlers, never in "
        "an event; phone numbers are stored as +62…",
        max_length=contact_rules.MAX_TYPED,
        json_schema_extra=checked_against(
            "the forms of an e-mail address and of an Indonesian mobile number"
        ),
    ),
]


class ReportIn(Strict):
    """The 4W+1H of a report: what, who, where, when, how the reporter knows."""

    MULTILINE = frozenset({"what", "how_known"})

    category: Annotated[text(63), Field(json_schema_extra=checked_against("the city's categories"))]
    what: text(10000, 10)
    reported_persons: list[ReportedPerson] = Field(default_factory=list, max_length=20)
    where: text(500, 0) = ""
    when: text(200, 0) = ""
    how_known: text(2000, 0) = ""
    identity: Identity | None = None
    notify_contact: NotifyContact | None = None

    def content(self) -> dict:
        """What is encrypted as the report's content, which handlers read (everything but
        category, identity and the notice contact)."""
        return self.model_dump(exclude={"category", "identity", "notify_contact"})


class ContactIn(Strict):
    """The reporter gives (or replaces) the contact for "ada balasan baru" notices."""

    notify_contact: NotifyContact


class AssistedReportIn(ReportIn):
    """A report an intake official enters for a reporter who came in person (`walk_in`),
    phoned, wrote a letter or an e-mail: the same fields, and the channel it came by. The
    identity, if the reporter gave one, is sealed to the custodian like a citizen's."""

    channel: Literal["walk_in", "phone", "letter", "email"]

    def content(self) -> dict:
        return self.model_dump(exclude={"category", "identity", "notify_contact", "channel"})


class MessageIn(Strict):
    MULTILINE = frozenset({"body"})
    body: text(5000)


class TransitionIn(Strict):
    MULTILINE = frozenset({"reason"})
    to: lifecycle.Status  # the document lists the statuses; a step not open from here is 409
    outcome: Annotated[
        text(40) | None,
        Field(json_schema_extra=checked_against("the step: only triage and conclusion take one")),
    ] = None
    reason: str | None = Field(default=None, max_length=4000)
    referral: str | None = Field(default=None, max_length=200)


# an official's id as uuid.UUID reads it (the document and the server refuse the same strings)
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class AssignmentIn(Strict):
    official_id: str = Field(
        pattern=UUID_PATTERN,
        json_schema_extra=checked_against("the city's investigators and supervisors"),
    )


class RecusalIn(Strict):
    MULTILINE = frozenset({"reason"})
    official_id: str = Field(pattern=UUID_PATTERN)
    reason: text(2000)


class HandlerProfileIn(Strict):
    work_unit: text(200)
    name: text(200, 0) = ""


class IdentityRequestIn(Strict):
    MULTILINE = frozenset({"reason"})
    reason: text(2000, 10)


class DecisionIn(Strict):
    decision: Literal["approve", "reject"]
    passphrase: str | None = Field(default=None, max_length=1024)


# --- The SP4N-LAPOR! bridge (lapor_pages.py); the texts are checked again by lapor_cases.
# (Named types: a field called `text` with a default would hide the helper in its class.)
LaporDraft = text(5000, 10)
LaporText = text(5000, 0)


class LaporOfferIn(Strict):
    """An official offers the reporter to forward the case to SP4N-LAPOR! with this text."""

    MULTILINE = frozenset({"text"})
    text: LaporDraft


class LaporDecisionIn(Strict):
    """The reporter consents (with the text as they approved it) or declines."""

    MULTILINE = frozenset({"text"})
    consent: bool
    text: LaporText = ""


# --- Referrals between linked cities (referrals.py) -----------------------------------------


class ReferralIn(Strict):
    MULTILINE = frozenset({"reason"})
    partner: text(63, 1)  # the linked city's slug
    reason: text(2000, 10)  # shown to the reporter when their consent is asked


class ReferralDecisionIn(Strict):
    decision: Literal["consent", "refuse"]


class ResealIn(Strict):
    passphrase: str = Field(min_length=1, max_length=1024)
