"""Whistleblowing service, end to end through the API on the real stack (PostgreSQL + Kafka).

An anonymous report with evidence followed with its receipt, messages both ways, every state
to `concluded`; wrong receipts, illegal transitions, bad files and other tenants' requests
refused with a clear 4xx and no change; no plaintext of the report or identity in the database
or the outbox.
"""

from __future__ import annotations

import io
import re
import threading
import uuid

import pytest
from PIL import Image
from sqlalchemy import create_engine, text

from tests.support.pdfs import minimal_pdf

T = "/t/cimahi/api/v1"
RECEIPT_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{5}(-[0-9A-HJKMNP-TV-Z]{5}){4}$")
HANDLER_ROLES = ("wbs_intake", "wbs_investigator", "wbs_supervisor")


def marker(label: str) -> str:
    """A unique plaintext to search the database and the outbox for."""
    return f"{label}-{uuid.uuid4().hex[:12]}"


def new_report(**over) -> dict:
    body = {
        "category": "pungutan_liar",
        "what": f"Petugas meminta uang tambahan untuk KTP. {marker('WHAT')}",
        "reported_persons": [
            {"name": marker("NAMA"), "position": "Staf", "work_unit": "Kecamatan Cimahi Tengah"}
        ],
        "where": marker("WHERE"),
        "when": "Maret 2026",
        "how_known": "Saya mengalaminya",
    }
    body.update(over)
    return body


def addr() -> dict:
    """A fresh client address, so receipt-guess throttling of one test never leaks into another."""
    n = uuid.uuid4().int
    return {"REMOTE_ADDR": f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"}


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (32, 24), (10, 120, 10))
    exif = Image.Exif()
    exif[271] = "SecretCam"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "S", (6.0, 53.0, 0.0)
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture(scope="module")
def owner_db(stack):
    """The migration owner's connection: sees every row (RLS does not apply to the owner)."""
    engine = create_engine(stack["WHISTLEBLOWING_MIGRATION_DATABASE_URL"])
    yield engine
    engine.dispose()


@pytest.fixture
def tokens(wb_app, demo_tenants, official_token, make_official):
    """Bearer headers of real cimahi officials (so they can be assigned), one per role."""
    made = {}

    def token(role: str, tenant: str = "cimahi"):
        if (role, tenant) not in made:
            creds = make_official(tenant, role)
            made[(role, tenant)] = (
                creds,
                {
                    "Authorization": official_token(
                        wb_app,
                        demo_tenants[tenant],
                        role,
                        official_id=creds.official_id,
                        username=creds.username,
                    )
                },
            )
        return made[(role, tenant)]

    return token


def file_report(wb, body=None, **kw):
    resp = wb.post(f"{T}/reports", json=body or new_report(), **kw)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.json


def receipt_header(receipt: str) -> dict:
    return {"Authorization": f"Receipt {receipt}"}


def outbox_events(owner_db, case_number: str, slug: str = "cimahi") -> list[dict]:
    with owner_db.connect() as conn:
        return [
            p
            for (p,) in conn.execute(
                text("select payload from outbox where key = :k order by seq"),
                {"k": f"{slug}:{case_number}"},
            )
        ]


def report_row(owner_db, case_number: str):
    with owner_db.connect() as conn:
        return (
            conn.execute(
                text("select * from wb_reports where case_number = :c"), {"c": case_number}
            )
            .mappings()
            .one()
        )


def move(wb, headers, case_number, to, **extra):
    return wb.post(
        f"{T}/reports/{case_number}/transitions", json={"to": to, **extra}, headers=headers
    )


# --- the whole journey ---------------------------------------------------------------------


