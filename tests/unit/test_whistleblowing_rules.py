"""Whistleblowing rules outside the lifecycle's edges, pure: who sees a case, how a reporter
sees a handler, the HTTP status each lifecycle error carries, and the service's answer to a
unique index that fired."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy.exc import IntegrityError

from services.whistleblowing.cases import integrity_refusal
from services.whistleblowing.domain import access, lifecycle
from shared.problem import problem_of

ME, OTHER = uuid.uuid4(), uuid.uuid4()


@pytest.mark.parametrize(
    ("roles", "assignee", "recused", "sees"),
    [
        ({"wbs_intake"}, None, set(), True),  # intake sees every case
        ({"wbs_supervisor"}, OTHER, set(), True),
        ({"wbs_investigator"}, ME, set(), True),  # an investigator, the cases assigned to them
        ({"wbs_investigator"}, OTHER, set(), False),
        ({"wbs_investigator"}, None, set(), False),
        ({"wbs_supervisor"}, ME, {ME}, False),  # nobody a case they are recused from
        ({"wbs_intake"}, None, {OTHER}, True),
    ],
)
def test_who_may_handle_a_case(roles, assignee, recused, sees):
    assert access.may_handle(frozenset(roles), ME, assignee, recused) is sees


def test_an_official_without_an_id_never_matches_an_unassigned_case():
    assert not access.may_handle(frozenset({"wbs_investigator"}), None, None, set())


def test_only_a_supervisor_recuses_someone_else():
    assert access.may_recuse({"wbs_investigator"}, ME, ME)
    assert not access.may_recuse({"wbs_investigator", "wbs_intake"}, ME, OTHER)
    assert access.may_recuse({"wbs_supervisor"}, ME, OTHER)


def test_a_reporter_sees_a_handler_only_as_their_highest_role():
    assert access.shown_role("official", {"wbs_intake", "wbs_supervisor"}) == "wbs_supervisor"
    assert access.shown_role("official", {"auditor"}) == "official"
    assert access.shown_role("reporter", set()) == "reporter"
    assert access.shown_role("system", set()) == "system"


def test_role_sets_are_declared_once_and_the_edges_use_them():
    roles_of = {(e.source, e.target): e.roles for e in lifecycle.EDGES}
    assert roles_of[("received", "acknowledged")] == frozenset(access.INTAKE)
    assert roles_of[("concluded", "archived")] == frozenset(access.SUPERVISION)
    assert access.SEE_ALL == frozenset(access.INTAKE)
    assert set(access.ASSIGNABLE) <= set(access.HANDLERS)


def test_an_archived_report_takes_no_input():
    assert not lifecycle.takes_input("archived")
    assert all(lifecycle.takes_input(s) for s in lifecycle.Status if s != "archived")


def test_lifecycle_errors_carry_their_problem():
    with pytest.raises(lifecycle.IllegalTransition) as illegal:
        lifecycle.decide("received", None, "archived", roles=frozenset(access.SUPERVISION))
    p = problem_of(illegal.value).to_dict()
    assert (p["status"], p["title"], p["source"], p["target"]) == (
        409,
        "Conflict",
        "received",
        "archived",
    )
    assert "errors" not in p

    with pytest.raises(lifecycle.TransitionNotPermitted) as forbidden:
        lifecycle.decide("received", None, "acknowledged", roles=frozenset({"wbs_investigator"}))
    p = problem_of(forbidden.value).to_dict()
    assert (p["status"], p["required_roles"]) == (403, ["wbs_intake", "wbs_supervisor"])

    with pytest.raises(lifecycle.InvalidDecision) as invalid:
        lifecycle.decide("acknowledged", None, "triaged", roles=frozenset(access.INTAKE))
    p = problem_of(invalid.value).to_dict()
    assert p["status"] == 422 and p["errors"] == [
        {"field": "outcome", "reason": str(invalid.value)}
    ]


class _Orig(Exception):
    pass


def _integrity(constraint: str) -> IntegrityError:
    return IntegrityError(
        "insert ...", {}, _Orig(f'duplicate key value violates unique constraint "{constraint}"')
    )


def test_a_second_recusal_of_the_same_official_is_a_409_naming_the_official():
    refusal = integrity_refusal(_integrity("wb_recusals_once"))
    assert refusal is not None and (refusal.status, refusal.field) == (409, "official_id")


def test_other_unique_indexes_are_no_refusal():
    # the same Idempotency-Key filed twice at once is retried as its replay, not refused
    assert integrity_refusal(_integrity("wb_idempotency_pkey")) is None
    assert integrity_refusal(_integrity("wb_reports_case_number")) is None
