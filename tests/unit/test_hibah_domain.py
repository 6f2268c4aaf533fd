"""Hibah-bansos domain rules, without database or broker: NIK and KK, money, RAB,
eligibility, the workflow state machine, separation of duties and LPJ dates."""

from __future__ import annotations

from datetime import date

import pytest

from services.hibah_bansos.domain import eligibility, lpj, nik, rab, workflow
from services.hibah_bansos.domain.access import OFFICIALS
from services.hibah_bansos.domain.money import InvalidAmount, rupiah
from shared.separation import SeparationOfDutiesViolation, check_separation

TODAY = date(2026, 11, 23)


# --- NIK and KK ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "3277011708900001",  # man, 17-08-1990, Cimahi
        "3277015708900001",  # woman: day + 40
        "3273010101000001",
    ],
)  # born 2000
def test_valid_nik(value):
    assert nik.nik_problems(value, TODAY) == []


@pytest.mark.parametrize(
    "value, words",
    [
        ("327701170890001", "16 digits"),
        ("32770117089000a1", "16 digits"),
        ("9977011708900001", "province"),
        ("3200011708900001", "regency/city"),
        ("3277013202900001", "birth date"),  # 32 February
        ("3277017208900001", "birth date"),  # day 72 - 40 = 32
        ("3277011713900001", "birth date"),  # month 13
        ("3277010113260001", "birth date"),  # month 13 of 1926 or 2026
        ("٣٢٧٧011708900001", "16 digits"),  # Arabic-Indic digits
        ("3277011708900000", "serial"),
    ],
)
def test_invalid_nik_names_the_rule(value, words):
    problems = nik.nik_problems(value, TODAY)
    assert problems and any(words in p for p in problems), problems


def test_two_digit_years_are_never_in_the_future():
    # 1 December 26 read on 23 November 2026 was "a birth date in the future"; it is 1926
    assert nik.nik_problems("3277010112260001", TODAY) == []
    assert nik.birth_of("3277010112260001", TODAY) == date(1926, 12, 1)
    assert nik.birth_of("3277015512260001", date(2026, 12, 1)) == date(1926, 12, 15)
    assert nik.birth_of("3277015512260001", date(2026, 12, 15)) == date(2026, 12, 15)
    assert nik.birth_of("3277010101050001", TODAY) == date(2005, 1, 1)
    assert nik.birth_of("3277012902000001", TODAY) == date(2000, 2, 29)
    assert nik.birth_of("3277012902010001", TODAY) is None


def test_stdnum_agrees_on_valid_samples():
    from stdnum.id import nik as std

    assert std.is_valid("3277015708900001")
    assert not std.is_valid("9977011708900001")


def test_kk():
    assert nik.kk_problems("3277010101200001") == []
    assert "16 digits" in nik.kk_problems("32770101012")[0]
    assert "province" in nik.kk_problems("9977010101200001")[0]


def test_region_of():
    assert nik.region_of("3277011708900001") == "3277"


# --- money and RAB -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [1.0, 1.5, "1000", "1000.50", True, -5, 0, None])
def test_money_is_integer_rupiah_only(bad):
    with pytest.raises(InvalidAmount):
        rupiah(bad)


def test_money_accepts_integers():
    assert rupiah(25_000_000) == 25_000_000
    assert rupiah(0, allow_zero=True) == 0


def test_rab_must_add_up():
    lines = [rab.BudgetLine("Sewa tenda", 4_000_000), rab.BudgetLine("Konsumsi", 6_000_000)]
    assert rab.check_rab(lines, 10_000_000) == []
    assert rab.check_rab(lines, 11_000_000)[0][0] == "rab"
    assert rab.check_rab([], 1)[0][0] == "rab"
    assert rab.check_rab([rab.BudgetLine("x", 1.5)], 1)[0][0] == "rab.0.amount"
    assert rab.check_rab([rab.BudgetLine(" ", 1)], 1)[0][0] == "rab.0.item"


