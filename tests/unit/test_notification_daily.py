"""The daily notices' pure rules (services/notifications/domain/daily.py): when a tenant's day
has come in its own time zone, what an official's digest counts on the working-day calendar of
the SLA clocks, which LPJ notice is owed; and the new event rules (identity disclosed to the
reporter, an official's contact changed), all content-free."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from services.notifications.deadlines import CaseClock
from services.notifications.domain import daily, rules, templates
from services.whistleblowing.domain.clocks import Calendar
from shared import event_types as t

THU = date(2026, 12, 3)  # a Thursday
FRI = date(2026, 12, 4)


def test_the_day_comes_at_the_local_hour_of_the_tenant_s_own_zone():
    now = datetime(2026, 12, 2, 22, 30, tzinfo=UTC)  # 07:30 on 3 December in Jayapura (WIT)
    assert daily.local_day(now, "Asia/Jayapura", None) == THU
    assert daily.local_day(now, "Asia/Jakarta", None) is None  # 05:30 there: not yet
    assert daily.local_day(now, "Asia/Jayapura", "08:00") is None
    assert daily.local_day(now, "Asia/Jakarta", "05:30") == date(2026, 12, 3)


def test_due_soon_counts_working_days_so_a_holiday_brings_a_deadline_nearer():
    me, other = uuid.uuid4(), uuid.uuid4()
    tuesday = date(2026, 12, 8)  # Thu 3 -> Tue 8: Fri, Mon, Tue are 3 working days
    clocks = [CaseClock(me, tuesday, None)]
    plain = Calendar()
    assert daily.digests(clocks, THU, plain) == {}
    with_holiday = Calendar([FRI])  # Friday off: Mon, Tue are 2 working days
    assert daily.digests(clocks, THU, with_holiday) == {me: daily.Counts(due_soon=1)}
    assert daily.digests([CaseClock(other, date(2026, 12, 2), None)], THU, plain) == {
        other: daily.Counts(overdue=1)
    }
    assert daily.digests([CaseClock(me, THU, None)], THU, plain) == {me: daily.Counts(1, 0)}


def test_a_case_overdue_on_one_clock_counts_once_as_overdue():
    me = uuid.uuid4()
    clocks = [CaseClock(me, date(2026, 12, 1), date(2026, 12, 4))]
    assert daily.digests(clocks, THU, Calendar()) == {me: daily.Counts(due_soon=0, overdue=1)}


def test_unassigned_cases_count_for_every_intake_official_assigned_ones_only_for_the_assignee():
    a, b, holder = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    clocks = [CaseClock(None, date(2026, 12, 1), None), CaseClock(holder, date(2026, 12, 1), None)]
    found = daily.digests(clocks, THU, Calendar(), intake=[a, b])
    assert found == {a: daily.Counts(0, 1), b: daily.Counts(0, 1), holder: daily.Counts(0, 1)}


def test_lpj_notice_is_owed_n_working_days_before_and_after_the_due_date():
    due = date(2026, 12, 14)  # a Monday
    cal = Calendar()
    assert daily.lpj_notice(due, THU, cal, 7) == "due"  # 7 working days away
    assert daily.lpj_notice(due, date(2026, 12, 2), cal, 7) is None  # 8
    assert daily.lpj_notice(due, due, cal, 7) == "due"
    assert daily.lpj_notice(due, date(2026, 12, 15), cal, 7) == "overdue"


def test_the_digest_says_counts_and_where_to_sign_in_nothing_else():
    message = templates.render(
        rules.DIGEST,
        "id",
        "Kota Cimahi",
        "https://x/t/c/whistleblowing/office",
        None,
        {"due_soon": 2, "overdue": 1},
    )
    assert "1 lewat tenggat, 2 segera jatuh tempo" in message.subject
    assert "https://x/t/c/whistleblowing/office" in message.body
    not_a_number = templates.render(
        rules.DIGEST, "en", "C", "L", None, {"due_soon": "Budi", "overdue": True}
    )
    assert "Budi" not in not_a_number.subject + not_a_number.body
    assert "0 overdue, 0 due soon" in not_a_number.subject


def test_an_approved_disclosure_tells_the_reporter_only_when_the_inbox_does():
    rid, rq = str(uuid.uuid4()), str(uuid.uuid4())
    data = {"report_id": rid, "request_id": rq, "status": "approved", "reporter_notified": True}
    found = rules.notices({"type": t.WB_IDENTITY_DECIDED, "data": data}, "c")
    assert [(n.kind, n.audience) for n in found] == [
        (rules.IDENTITY_APPROVED, rules.RequesterOfIdentityRequest(rq)),
        (rules.IDENTITY_DISCLOSED, rules.ReporterOfCase(rid)),
    ]
    assert found[1].path == "/t/c/whistleblowing/inbox"
    quiet = {**data, "reporter_notified": False}
    found = rules.notices({"type": t.WB_IDENTITY_DECIDED, "data": quiet}, "c")
    assert [n.kind for n in found] == [rules.IDENTITY_APPROVED]
    text = templates.render(rules.IDENTITY_DISCLOSED, "id", "Kota C", "L")
    assert "Identitas Anda dibuka" in text.body and "sesuai prosedur" in text.body


def test_an_official_s_contact_change_tells_the_tenant_admins():
    data = {"official_id": str(uuid.uuid4()), "has_email": True}
    [notice] = rules.notices({"type": t.PLATFORM_OFFICIAL_CONTACT_CHANGED, "data": data}, "c")
    assert notice.audience == rules.RoleHolders("tenant_admin")
    assert notice.kind == rules.OFFICIAL_CONTACT_CHANGED
    assert notice.path == "/t/c/admin/officials"


def test_a_tenant_s_digest_wording_may_hold_the_counts_no_other_notice_may():
    from shared.tenant_config import TenantConfigError, parse
    from tests.unit.test_notification_rules import _cimahi_with

    body = "Lewat tenggat: {overdue}, segera: {due_soon}. {link}"
    own = {
        "digest_at": "06:30",
        "lpj_notice_working_days": 5,
        "templates": {"digest": {"id": {"subject": "{overdue}/{due_soon}", "body": body}}},
    }
    data = parse(_cimahi_with(own), "test").data["notifications"]
    assert data["digest_at"] == "06:30"
    for wrong in (
        {"templates": {"wbs_new_case": {"id": {"body": body}}}},
        {"templates": {"digest": {"id": {"body": "{name} {link}"}}}},
        {"templates": {"digest": {"id": {"body": "{overdue}"}}}},  # no link
        {"digest_at": "7:00"},
    ):
        try:
            parse(_cimahi_with(wrong), "test")
        except TenantConfigError:
            continue
        raise AssertionError(f"accepted {wrong}")