def test_anonymous_report_with_evidence_followed_by_receipt_to_concluded(
    wb, tokens, owner_db, caplog
):
    import logging

    caplog.set_level(logging.DEBUG)
    body = new_report()
    filed = file_report(wb, body)
    case, receipt = filed["case_number"], filed["receipt"]
    assert filed["status"] == "received" and RECEIPT_RE.match(receipt)
    assert re.match(r"^WBS-\d{4}-[0-9A-HJKMNP-TV-Z]{8}$", case)
    me = receipt_header(receipt)

    # evidence with GPS in its EXIF, added with the receipt; stored without it
    up = wb.post(
        f"{T}/inbox/attachments",
        headers=me,
        environ_base=addr(),
        data={"file": (io.BytesIO(jpeg_with_gps()), "../../etc/IMG_0001.jpg")},
        content_type="multipart/form-data",
    )
    assert up.status_code == 201, up.get_data(as_text=True)
    assert up.json["media_type"] == "image/jpeg"

    # the receipt opens the inbox (typed in lower case, without dashes, still works)
    sloppy = receipt_header(receipt.lower().replace("-", " "))
    inbox = wb.get(f"{T}/inbox", headers=sloppy, environ_base=addr())
    assert inbox.status_code == 200 and inbox.headers["Cache-Control"] == "no-store"
    assert inbox.json["case_number"] == case and inbox.json["status"] == "received"
    assert inbox.json["report"]["what"] == body["what"]
    assert [a["media_type"] for a in inbox.json["attachments"]] == ["image/jpeg"]
    assert "receipt" not in inbox.json

    assert (
        wb.post(
            f"{T}/inbox/messages",
            json={"body": "Saya punya bukti tambahan."},
            headers=me,
            environ_base=addr(),
        ).status_code
        == 201
    )

    intake = tokens("wbs_intake")[1]
    supervisor = tokens("wbs_supervisor")[1]
    inv_creds, investigator = tokens("wbs_investigator")
    listed = wb.get(f"{T}/reports?status=received&per_page=100", headers=intake).json
    assert case in [r["case_number"] for r in listed["items"]]
    # an investigator sees only cases assigned to them
    assert wb.get(f"{T}/reports/{case}", headers=investigator).status_code == 404

    assert move(wb, intake, case, "acknowledged").status_code == 200
    assert move(wb, intake, case, "triaged", outcome="accepted").status_code == 200
    assigned = wb.post(
        f"{T}/reports/{case}/assignments",
        headers=supervisor,
        json={"official_id": str(inv_creds.official_id)},
    )
    assert assigned.status_code == 201, assigned.get_data(as_text=True)
    assert assigned.json["assignee"] == str(inv_creds.official_id)
    mine = wb.get(f"{T}/reports?assignee=me", headers=investigator).json
    assert [r["case_number"] for r in mine["items"]] == [case]

    assert move(wb, investigator, case, "investigating").status_code == 200
    reply = wb.post(
        f"{T}/reports/{case}/messages",
        headers=investigator,
        json={"body": "Terima kasih, mohon kirim bukti tersebut."},
    )
    assert reply.status_code == 201
    detail = wb.get(f"{T}/reports/{case}", headers=investigator).json
    assert detail["report"]["where"] == body["where"]
    assert detail["allowed_transitions"] == ["concluded"]
    assert [m["from"] for m in detail["messages"]] == ["reporter", "wbs_investigator"]

    # the stored image has no EXIF (read back through the officials' download)
    att_id = detail["attachments"][0]["id"]
    download = wb.get(f"{T}/reports/{case}/attachments/{att_id}", headers=investigator)
    assert download.status_code == 200 and download.mimetype == "image/jpeg"
    assert b"SecretCam" not in download.data
    assert dict(Image.open(io.BytesIO(download.data)).getexif()) == {}
    assert "IMG_0001" not in download.headers["Content-Disposition"]

    concluded = move(
        wb,
        investigator,
        case,
        "concluded",
        outcome="substantiated",
        reason="Terbukti; diteruskan ke pejabat pembina kepegawaian.",
    )
    assert concluded.status_code == 200 and concluded.json["status"] == "concluded"

    seen = wb.get(f"{T}/inbox", headers=me, environ_base=addr()).json
    assert seen["status"] == "concluded" and seen["outcome"] == "substantiated"
    assert [s["status"] for s in seen["timeline"]] == [
        "received",
        "acknowledged",
        "triaged",
        "investigating",
        "concluded",
    ]
    assert {s["by"] for s in seen["timeline"]} == {"reporter", "wbs_intake", "wbs_investigator"}
    assert seen["messages"][1] == {**seen["messages"][1], "from": "wbs_investigator"}
    assert "official_id" not in str(seen) and inv_creds.username not in str(seen)

    # every step is an event, in order, carrying no text, names or the receipt
    events = outbox_events(owner_db, case)
    assert [e["type"].split(".", 1)[1] for e in events] == [
        "report.submitted.v1",
        "attachment.added.v1",
        "message.posted.v1",
        "report.transitioned.v1",
        "report.transitioned.v1",
        "report.assigned.v1",
        "report.transitioned.v1",
        "message.posted.v1",
        "report.transitioned.v1",
    ]
    assert {e["actor"] for e in events} >= {"reporter"}
    dumped = str(events)
    for secret in (
        receipt,
        receipt.replace("-", ""),
        body["what"],
        body["where"],
        body["reported_persons"][0]["name"],
        "Terbukti",
        "bukti tambahan",
        inv_creds.username,
    ):
        assert secret not in dumped
        assert secret not in caplog.text  # nor in any log line of the whole journey


