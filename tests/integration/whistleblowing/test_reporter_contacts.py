"""Reporters' contacts for "ada balasan baru" notices (issue 20, item 4), on the real stack.

Given only by choice (report form, API, or later from the inbox); sealed under the tenant's data
key (the raw column holds no address); read back only through `contact_for_case`; never in
an official's case page or API answer, never in an event; destroyed (record key shredded, row
deleted) when the reporter withdraws it, when the case is archived and at retention expiry. The
event of a handler's message is content-free and carries the case's id for the consumer.
"""

from __future__ import annotations

import io
import json
import random
import uuid

import pytest
from sqlalchemy import create_engine, text

from services.whistleblowing import reporter_contacts
from shared import event_types as ev
from shared.db import service_engine, session_factory, tenant_session
from tests.integration.whistleblowing.test_whistleblowing import (
    T,
    file_report,
    marker,
    move,
    new_city,
    new_report,
    outbox_events,
    receipt_header,
    report_row,
)
from tests.integration.whistleblowing.test_whistleblowing_pages import RECEIPT_RE, jpeg
from tests.integration.whistleblowing.test_whistleblowing_workspace_pages import (
    CASE_RE,
    signed_in,
    token_of,
)
from tests.support.whistleblowing import P, addr


@pytest.fixture(scope="module")
def owner_db(stack):
    engine = create_engine(stack["WHISTLEBLOWING_MIGRATION_DATABASE_URL"])
    yield engine
    engine.dispose()


def mobile() -> tuple[str, str]:
    """A fresh Indonesian mobile number as a person types it, and its stored form."""
    rest = "".join(random.choice("0123456789") for _ in range(8))
    return f"0812 {rest[:4]}-{rest[4:]}", f"+62812{rest}"


def email() -> str:
    return f"{marker('pelapor').lower()}@contoh.id"


def contact_of(tenant_id, case_id):
    """What the notifications consumer reads (its only read path)."""
    factory = session_factory(service_engine("whistleblowing"))
    with tenant_session(factory, tenant_id) as session:
        return reporter_contacts.contact_for_case(session, tenant_id, case_id)


def contact_rows(owner_db, report_id) -> list[dict]:
    with owner_db.connect() as conn:
        return [
            dict(r)
            for r in conn.execute(
                text("select * from wb_reporter_contacts where report_id = :r"), {"r": report_id}
            ).mappings()
        ]


def record_keys(owner_db, row_id) -> int:
    with owner_db.connect() as conn:
        return conn.execute(
            text(
                "select count(*) from record_keys where table_name = 'wb_reporter_contacts' "
                "and row_id = :r"
            ),
            {"r": str(row_id)},
        ).scalar_one()


def case_tables_text(owner_db, report_id) -> str:
    """Every stored row of the case outside the contacts table, as text."""
    with owner_db.connect() as conn:
        rows = [
            str(
                conn.execute(text("select * from wb_reports where id = :r"), {"r": report_id}).all()
            )
        ]
        for table in ("wb_report_history", "wb_messages", "wb_attachments"):
            rows.append(
                str(
                    conn.execute(
                        text(f"select * from {table} where report_id = :r"), {"r": report_id}
                    ).all()
                )
            )
    return "\n".join(rows)


def test_a_contact_given_with_the_report_is_sealed_and_never_shown_to_officials(
    wb, demo_tenants, official_token, owner_db
):
    address = email()
    filed = file_report(wb, new_report(notify_contact=address))
    case = filed["case_number"]
    report_id = report_row(owner_db, case)["id"]

    [row] = contact_rows(owner_db, report_id)
    assert row["kind"] == "email" and row["tenant_id"] == demo_tenants["cimahi"].id
    assert address.encode() not in bytes(row["address"])  # sealed, not stored as typed
    assert address.split("@")[0].encode() not in bytes(row["address"])
    assert record_keys(owner_db, row["id"]) == 1
    assert address not in case_tables_text(owner_db, report_id)  # not in the report's content

    found = contact_of(demo_tenants["cimahi"].id, report_id)
    assert found == reporter_contacts.ReporterContact("email", address)
    assert contact_of(demo_tenants["cimahi"].id, str(report_id)) == found  # ids as text too
    assert contact_of(demo_tenants["bandung"].id, report_id) is None  # tenant-scoped

    # the reporter sees it masked in the inbox; handlers see nothing of it
    inbox = wb.get(f"{T}/inbox", headers=receipt_header(filed["receipt"]), environ_base=addr())
    shown = inbox.json["notify_contact"]
    assert shown["kind"] == "email" and shown["masked"].endswith("@contoh.id")
    assert address not in inbox.get_data(as_text=True)
    city = demo_tenants["cimahi"]
    for role in ("wbs_intake", "wbs_supervisor"):
        headers = {"Authorization": official_token(wb.application, city, role)}
        detail = wb.get(f"{T}/reports/{case}", headers=headers)
        assert detail.status_code == 200
        body = detail.get_data(as_text=True)
        assert address not in body and shown["masked"] not in body
        assert "notify_contact" not in body and "notify_contact" not in detail.json["report"]
        listing = wb.get(f"{T}/reports.csv", headers=headers).get_data(as_text=True)
        assert address not in listing

    events = outbox_events(owner_db, case)
    assert events and address not in json.dumps(events)
    assert "notify" not in json.dumps([e["data"] for e in events])  # not even the choice


