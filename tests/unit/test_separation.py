"""Separation of duties: one reusable rule (pure domain logic, no stack needed)."""

from __future__ import annotations

import pytest

from shared.separation import (
    SeparationOfDutiesViolation,
    actors_by_step,
    allowed,
    check_separation,
)

HIBAH = [frozenset({"evaluate", "verify", "approve"})]


def test_different_officials_may_do_every_step_of_a_case():
    done = {}
    for step, actor in (("evaluate", "a"), ("verify", "b"), ("approve", "c")):
        check_separation(done, step, actor, HIBAH)
        done[step] = actor


def test_the_official_who_evaluated_may_not_verify():
    with pytest.raises(SeparationOfDutiesViolation) as info:
        check_separation({"evaluate": "a"}, "verify", "a", HIBAH)
    assert (info.value.step, info.value.earlier_step) == ("verify", "evaluate")


def test_the_rule_holds_for_steps_that_are_not_adjacent():
    with pytest.raises(SeparationOfDutiesViolation):
        check_separation({"evaluate": "a", "verify": "b"}, "approve", "a", HIBAH)


def test_redoing_the_same_step_is_not_a_violation():
    check_separation({"evaluate": "a"}, "evaluate", "a", HIBAH)


def test_steps_outside_every_rule_are_unrestricted():
    check_separation({"evaluate": "a"}, "disburse", "a", HIBAH)
    check_separation({"evaluate": "a"}, "verify", "a", [frozenset({"approve", "disburse"})])


def test_several_rules_apply_independently():
    rules = [frozenset({"evaluate", "verify"}), frozenset({"approve", "disburse"})]
    check_separation({"evaluate": "a"}, "approve", "a", rules)
    with pytest.raises(SeparationOfDutiesViolation):
        check_separation({"approve": "a"}, "disburse", "a", rules)


def test_the_message_names_the_steps_but_not_the_official():
    with pytest.raises(SeparationOfDutiesViolation) as info:
        check_separation({"evaluate": "official:1234"}, "approve", "official:1234", HIBAH)
    assert "evaluate" in str(info.value) and "approve" in str(info.value)
    assert "1234" not in str(info.value)


def test_allowed_answers_the_same_rule_as_a_question():
    assert allowed({"evaluate": "a"}, "verify", "b", HIBAH)
    assert not allowed({"evaluate": "a"}, "verify", "a", HIBAH)


# --- every actor of every step (issue 16, low): a step done again keeps its earlier actors ---


def test_whoever_evaluated_an_earlier_round_may_not_verify_the_next():
    from services.hibah_bansos.domain import workflow

    history = [
        ("draft", "submitted", "applicant"),
        ("submitted", "evaluated", "official:a"),  # a evaluates round one
        ("evaluated", "returned", "official:b"),  # b (verifier) returns it
        ("returned", "submitted", "applicant"),
        ("submitted", "evaluated", "official:c"),  # c evaluates round two
    ]
    last_only = {"evaluate": "official:c", "return": "official:b", "submit": "applicant"}
    check_separation(last_only, "verify", "official:a", HIBAH)  # the hole: only c was seen
    every = actors_by_step(workflow.steps_done(history))
    assert every["evaluate"] == {"official:a", "official:c"}
    with pytest.raises(SeparationOfDutiesViolation):
        check_separation(every, "verify", "official:a", HIBAH)
    assert not allowed(every, "verify", "official:c", HIBAH)
    assert allowed(every, "verify", "official:b", HIBAH)