def test_the_database_holds_no_plaintext_of_the_report(wb, owner_db):
    body = new_report(
        identity={
            "name": marker("REPORTER"),
            "nik": "3277011203870004",
            "phone": "+62 812 3456 7890",
            "email": "pelapor@example.org",
        }
    )
    filed = file_report(wb, body)
    wb.post(
        f"{T}/inbox/messages",
        json={"body": marker("MSG")},
        headers=receipt_header(filed["receipt"]),
        environ_base=addr(),
    )
    pdf_secret = marker("PDFTEXT")
    assert (
        wb.post(
            f"{T}/inbox/attachments",
            headers=receipt_header(filed["receipt"]),
            environ_base=addr(),
            content_type="multipart/form-data",
            data={"file": (io.BytesIO(minimal_pdf(pdf_secret)), "bukti.pdf")},
        ).status_code
        == 201
    )
    secrets = [
        pdf_secret,
        body["what"],
        body["where"],
        body["reported_persons"][0]["name"],
        body["identity"]["name"],
        "3277011203870004",
        "812 3456 7890",
        "pelapor@example.org",
        filed["receipt"],
        filed["receipt"].replace("-", ""),
    ]
    with owner_db.connect() as conn:
        tables = (
            conn.execute(
                text(
                    "select table_name from information_schema.tables where table_schema = 'public'"
                )
            )
            .scalars()
            .all()
        )
        for table in tables:
            dump = " ".join(str(r) for r in conn.execute(text(f'select * from "{table}"')))
            for s in secrets:
                assert s not in dump, f"{table} holds plaintext"
                assert s.encode() not in dump.encode()
    row = report_row(owner_db, filed["case_number"])
    assert row["sealed_identity"] and row["receipt_hash"] != filed["receipt"]


# --- refusals that change nothing ----------------------------------------------------------


def test_a_wrong_receipt_is_401_and_guessing_is_throttled(wb, owner_db):
    filed = file_report(wb)
    client = addr()
    wrong = "ABCDE-ABCDE-ABCDE-ABCDE-ABCDE"
    one_off = filed["receipt"][:-1] + ("1" if filed["receipt"][-1] == "0" else "0")
    for attempt, header in enumerate([wrong, "nonsense", "", one_off]):
        resp = wb.get(f"{T}/inbox", headers=receipt_header(header), environ_base=client)
        assert resp.status_code == 401, attempt
        assert resp.mimetype == "application/problem+json"
        assert resp.headers["WWW-Authenticate"].startswith("Receipt")
    assert wb.get(f"{T}/inbox", environ_base=client).status_code == 401  # no header at all
    posted = wb.post(
        f"{T}/inbox/messages",
        json={"body": "halo"},
        headers=receipt_header(wrong),
        environ_base=client,
    )
    assert posted.status_code == 401
    assert [e["type"] for e in outbox_events(owner_db, filed["case_number"])] == [
        "whistleblowing.report.submitted.v1"
    ]
    for _ in range(10):
        last = wb.get(f"{T}/inbox", headers=receipt_header(wrong), environ_base=client)
    assert last.status_code == 429 and int(last.headers["Retry-After"]) > 0
    # locked out, even the right receipt waits; another address is unaffected
    assert (
        wb.get(
            f"{T}/inbox", headers=receipt_header(filed["receipt"]), environ_base=client
        ).status_code
        == 429
    )
    assert (
        wb.get(
            f"{T}/inbox", headers=receipt_header(filed["receipt"]), environ_base=addr()
        ).status_code
        == 200
    )


def test_a_receipt_of_one_city_opens_nothing_in_another(wb):
    filed = file_report(wb)
    resp = wb.get(
        "/t/bandung/api/v1/inbox", headers=receipt_header(filed["receipt"]), environ_base=addr()
    )
    assert resp.status_code == 401