# --- eligibility ---------------------------------------------------------------------------

HIBAH_RULES = {
    "applicant_types": ["organisation"],
    "min_legal_entity_years": 3,
    "no_hibah_previous_year": True,
    "max_amount": 500_000_000,
}
BANSOS_RULES = {
    "applicant_types": ["individual"],
    "domicile_required": True,
    "max_amount": 3_000_000,
    "social_registry_required": True,
}


def test_eligible_organisation():
    facts = eligibility.Facts("organisation", 100_000_000, legal_entity_since=date(2015, 1, 1))
    assert eligibility.failed_rules(HIBAH_RULES, facts, ["3277"], TODAY) == []


def test_every_failed_rule_is_listed_with_a_reason():
    facts = eligibility.Facts(
        "organisation", 600_000_000, legal_entity_since=date(2025, 1, 1), hibah_last_year=True
    )
    failed = dict(eligibility.failed_rules(HIBAH_RULES, facts, ["3277"], TODAY))
    assert set(failed) == {"min_legal_entity_years", "no_hibah_previous_year", "max_amount"}
    assert all(failed.values())


def test_annual_rule_exemption():
    facts = eligibility.Facts(
        "organisation", 1, legal_entity_since=date(2000, 1, 1), hibah_last_year=True
    )
    rules = dict(HIBAH_RULES, exempt_from_annual_rule=True)
    assert eligibility.failed_rules(rules, facts, ["3277"], TODAY) == []


def test_bansos_domicile_and_registry():
    ok = eligibility.Facts("individual", 3_000_000, nik_region="3277", in_social_registry=True)
    assert eligibility.failed_rules(BANSOS_RULES, ok, ["3277"], TODAY) == []
    bad = eligibility.Facts("organisation", 3_000_001, nik_region="3273")
    failed = {r for r, _ in eligibility.failed_rules(BANSOS_RULES, bad, ["3277"], TODAY)}
    assert failed == {
        "applicant_types",
        "domicile_required",
        "max_amount",
        "social_registry_required",
    }


# --- workflow ------------------------------------------------------------------------------

HAPPY = [
    ("submitted", "applicant"),
    ("evaluated", "bansos_evaluator"),
    ("verified", "bansos_verifier"),
    ("approved", "bansos_approver"),
    ("agreement_signed", "bansos_approver"),
    ("disbursed", "bansos_finance"),
    ("reported", "applicant"),
    ("closed", "bansos_evaluator"),
]


def test_happy_path_through_every_state():
    status = "draft"
    for target, role in HAPPY:
        edge = workflow.edge_for(status, target, frozenset({role}))
        status = edge.target
    assert status == "closed"


def test_illegal_jump_is_refused():
    with pytest.raises(workflow.IllegalTransition) as exc:
        workflow.edge_for("submitted", "approved", frozenset({"bansos_approver"}))
    assert exc.value.field == "to"


def test_wrong_role_is_refused():
    with pytest.raises(workflow.NotYourStep):
        workflow.edge_for("verified", "approved", frozenset({"bansos_verifier"}))


def test_closed_and_rejected_are_final():
    assert workflow.allowed_targets("closed") == []
    assert workflow.allowed_targets("rejected") == []


def test_returned_goes_back_to_submitted():
    edge = workflow.edge_for("evaluated", "returned", frozenset({"bansos_verifier"}))
    assert workflow.edge_for(edge.target, "submitted", frozenset({"applicant"}))


def test_transition_fields_are_required():
    edge = workflow.edge_for("verified", "approved", frozenset({"bansos_approver"}))
    with pytest.raises(workflow.WorkflowError) as exc:
        workflow.check_fields(edge, {"amount": 10, "reference": "", "date": "2026-03-01"})
    assert exc.value.field == "reference"
    with pytest.raises(workflow.WorkflowError) as exc:
        workflow.check_fields(edge, {"amount": 10.5, "reference": "X", "date": "2026-03-01"})
    assert exc.value.field == "amount"


