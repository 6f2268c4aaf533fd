"""The daily notices against the real stack (services/notifications/daily.py): each
official's digest of due-soon and overdue cases, in the tenant's own time zone and on its
working-day calendar, once per local day; the applicants' LPJ coming due and overdue, once
each; and the notices of the event stream added with them (the reporter's identity disclosed,
an official's contact changed). Real PostgreSQL, real Kafka, real SMTP (the mail catcher)."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime

import pytest
import yaml
from sqlalchemy import update

from shared import event_types as t
from shared.tenancy import Tenant
from tests.integration.notifications.test_notifications import (
    HB_URL,
    WB_URL,
    body_of,
    emit_events,
    mails_to,
    notifier,
    official_with_email,
    rows_of,
)
from tests.support import ROOT
from tests.support.applicant_mail import register_confirmed
from tests.support.eventing import in_thread, relay, wait_until
from tests.support.hibah_bansos import application, organisation

# 07:30 on Thursday 3 December 2026 in Jayapura (WIT, UTC+9); 05:30 in Jakarta (WIB)
MORNING = datetime(2026, 12, 2, 22, 30, tzinfo=UTC)
THU, FRI = date(2026, 12, 3), date(2026, 12, 4)


@pytest.fixture
def wit(stack, demo_tenants):
    """A city in Papua (WIT) whose own day off is Friday 4 December 2026."""
    from operations import key_admin, tenant_apply
    from shared.tenant_config import parse

    data = copy.deepcopy(yaml.safe_load((ROOT / "tenants" / "cimahi.yaml").read_text()))
    data.pop("id", None)
    data["slug"] = f"wit-{uuid.uuid4().hex[:10]}"
    data["timezone"] = "Asia/Jayapura"
    data["holidays"] = {"add": [{"date": FRI.isoformat(), "name": "Libur daerah uji"}]}
    config = parse(data, "test")
    tenant_apply.apply(config)
    key_admin.ensure_custodian(config.id, f"test-custodian-{config.slug}")
    return Tenant(config.id, config.slug, config.data)


def daily_job(tenant):
    """The real job and adapters, its tenants narrowed to this test's one."""
    from operations.notify_recipients import ServiceDeadlines, ServiceRecipients
    from services.notifications.daily import DailyNotices
    from shared.db import service_engine, session_factory

    class OneTenant(ServiceDeadlines):
        def tenant_ids(self):
            return [i for i in super().tenant_ids() if i == tenant.id]

    urls = {"whistleblowing": WB_URL, "hibah_bansos": HB_URL}
    return DailyNotices(
        session_factory(service_engine("notifications")), ServiceRecipients(), OneTenant(), urls
    )


def set_clocks(tenant, case_number: str, acknowledge_by: date, feedback_by: date) -> None:
    from services.whistleblowing.models import Report
    from shared.db import service_engine, session_factory, tenant_session

    with tenant_session(session_factory(service_engine("whistleblowing")), tenant.id) as s:
        s.execute(
            update(Report)
            .where(Report.case_number == case_number)
            .values(acknowledge_by=acknowledge_by, feedback_by=feedback_by)
        )
        s.commit()


def digests_of(tenant) -> list:
    return [r for r in rows_of(tenant) if r.kind == "digest"]


def test_a_wit_city_gets_its_digest_on_its_own_local_date_once(wit, catcher, make_report):
    intake, address = official_with_email(wit, "wbs_intake")
    overdue = make_report(wit, what="Bendahara Yohanes memungut biaya")
    set_clocks(wit, overdue["case_number"], date(2026, 12, 2), date(2027, 3, 1))
    job = daily_job(wit)
    assert job.tick(datetime(2026, 12, 2, 21, 0, tzinfo=UTC)) == 0  # 06:00 in Jayapura
    assert job.tick(MORNING) == 1
    assert job.tick(MORNING) == 0  # the same tick again
    assert daily_job(wit).tick(MORNING.replace(hour=23)) == 0  # another process, same day
    [row] = digests_of(wit)
    assert (row.event_id, row.recipient) == ("digest:2026-12-03", f"official:{intake}")
    sender = notifier(catcher)
    sender.deliver_due()
    sender.deliver_due()
    [mail] = mails_to(catcher, address)
    assert "1 lewat tenggat, 0 segera jatuh tempo" in mail["Subject"]
    assert f"{WB_URL}/t/{wit.slug}/whistleblowing/office" in body_of(mail)
    for leaked in (overdue["case_number"], "Yohanes", "Bendahara"):
        assert leaked not in mail.as_string()
    assert [r.status for r in digests_of(wit)] == ["sent"]