def test_an_illegal_transition_is_409_and_changes_nothing(wb, tokens, owner_db):
    case = file_report(wb)["case_number"]
    supervisor = tokens("wbs_supervisor")[1]
    before = report_row(owner_db, case)
    for to in ("concluded", "investigating", "archived", "received"):
        resp = move(wb, supervisor, case, to, outcome="substantiated", reason="x")
        assert resp.status_code == 409, (to, resp.get_data(as_text=True))
        assert resp.mimetype == "application/problem+json"
        assert "'received'" in resp.json["detail"] and "acknowledged" in resp.json["detail"]
    # no such status at all: the document lists the statuses, so the body is refused as such
    resp = move(wb, supervisor, case, "nonsense", outcome="substantiated", reason="x")
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "to"
    assert report_row(owner_db, case) == before
    assert len(outbox_events(owner_db, case)) == 1
    # a decision without its outcome or reason is named field by field
    assert move(wb, supervisor, case, "acknowledged").status_code == 200
    bad = move(wb, supervisor, case, "triaged", outcome="not_wbs_matter")
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "reason"
    assert (
        move(wb, tokens("wbs_investigator")[1], case, "triaged", outcome="accepted").status_code
        == 404
    )  # not assigned: not visible


def test_not_a_wbs_matter_is_referred_and_archived(wb, tokens):
    filed = file_report(wb)
    case, intake, supervisor = (
        filed["case_number"],
        tokens("wbs_intake")[1],
        tokens("wbs_supervisor")[1],
    )
    assert move(wb, intake, case, "acknowledged").status_code == 200
    resp = move(
        wb,
        intake,
        case,
        "triaged",
        outcome="not_wbs_matter",
        reason="Keluhan layanan, bukan pelanggaran.",
        referral="SP4N-LAPOR!",
    )
    assert resp.status_code == 200
    assert move(wb, intake, case, "archived").status_code == 403  # supervisors archive
    assert move(wb, supervisor, case, "archived").status_code == 200
    inbox = wb.get(f"{T}/inbox", headers=receipt_header(filed["receipt"]), environ_base=addr()).json
    assert inbox["timeline"][2]["referral"] == "SP4N-LAPOR!"
    closed = wb.post(
        f"{T}/inbox/messages",
        json={"body": "masih ada?"},
        headers=receipt_header(filed["receipt"]),
        environ_base=addr(),
    )
    assert closed.status_code == 409


def test_concurrent_transitions_one_wins_the_other_gets_409(wb_app, tokens):
    case = file_report(wb_app.test_client())["case_number"]
    headers = tokens("wbs_intake")[1]
    barrier, results = threading.Barrier(4), []

    def go():
        client = wb_app.test_client()
        barrier.wait()
        results.append(move(client, headers, case, "acknowledged").status_code)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409, 409, 409]


def test_if_match_guards_against_acting_on_a_stale_read(wb, tokens):
    case = file_report(wb)["case_number"]
    intake = tokens("wbs_intake")[1]
    etag = wb.get(f"{T}/reports/{case}", headers=intake).headers["ETag"]
    assert move(wb, intake, case, "acknowledged").status_code == 200  # someone else acts
    stale = wb.post(
        f"{T}/reports/{case}/transitions",
        headers={**intake, "If-Match": etag},
        json={"to": "triaged", "outcome": "accepted"},
    )
    assert stale.status_code == 412
    fresh = wb.get(f"{T}/reports/{case}", headers=intake)
    assert fresh.json["status"] == "acknowledged"
    ok = wb.post(
        f"{T}/reports/{case}/transitions",
        headers={**intake, "If-Match": fresh.headers["ETag"]},
        json={"to": "triaged", "outcome": "accepted"},
    )
    assert ok.status_code == 200 and ok.headers["ETag"] != fresh.headers["ETag"]


