"""Assisted intake (issue 18 item 6): an intake official files a report received in person,
by phone, letter or e-mail; the case records the channel (and the statistics count it), its
history names the intake officer; the receipt is printable (page and PDF) and opens the inbox,
where the reporter reads the transcript and confirms it ("Saya membenarkan isi laporan ini"),
which is recorded. An identity given at the counter is sealed to the custodian like a
citizen's. Only the intake roles may file, and another city's official gets 404."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import create_engine, text

from tests.integration.whistleblowing.test_whistleblowing_workspace_pages import (
    signed_in,
    token_of,
)
from tests.support.whistleblowing import P, addr

T = "/t/cimahi/api/v1"
PAGE = f"{P}/office/assisted-report"
RECEIPT_RE = re.compile(r"[0-9A-HJKMNP-TV-Z]{5}(?:-[0-9A-HJKMNP-TV-Z]{5}){4}")
CASE_RE = re.compile(r"WBS-\d{4}-[0-9A-HJKMNP-TV-Z]{8}")
IDENTITY = {"name": "Siti Aminah", "nik": "3277014507900002", "phone": "081234567890"}


def owner_db(stack):
    return create_engine(stack["WHISTLEBLOWING_MIGRATION_DATABASE_URL"])


def row(stack, case: str) -> dict:
    engine = owner_db(stack)
    try:
        with engine.connect() as c:
            report = dict(
                c.execute(text("select * from wb_reports where case_number = :c"), {"c": case})
                .mappings()
                .one()
            )
            report["history"] = [
                dict(h)
                for h in c.execute(
                    text(
                        "select actor_role, actor_id, to_status from wb_report_history"
                        " where report_id = :r order by at"
                    ),
                    {"r": report["id"]},
                ).mappings()
            ]
            report["events"] = [
                p
                for (p,) in c.execute(
                    text("select payload from outbox where key = :k order by seq"),
                    {"k": f"cimahi:{case}"},
                )
            ]
        return report
    finally:
        engine.dispose()


def walk_in_form(token: str, **over) -> dict:
    return {
        "csrf_token": token,
        "submission": uuid.uuid4().hex,
        "channel": "walk_in",
        "mode": "anonymous",
        "category": "pungutan_liar",
        "what": f"Warga diminta membayar untuk surat pindah. {uuid.uuid4().hex}",
        "person_0_name": "Pak Y",
        "person_0_position": "Staf",
        "where": "Kelurahan Setiamanah",
        "when": "Juni 2026",
        "how_known": "Mengalami sendiri",
        **over,
    }


def test_a_walk_in_report_is_entered_printed_and_confirmed_by_the_reporter(
    wb_app, make_official, csrf_token, stack, official_token, demo_tenants
):
    intake = signed_in(wb_app, make_official, csrf_token, "wbs_intake")
    home = intake.get(f"{P}/office").get_data(as_text=True)
    assert f'href="{PAGE}">Catat laporan</a>' in home
    form = intake.get(PAGE).get_data(as_text=True)
    assert "Diterima melalui" in form and "Datang langsung" in form and "Melalui surat" in form
    assert f'href="{PAGE}" aria-current="page">Catat laporan</a>' in form

    data = walk_in_form(token_of(form))
    filed = intake.post(PAGE, data=data)
    page = filed.get_data(as_text=True)
    assert filed.status_code == 201, page
    case, receipt = CASE_RE.search(page).group(0), RECEIPT_RE.search(page).group(0)
    assert "serahkan kepada pelapor" in page and "Datang langsung" in page
    assert "Menu petugas" in page
    again = intake.post(PAGE, data=data)  # the same form sent twice: one report, same receipt
    assert again.status_code == 201 and receipt in again.get_data(as_text=True)

    # the receipt on paper: the citizen receipt's PDF, from the receipt in the POST body
    pdf = intake.post(f"{P}/receipt.pdf", data={"csrf_token": token_of(page), "receipt": receipt})
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")

    stored = row(stack, case)
    assert stored["channel"] == "walk_in" and stored["sealed_identity"] is None
    assert stored["entered_by"] == intake.creds.official_id
    assert stored["history"][0]["actor_role"] == "wbs_intake"
    assert stored["history"][0]["actor_id"] == intake.creds.official_id
    submitted = [
        e for e in stored["events"] if e["type"].startswith("whistleblowing.report.submitted")
    ]
    assert len(submitted) == 1 and submitted[0]["data"]["channel"] == "walk_in"
    assert data["what"] not in str(stored["events"])  # no text in the events

    # the case page names the channel and the intake officer who entered it
    case_page = intake.get(f"{P}/cases/{case}").get_data(as_text=True)
    assert re.search(r'id="channel">Datang langsung · isi laporan belum dibenarkan', case_page)
    assert f"Petugas penerima ({intake.creds.username})" in case_page

    # the reporter opens the inbox with the receipt, reads the transcript and confirms it
    reporter = wb_app.test_client()
    opened = reporter.post(
        f"{P}/inbox",
        data={"csrf_token": csrf_token(reporter, f"{P}/inbox"), "receipt": receipt},
        environ_base=addr(),
    )
    inbox = opened.get_data(as_text=True)
    assert opened.status_code == 200, inbox
    assert "Laporan Anda sebagaimana dicatat petugas penerima" in inbox
    assert data["what"] in inbox and "Kelurahan Setiamanah" in inbox
    assert "Saya membenarkan isi laporan ini" in inbox and "Petugas penerima" in inbox
    confirmed = reporter.post(f"{P}/inbox/transcript", data={"csrf_token": token_of(inbox)})
    assert confirmed.status_code == 303
    after = reporter.get(f"{P}/inbox").get_data(as_text=True)
    assert "Terima kasih: Anda telah membenarkan isi laporan ini." in after
    assert "Anda telah membenarkan isi laporan ini pada" in after
    assert "Saya membenarkan isi laporan ini</button>" not in after

    stored = row(stack, case)
    assert stored["transcript_confirmed_at"] is not None
    assert [e["type"] for e in stored["events"]].count(
        "whistleblowing.report.transcript_confirmed.v1"
    ) == 1
    case_page = intake.get(f"{P}/cases/{case}").get_data(as_text=True)
    assert "isi laporan telah dibenarkan pelapor" in case_page

    # the statistics count the channel
    bearer = {"Authorization": official_token(wb_app, demo_tenants["cimahi"], "wbs_intake")}
    stats = wb_app.test_client().get(f"{T}/stats", headers=bearer)
    assert stats.status_code == 200 and stats.json["by_channel"].get("walk_in", 0) >= 1


def test_a_missing_channel_is_named_beside_the_field_and_the_text_is_kept(
    wb_app, make_official, csrf_token
):
    intake = signed_in(wb_app, make_official, csrf_token, "wbs_intake")
    data = walk_in_form(token_of(intake.get(PAGE).get_data(as_text=True)), channel="")
    resp = intake.post(PAGE, data=data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert 'id="channel-error"' in page and "Pilih bagaimana laporan ini diterima." in page
    assert 'href="#channel_walk_in"' in page  # the summary links to the first choice
    assert data["what"] in page  # everything typed is kept
    assert not RECEIPT_RE.search(page)


def test_the_api_seals_an_identity_given_at_the_counter_as_a_citizens_is(
    wb, wb_app, demo_tenants, official_token, make_official, stack
):
    city = demo_tenants["cimahi"]
    intake = {"Authorization": official_token(wb_app, city, "wbs_intake")}
    body = {
        "channel": "phone",
        "category": "korupsi",
        "what": "Penelepon melaporkan mark-up pengadaan.",
        "identity": IDENTITY,
    }
    filed = wb.post(f"{T}/assisted-reports", json=body, headers=intake)
    assert filed.status_code == 201, filed.get_data(as_text=True)
    assert filed.json["channel"] == "phone" and RECEIPT_RE.fullmatch(filed.json["receipt"])
    case = filed.json["case_number"]
    stored = row(stack, case)
    assert stored["sealed_identity"] is not None
    assert IDENTITY["nik"].encode() not in stored["sealed_identity"]
    assert IDENTITY["nik"] not in str(stored["events"])
    assert stored["events"][0]["data"]["confidential"] is True

    # disclosed through the custodian exactly like a citizen's identity
    sup = make_official("cimahi", "wbs_supervisor")
    supervisor = {
        "Authorization": official_token(
            wb_app, city, "wbs_supervisor", official_id=sup.official_id, username=sup.username
        )
    }
    asked = wb.post(
        f"{T}/reports/{case}/identity-requests",
        headers=supervisor,
        json={"reason": "Pelapor perlu dimintai keterangan sebagai saksi."},
    )
    assert asked.status_code == 201, asked.get_data(as_text=True)
    custodian = {"Authorization": official_token(wb_app, city, "identity_custodian")}
    decided = wb.post(
        f"{T}/identity-requests/{asked.json['id']}/decisions",
        headers=custodian,
        json={"decision": "approve", "passphrase": "test-custodian-cimahi"},
    )
    assert decided.status_code == 200, decided.get_data(as_text=True)
    shown = wb.get(f"{T}/identity-requests/{asked.json['id']}", headers=supervisor)
    assert shown.status_code == 200, shown.get_data(as_text=True)
    assert IDENTITY["nik"] in shown.get_data(as_text=True)

    # the reporter confirms through the API (once; a second time answers the first)
    me = {"Authorization": f"Receipt {filed.json['receipt']}"}
    first = wb.post(f"{T}/inbox/transcript-confirmation", headers=me, environ_base=addr())
    assert first.status_code == 200, first.get_data(as_text=True)
    second = wb.post(f"{T}/inbox/transcript-confirmation", headers=me, environ_base=addr())
    assert second.json["transcript_confirmed_at"] == first.json["transcript_confirmed_at"]
    inbox = wb.get(f"{T}/inbox", headers=me, environ_base=addr()).json
    assert inbox["channel"] == "phone" and inbox["transcript_confirmed_at"]
    assert inbox["timeline"][0]["by"] == "wbs_intake"


def test_an_online_report_has_no_transcript_to_confirm(wb):
    filed = wb.post(
        f"{T}/reports", json={"category": "korupsi", "what": "Laporan daring biasa."}
    ).json
    me = {"Authorization": f"Receipt {filed['receipt']}"}
    resp = wb.post(f"{T}/inbox/transcript-confirmation", headers=me, environ_base=addr())
    assert resp.status_code == 409
    assert wb.get(f"{T}/inbox", headers=me, environ_base=addr()).json["channel"] == "online"


def test_only_intake_roles_file_assisted_reports_and_other_cities_get_404(
    wb, wb_app, demo_tenants, official_token, make_official, csrf_token
):
    body = {"channel": "letter", "category": "korupsi", "what": "Surat pengaduan masuk."}
    for role in ("wbs_investigator", "identity_custodian", "auditor"):
        token = {"Authorization": official_token(wb_app, demo_tenants["cimahi"], role)}
        assert wb.post(f"{T}/assisted-reports", json=body, headers=token).status_code == 403
    supervisor = {"Authorization": official_token(wb_app, demo_tenants["cimahi"], "wbs_supervisor")}
    assert wb.post(f"{T}/assisted-reports", json=body, headers=supervisor).status_code == 201
    bandung = {"Authorization": official_token(wb_app, demo_tenants["bandung"], "wbs_intake")}
    assert wb.post(f"{T}/assisted-reports", json=body, headers=bandung).status_code == 404
    online = {**body, "channel": "online"}
    intake = {"Authorization": official_token(wb_app, demo_tenants["cimahi"], "wbs_intake")}
    refused = wb.post(f"{T}/assisted-reports", json=online, headers=intake)
    assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "channel"

    investigator = signed_in(wb_app, make_official, csrf_token, "wbs_investigator")
    assert investigator.get(PAGE).status_code == 403
    assert f'href="{PAGE}"' not in investigator.get(f"{P}/office").get_data(as_text=True)