def test_phone_numbers_are_kept_in_one_form_whichever_way_they_are_typed(
    wb, demo_tenants, owner_db
):
    typed, stored = mobile()
    national = stored[3:]
    for spelling in (typed, f"+62 {national}", f"62{national}", typed.translate(FULLWIDTH)):
        case = file_report(wb, new_report(notify_contact=spelling))["case_number"]
        report_id = report_row(owner_db, case)["id"]
        assert contact_of(demo_tenants["cimahi"].id, report_id) == (
            reporter_contacts.ReporterContact("phone", stored)
        ), spelling
        [row] = contact_rows(owner_db, report_id)
        assert national.encode() not in bytes(row["address"])


FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@pytest.mark.parametrize(
    "bad",
    ["021 555 1234", "+1 555 123 4567", "0812", "٠٨١٢٣٤٥٦٧٨٩٠", "orang@", "bukan kontak"],
)
def test_a_bad_contact_is_422_naming_the_field_and_files_nothing(wb, owner_db, bad):
    def counts() -> tuple[int, int]:
        with owner_db.connect() as conn:
            return (
                conn.execute(text("select count(*) from wb_reports")).scalar_one(),
                conn.execute(text("select count(*) from wb_reporter_contacts")).scalar_one(),
            )

    before = counts()
    resp = wb.post(f"{T}/reports", json=new_report(notify_contact=bad))
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert [e["field"] for e in resp.json["errors"]] == ["notify_contact"]
    assert bad not in resp.get_data(as_text=True)  # the value is never echoed
    assert counts() == before


def test_a_handlers_message_event_is_content_free_and_names_the_case(
    wb, demo_tenants, official_token, owner_db
):
    address = email()
    filed = file_report(wb, new_report(notify_contact=address))
    case = filed["case_number"]
    report_id = str(report_row(owner_db, case)["id"])
    intake = {"Authorization": official_token(wb.application, demo_tenants["cimahi"], "wbs_intake")}
    words = marker("BALASAN")
    sent = wb.post(f"{T}/reports/{case}/messages", json={"body": words}, headers=intake)
    assert sent.status_code == 201, sent.get_data(as_text=True)

    [event] = [e for e in outbox_events(owner_db, case) if e["type"] == ev.WB_MESSAGE_POSTED]
    assert event["data"]["report_id"] == report_id  # the consumer looks the contact up by it
    assert event["data"]["case_number"] == case
    assert event["data"]["author_role"] == "wbs_intake"  # a handler wrote: a notice is due
    assert set(event["data"]) == {
        "report_id",
        "case_number",
        "message_id",
        "author_role",
        "body_digest",
    }
    dumped = json.dumps(event)
    assert words not in dumped and address not in dumped
    assert contact_of(demo_tenants["cimahi"].id, event["data"]["report_id"]).address == address


def test_archiving_the_case_forgets_the_contact(wb, demo_tenants, official_token, owner_db):
    filed = file_report(wb, new_report(notify_contact=email()))
    case = filed["case_number"]
    report_id = report_row(owner_db, case)["id"]
    [row] = contact_rows(owner_db, report_id)
    boss = {
        "Authorization": official_token(wb.application, demo_tenants["cimahi"], "wbs_supervisor")
    }
    assert move(wb, boss, case, "acknowledged").status_code == 200
    triaged = move(wb, boss, case, "triaged", outcome="not_wbs_matter", reason="Bukan WBS.")
    assert triaged.status_code == 200
    assert contact_of(demo_tenants["cimahi"].id, report_id) is not None  # kept while open
    assert move(wb, boss, case, "archived").status_code == 200

    assert contact_of(demo_tenants["cimahi"].id, report_id) is None
    assert contact_rows(owner_db, report_id) == []
    assert record_keys(owner_db, row["id"]) == 0  # crypto-shredded, not only deleted
    # an archived case takes no new contact
    put = wb.put(
        f"{T}/inbox/contact",
        json={"notify_contact": email()},
        headers=receipt_header(filed["receipt"]),
        environ_base=addr(),
    )
    assert put.status_code == 409
    assert contact_rows(owner_db, report_id) == []