def test_oversized_and_disguised_attachments_are_refused(wb, owner_db):
    filed = file_report(wb)
    me = receipt_header(filed["receipt"])

    def upload(data: bytes, name: str):
        return wb.post(
            f"{T}/inbox/attachments",
            headers=me,
            environ_base=addr(),
            data={"file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )

    too_big = upload(b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024), "bukti.pdf")
    assert too_big.status_code == 413 and too_big.mimetype == "application/problem+json"
    disguised = upload(b"MZ\x90\x00\x03" + b"\x00" * 200, "bukti.pdf")
    assert disguised.status_code == 415
    assert "application/x-msdownload" in disguised.json["detail"]
    assert upload(b"<script>alert(1)</script>", "foto.jpg").status_code == 415
    missing = wb.post(
        f"{T}/inbox/attachments",
        headers=me,
        environ_base=addr(),
        data={},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422
    inbox = wb.get(f"{T}/inbox", headers=me, environ_base=addr()).json
    assert inbox["attachments"] == []
    assert len(outbox_events(owner_db, filed["case_number"])) == 1


def test_another_tenants_case_is_404(wb, tokens, owner_db):
    case = file_report(wb)["case_number"]
    bandung = tokens("wbs_supervisor", "bandung")[1]
    cimahi = tokens("wbs_supervisor")[1]
    before = report_row(owner_db, case)
    # bandung's official on bandung's URL with cimahi's case number: no such case there
    for method, path, body in (
        ("GET", "", None),
        ("POST", "/transitions", {"to": "acknowledged"}),
        ("POST", "/messages", {"body": "x"}),
    ):
        resp = wb.open(
            f"/t/bandung/api/v1/reports/{case}{path}", method=method, json=body, headers=bandung
        )
        assert resp.status_code == 404, (method, path)
        # cimahi's token on bandung's URL: 404 too, never 403
        resp = wb.open(
            f"/t/bandung/api/v1/reports/{case}{path}", method=method, json=body, headers=cimahi
        )
        assert resp.status_code == 404
    assert report_row(owner_db, case) == before


def test_validation_names_each_wrong_field(wb):
    resp = wb.post(
        f"{T}/reports",
        json={
            "category": "parkir",
            "what": "pendek",
            "reported_persons": [{"nama": "x"}],
            "identity": {"name": "A", "nik": "123"},
        },
    )
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    fields = {e["field"] for e in resp.json["errors"]}
    assert {"what", "reported_persons.0.nama", "identity.nik"} <= fields
    assert "123" not in resp.get_data(as_text=True)  # values are never echoed
    unknown = wb.post(f"{T}/reports", json=new_report(category="parkir"))
    assert unknown.status_code == 422 and unknown.json["errors"][0]["field"] == "category"
    assert wb.post(f"{T}/reports", data="not json").status_code == 415  # not sent as JSON


def test_idempotency_key_replays_the_same_case(wb, owner_db):
    key, body = str(uuid.uuid4()), new_report()
    first = wb.post(f"{T}/reports", json=body, headers={"Idempotency-Key": key})
    again = wb.post(f"{T}/reports", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert len(outbox_events(owner_db, first.json["case_number"])) == 1
    other = wb.post(f"{T}/reports", json=new_report(), headers={"Idempotency-Key": key})
    assert other.status_code == 422 and other.json["errors"][0]["field"] == "Idempotency-Key"
    # the same key in another city is another city's business
    elsewhere = wb.post(
        "/t/bandung/api/v1/reports",
        json={**body, "category": "korupsi"},
        headers={"Idempotency-Key": key},
    )
    assert elsewhere.status_code == 201
    assert elsewhere.json["case_number"] != first.json["case_number"]


def test_list_filters_and_paging(wb, tokens):
    intake = tokens("wbs_intake")[1]
    cases = {file_report(wb, new_report(category="gratifikasi"))["case_number"] for _ in range(3)}
    page = wb.get(f"{T}/reports?category=gratifikasi&per_page=2&page=1", headers=intake).json
    assert page["total"] >= 3 and len(page["items"]) == 2
    item = page["items"][0]
    assert {"clocks", "overdue", "due_soon", "acknowledge_by"} <= set(item)
    assert item["clocks"]["acknowledge"] in ("ok", "due_soon")
    every = wb.get(f"{T}/reports?category=gratifikasi&per_page=100", headers=intake).json
    assert cases <= {r["case_number"] for r in every["items"]}
    fresh = wb.get(
        f"{T}/reports?overdue=true&category=gratifikasi&per_page=100", headers=intake
    ).json
    assert not cases & {r["case_number"] for r in fresh["items"]}
    bad = wb.get(f"{T}/reports?status=lost&page=0&overdue=maybe", headers=intake)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json["errors"]} == {"status", "page", "overdue"}
    assert wb.get(f"{T}/reports").status_code == 401
    assert wb.get(f"{T}/reports", headers=tokens("identity_custodian")[1]).status_code == 403


def test_overdue_cases_are_flagged(wb, tokens, owner_db):
    case = file_report(wb)["case_number"]
    with owner_db.begin() as conn:  # as if received long ago
        conn.execute(
            text(
                "update wb_reports set acknowledge_by = date '2026-01-05', "
                "received_at = timestamptz '2026-01-01 03:00+00' "
                "where case_number = :c"
            ),
            {"c": case},
        )
    intake = tokens("wbs_intake")[1]
    overdue = wb.get(f"{T}/reports?overdue=true&per_page=100", headers=intake).json
    flagged = {r["case_number"]: r for r in overdue["items"]}
    assert case in flagged and flagged[case]["clocks"]["acknowledge"] == "overdue"
    stats = wb.get(f"{T}/stats", headers=intake).json
    assert stats["overdue"] >= 1 and stats["by_month"].get("2026-01", 0) >= 1


def test_stats_and_public_stats_hide_small_cells(wb, tokens):
    file_report(wb, new_report(category="benturan_kepentingan"))
    stats = wb.get(f"{T}/stats", headers=tokens("wbs_supervisor")[1]).json
    assert stats["total"] >= 1 and stats["by_category"]["benturan_kepentingan"] >= 1
    assert set(stats) >= {
        "by_status",
        "by_month",
        "median_days_to_acknowledge",
        "median_days_to_conclude",
        "overdue",
    }
    public = wb.get(f"{T}/public/stats").json
    for cell in public["by_category"].values():
        assert cell is None or cell == 0 or cell >= 5
    assert public["small_cell_threshold"] == 5


def test_recused_official_cannot_be_assigned_and_sees_nothing(wb, tokens, owner_db):
    case = file_report(wb)["case_number"]
    supervisor = tokens("wbs_supervisor")[1]
    inv, inv_headers = tokens("wbs_investigator")
    recused = wb.post(
        f"{T}/reports/{case}/recusals",
        headers=supervisor,
        json={"official_id": str(inv.official_id), "reason": "Bekerja di unit yang dilaporkan."},
    )
    assert recused.status_code == 201
    again = wb.post(
        f"{T}/reports/{case}/assignments",
        headers=supervisor,
        json={"official_id": str(inv.official_id)},
    )
    assert again.status_code == 409
    assert wb.get(f"{T}/reports/{case}", headers=inv_headers).status_code == 404
    detail = wb.get(f"{T}/reports/{case}", headers=supervisor).json
    assert detail["recusals"][0]["official_id"] == str(inv.official_id)
    types = [e["type"] for e in outbox_events(owner_db, case)]
    assert "whistleblowing.report.recused.v1" in types


# --- tenant settings change behaviour, not code ----------------------------------------------


def new_city(demo_tenants, **wb_settings):
    """A fresh city: a copy of cimahi's configuration with whistleblowing settings changed."""
    import copy

    from operations import tenant_apply
    from shared.tenant_config import parse

    data = copy.deepcopy(demo_tenants["cimahi"].data)
    data.pop("id")
    data["slug"] = f"wb-{uuid.uuid4().hex[:10]}"
    data["services"]["whistleblowing"].update(wb_settings)
    config = parse(data, "test")
    tenant_apply.apply(config)
    return config


def test_auto_acknowledge_is_a_tenant_setting(wb, demo_tenants):
    city = new_city(
        demo_tenants,
        sla={"acknowledge_working_days": 3, "feedback_days": 30, "auto_acknowledge": True},
    )
    filed = wb.post(f"/t/{city.slug}/api/v1/reports", json=new_report())
    assert filed.status_code == 201 and filed.json["status"] == "acknowledged"
    inbox = wb.get(
        f"/t/{city.slug}/api/v1/inbox",
        headers=receipt_header(filed.json["receipt"]),
        environ_base=addr(),
    ).json
    assert [(s["status"], s["by"]) for s in inbox["timeline"]] == [
        ("received", "reporter"),
        ("acknowledged", "system"),
    ]


def test_public_stats_hide_small_cells_and_their_giveaway(wb, demo_tenants, official_token):
    city = new_city(demo_tenants)
    for category, n in (("korupsi", 6), ("gratifikasi", 5), ("pungutan_liar", 2)):
        for _ in range(n):
            assert (
                wb.post(
                    f"/t/{city.slug}/api/v1/reports", json=new_report(category=category)
                ).status_code
                == 201
            )
    public = wb.get(f"/t/{city.slug}/api/v1/public/stats").json
    assert public["by_category"] == {"korupsi": 6, "gratifikasi": None, "pungutan_liar": None}
    assert public["total"] == 13 and public["by_status"] == {"received": 13}
    assert public["median_days_to_acknowledge"] is None  # fewer than 5 acknowledged
    full = wb.get(
        f"/t/{city.slug}/api/v1/stats",
        headers={"Authorization": official_token(wb.application, city, "wbs_supervisor")},
    ).json
    assert full["by_category"] == {"gratifikasi": 5, "korupsi": 6, "pungutan_liar": 2}
    assert full["overdue"] == 0 and full["median_days_to_conclude"] is None


def test_retention_deletes_expired_archived_cases_and_warns_first(
    wb, demo_tenants, official_token, owner_db
):
    from services.whistleblowing import retention

    city = new_city(demo_tenants, retention_days=30)
    boss = {"Authorization": official_token(wb.application, city, "wbs_supervisor")}
    base = f"/t/{city.slug}/api/v1"

    def archived_case(days_ago: int) -> str:
        case = wb.post(f"{base}/reports", json=new_report()).json["case_number"]
        for to, extra in (
            ("acknowledged", {}),
            ("triaged", {"outcome": "not_wbs_matter", "reason": "Bukan WBS."}),
            ("archived", {}),
        ):
            resp = wb.post(
                f"{base}/reports/{case}/transitions", json={"to": to, **extra}, headers=boss
            )
            assert resp.status_code == 200, resp.get_data(as_text=True)
        with owner_db.begin() as conn:
            conn.execute(
                text(
                    "update wb_reports set archived_at = now() - make_interval("
                    "days => :d), last_reporter_input_at = now() - make_interval("
                    "days => :d) where case_number = :c"
                ),
                {"d": days_ago, "c": case},
            )
        return case

    old, soon, fresh = archived_case(40), archived_case(10), archived_case(0)
    assert wb.get(f"{base}/reports/{soon}", headers=boss).json["retention"] == "expiring"
    assert wb.get(f"{base}/reports/{old}", headers=boss).json["retention"] == "expired"

    old_id = str(report_row(owner_db, old)["id"])

    def record_keys() -> int:
        with owner_db.connect() as conn:
            return conn.execute(
                text(
                    "select count(*) from record_keys where table_name = "
                    "'wb_reports' and row_id = :r"
                ),
                {"r": old_id},
            ).scalar_one()

    assert record_keys() == 1
    done = retention.run_once()
    assert done[city.slug] == [old]
    assert record_keys() == 0  # crypto-shredded, not only deleted
    assert wb.get(f"{base}/reports/{old}", headers=boss).status_code == 404
    with owner_db.connect() as conn:
        left = conn.execute(
            text(
                "select count(*) from wb_report_history h join wb_reports r "
                "on r.id = h.report_id where r.case_number = :c"
            ),
            {"c": old},
        ).scalar_one()
        assert left == 0
    assert [e["type"] for e in outbox_events(owner_db, old, city.slug)][
        -1
    ] == "whistleblowing.report.expired.v1"
    for case in (soon, fresh):
        assert wb.get(f"{base}/reports/{case}", headers=boss).status_code == 200


def test_the_retention_run_forgets_closed_receipt_guess_windows(wb, owner_db):
    from services.whistleblowing import retention

    client = addr()
    wb.get(
        f"{T}/inbox", headers=receipt_header("AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"), environ_base=client
    )
    with owner_db.begin() as conn:
        before = conn.execute(text("select count(*) from wb_receipt_throttle")).scalar_one()
        conn.execute(
            text("update wb_receipt_throttle set window_started_at = now() - interval '1 hour'")
        )
    assert before >= 1
    retention.run_once()
    with owner_db.connect() as conn:
        assert conn.execute(text("select count(*) from wb_receipt_throttle")).scalar_one() == 0


def test_csv_exports_for_officials_hold_no_content(wb, tokens):
    body = new_report(category="korupsi")
    case = file_report(wb, body)["case_number"]
    intake = tokens("wbs_intake")[1]
    export = wb.get(f"{T}/reports.csv?category=korupsi", headers=intake)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    text_ = export.get_data(as_text=True)
    assert text_.startswith("case_number,category,status") and case in text_
    assert body["what"] not in text_ and body["reported_persons"][0]["name"] not in text_
    stats = wb.get(f"{T}/stats.csv", headers=intake).get_data(as_text=True)
    assert stats.startswith("dimension,key,value") and "category,korupsi," in stats
    assert wb.get(f"{T}/reports.csv").status_code == 401


def test_openapi_documents_every_api_route(wb, wb_app):
    doc = wb.get("/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    documented = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    for rule in wb_app.url_map.iter_rules():
        if not rule.endpoint.startswith("wb_api.") or "/api/v1/" not in rule.rule:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path}"
    assert "ReportIn" in doc["components"]["schemas"]


def test_a_signed_acknowledgement_proves_filing_without_identity(wb):
    from services.whistleblowing.acknowledgement import submitted_digest, verify

    body = new_report(identity={"name": marker("IDENT"), "nik": "3277011203870004"})
    filed = file_report(wb, body)
    me = receipt_header(filed["receipt"])
    doc = wb.get(f"{T}/inbox/acknowledgement", headers=me, environ_base=addr())
    assert doc.status_code == 200
    ack = doc.json
    assert ack["case_number"] == filed["case_number"] and ack["tenant"] == "cimahi"
    content = wb.get(f"{T}/inbox", headers=me, environ_base=addr()).json["report"]
    assert ack["submitted_sha256"] == submitted_digest(body["category"], content)
    text_ = str(ack)
    assert body["identity"]["name"] not in text_ and "3277011203870004" not in text_
    assert filed["receipt"] not in text_
    key = wb.get(f"{T}/acknowledgement-key").json
    assert key["key_id"] == ack["key_id"] and verify(ack, key["public_key_pem"])
    assert not verify({**ack, "received_at": "2020-01-01T00:00:00+00:00"}, key["public_key_pem"])
    other = wb.get("/t/bandung/api/v1/acknowledgement-key").json
    assert other["key_id"] != key["key_id"] and not verify(ack, other["public_key_pem"])
    assert wb.get(f"{T}/inbox/acknowledgement", environ_base=addr()).status_code == 401


def test_the_same_idempotency_key_sent_concurrently_files_one_report(wb_app, owner_db):
    key, body = str(uuid.uuid4()), new_report()
    barrier, answers = threading.Barrier(3), []

    def submitted() -> int:
        with owner_db.connect() as conn:
            return conn.execute(text("select count(*) from wb_reports")).scalar_one()

    def go():
        client = wb_app.test_client()
        barrier.wait()
        resp = client.post(f"{T}/reports", json=body, headers={"Idempotency-Key": key})
        answers.append((resp.status_code, resp.json.get("case_number"), resp.json.get("receipt")))

    before = submitted()
    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {a[0] for a in answers} == {201} and len({a[1:] for a in answers}) == 1
    assert submitted() == before + 1


def test_handlers_of_a_reported_unit_are_recused_automatically(wb, tokens, owner_db):
    supervisor = tokens("wbs_supervisor")[1]
    inv, inv_headers = tokens("wbs_investigator")
    unit = f"Dinas Uji {uuid.uuid4().hex[:6]}"
    older = file_report(wb, new_report(reported_persons=[{"name": "X", "work_unit": unit}]))
    set_profile = wb.put(
        f"{T}/handlers/{inv.official_id}/profile",
        headers=supervisor,
        json={"work_unit": unit.upper() + "."},
    )
    assert set_profile.status_code == 200, set_profile.get_data(as_text=True)
    assert set_profile.json["recused_from"] == [older["case_number"]]
    newer = file_report(
        wb, new_report(reported_persons=[{"name": "Y", "work_unit": f"  {unit.lower()} "}])
    )
    for case in (older["case_number"], newer["case_number"]):
        refused = wb.post(
            f"{T}/reports/{case}/assignments",
            headers=supervisor,
            json={"official_id": str(inv.official_id)},
        )
        assert refused.status_code == 409
        detail = wb.get(f"{T}/reports/{case}", headers=supervisor).json
        assert [(r["official_id"], r["kind"]) for r in detail["recusals"]] == [
            (str(inv.official_id), "reported_unit")
        ]
        recused = [
            e
            for e in outbox_events(owner_db, case)
            if e["type"] == "whistleblowing.report.recused.v1"
        ]
        assert recused[0]["actor"] == "system" and recused[0]["data"]["kind"] == "reported_unit"
    unrelated = file_report(wb)["case_number"]
    assert (
        wb.post(
            f"{T}/reports/{unrelated}/assignments",
            headers=supervisor,
            json={"official_id": str(inv.official_id)},
        ).status_code
        == 201
    )
    with owner_db.connect() as conn:
        stored = str(conn.execute(text("select * from wb_handler_profiles")).all())
    assert unit.lower() not in stored.lower()
    assert (
        wb.put(
            f"{T}/handlers/{uuid.uuid4()}/profile", headers=supervisor, json={"work_unit": unit}
        ).status_code
        == 404  # the path names no official of this city
    )
    assert (
        wb.put(
            f"{T}/handlers/{inv.official_id}/profile", headers=inv_headers, json={"work_unit": "x"}
        ).status_code
        == 403
    )
