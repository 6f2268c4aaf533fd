"""The SP4N-LAPOR! bridge (issue 23 item 4), against the real stack and the local fake LAPOR!
(infra/lapor_stub.py, started by `make test`) over real HTTP:

- a case triaged as a public-service complaint is offered for forwarding on the case page; the
  reporter sees the text in the inbox, edits it and consents; what reaches LAPOR! is the
  approved text and nothing of the reporter's identity (name, NIK, phone, e-mail);
- the tracking ID and LAPOR!'s status updates (polled by the job) show in the inbox;
- LAPOR! down: the forward waits, the inbox says so, and a later try sends it;
- a corruption report LAPOR! passes on opens as a new sealed case (channel "lapor").
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, text

from infra.local import free_port
from services.whistleblowing import lapor, lapor_job
from shared import event_types as ev
from shared.db import utcnow
from tests.integration.whistleblowing.test_whistleblowing_workspace_pages import (
    signed_in,
    token_of,
)
from tests.support.whistleblowing import P, addr

T = "/t/cimahi/api/v1"
IDENTITY = {
    "name": "Rahmawati Lapor",
    "nik": "3277014507900777",
    "phone": "081298765432",
    "email": "rahma.lapor@example.org",
}


@pytest.fixture
def owner_db(stack):
    engine = create_engine(stack["WHISTLEBLOWING_MIGRATION_DATABASE_URL"])
    yield engine
    engine.dispose()


def stub(path: str, body: dict | None = None) -> dict:
    """A call to the fake LAPOR!'s test controls (`/_fake/...`)."""
    url = os.environ["REPLIKA_LAPOR_URL"] + path
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        url,
        data=data,
        headers={"Content-Type": "application/json"},
        method="POST" if data else "GET",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.loads(resp.read() or b"{}")


def complaint_of(reference: str) -> dict:
    [found] = [
        c for c in stub("/_fake/complaints")["complaints"] if c["body"]["reference"] == reference
    ]
    return found