def test_disbursement_never_above_approved():
    edge = workflow.edge_for("disbursed", "disbursed", frozenset({"bansos_finance"}))
    workflow.check_amount(edge, 40, requested=100, approved=100, disbursed=60)
    with pytest.raises(workflow.WorkflowError):
        workflow.check_amount(edge, 41, requested=100, approved=100, disbursed=60)


def test_three_officials_for_evaluate_verify_approve():
    done = {"evaluate": "official:a"}
    check_separation(done, "verify", "official:b", workflow.SEPARATED_STEPS)
    with pytest.raises(SeparationOfDutiesViolation):
        check_separation(done, "verify", "official:a", workflow.SEPARATED_STEPS)
    done["verify"] = "official:b"
    with pytest.raises(SeparationOfDutiesViolation):
        check_separation(done, "approve", "official:b", workflow.SEPARATED_STEPS)
    check_separation(done, "approve", "official:c", workflow.SEPARATED_STEPS)


def test_workflow_errors_carry_their_http_status():
    from shared.problem import problem_of

    with pytest.raises(workflow.IllegalTransition) as illegal:
        workflow.edge_for("draft", "approved", frozenset({"bansos_approver"}))
    with pytest.raises(workflow.NotYourStep) as not_mine:
        workflow.edge_for("verified", "approved", frozenset({"bansos_verifier"}))
    edge = workflow.edge_for("submitted", "evaluated", frozenset({"bansos_evaluator"}))
    with pytest.raises(workflow.WorkflowError) as missing:
        workflow.check_fields(edge, {"amount": 5})
    assert (illegal.value.status, not_mine.value.status, missing.value.status) == (409, 403, 422)
    problem = problem_of(missing.value).to_dict()
    assert problem["status"] == 422 and problem["title"] == "Unprocessable Content"
    assert problem["errors"] == [{"field": "reason", "reason": str(missing.value)}]
    assert "errors" not in problem_of(not_mine.value).to_dict()  # names no field


def test_role_sets_are_declared_once_and_match_the_edges():
    from services.hibah_bansos.domain import access
    from shared.roles import ROLES

    assert access.MOVERS == (
        "bansos_evaluator",
        "bansos_verifier",
        "bansos_approver",
        "bansos_finance",
    )
    # every role that moves an application has a step, and only those roles have one
    assert {e.role for e in workflow.EDGES} == {*access.MOVERS, workflow.APPLICANT}
    assert access.OFFICIALS == (*access.MOVERS, "auditor")
    assert set(access.OFFICIALS) <= set(ROLES) and access.INTAKE in access.MOVERS


def _outcome(source, target, role, **kw):
    edge = workflow.edge_for(source, target, frozenset({role}))
    args = {"amount": None, "reference": None, "on": None, "disbursed": 0, "fiscal_year": 2026}
    return workflow.outcome(edge, **{**args, **kw})


def test_each_step_says_what_it_records_and_asks_of_the_budget():
    evaluated = _outcome("submitted", "evaluated", "bansos_evaluator", amount=90)
    assert evaluated == workflow.Outcome({"recommended": 90})
    approved = _outcome(
        "verified", "approved", "bansos_approver", amount=80, reference="KEP-1", on=date(2026, 3, 1)
    )
    assert approved.record == {
        "approved": 80,
        "decree_number": "KEP-1",
        "decree_date": date(2026, 3, 1),
        "lpj_due": date(2027, 1, 10),
    }
    assert (approved.allocate, approved.pay, approved.recheck_eligibility) == (80, 0, True)
    assert _outcome("verified", "approved", "bansos_approver", amount=1, lpj_due="02-28").record[
        "lpj_due"
    ] == date(2027, 2, 28)
    signed = _outcome(
        "approved", "agreement_signed", "bansos_approver", reference="NPHD/1", on=date(2026, 3, 9)
    )
    assert signed == workflow.Outcome({"nphd_number": "NPHD/1", "nphd_date": date(2026, 3, 9)})
    paid = _outcome("disbursed", "disbursed", "bansos_finance", amount=30, disbursed=50)
    assert paid == workflow.Outcome({"disbursed": 80}, pay=30)
    for source, target, role in (
        ("evaluated", "verified", "bansos_verifier"),
        ("submitted", "returned", "bansos_evaluator"),
        ("reported", "closed", "bansos_evaluator"),
    ):
        assert _outcome(source, target, role, amount=5) == workflow.Outcome()


