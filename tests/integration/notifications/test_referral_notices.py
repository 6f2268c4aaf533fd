"""Notices to a reporter follow their case to the linked city it was referred to (issue 23,
services/whistleblowing/referrals.py): the receiving city's handlers reply on their own case, and
the reporter who left a contact in the original city gets the content-free "ada balasan baru"
from that city, pointing at its inbox (where their receipt works). The contact never leaves the
original city. Real PostgreSQL, Kafka and SMTP server."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from tests.integration.notifications.test_notifications import (
    WB_URL,
    body_of,
    mails_to,
    notifier,
    rows_of,
)
from tests.integration.whistleblowing.test_referrals import city, decide, file, headers, link, refer
from tests.support.eventing import in_thread, relay, wait_until


@pytest.fixture
def cities(stack, demo_tenants):
    sender, receiver = city("rna"), city("rnb")
    link(sender, receiver)
    return sender, receiver


def case_id(tenant, case_number: str) -> uuid.UUID:
    from shared.db import service_engine, session_factory, tenant_session

    with tenant_session(session_factory(service_engine("whistleblowing")), tenant.id) as s:
        return s.execute(
            text("select id from wb_reports where case_number = :c"), {"c": case_number}
        ).scalar_one()


def test_a_reply_in_the_receiving_city_tells_the_reporter_from_the_original_city(
    wb, cities, catcher
):
    sender, receiver = cities
    address = f"pelapor-{uuid.uuid4().hex[:8]}@contoh.id"
    filed = file(wb, sender, notify_contact=address)
    referral_id = refer(wb, sender, filed["case_number"], receiver.slug).json["id"]
    moved = decide(wb, sender, filed["receipt"], referral_id, "consent")
    assert moved.status_code == 200, moved.get_data(as_text=True)
    new_case = moved.json["partner_case_number"]
    words = f"Mohon kirim foto kuitansi {uuid.uuid4().hex[:6]}"
    replied = wb.post(
        f"/t/{receiver.slug}/api/v1/reports/{new_case}/messages",
        json={"body": words},
        headers=headers(wb, receiver, "wbs_supervisor"),
    )
    assert replied.status_code == 201, replied.get_data(as_text=True)

    with in_thread(relay("whistleblowing"), "relay-wb"), in_thread(notifier(catcher), "notify"):
        wait_until(lambda: mails_to(catcher, address), 90, "the reporter's notice")
    [mail] = mails_to(catcher, address)
    assert "Ada balasan baru" in mail["Subject"]
    body = body_of(mail)
    assert f"{WB_URL}/t/{sender.slug}/whistleblowing/inbox" in body  # where the receipt works
    for leaked in (words, filed["receipt"], filed["case_number"], new_case, receiver.slug):
        assert leaked not in mail.as_string()
    # the notice is the original city's, to the reporter of the original case
    [row] = [r for r in rows_of(sender) if r.kind == "wbs_reply"]
    assert row.recipient == f"reporter:{case_id(sender, filed['case_number'])}"
    assert (row.channel, row.status) == ("email", "sent")
    assert [r for r in rows_of(receiver) if r.kind == "wbs_reply"] == []
    # the receiving city holds no contact of the reporter
    from shared.db import service_engine

    with service_engine("whistleblowing", migration=True).connect() as conn:
        held = conn.execute(
            text("select count(*) from wb_reporter_contacts where tenant_id = :t"),
            {"t": receiver.id},
        ).scalar_one()
    assert held == 0