def test_the_day_before_a_holiday_counts_working_days_and_the_holiday_sends_none(
    wit, catcher, make_report
):
    intake, address = official_with_email(wit, "wbs_intake")
    tuesday = make_report(wit)  # due Tue 8 Dec: Mon and Tue are the working days after Thu
    set_clocks(wit, tuesday["case_number"], date(2026, 12, 8), date(2027, 3, 1))
    later = make_report(wit)  # due Wed 9 Dec: three working days away
    set_clocks(wit, later["case_number"], date(2026, 12, 9), date(2027, 3, 1))
    job = daily_job(wit)
    assert job.tick(MORNING) == 1
    notifier(catcher).deliver_due()
    [mail] = mails_to(catcher, address)
    assert "0 lewat tenggat, 1 segera jatuh tempo" in mail["Subject"]
    on_the_holiday = datetime(2026, 12, 3, 22, 30, tzinfo=UTC)  # Fri 4 Dec 07:30 WIT
    assert job.tick(on_the_holiday) == 0
    assert [r.event_id for r in digests_of(wit)] == ["digest:2026-12-03"]


def test_an_official_who_opted_out_of_the_digest_gets_none(wit, catcher, make_report):
    from operations import official_admin

    intake, address = official_with_email(wit, "wbs_intake")
    official_admin.change_opt_outs(wit.id, intake, ["digest"])
    filed = make_report(wit)
    set_clocks(wit, filed["case_number"], date(2026, 12, 1), date(2027, 3, 1))
    assert daily_job(wit).tick(MORNING) == 1
    notifier(catcher).deliver_due()
    assert mails_to(catcher, address) == []
    [row] = digests_of(wit)
    assert (row.status, row.channel) == ("skipped", "none")


def test_an_applicant_is_told_once_of_an_lpj_coming_due_and_once_when_overdue(wit, hb, catcher):
    from services.hibah_bansos.models import Application
    from shared.db import service_engine, session_factory, tenant_session

    org = organisation()
    me = {"Authorization": "Bearer " + register_confirmed(hb, wit.slug, org)}
    created = hb.post(f"/t/{wit.slug}/api/v1/applications", json=application(), headers=me)
    assert created.status_code == 201, created.get_data(as_text=True)
    number = created.json["application_number"]
    due = date(2026, 12, 15)  # Tue: 7 working days after Thu 3 (Fri 4 is the city's day off)
    with tenant_session(session_factory(service_engine("hibah_bansos")), wit.id) as s:
        s.execute(
            update(Application)
            .where(Application.number == number)
            .values(status="disbursed", lpj_due=due)
        )
        s.commit()
    job = daily_job(wit)
    assert job.tick(datetime(2026, 12, 1, 22, 30, tzinfo=UTC)) == 0  # Wed 2: 8 working days
    assert job.tick(MORNING) == 1  # Thu 3: 7
    assert daily_job(wit).tick(datetime(2026, 12, 6, 22, 30, tzinfo=UTC)) == 0  # Mon 7: told
    assert daily_job(wit).tick(datetime(2026, 12, 14, 22, 30, tzinfo=UTC)) == 0  # Tue 15: due
    assert daily_job(wit).tick(datetime(2026, 12, 15, 22, 30, tzinfo=UTC)) == 1  # Wed 16
    assert daily_job(wit).tick(datetime(2026, 12, 16, 22, 30, tzinfo=UTC)) == 0
    sender = notifier(catcher)
    sender.deliver_due()
    mails = mails_to(catcher, org["email"])
    subjects = sorted(m["Subject"] for m in mails)
    assert len(mails) == 2 and "melewati batas waktu" in subjects[0] + subjects[1]
    for mail in mails:
        assert f"{HB_URL}/t/{wit.slug}/hibah-bansos/applications/{number}" in body_of(mail)
        assert org["name"] not in mail.as_string()
    kinds = sorted(r.kind for r in rows_of(wit) if r.recipient.startswith("applicant:"))
    assert kinds == ["hb_lpj_due", "hb_lpj_overdue"]


