"""The application workflow as an explicit state machine.

    draft -> submitted -> evaluated (OPD: recommendation, recommended amount)
          -> verified (TAPD) -> approved (mayor's decree: number, approved amount)
          -> agreement_signed (NPHD: grant agreement number; bansos: receipt)
          -> disbursed (transfer reference; further tranches stay in disbursed)
          -> reported (LPJ: accountability report) -> closed (LPJ verified)
    submitted | evaluated -> returned (for revision) -> submitted
    submitted | evaluated | verified -> rejected (with a reason)
    draft -> verification (bansos: the social registry says "not listed" and the applicant asks
          an official to verify them) -> submitted (OPD: verified in person) | rejected

OPD: the responsible regional work unit; TAPD: the regional government budget team;
NPHD: the grant agreement (Naskah Perjanjian Hibah Daerah); LPJ: Laporan Pertanggungjawaban.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from services.hibah_bansos.domain import lpj
from services.hibah_bansos.domain.access import APPROVER, EVALUATOR, FINANCE, VERIFIER
from services.hibah_bansos.domain.money import InvalidAmount, rupiah


class Status(StrEnum):
    DRAFT = "draft"
    VERIFICATION = "verification"  # waits for an official to verify a person the registry lacks
    SUBMITTED = "submitted"
    RETURNED = "returned"
    EVALUATED = "evaluated"
    VERIFIED = "verified"
    APPROVED = "approved"
    AGREEMENT_SIGNED = "agreement_signed"
    DISBURSED = "disbursed"
    REPORTED = "reported"
    CLOSED = "closed"
    REJECTED = "rejected"


APPLICANT = "applicant"
# The social-registry path of bansos: the applicant asks, an official confirms the person.
ASK_VERIFICATION = "ask_verification"
CONFIRM_PERSON = "confirm_person"


@dataclass(frozen=True)
class Edge:
    source: Status
    target: Status
    role: str  # an official role, or APPLICANT
    step: str  # the named step, for separation of duties
    needs: tuple[str, ...] = ()  # fields the request must carry


S = Status
EDGES: tuple[Edge, ...] = (
    Edge(S.DRAFT, S.SUBMITTED, APPLICANT, "submit"),
    Edge(S.RETURNED, S.SUBMITTED, APPLICANT, "submit"),
    Edge(S.DRAFT, S.VERIFICATION, APPLICANT, ASK_VERIFICATION),
    Edge(S.VERIFICATION, S.SUBMITTED, EVALUATOR, CONFIRM_PERSON, ("reason",)),
    Edge(S.VERIFICATION, S.REJECTED, EVALUATOR, "reject", ("reason",)),
    Edge(S.SUBMITTED, S.EVALUATED, EVALUATOR, "evaluate", ("amount", "reason")),
    Edge(S.SUBMITTED, S.RETURNED, EVALUATOR, "return", ("reason",)),
    Edge(S.SUBMITTED, S.REJECTED, EVALUATOR, "reject", ("reason",)),
    Edge(S.EVALUATED, S.VERIFIED, VERIFIER, "verify", ("reason",)),
    Edge(S.EVALUATED, S.RETURNED, VERIFIER, "return", ("reason",)),
    Edge(S.EVALUATED, S.REJECTED, VERIFIER, "reject", ("reason",)),
    Edge(S.VERIFIED, S.APPROVED, APPROVER, "approve", ("amount", "reference", "date")),
    Edge(S.VERIFIED, S.REJECTED, APPROVER, "reject", ("reason",)),
    Edge(S.APPROVED, S.AGREEMENT_SIGNED, APPROVER, "sign_agreement", ("reference", "date")),
    Edge(S.AGREEMENT_SIGNED, S.DISBURSED, FINANCE, "disburse", ("amount", "reference")),
    Edge(S.DISBURSED, S.DISBURSED, FINANCE, "disburse", ("amount", "reference")),
    Edge(S.DISBURSED, S.REPORTED, APPLICANT, "report"),
    Edge(S.REPORTED, S.CLOSED, EVALUATOR, "close", ("reason",)),
)

# One official may not do two of these steps on the same application.
SEPARATED_STEPS = (frozenset({"evaluate", "verify", "approve"}),)

# (source, target) -> the step's name: each pair of states is joined by one edge
STEP_OF: dict[tuple[str, str], str] = {(e.source.value, e.target.value): e.step for e in EDGES}


def steps_done(history: Iterable[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """(source, target, actor) of every recorded move -> (step, actor) of each, for
    separation of duties over the whole history (not only each step's latest actor)."""
    return [
        (STEP_OF[(source, target)], actor)
        for source, target, actor in history
        if (source, target) in STEP_OF
    ]


class WorkflowError(Exception):
    """A refused step (422 unless a subclass says otherwise); `field` names the request field
    at fault, if any. `status`, `field` and `extra` are what the web layer answers with."""

    status = 422

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        self.extra: dict[str, Any] = {}
        super().__init__(message)


class IllegalTransition(WorkflowError):
    """No edge leads from the current status to the wanted one."""

    status = 409


class NotYourStep(WorkflowError):
    """The edge exists, but the caller's roles do not take it."""

    status = 403


def allowed_targets(status: str) -> list[str]:
    return sorted({e.target.value for e in EDGES if e.source == status})


def targets_for(status: str, roles: frozenset[str]) -> list[str]:
    """The next states someone with `roles` may move an application in `status` to."""
    return sorted({e.target.value for e in EDGES if e.source == status and e.role in roles})


def edges_for(status: str, roles: frozenset[str]) -> list[Edge]:
    """The officials' steps someone with `roles` may take on an application in `status`, in
    the workflow's order (forward first): one small form each on the officials' page."""
    return [e for e in EDGES if e.source == status and e.role in roles and e.role != APPLICANT]


def waiting_for(roles: frozenset[str]) -> list[str]:
    """The states in which an application waits for a step one of `roles` takes (a worklist)."""
    return sorted({e.source.value for e in EDGES if e.role in roles and e.role != APPLICANT})


def edge_for(status: str, target: str, roles: frozenset[str]) -> Edge:
    """The edge taking an application from `status` to `target` for someone with `roles`."""
    candidates = [e for e in EDGES if e.source == status and e.target == target]
    if not candidates:
        allowed = ", ".join(allowed_targets(status)) or "none"
        raise IllegalTransition(
            f"An application that is '{status}' cannot move to "
            f"'{target}' (allowed next: {allowed}).",
            "to",
        )
    for edge in candidates:
        if edge.role in roles:
            return edge
    raise NotYourStep(f"Moving an application to '{target}' needs the role {candidates[0].role}.")


def check_fields(edge: Edge, fields: dict[str, Any]) -> None:
    for name in edge.needs:
        value = fields.get(name)
        if value in (None, ""):
            raise WorkflowError(f"Moving to '{edge.target}' needs '{name}'.", name)
        if name == "amount":
            try:
                rupiah(value)
            except InvalidAmount as exc:
                raise WorkflowError(f"amount {exc}", "amount") from None


def check_amount(
    edge: Edge, amount: int | None, *, requested: int, approved: int, disbursed: int
) -> None:
    """Amount rules of the money steps (the ceiling is enforced by the database)."""
    if amount is None:
        return  # no money step: check_fields refuses a money step without an amount
    if edge.step == "evaluate" and amount > requested:
        raise WorkflowError("The recommended amount is more than was requested.", "amount")
    if edge.step == "approve" and amount > requested:
        raise WorkflowError("The approved amount is more than was requested.", "amount")
    if edge.step == "disburse" and disbursed + amount > approved:
        raise WorkflowError(
            f"Disbursing {amount} would pay {disbursed + amount}, more than "
            f"the approved {approved}.",
            "amount",
        )


@dataclass(frozen=True)
class Outcome:
    """What a step records on the application, and what it asks of the programme's budget:
    `allocate` is reserved from the ceiling (pagu), `pay` paid out of what is allocated;
    `recheck_eligibility`: the applicant must still be eligible (facts may have changed);
    `confirms_person`: the official vouches for a person the social registry does not list."""

    record: dict[str, Any] = field(default_factory=dict)
    allocate: int = 0
    pay: int = 0
    recheck_eligibility: bool = False
    confirms_person: bool = False


def outcome(
    edge: Edge,
    *,
    amount: int | None,
    reference: str | None,
    on: date | None,
    disbursed: int,
    fiscal_year: int,
    lpj_due: str | None = None,
) -> Outcome:
    """The effects of `edge` (after `check_fields` and `check_amount` passed): evaluation
    records the recommendation; approval the decree, the approved amount and the LPJ deadline,
    and reserves the amount; signing records the NPHD; a disbursement pays a tranche."""
    if edge.step == "evaluate":
        return Outcome({"recommended": amount})
    if edge.step == "approve":
        assert amount is not None
        return Outcome(
            {
                "approved": amount,
                "decree_number": reference,
                "decree_date": on,
                "lpj_due": lpj.due_date(fiscal_year, lpj_due),
            },
            allocate=amount,
            recheck_eligibility=True,
        )
    if edge.step == "sign_agreement":
        return Outcome({"nphd_number": reference, "nphd_date": on})
    if edge.step == "disburse":
        assert amount is not None
        return Outcome({"disbursed": disbursed + amount}, pay=amount)
    if edge.step == CONFIRM_PERSON:
        return Outcome(confirms_person=True)
    return Outcome()
