"""The report lifecycle as an explicit state machine.

    received -> acknowledged -> triaged (accepted | not_wbs_matter) -> investigating
             -> concluded (substantiated | unsubstantiated | forwarded_*) -> archived

A report triaged as not a WBS matter is closed by archiving it (with its referral, if any,
e.g. to SP4N-LAPOR!). Anything else is an illegal transition.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from services.whistleblowing.domain.access import INTAKE, INVESTIGATION, SUPERVISION


class Status(StrEnum):
    RECEIVED = "received"
    ACKNOWLEDGED = "acknowledged"
    TRIAGED = "triaged"
    INVESTIGATING = "investigating"
    CONCLUDED = "concluded"
    ARCHIVED = "archived"


TRIAGE_OUTCOMES = ("accepted", "not_wbs_matter")
CONCLUSION_OUTCOMES = (
    "substantiated",
    "unsubstantiated",
    "forwarded_law_enforcement",
    "forwarded_higher_apip",
)
OUTCOMES = {Status.TRIAGED: TRIAGE_OUTCOMES, Status.CONCLUDED: CONCLUSION_OUTCOMES}


@dataclass(frozen=True)
class Edge:
    source: Status
    target: Status
    roles: frozenset[str]
    requires_outcome: str | None = None  # the source's outcome this edge needs


EDGES: tuple[Edge, ...] = (
    Edge(Status.RECEIVED, Status.ACKNOWLEDGED, frozenset(INTAKE)),
    Edge(Status.ACKNOWLEDGED, Status.TRIAGED, frozenset(INTAKE)),
    Edge(
        Status.TRIAGED, Status.INVESTIGATING, frozenset(INVESTIGATION), requires_outcome="accepted"
    ),
    Edge(
        Status.TRIAGED, Status.ARCHIVED, frozenset(SUPERVISION), requires_outcome="not_wbs_matter"
    ),
    Edge(Status.INVESTIGATING, Status.CONCLUDED, frozenset(INVESTIGATION)),
    Edge(Status.CONCLUDED, Status.ARCHIVED, frozenset(SUPERVISION)),
)

# Decisions that the reporter is owed a reason for.
REASON_REQUIRED = {
    (Status.TRIAGED, "not_wbs_matter"),
    (Status.CONCLUDED, "substantiated"),
    (Status.CONCLUDED, "unsubstantiated"),
    (Status.CONCLUDED, "forwarded_law_enforcement"),
    (Status.CONCLUDED, "forwarded_higher_apip"),
}
REFERRAL_ALLOWED = {(Status.TRIAGED, "not_wbs_matter")}
MAX_REASON = 4000
MAX_REFERRAL = 200


class LifecycleError(Exception):
    """Base of every refused step; `str(exc)` is a message fit for the caller. `status` is
    the HTTP answer, `field` the input at fault, `extra` further members of the problem."""

    status: ClassVar[int] = 422
    field: str | None = None

    @property
    def extra(self) -> dict[str, Any]:
        return {}


class IllegalTransition(LifecycleError):
    """No such step from the report's state (409 naming the state and the target)."""

    status = 409

    def __init__(self, source: str, target: str) -> None:
        self.source, self.target = source, target
        allowed = ", ".join(sorted(e.target.value for e in EDGES if e.source == source)) or "none"
        super().__init__(
            f"A report that is '{source}' cannot move to '{target}' (allowed next: {allowed})."
        )

    @property
    def extra(self) -> dict[str, Any]:
        return {"source": self.source, "target": self.target}


class TransitionNotPermitted(LifecycleError):
    """The step exists but the actor's roles do not take it (403 naming the roles that do)."""

    status = 403

    def __init__(self, target: str, roles: frozenset[str]) -> None:
        self.required_roles = sorted(roles)
        super().__init__(
            f"Moving a report to '{target}' needs one of the roles "
            f"{', '.join(self.required_roles)}."
        )

    @property
    def extra(self) -> dict[str, Any]:
        return {"required_roles": self.required_roles}


class InvalidDecision(LifecycleError):
    """The step is legal but its details are wrong (outcome, reason, referral)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class Step:
    """A checked transition, ready to be applied to a report."""

    source: Status
    target: Status
    outcome: str | None
    reason: str | None
    referral: str | None


def allowed_targets(status: str, outcome: str | None) -> list[str]:
    return [
        e.target.value
        for e in EDGES
        if e.source == status and e.requires_outcome in (None, outcome)
    ]


def decide(
    status: str,
    outcome: str | None,
    target: str,
    *,
    roles: frozenset[str],
    new_outcome: str | None = None,
    reason: str | None = None,
    referral: str | None = None,
) -> Step:
    """Check one requested transition of a report now in (`status`, `outcome`)."""
    try:
        source, dest = Status(status), Status(target)
    except ValueError:
        raise IllegalTransition(status, target) from None
    edge = next(
        (
            e
            for e in EDGES
            if e.source == source and e.target == dest and e.requires_outcome in (None, outcome)
        ),
        None,
    )
    if edge is None:
        raise IllegalTransition(status, target)
    if not roles & edge.roles:
        raise TransitionNotPermitted(target, edge.roles)
    choices = OUTCOMES.get(dest)
    if choices is None and new_outcome is not None:
        raise InvalidDecision("outcome", f"Moving to '{target}' takes no outcome.")
    if choices is not None and new_outcome not in choices:
        raise InvalidDecision(
            "outcome", f"Moving to '{target}' needs an outcome: one of {', '.join(choices)}."
        )
    reason = (reason or "").strip() or None
    referral = (referral or "").strip() or None
    if (dest, new_outcome) in REASON_REQUIRED and not reason:
        raise InvalidDecision("reason", f"'{new_outcome}' needs a reason for the reporter.")
    if reason and len(reason) > MAX_REASON:
        raise InvalidDecision("reason", f"The reason is longer than {MAX_REASON} characters.")
    if referral and (dest, new_outcome) not in REFERRAL_ALLOWED:
        raise InvalidDecision("referral", "A referral is only given with 'not_wbs_matter'.")
    if referral and len(referral) > MAX_REFERRAL:
        raise InvalidDecision("referral", f"The referral is longer than {MAX_REFERRAL} characters.")
    return Step(source, dest, new_outcome, reason, referral)


def is_closed(status: str) -> bool:
    """Concluded and archived cases are no longer (re)assigned."""
    return status in (Status.CONCLUDED, Status.ARCHIVED)


def takes_input(status: str) -> bool:
    """An archived report takes no more messages or files (from anyone)."""
    return status != Status.ARCHIVED