def report_id_of(tenant, case_number: str) -> uuid.UUID:
    from sqlalchemy import select

    from services.whistleblowing.models import Report
    from shared.db import service_engine, session_factory, tenant_session

    with tenant_session(session_factory(service_engine("whistleblowing")), tenant.id) as s:
        return s.execute(select(Report.id).where(Report.case_number == case_number)).scalar_one()


def test_a_reporter_with_a_contact_is_told_their_identity_was_disclosed(wit, catcher, make_report):
    address = f"pelapor-{uuid.uuid4().hex[:8]}@contoh.id"
    told = make_report(wit, notify_contact=address)
    silent = make_report(wit)  # no contact: nobody to tell
    events = []
    for case in (told, silent):
        data = {
            "report_id": str(report_id_of(wit, case["case_number"])),
            "case_number": case["case_number"],
            "request_id": str(uuid.uuid4()),
            "decision": "approve",
            "status": "approved",
            "approvals": 1,
            "approvals_needed": 1,
            "reporter_notified": True,
        }
        events.append((t.WB_IDENTITY_DECIDED, case["case_number"], data))
    emit_events("whistleblowing", wit, events)
    with in_thread(relay("whistleblowing"), "relay-wb"), in_thread(notifier(catcher), "notify"):
        wait_until(lambda: mails_to(catcher, address), 60, "the reporter's notice")
        wait_until(
            lambda: len([r for r in rows_of(wit) if r.kind == "wbs_identity_disclosed"]) == 2,
            30,
            "both planned",
        )
    [mail] = mails_to(catcher, address)
    assert "Identitas Anda dibuka" in body_of(mail) and "sesuai prosedur" in body_of(mail)
    assert f"{WB_URL}/t/{wit.slug}/whistleblowing/inbox" in body_of(mail)
    for leaked in (told["case_number"], told["receipt"]):
        assert leaked not in mail.as_string()
    disclosed = sorted(r.status for r in rows_of(wit) if r.kind == "wbs_identity_disclosed")
    assert disclosed == ["sent", "skipped"]


def test_changing_an_official_s_e_mail_tells_the_tenant_admins_and_names_no_address(
    wit, catcher, wb_app, official_token
):
    from sqlalchemy import text

    from shared.db import service_engine

    admin, admin_address = official_with_email(wit, "tenant_admin")
    official, old_address = official_with_email(wit, "wbs_intake")
    headers = {"Authorization": official_token(wb_app, wit, "tenant_admin", official_id=admin)}
    new_address = f"baru-{uuid.uuid4().hex[:8]}@{wit.slug}.test"
    client = wb_app.test_client()
    url = f"/t/{wit.slug}/api/v1/admin/officials/{official}"
    for _ in range(2):  # the second time it is the same address: no change, no event
        changed = client.patch(url, json={"email": new_address}, headers=headers)
        assert changed.status_code == 200, changed.get_data(as_text=True)
    with service_engine("whistleblowing").connect() as conn:
        payloads = (
            conn.execute(
                text("select payload::text from outbox where type = :t and tenant_id = :tenant"),
                {"t": t.PLATFORM_OFFICIAL_CONTACT_CHANGED, "tenant": wit.id},
            )
            .scalars()
            .all()
        )
    assert len(payloads) == 1
    assert new_address not in payloads[0] and old_address not in payloads[0]
    with in_thread(relay("whistleblowing"), "relay-wb"), in_thread(notifier(catcher), "notify"):
        wait_until(lambda: mails_to(catcher, admin_address), 60, "the admin's notice")
    [mail] = mails_to(catcher, admin_address)
    assert "Kontak seorang pejabat berubah" in mail["Subject"]
    assert f"{WB_URL}/t/{wit.slug}/admin/officials" in body_of(mail)
    for leaked in (new_address, old_address):
        assert leaked not in mail.as_string()
    assert mails_to(catcher, old_address) == [] and mails_to(catcher, new_address) == []
