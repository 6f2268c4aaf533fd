"""A whistleblowing case end to end into the audit ledger: every step of the case is one ledger
entry, in order, and nothing on Kafka or in the ledger holds the report's text or receipt."""

from __future__ import annotations

import json
import time
import uuid

from sqlalchemy import text

from tests.support.eventing import (
    consumer,
    fresh_tenant,
    in_thread,
    ledger_rows,
    records_on_topic,
    relay,
    wait_until,
)


def test_every_step_of_a_case_is_in_the_audit_ledger_without_plaintext(
    wb, stack, demo_tenants, official_token, make_report
):
    city = fresh_tenant("wba")
    base = f"/t/{city.slug}/api/v1"
    boss = {"Authorization": official_token(wb.application, city, "wbs_supervisor")}
    secret_text = f"Kepala seksi menerima amplop dari kontraktor {uuid.uuid4().hex}"
    secret_name = f"Budi-{uuid.uuid4().hex[:8]}"
    filed = make_report(
        city,
        category="gratifikasi",
        what=secret_text,
        reported_persons=[{"name": secret_name, "work_unit": "Dinas PUPR"}],
    )
    case, receipt = filed["case_number"], filed["receipt"]
    me = {"Authorization": f"Receipt {receipt}"}
    assert (
        wb.post(
            f"{base}/inbox/messages",
            json={"body": "Ada fotonya."},
            headers=me,
            environ_base={"REMOTE_ADDR": "10.77.0.1"},
        ).status_code
        == 201
    )
    for to, extra in (
        ("acknowledged", {}),
        ("triaged", {"outcome": "accepted"}),
        ("investigating", {}),
        ("concluded", {"outcome": "substantiated", "reason": "Terbukti."}),
    ):
        resp = wb.post(f"{base}/reports/{case}/transitions", json={"to": to, **extra}, headers=boss)
        assert resp.status_code == 200, resp.get_data(as_text=True)

    from shared.db import service_engine

    with service_engine("whistleblowing", migration=True).connect() as conn:
        emitted = [
            p["id"]
            for (p,) in conn.execute(
                text("select payload from outbox where key = :k order by seq"),
                {"k": f"{city.slug}:{case}"},
            )
        ]
    assert len(emitted) == 6  # submitted, message, 4 transitions

    with in_thread(relay("whistleblowing"), "relay-wb"), in_thread(consumer(), "audit"):
        wait_until(
            lambda: len([r for r in ledger_rows(city) if r.subject == case]) >= 6,
            90,
            "the case's events in the ledger",
        )
        time.sleep(0.5)
    rows = [r for r in ledger_rows(city) if r.subject == case]
    assert [r.event_id for r in rows] == emitted
    assert [r.type.split(".", 1)[1] for r in rows] == [
        "report.submitted.v1",
        "message.posted.v1",
    ] + ["report.transitioned.v1"] * 4

    records = records_on_topic("whistleblowing.events", f"{city.slug}:")
    assert len(records) == 6
    on_kafka = json.dumps([r[1] for r in records], ensure_ascii=False)
    with service_engine("audit", migration=True).connect() as conn:
        in_ledger = " ".join(
            str(r)
            for r in conn.execute(
                text("select * from audit_ledger where tenant_id = :t"), {"t": city.id}
            )
        )
    for secret in (
        secret_text,
        secret_name,
        receipt,
        receipt.replace("-", ""),
        "Ada fotonya",
        "Terbukti",
    ):
        assert secret not in on_kafka and secret not in in_ledger
