"""Whistleblowing domain rules, pure: lifecycle, receipts, case numbers, legal clocks, stats."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from services.whistleblowing.domain import clocks, codes, lifecycle, stats
from services.whistleblowing.domain.lifecycle import (
    IllegalTransition,
    InvalidDecision,
    TransitionNotPermitted,
    decide,
)

SUPER = frozenset({"wbs_supervisor"})
INTAKE = frozenset({"wbs_intake"})
INVESTIGATOR = frozenset({"wbs_investigator"})


# --- lifecycle ---------------------------------------------------------------------------


def test_the_happy_path_walks_every_state_to_archived():
    s = decide("received", None, "acknowledged", roles=INTAKE)
    s = decide(s.target, s.outcome, "triaged", roles=INTAKE, new_outcome="accepted")
    s = decide(s.target, s.outcome, "investigating", roles=INVESTIGATOR)
    s = decide(
        s.target,
        s.outcome,
        "concluded",
        roles=INVESTIGATOR,
        new_outcome="substantiated",
        reason="Bukti cukup.",
    )
    s = decide(s.target, s.outcome, "archived", roles=SUPER)
    assert s.target == "archived"


def test_not_a_wbs_matter_needs_a_reason_may_refer_and_is_then_archived():
    with pytest.raises(InvalidDecision) as exc:
        decide("acknowledged", None, "triaged", roles=INTAKE, new_outcome="not_wbs_matter")
    assert exc.value.field == "reason"
    s = decide(
        "acknowledged",
        None,
        "triaged",
        roles=INTAKE,
        new_outcome="not_wbs_matter",
        reason="Pengaduan layanan publik",
        referral="SP4N-LAPOR!",
    )
    assert (s.outcome, s.referral) == ("not_wbs_matter", "SP4N-LAPOR!")
    with pytest.raises(IllegalTransition):
        decide("triaged", "not_wbs_matter", "investigating", roles=SUPER)
    assert decide("triaged", "not_wbs_matter", "archived", roles=SUPER).target == "archived"


@pytest.mark.parametrize(
    "source,outcome,target",
    [
        ("received", None, "triaged"),
        ("received", None, "concluded"),
        ("acknowledged", None, "investigating"),
        ("investigating", None, "received"),
        ("concluded", "substantiated", "investigating"),
        ("archived", None, "received"),
        ("received", None, "received"),
        ("received", None, "nonsense"),
        ("bogus", None, "archived"),
        ("triaged", "accepted", "archived"),
    ],
)
def test_illegal_transitions_are_refused_with_a_clear_message(source, outcome, target):
    with pytest.raises(IllegalTransition) as exc:
        decide(source, outcome, target, roles=SUPER, new_outcome=None, reason="x")
    assert f"'{source}'" in str(exc.value) and f"'{target}'" in str(exc.value)


def test_roles_gate_each_edge():
    with pytest.raises(TransitionNotPermitted):
        decide("received", None, "acknowledged", roles=INVESTIGATOR)
    with pytest.raises(TransitionNotPermitted):
        decide("triaged", "accepted", "investigating", roles=INTAKE)
    with pytest.raises(TransitionNotPermitted):
        decide("concluded", "unsubstantiated", "archived", roles=INVESTIGATOR)


def test_outcomes_are_checked():
    with pytest.raises(InvalidDecision):
        decide("acknowledged", None, "triaged", roles=INTAKE)
    with pytest.raises(InvalidDecision):
        decide(
            "investigating",
            None,
            "concluded",
            roles=INVESTIGATOR,
            new_outcome="accepted",
            reason="x",
        )
    with pytest.raises(InvalidDecision):
        decide("received", None, "acknowledged", roles=INTAKE, new_outcome="accepted")
    with pytest.raises(InvalidDecision) as exc:
        decide(
            "investigating",
            None,
            "concluded",
            roles=INVESTIGATOR,
            new_outcome="forwarded_law_enforcement",
            reason="x",
            referral="Polres",
        )
    assert exc.value.field == "referral"
    s = decide(
        "investigating",
        None,
        "concluded",
        roles=INVESTIGATOR,
        new_outcome="forwarded_higher_apip",
        reason="  ke BPKP  ",
    )
    assert s.reason == "ke BPKP"


def test_allowed_targets():
    assert lifecycle.allowed_targets("received", None) == ["acknowledged"]
    assert lifecycle.allowed_targets("triaged", "accepted") == ["investigating"]
    assert lifecycle.allowed_targets("triaged", "not_wbs_matter") == ["archived"]
    assert lifecycle.allowed_targets("archived", None) == []


# --- receipts and case numbers -----------------------------------------------------------


def test_receipt_has_at_least_100_bits_and_reads_aloud():
    r = codes.new_receipt()
    groups = r.split("-")
    assert len(groups) == 5 and all(len(g) == 5 for g in groups)
    assert codes.RECEIPT_CHARS * math.log2(len(codes.CROCKFORD)) >= 100
    assert not set("ILOU") & set(r.replace("-", ""))
    assert len({codes.new_receipt() for _ in range(1000)}) == 1000


def test_receipt_normalisation_forgives_case_spaces_and_confusables():
    r = codes.new_receipt()
    typed = r.lower().replace("-", " ").replace("0", "o").replace("1", "l")
    assert codes.normalise_receipt(typed) == r
    assert codes.normalise_receipt(r.replace("-", "")) == r
    for bad in ("", "ABC", r + "X", r.replace(r[0], "U", 1), "x" * 1000, None, 42):
        assert codes.normalise_receipt(bad) is None


def test_case_numbers_are_random_and_well_formed():
    numbers = {codes.new_case_number(2026) for _ in range(500)}
    assert len(numbers) == 500
    assert all(codes.is_case_number(n) and n.startswith("WBS-2026-") for n in numbers)
    assert not codes.is_case_number("WBS-2026-0001")


# --- legal clocks ------------------------------------------------------------------------

CAL = clocks.Calendar(["2026-08-17"])  # Independence Day, a Monday


def test_working_days_skip_weekends_and_holidays():
    # Friday 14 Aug 2026 + 1 working day: Sat, Sun and Mon 17 (holiday) skipped -> Tue 18
    assert CAL.add_working_days(date(2026, 8, 14), 1) == date(2026, 8, 18)
    assert CAL.add_working_days(date(2026, 8, 14), 7) == date(2026, 8, 26)
    assert CAL.working_days_between(date(2026, 8, 14), date(2026, 8, 18)) == 1
    assert CAL.working_days_between(date(2026, 8, 18), date(2026, 8, 14)) == 0


def test_due_dates_use_the_tenants_local_calendar():
    # 20:00 UTC Thursday = 03:00 Friday in Jakarta: the clock starts on the local Friday
    received = datetime(2026, 8, 13, 20, 0, tzinfo=UTC)
    dues = clocks.due_dates(received, "Asia/Jakarta", clocks.Sla(7, 90), CAL)
    assert dues.acknowledge_by == date(2026, 8, 26)
    assert dues.feedback_by == date(2026, 11, 12)
    assert clocks.Sla.from_config({"sla": {"acknowledge_working_days": 3}}) == clocks.Sla(3, 90)


def test_flags_overdue_due_soon_and_met():
    dues = clocks.DueDates(date(2026, 8, 26), date(2026, 11, 12))
    f = clocks.flags(date(2026, 8, 20), "received", None, dues)
    assert (f.acknowledge, f.feedback, f.overdue, f.due_soon) == ("ok", "ok", False, False)
    assert clocks.flags(date(2026, 8, 25), "received", None, dues).due_soon
    assert clocks.flags(date(2026, 8, 26), "received", None, dues).acknowledge == "due_soon"
    late = clocks.flags(date(2026, 8, 27), "received", None, dues)
    assert late.overdue and late.acknowledge == "overdue"
    acked = clocks.flags(date(2026, 8, 27), "acknowledged", None, dues)
    assert acked.acknowledge == "met" and not acked.overdue
    assert clocks.flags(date(2026, 12, 1), "triaged", "accepted", dues).feedback == "overdue"
    assert clocks.flags(date(2026, 12, 1), "triaged", "not_wbs_matter", dues).feedback == "met"
    assert clocks.flags(date(2026, 12, 1), "concluded", "substantiated", dues).feedback == "met"


# --- statistics ----------------------------------------------------------------------------


def test_small_cells_are_hidden_with_secondary_suppression():
    assert stats.suppress({"a": 12, "b": 7, "c": 0}) == {"a": 12, "b": 7, "c": 0}
    assert stats.suppress({"a": 12, "b": 7, "c": 2}) == {"a": 12, "b": None, "c": None}
    assert stats.suppress({"a": 12, "b": 3, "c": 2}) == {"a": 12, "b": None, "c": None}
    assert stats.suppress_total(3) is None and stats.suppress_total(0) == 0


def test_median():
    assert stats.median_or_none([]) is None
    assert stats.median_or_none([1, 2, 10]) == 2.0
    assert stats.median_or_none([1, 2]) == 1.5


# --- retention -------------------------------------------------------------------------------


def test_only_archived_cases_expire_after_retention_and_never_right_after_reporter_input():
    from services.whistleblowing.domain import retention as r

    archived, last_input = date(2026, 1, 10), date(2026, 1, 5)
    assert r.expires_on("concluded", None, last_input, 365) is None
    assert r.expires_on("archived", archived, last_input, 365) == date(2027, 1, 10)
    # the reporter wrote after archiving: at least 30 days more, whatever the policy
    assert r.expires_on("archived", archived, date(2027, 1, 1), 365) == date(2027, 1, 31)
    expiry = date(2027, 1, 10)
    assert r.state(date(2026, 6, 1), expiry) == "kept"
    assert r.state(date(2026, 12, 20), expiry) == "expiring"
    assert r.state(expiry, expiry) == "expired"
    assert r.state(date(2030, 1, 1), None) == "kept"


# --- recusal -------------------------------------------------------------------------------


def test_conflicts_match_units_and_people_after_normalisation():
    from services.whistleblowing.domain import recusal as r

    report = r.report_marks(
        [{"name": "Budi  Santoso", "work_unit": "Dinas PUPR"}, {"name": "", "work_unit": ""}]
    )
    assert report == {"unit:dinas pupr", "person:budi santoso"}
    assert r.conflict(r.marks(["dinas pupr."]), report) == "reported_unit"
    assert r.conflict(r.marks(["Dinas PUPR"], ["BUDI SANTOSO"]), report) == "reported_person"
    assert r.conflict(r.marks(["Dinas Pekerjaan Umum"]), report) is None
    assert r.conflict(set(), report) is None