def public_service_case(wb, official_token, demo_tenants, what: str) -> dict:
    """A confidential report (with an identity) triaged as not a WBS matter."""
    filed = wb.post(
        f"{T}/reports",
        json={
            "category": "pungutan_liar",
            "what": what,
            "where": "Kelurahan Padasuka",
            "identity": IDENTITY,
        },
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    boss = {
        "Authorization": official_token(wb.application, demo_tenants["cimahi"], "wbs_supervisor")
    }
    case = filed.json["case_number"]
    for to, extra in (
        ("acknowledged", {}),
        (
            "triaged",
            {
                "outcome": "not_wbs_matter",
                "reason": "Pengaduan pelayanan publik.",
                "referral": "SP4N-LAPOR!",
            },
        ),
    ):
        moved = wb.post(f"{T}/reports/{case}/transitions", json={"to": to, **extra}, headers=boss)
        assert moved.status_code == 200, moved.get_data(as_text=True)
    return filed.json


def forward_row(owner_db, case: str) -> dict:
    with owner_db.connect() as c:
        return dict(
            c.execute(
                text(
                    "select f.* from wb_lapor_forwards f join wb_reports r on r.id = f.report_id"
                    " where r.case_number = :c"
                ),
                {"c": case},
            )
            .mappings()
            .one()
        )


def case_events(owner_db, case: str) -> list[dict]:
    with owner_db.connect() as c:
        return [
            p
            for (p,) in c.execute(
                text("select payload from outbox where key = :k order by seq"),
                {"k": f"cimahi:{case}"},
            )
        ]


def open_inbox(wb_app, csrf_token, receipt: str):
    reporter = wb_app.test_client()
    opened = reporter.post(
        f"{P}/inbox",
        data={"csrf_token": csrf_token(reporter, f"{P}/inbox"), "receipt": receipt},
        environ_base=addr(),
    )
    assert opened.status_code == 200, opened.get_data(as_text=True)
    return reporter, opened.get_data(as_text=True)


def test_a_forward_leaves_without_identity_and_its_updates_reach_the_inbox(
    wb_app, official_token, demo_tenants, make_official, csrf_token, owner_db
):
    wb = wb_app.test_client()
    what = f"Antrean pembuatan KTP di kelurahan sampai 4 jam, loket sering tutup. {uuid.uuid4().hex[:8]}"
    filed = public_service_case(wb, official_token, demo_tenants, what)
    case, receipt = filed["case_number"], filed["receipt"]

    # the intake officer sees "Teruskan ke SP4N-LAPOR!" with a draft, and offers it
    intake = signed_in(wb_app, make_official, csrf_token, "wbs_intake")
    page = intake.get(f"{P}/cases/{case}").get_data(as_text=True)
    assert "Teruskan ke SP4N-LAPOR!" in page and what in page
    offered = intake.post(
        f"{P}/cases/{case}/lapor", data={"csrf_token": token_of(page), "text": what}
    )
    assert offered.status_code == 303
    page = intake.get(f"{P}/cases/{case}").get_data(as_text=True)
    assert "menunggu keputusan pelapor" in page

    # the reporter sees the text that would leave, in a field they may edit
    reporter, inbox = open_inbox(wb_app, csrf_token, receipt)
    assert "Teruskan ke SP4N-LAPOR!" in inbox and "tanpa nama, NIK, atau kontak Anda" in inbox
    assert re.search(r'<textarea id="lapor-text" name="text"[^>]*>' + re.escape(what), inbox)

    # a text that would tell who they are is refused beside the field, what they typed kept
    typed = what + " Hubungi saya di 0812-9876-5432."
    refused = reporter.post(
        f"{P}/inbox/lapor",
        data={"csrf_token": token_of(inbox), "decision": "consent", "text": typed},
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="lapor-text-error"' in page and "Hapus yang dapat menunjukkan siapa Anda" in page
    assert "0812-9876-5432" in page  # kept for them to correct
    assert forward_row(owner_db, case)["status"] == "offered"

    approved = "Antrean pembuatan KTP di kelurahan sampai 4 jam. Mohon loket dibuka sesuai jadwal."
    consented = reporter.post(
        f"{P}/inbox/lapor",
        data={"csrf_token": token_of(page), "decision": "consent", "text": approved},
    )
    assert consented.status_code == 303 and consented.headers["Location"].endswith(f"{P}/inbox")
    inbox = reporter.get(f"{P}/inbox").get_data(as_text=True)
    assert "tanpa identitas Anda" in inbox and "sedang dikirim ke SP4N-LAPOR!" in inbox

    # the job sends it: only the approved text, nothing of the identity
    lapor_job.run_once(only="cimahi")
    row = forward_row(owner_db, case)
    assert row["status"] == "sent" and row["tracking_id"].startswith("LPR-")
    complaint = complaint_of(str(row["id"]))
    assert complaint["agency"] == "cimahi"
    assert set(complaint["body"]) == {"text", "category", "reference"}
    assert complaint["body"]["text"] == approved
    sent = json.dumps(complaint, ensure_ascii=False)
    for value in (*IDENTITY.values(), "0812", "Rahmawati", case, receipt):
        assert value not in sent

    # the case records the forward, with no text in its events
    events = case_events(owner_db, case)
    types = [e["type"] for e in events]
    assert [t for t in types if "lapor" in t] == [
        ev.WB_LAPOR_FORWARD_OFFERED,
        ev.WB_LAPOR_FORWARD_DECIDED,
        ev.WB_LAPOR_FORWARDED,
    ]
    [forwarded] = [e for e in events if e["type"] == ev.WB_LAPOR_FORWARDED]
    assert forwarded["data"]["tracking_id"] == row["tracking_id"]
    dumped = json.dumps(events, ensure_ascii=False)
    assert approved not in dumped and what not in dumped

    # LAPOR!'s status updates, polled by the job, show in the inbox with the tracking ID
    stub(
        f"/_fake/complaints/{row['tracking_id']}/updates",
        {"status": "diproses", "note": "Diteruskan ke Disdukcapil Kota Cimahi."},
    )
    lapor_job.run_once(only="cimahi")
    inbox = reporter.get(f"{P}/inbox").get_data(as_text=True)
    assert f"Nomor pelacakan: {row['tracking_id']}" in inbox
    assert "diterima" in inbox and "diproses" in inbox
    assert "Diteruskan ke Disdukcapil Kota Cimahi." in inbox
    # the same updates polled again are not shown twice
    lapor_job.run_once(only="cimahi")
    assert reporter.get(f"{P}/inbox").get_data(as_text=True).count("Diteruskan ke Disdukcapil") == 1


def test_when_lapor_is_down_the_forward_waits_and_is_retried(
    wb_app, official_token, demo_tenants, owner_db, csrf_token
):
    wb = wb_app.test_client()
    filed = public_service_case(
        wb, official_token, demo_tenants, f"Jalan rusak di depan puskesmas. {uuid.uuid4().hex[:8]}"
    )
    case, receipt = filed["case_number"], filed["receipt"]
    intake = {"Authorization": official_token(wb_app, demo_tenants["cimahi"], "wbs_intake")}
    offered = wb.post(
        f"{T}/cases/{case}/lapor-forward",
        json={"text": "Jalan rusak di depan puskesmas sejak Maret."},
        headers=intake,
    )
    assert offered.status_code == 201, offered.get_data(as_text=True)
    assert offered.json["status"] == "offered"
    reporter = {"Authorization": f"Receipt {receipt}"}
    decided = wb.post(
        f"{T}/inbox/lapor-forward",
        json={"consent": True, "text": "Jalan rusak di depan puskesmas sejak Maret 2026."},
        headers=reporter,
    )
    assert decided.status_code == 200, decided.get_data(as_text=True)
    assert decided.json["status"] == "queued" and decided.json["waiting_for_lapor"] is False

    # nothing listens on this port: LAPOR! is down
    down = lapor.HttpLapor(f"http://127.0.0.1:{free_port()}", "token", timeout=1)
    lapor_job.run_once(gateway=down, only="cimahi")
    row = forward_row(owner_db, case)
    assert row["status"] == "queued" and row["attempts"] == 1 and row["tracking_id"] is None
    assert row["next_attempt_at"] > utcnow()
    state = wb.get(f"{T}/inbox/lapor-forward", headers=reporter).json
    assert state["waiting_for_lapor"] is True and state["attempts"] == 1
    _, inbox = open_inbox(wb_app, csrf_token, receipt)
    assert "SP4N-LAPOR! belum dapat dihubungi" in inbox

    # before the wait is over, LAPOR! is not asked again; after it, the forward is sent
    lapor_job.run_once(only="cimahi")
    assert forward_row(owner_db, case)["status"] == "queued"
    lapor_job.run_once(only="cimahi", now=utcnow() + timedelta(minutes=2))
    row = forward_row(owner_db, case)
    assert row["status"] == "sent" and row["tracking_id"]
    assert complaint_of(str(row["id"]))["body"]["text"] == (
        "Jalan rusak di depan puskesmas sejak Maret 2026."
    )
    [forwarded] = [e for e in case_events(owner_db, case) if e["type"] == ev.WB_LAPOR_FORWARDED]
    assert forwarded["data"]["attempts"] == 2
    state = wb.get(f"{T}/inbox/lapor-forward", headers=reporter).json
    assert state["status"] == "sent" and state["tracking_id"] == row["tracking_id"]
    # decided once: a second decision is refused
    again = wb.post(f"{T}/inbox/lapor-forward", json={"consent": False}, headers=reporter)
    assert again.status_code == 409 and again.mimetype == "application/problem+json"


def test_only_a_public_service_complaint_is_offered_and_the_text_carries_no_identity(
    wb_app, official_token, demo_tenants, make_report
):
    wb = wb_app.test_client()
    intake = {"Authorization": official_token(wb_app, demo_tenants["cimahi"], "wbs_intake")}
    corruption = make_report("cimahi")["case_number"]  # received, not triaged
    refused = wb.post(
        f"{T}/cases/{corruption}/lapor-forward", json={"text": "Pungutan di loket."}, headers=intake
    )
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"

    case = public_service_case(
        wb, official_token, demo_tenants, "Pelayanan puskesmas lambat sekali."
    )
    with_nik = wb.post(
        f"{T}/cases/{case['case_number']}/lapor-forward",
        json={"text": "Pelapor NIK 3277014507900777 mengeluhkan pelayanan."},
        headers=intake,
    )
    assert with_nik.status_code == 422
    [error] = with_nik.json["errors"]
    assert error["field"] == "text" and "(nik)" in error["reason"]
    investigator = {
        "Authorization": official_token(wb_app, demo_tenants["cimahi"], "wbs_investigator")
    }
    assert (
        wb.post(
            f"{T}/cases/{case['case_number']}/lapor-forward",
            json={"text": "Pelayanan puskesmas lambat."},
            headers=investigator,
        ).status_code
        == 403
    )


def test_a_corruption_report_from_lapor_opens_as_a_sealed_case(wb_app, owner_db):
    what = f"Kepala seksi meminta setoran dari proyek jalan. {uuid.uuid4().hex[:8]}"
    ref = stub(
        "/_fake/agencies/cimahi/wbs-referrals",
        {"text": what, "where": "Dinas PUPR", "when": "Mei 2026", "identity": IDENTITY},
    )["id"]
    done = lapor_job.run_once(only="cimahi")
    [case] = done["cimahi"]["opened"]
    assert done["cimahi"]["acknowledged"] >= 1

    with owner_db.connect() as c:
        report = (
            c.execute(text("select * from wb_reports where case_number = :c"), {"c": case})
            .mappings()
            .one()
        )
        inbound = (
            c.execute(text("select * from wb_lapor_inbound where lapor_id = :l"), {"l": ref})
            .mappings()
            .one()
        )
    assert report["channel"] == "lapor" and report["category"] == "korupsi"
    assert report["sealed_identity"] is not None  # sealed to the custodian, like any identity
    stored = bytes(report["content"]) + bytes(report["sealed_identity"])
    for value in (what, *IDENTITY.values()):
        assert value.encode() not in stored
    assert inbound["report_id"] == report["id"] and inbound["acknowledged_at"] is not None
    assert inbound["receipt"] is None  # wiped once LAPOR! has it

    # LAPOR! got the case number and a receipt that opens the WBS inbox
    [ack] = [a for a in stub("/_fake/acks")["acks"] if a["id"] == ref]
    assert ack["case_number"] == case
    opened = wb_app.test_client().get(
        f"{T}/inbox", headers={"Authorization": f"Receipt {ack['receipt']}"}
    )
    assert opened.status_code == 200 and opened.json["case_number"] == case

    [submitted] = [e for e in case_events(owner_db, case) if e["type"] == ev.WB_REPORT_SUBMITTED]
    assert submitted["data"]["channel"] == "lapor" and submitted["data"]["confidential"] is True
    assert what not in json.dumps(submitted, ensure_ascii=False)

    # taken once: the next pass opens no second case
    assert lapor_job.run_once(only="cimahi")["cimahi"]["opened"] == []


def test_an_expired_case_takes_its_forward_and_updates_with_it(
    wb_app, official_token, demo_tenants, owner_db
):
    from services.whistleblowing import retention
    from tests.integration.whistleblowing.test_whistleblowing import new_city

    city = new_city(demo_tenants, retention_days=30)
    wb = wb_app.test_client()
    base = f"/t/{city.slug}/api/v1"
    boss = {"Authorization": official_token(wb_app, city, "wbs_supervisor")}
    filed = wb.post(
        f"{base}/reports", json={"category": "pungutan_liar", "what": "Lampu jalan mati sebulan."}
    ).json
    case = filed["case_number"]
    for to, extra in (
        ("acknowledged", {}),
        ("triaged", {"outcome": "not_wbs_matter", "reason": "Bukan WBS."}),
    ):
        assert (
            wb.post(
                f"{base}/reports/{case}/transitions", json={"to": to, **extra}, headers=boss
            ).status_code
            == 200
        )
    assert (
        wb.post(
            f"{base}/cases/{case}/lapor-forward",
            json={"text": "Lampu jalan mati sebulan."},
            headers=boss,
        ).status_code
        == 201
    )
    reporter = {"Authorization": f"Receipt {filed['receipt']}"}
    assert (
        wb.post(
            f"{base}/inbox/lapor-forward",
            json={"consent": True, "text": "Lampu jalan mati sebulan."},
            headers=reporter,
        ).status_code
        == 200
    )
    lapor_job.run_once(only=city.slug)
    with owner_db.connect() as c:
        fwd = c.execute(
            text(
                "select f.id, f.tracking_id from wb_lapor_forwards f join wb_reports r on r.id = f.report_id where r.case_number = :c"
            ),
            {"c": case},
        ).one()
    stub(
        f"/_fake/complaints/{fwd.tracking_id}/updates",
        {"status": "selesai", "note": "Lampu diganti."},
    )
    lapor_job.run_once(only=city.slug)
    assert (
        wb.post(
            f"{base}/reports/{case}/transitions", json={"to": "archived"}, headers=boss
        ).status_code
        == 200
    )
    with owner_db.begin() as c:
        c.execute(
            text(
                "update wb_reports set archived_at = now() - interval '40 days', "
                "last_reporter_input_at = now() - interval '40 days' where case_number = :c"
            ),
            {"c": case},
        )
    assert retention.run_once()[city.slug] == [case]
    with owner_db.connect() as c:
        assert (
            c.execute(
                text("select count(*) from wb_lapor_forwards where id = :f"), {"f": fwd.id}
            ).scalar_one()
            == 0
        )
        assert (
            c.execute(
                text("select count(*) from wb_lapor_updates where forward_id = :f"), {"f": fwd.id}
            ).scalar_one()
            == 0
        )
        keys = c.execute(
            text(
                "select count(*) from record_keys where table_name like 'wb_lapor%' and tenant_id = :t"
            ),
            {"t": city.id},
        ).scalar_one()
    assert keys == 0  # crypto-shredded, not only deleted