def test_the_reporter_withdraws_the_contact_and_may_give_one_later(wb, demo_tenants, owner_db):
    first = email()
    filed = file_report(wb, new_report(notify_contact=first))
    case, auth = filed["case_number"], receipt_header(filed["receipt"])
    report_id = report_row(owner_db, case)["id"]
    [row] = contact_rows(owner_db, report_id)
    client = addr()

    gone = wb.delete(f"{T}/inbox/contact", headers=auth, environ_base=client)
    assert gone.status_code == 200 and gone.json == {"notify_contact": None, "forgotten": True}
    assert contact_of(demo_tenants["cimahi"].id, report_id) is None
    assert record_keys(owner_db, row["id"]) == 0 and contact_rows(owner_db, report_id) == []
    again = wb.delete(f"{T}/inbox/contact", headers=auth, environ_base=client)
    assert again.json["forgotten"] is False

    bad = wb.put(
        f"{T}/inbox/contact", json={"notify_contact": "021 555"}, headers=auth, environ_base=client
    )
    assert bad.status_code == 422 and [e["field"] for e in bad.json["errors"]] == ["notify_contact"]
    typed, stored = mobile()
    put = wb.put(
        f"{T}/inbox/contact", json={"notify_contact": typed}, headers=auth, environ_base=client
    )
    assert put.status_code == 200 and put.json["notify_contact"]["kind"] == "phone"
    assert stored not in put.get_data(as_text=True)  # masked in the answer
    [second] = contact_rows(owner_db, report_id)
    assert contact_of(demo_tenants["cimahi"].id, report_id).address == stored
    # giving another replaces it: the earlier one is shredded
    replaced = wb.put(
        f"{T}/inbox/contact", json={"notify_contact": first}, headers=auth, environ_base=client
    )
    assert replaced.status_code == 200
    assert record_keys(owner_db, second["id"]) == 0
    assert contact_of(demo_tenants["cimahi"].id, report_id).address == first
    assert not [e for e in outbox_events(owner_db, case) if "contact" in e["type"]]


def test_retention_expiry_forgets_a_contact_left_on_an_archived_case(
    wb, demo_tenants, official_token, owner_db
):
    """Archiving forgets the contact already; expiry does it again for a row left behind (a
    contact kept by hand, or by a version before archiving forgot it)."""
    from services.whistleblowing import retention
    from services.whistleblowing.domain.contact import Contact

    city = new_city(demo_tenants, retention_days=30)
    boss = {"Authorization": official_token(wb.application, city, "wbs_supervisor")}
    base = f"/t/{city.slug}/api/v1"
    case = wb.post(f"{base}/reports", json=new_report()).json["case_number"]
    for to, extra in (
        ("acknowledged", {}),
        ("triaged", {"outcome": "not_wbs_matter", "reason": "Bukan WBS."}),
        ("archived", {}),
    ):
        resp = wb.post(f"{base}/reports/{case}/transitions", json={"to": to, **extra}, headers=boss)
        assert resp.status_code == 200, resp.get_data(as_text=True)
    report_id = report_row(owner_db, case)["id"]
    factory = session_factory(service_engine("whistleblowing"))
    with tenant_session(factory, city.id) as session:
        reporter_contacts.keep(session, city.id, report_id, Contact("email", email()))
        session.commit()
    [row] = contact_rows(owner_db, report_id)
    with owner_db.begin() as conn:
        conn.execute(
            text(
                "update wb_reports set archived_at = now() - interval '40 days', "
                "last_reporter_input_at = now() - interval '40 days' where id = :r"
            ),
            {"r": report_id},
        )
    assert retention.run_once()[city.slug] == [case]
    assert contact_rows(owner_db, report_id) == [] and record_keys(owner_db, row["id"]) == 0


# --- pages -----------------------------------------------------------------------------------