# --- LPJ -----------------------------------------------------------------------------------


def test_lpj_due_next_year():
    assert lpj.due_date(2026) == date(2027, 1, 10)
    assert lpj.due_date(2026, "02-28") == date(2027, 2, 28)


def test_lpj_overdue_flag():
    due = lpj.due_date(2026)
    assert lpj.is_overdue("disbursed", due, date(2027, 1, 11))
    assert not lpj.is_overdue("disbursed", due, date(2027, 1, 10))
    assert not lpj.is_overdue("reported", due, date(2027, 6, 1))


def test_lpj_spending_within_disbursed():
    assert lpj.spending_problems([("Tenda", 50)], 50) == []
    assert lpj.spending_problems([("Tenda", 51)], 50)[0][0] == "lines"
    assert lpj.spending_problems([], 50)[0][0] == "lines"


def test_a_budget_line_total_is_volume_times_unit_price():
    line, problems = rab.build_line(
        0, "Honor pelatih", volume=4, unit="orang", unit_price=1_500_000
    )
    assert problems == [] and line is not None and line.amount == 6_000_000
    assert line.unit == "orang"
    # a total only (the first shape) is kept as it is
    line, problems = rab.build_line(1, "Konsumsi", amount=700_000)
    assert problems == [] and line is not None and (line.amount, line.volume) == (700_000, None)
    # a total that is not the product, half a line, nothing at all: each names its field
    assert rab.build_line(0, "x", volume=2, unit_price=5, amount=11)[1][0][0] == "rab.0.amount"
    assert rab.build_line(0, "x", volume=2)[1][0][0] == "rab.0.unit_price"
    assert rab.build_line(0, "x", unit_price=5)[1][0][0] == "rab.0.volume"
    assert rab.build_line(3, "x")[1][0][0] == "rab.3.unit_price"
    assert rab.build_line(0, "x", volume=0, unit_price=5)[1][0][0] == "rab.0.volume"
    assert rab.build_line(0, "x", volume=10**9, unit_price=10**9)[1][0][0] == "rab.0.amount"


def test_the_unspent_balance_is_returned_whole_and_not_in_the_future():
    on = date(2026, 6, 1)
    assert lpj.unspent(10_000_000, 9_250_000) == 750_000 and lpj.unspent(5, 9) == 0
    assert lpj.refund_problems(750_000, on, 10_000_000, 9_250_000, on) == []
    assert lpj.refund_problems(700_000, on, 10_000_000, 9_250_000, on)[0][0] == "refund.amount"
    assert lpj.refund_problems(1, on, 10, 10, on)[0][0] == "refund.amount"
    future = lpj.refund_problems(750_000, date(2026, 6, 2), 10_000_000, 9_250_000, on)
    assert [f for f, _ in future] == ["refund.date"]
    assert lpj.actual_by_line([(0, 5), (2, 5), (None, 1)], 2) == [
        ("lines.1.rab_line", "the budget plan has lines 0 to 1")
    ]


def test_the_step_forms_are_the_roles_own_edges():
    for status in workflow.Status:
        for role in (*OFFICIALS, workflow.APPLICANT):
            edges = workflow.edges_for(status.value, frozenset({role}))
            assert all(e.source == status and e.role == role for e in edges)
            assert role != workflow.APPLICANT or edges == []  # applicants have their own pages
            assert {e.target.value for e in edges} == (
                set(workflow.targets_for(status.value, frozenset({role})))
                if role != workflow.APPLICANT
                else set()
            )
