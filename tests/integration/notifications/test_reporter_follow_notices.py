"""Notices to a reporter who left a contact follow their case where it goes (issue 23):

- to the linked city it was referred to (services/whistleblowing/referrals.py): the receiving
  city's handlers reply on their own case, and the reporter gets the content-free "ada balasan
  baru" from the original city, pointing at its inbox (where their receipt works); the contact
  never leaves the original city;
- to SP4N-LAPOR! (services/whistleblowing/lapor_cases.py): a status update LAPOR! posts on the
  forwarded case tells the reporter there is news, with neither LAPOR!'s status nor its note.

Real PostgreSQL, Kafka, SMTP server and the fake LAPOR! server."""

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
from tests.integration.whistleblowing.test_lapor import IDENTITY, forward_row, stub
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
    # the sending city closes its original case; the contact stays for the receiving replies
    sx = headers(wb, sender, "wbs_supervisor")
    for step in (
        {"to": "acknowledged"},
        {
            "to": "triaged",
            "outcome": "not_wbs_matter",
            "reason": "Dirujuk ke kota tempat pejabat bekerja.",
            "referral": receiver.slug,
        },
        {"to": "archived"},
    ):
        closed = wb.post(
            f"/t/{sender.slug}/api/v1/reports/{filed['case_number']}/transitions",
            json=step,
            headers=sx,
        )
        assert closed.status_code == 200, closed.get_data(as_text=True)
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


def test_a_lapor_status_update_tells_the_reporter_that_there_is_news_and_nothing_of_it(
    wb, demo_tenants, official_token, catcher, stack
):
    from sqlalchemy import create_engine

    from services.whistleblowing import lapor_job
    from shared import event_types as ev

    cimahi = demo_tenants["cimahi"]  # the fake LAPOR! knows its agency
    address = f"pelapor-{uuid.uuid4().hex[:8]}@contoh.id"
    T = "/t/cimahi/api/v1"
    filed = wb.post(
        f"{T}/reports",
        json={
            "category": "pungutan_liar",
            "what": f"Loket KTP sering tutup. {uuid.uuid4().hex[:8]}",
            "identity": IDENTITY,
            "notify_contact": address,
        },
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    case, receipt = filed.json["case_number"], filed.json["receipt"]
    boss = {"Authorization": official_token(wb.application, cimahi, "wbs_supervisor")}
    for step in (
        {"to": "acknowledged"},
        {
            "to": "triaged",
            "outcome": "not_wbs_matter",
            "reason": "Pengaduan pelayanan publik.",
            "referral": "SP4N-LAPOR!",
        },
    ):
        moved = wb.post(f"{T}/reports/{case}/transitions", json=step, headers=boss)
        assert moved.status_code == 200, moved.get_data(as_text=True)
    intake = {"Authorization": official_token(wb.application, cimahi, "wbs_intake")}
    text_out = "Loket pembuatan KTP di kelurahan sering tutup pada jam layanan."
    offered = wb.post(f"{T}/cases/{case}/lapor-forward", json={"text": text_out}, headers=intake)
    assert offered.status_code == 201, offered.get_data(as_text=True)
    decided = wb.post(
        f"{T}/inbox/lapor-forward",
        json={"consent": True, "text": text_out},
        headers={"Authorization": f"Receipt {receipt}"},
    )
    assert decided.status_code == 200, decided.get_data(as_text=True)

    owner_db = create_engine(stack["WHISTLEBLOWING_MIGRATION_DATABASE_URL"])
    try:
        lapor_job.run_once(only="cimahi")  # sent; LAPOR!'s own receipt is no news
        tracking = forward_row(owner_db, case)["tracking_id"]
        note = f"Diteruskan ke Disdukcapil {uuid.uuid4().hex[:6]}"
        stub(f"/_fake/complaints/{tracking}/updates", {"status": "diproses", "note": note})
        lapor_job.run_once(only="cimahi")
        with owner_db.connect() as conn:
            events = [
                p
                for (p,) in conn.execute(
                    text("select payload from outbox where key = :k order by seq"),
                    {"k": f"cimahi:{case}"},
                )
            ]
    finally:
        owner_db.dispose()
    [news] = [e for e in events if e["type"] == ev.WB_LAPOR_STATUS_UPDATED]
    assert news["data"] == {
        "report_id": news["data"]["report_id"],
        "case_number": case,
        "updates": 1,
        "latest_seq": 2,
    }

    with in_thread(relay("whistleblowing"), "relay-wb"), in_thread(notifier(catcher), "notify"):
        wait_until(lambda: mails_to(catcher, address), 90, "the reporter's LAPOR! notice")
    [mail] = mails_to(catcher, address)
    assert "SP4N-LAPOR!" in mail["Subject"]
    assert f"{WB_URL}/t/cimahi/whistleblowing/inbox" in body_of(mail)
    for leaked in (note, "diproses", tracking, case, receipt, text_out, IDENTITY["name"]):
        assert leaked not in mail.as_string()
    [row] = [
        r
        for r in rows_of(cimahi)
        if r.kind == "wbs_lapor_update" and r.recipient.endswith(news["data"]["report_id"])
    ]
    assert (row.channel, row.status) == ("email", "sent")