def _file_by_page(client, csrf_token, **extra):
    data = {
        "csrf_token": csrf_token(client, f"{P}/report"),
        "mode": "anonymous",
        "category": "pungutan_liar",
        "what": f"Ada pungutan liar di loket pelayanan. {uuid.uuid4().hex}",
        "person_0_name": "Pak X",
        "files": (io.BytesIO(jpeg()), "foto.jpg"),
        **extra,
    }
    return client.post(f"{P}/report", data=data, content_type="multipart/form-data")


def test_the_report_form_explains_the_contact_and_shows_a_bad_phone_beside_the_field(
    wb, csrf_token, owner_db
):
    form = wb.get(f"{P}/report").get_data(as_text=True)
    assert "Kontak untuk pemberitahuan balasan (tidak wajib)" in form
    assert "tidak pernah ditampilkan kepada petugas" in form and 'name="notify_contact"' in form
    assert "Jika melapor secara anonim, pilih alamat yang tidak menunjukkan nama Anda." in form
    english = wb.application.test_client().get(f"{P}/report?lang=en").get_data(as_text=True)
    assert "Contact for new-reply notices (optional)" in english

    with owner_db.connect() as conn:
        before = conn.execute(text("select count(*) from wb_reports")).scalar_one()
    resp = _file_by_page(wb, csrf_token, notify_contact="021 555 1234")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="notify_contact-error"' in html
    assert 'aria-invalid="true" aria-describedby="notify_contact-error notify_contact-hint"' in html
    assert "nomor HP Indonesia seperti 0812 3456 7890" in html
    assert 'href="#notify_contact"' in html  # the summary links to the field
    assert 'value="021 555 1234"' in html  # kept for correcting
    with owner_db.connect() as conn:
        assert conn.execute(text("select count(*) from wb_reports")).scalar_one() == before


def test_the_inbox_page_withdraws_and_adds_the_contact_and_officials_never_see_it(
    wb, wb_app, csrf_token, make_official, demo_tenants, owner_db
):
    typed, stored = mobile()
    filed = _file_by_page(wb, csrf_token, notify_contact=typed)
    assert filed.status_code == 201, filed.get_data(as_text=True)
    html = filed.get_data(as_text=True)
    receipt, case = RECEIPT_RE.search(html).group(0), CASE_RE.search(html).group(0)
    report_id = report_row(owner_db, case)["id"]
    assert contact_of(demo_tenants["cimahi"].id, report_id).address == stored

    intake = signed_in(wb_app, make_official, csrf_token, "wbs_intake", "wbs_supervisor")
    page = intake.get(f"{P}/cases/{case}").get_data(as_text=True)
    national = stored[3:]
    assert case in page
    for shown in (stored, national, typed, "+62 812 ****"):
        assert shown not in page

    client = addr()
    token = csrf_token(wb, f"{P}/inbox")
    inbox = wb.post(
        f"{P}/inbox", data={"csrf_token": token, "receipt": receipt}, environ_base=client
    )
    page = inbox.get_data(as_text=True)
    assert inbox.status_code == 200 and f"+62 812 **** {national[-4:]}" in page
    assert stored not in page and "Hapus kontak pemberitahuan" in page
    assert "Anda tidak lagi menerima pemberitahuan" in page  # what removing means

    gone = wb.post(f"{P}/inbox/contact/forget", data={"csrf_token": token}, environ_base=client)
    assert gone.status_code == 303 and gone.headers["Location"].endswith(f"{P}/inbox")
    after = wb.get(f"{P}/inbox", environ_base=client).get_data(as_text=True)
    assert "Kontak pemberitahuan telah dimusnahkan." in after
    assert "Beri tahu saya" in after and "Hapus kontak pemberitahuan" not in after
    assert contact_of(demo_tenants["cimahi"].id, report_id) is None

    bad = wb.post(
        f"{P}/inbox/contact",
        data={"csrf_token": token, "notify_contact": "12345"},
        environ_base=client,
    )
    page = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="notify_contact-error"' in page
    assert 'aria-invalid="true"' in page and "nomor HP Indonesia" in page
    assert contact_of(demo_tenants["cimahi"].id, report_id) is None

    address = email()
    added = wb.post(
        f"{P}/inbox/contact",
        data={"csrf_token": token, "notify_contact": address},
        environ_base=client,
    )
    assert added.status_code == 303
    assert "Kontak Anda disimpan" in wb.get(f"{P}/inbox", environ_base=client).get_data(
        as_text=True
    )
    assert contact_of(demo_tenants["cimahi"].id, report_id).address == address
    assert address not in intake.get(f"{P}/cases/{case}").get_data(as_text=True)
    assert token_of(after)  # the page kept its CSRF token for the next form
