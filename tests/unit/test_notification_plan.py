"""The notifications consumer's plan step with a fake of the recipients port (the port's own
shape, in memory): who gets a row, over which channel, and who is recorded as skipped."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine

from services.notifications.consumer import NotificationsConsumer
from services.notifications.recipients import City, Contact, Skip
from shared import event_types as t

TENANT = uuid.uuid4()
INTAKE_WITH_MAIL, INTAKE_OPTED_OUT, INTAKE_NO_MAIL = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


class FakeRecipients:
    def city(self, slug):
        return City(TENANT, slug, "Kota Cimahi", "id") if slug == "cimahi" else None

    def city_by_id(self, tenant_id):
        return self.city("cimahi") if tenant_id == TENANT else None

    def officials_with_role(self, tenant_id, role):
        return [INTAKE_WITH_MAIL, INTAKE_OPTED_OUT, INTAKE_NO_MAIL] if role == "wbs_intake" else []

    def assignee_of_case(self, tenant_id, report_id):
        return None

    def requester_of_identity_request(self, tenant_id, request_id):
        return None

    def official_contact(self, tenant_id, official_id, kind):
        if official_id == INTAKE_WITH_MAIL:
            return Contact("email", "intake@cimahi.go.id")
        return Skip("opted_out" if official_id == INTAKE_OPTED_OUT else "no_contact")

    def applicant_contact(self, tenant_id, application_id):
        return Contact("phone", "081234567890")

    def reporter_contact(self, tenant_id, report_id):
        return Skip("not_wired")

    def reporter_home(self, tenant_id, report_id):
        return None

    def city_contact(self, tenant_id, request_id):
        return Skip("unknown")


def consumer() -> NotificationsConsumer:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connected
    return NotificationsConsumer(
        engine, "127.0.0.1:1", FakeRecipients(), {}, {"whistleblowing": "https://wbs.example"}
    )


NOW = datetime.now(UTC).isoformat()


def test_each_intake_official_gets_a_row_and_the_unreachable_ones_are_recorded_as_skipped():
    event = {"type": t.WB_REPORT_SUBMITTED, "tenant": "cimahi", "time": NOW}
    event["data"] = {"case_number": "WBS-1"}
    planned = {p.recipient: p for p in consumer().plan(event)}
    sent = planned[f"official:{INTAKE_WITH_MAIL}"]
    assert (sent.channel, sent.skipped) == ("email", None)
    assert sent.link == "https://wbs.example/t/cimahi/whistleblowing/cases/WBS-1"
    assert planned[f"official:{INTAKE_OPTED_OUT}"].skipped == "opted_out"
    assert planned[f"official:{INTAKE_NO_MAIL}"].skipped == "no_contact"
    assert all(p.tenant_id == TENANT for p in planned.values())


def test_an_applicant_with_only_a_phone_is_told_over_the_gateway():
    app_id = str(uuid.uuid4())
    data = {"application_id": app_id, "application_number": "HB-2026-ABCDEFGH"}
    event = {"type": t.HB_APPLICATION_TRANSITIONED, "tenant": "cimahi", "time": NOW, "data": data}
    [planned] = consumer().plan(event)
    assert (planned.recipient, planned.channel) == (f"applicant:{app_id}", "gateway")


def test_an_event_of_an_unknown_city_or_without_a_rule_plans_nothing():
    unknown = {"type": t.WB_REPORT_SUBMITTED, "tenant": "atlantis", "time": NOW, "data": {}}
    assert consumer().plan(unknown) == []
    no_rule = {"type": t.WB_ATTACHMENT_ADDED, "tenant": "cimahi", "time": NOW, "data": {}}
    assert consumer().plan(no_rule) == []


def test_an_event_older_than_a_day_tells_nobody():
    old = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
    event = {"type": t.WB_REPORT_SUBMITTED, "tenant": "cimahi", "time": old}
    event["data"] = {"case_number": "WBS-1"}
    assert consumer().plan(event) == []
