"""Who may do what with a case: the role sets, who sees a case, how a reporter sees a handler.

Declared once here; the lifecycle's edges, the use cases, the API and the officials' pages all
read them from this module. Role sets are tuples so that a 403 names them in a stable order.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection

HANDLERS = ("wbs_intake", "wbs_investigator", "wbs_supervisor")
INTAKE = ("wbs_intake", "wbs_supervisor")
INVESTIGATION = ("wbs_investigator", "wbs_supervisor")
SUPERVISION = ("wbs_supervisor",)
CUSTODIANS = ("identity_custodian",)
STATS_READERS = (*HANDLERS, "auditor")

SEE_ALL = frozenset(INTAKE)  # intake and supervisors see every case; investigators theirs
ASSIGNERS = INTAKE  # who assigns a case
ASSIGNABLE = INVESTIGATION  # who a case can be assigned to
DISCLOSURE_REQUESTERS = INVESTIGATION  # who may ask for a reporter's identity

# How the reporter sees an official: by the highest of their roles, never as a person.
SHOWN_ROLE_ORDER = ("wbs_supervisor", "wbs_investigator", "wbs_intake", "identity_custodian")


def holds(roles: Collection[str], wanted: Collection[str]) -> bool:
    return any(r in roles for r in wanted)


def sees_all(roles: Collection[str]) -> bool:
    return holds(roles, SEE_ALL)


def may_handle(
    roles: Collection[str],
    official_id: uuid.UUID | None,
    assignee_id: uuid.UUID | None,
    recused: Collection[uuid.UUID],
) -> bool:
    """Intake and supervisors see every case, investigators their assigned ones; nobody sees
    a case they are recused from."""
    if official_id in recused:
        return False
    return sees_all(roles) or (official_id is not None and assignee_id == official_id)


def disclosure_standing(
    roles: Collection[str],
    official_id: uuid.UUID,
    assignee_id: uuid.UUID | None,
    recused: Collection[uuid.UUID],
) -> str:
    """Whether an official who asked for a reporter's identity may still have it:
    "may_handle", or why not ("no_disclosure_role", "recused", "not_assigned")."""
    if not holds(roles, DISCLOSURE_REQUESTERS):
        return "no_disclosure_role"
    if official_id in recused:
        return "recused"
    if not may_handle(roles, official_id, assignee_id, recused):
        return "not_assigned"
    return "may_handle"


def may_be_assigned(roles: Collection[str]) -> bool:
    return holds(roles, ASSIGNABLE)


def may_recuse(roles: Collection[str], official_id: uuid.UUID | None, other: uuid.UUID) -> bool:
    """Anyone may recuse themselves; only a supervisor may recuse another official."""
    return other == official_id or holds(roles, SUPERVISION)


def shown_role(kind: str, roles: Collection[str]) -> str:
    """The role a reporter reads for an actor: "reporter", "system", or an official's role."""
    if kind != "official":
        return kind
    return next((r for r in SHOWN_ROLE_ORDER if r in roles), "official")
