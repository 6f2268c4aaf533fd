"""Hibah-bansos service, end to end through the API on the real stack (PostgreSQL + Kafka).

An organisation registers, applies with documents, and three different officials (and
finance) take it through every state to `closed`, each step in the ledger; 50 concurrent
approvals against room for 10 approve exactly 10; the same NIK twice in one programme year and
invalid NIKs are refused with the reason; a 10,000-row import with bad rows imports the rest
and lists each bad row.
"""

from __future__ import annotations

import json
import random
import threading
import uuid

import pytest
from sqlalchemy import text

from tests.support import ROOT
from tests.support.applicant_mail import confirm, link_token, post_registration
from tests.support.hibah_bansos import (
    BANSOS,
    HIBAH,
    ORG_DOCUMENTS,
    PDF,
    add_programme,
    application,
    organisation,
    person,
)

T = "/t/cimahi/api/v1"


@pytest.fixture
def officials(hb_app, demo_tenants, official_token):
    """Four different officials of Cimahi, one per role (tokens as Authorization headers)."""
    cimahi = demo_tenants["cimahi"]
    return {
        role: {"Authorization": official_token(hb_app, cimahi, role)}
        for role in ("bansos_evaluator", "bansos_verifier", "bansos_approver", "bansos_finance")
    }


def register(hb, body, headers=None) -> dict:
    """Register `body` by themselves (202) or at the counter by the official of `headers` (201,
    no password), then follow the mailed link: the 201 body (if any) with the access token."""
    resp = post_registration(hb, "cimahi", body, headers)
    assert resp.status_code == (201 if headers else 202), resp.get_data(as_text=True)
    out = dict(resp.json) if headers else {}
    if body.get("email"):
        confirmed = confirm(hb, "cimahi", body["email"], body.get("password") if headers else None)
        assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
        out["access_token"] = confirmed.json["access_token"]
    return out


def as_applicant(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def registered_at_the_counter(hb, officials) -> tuple[str, dict]:
    """A person an evaluator registered, signed in with the password they then chose: their
    applicant id and Authorization header."""
    body = person()
    applicant_id = register(hb, body, officials["bansos_evaluator"])["applicant_id"]
    token = hb.post(
        f"{T}/applicants/token", json={"email": body["email"], "password": body["password"]}
    ).json["access_token"]
    return applicant_id, as_applicant(token)


def move(hb, headers, number, to, expect=200, **fields):
    resp = hb.post(
        f"{T}/applications/{number}/transitions", json={"to": to, **fields}, headers=headers
    )
    assert resp.status_code == expect, resp.get_data(as_text=True)
    return resp


def upload(hb, headers, number, code, content=PDF, expect=201):
    resp = hb.post(
        f"{T}/applications/{number}/documents",
        headers=headers,
        data={"code": code, "file": (__import__("io").BytesIO(content), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == expect, resp.get_data(as_text=True)
    return resp


def outbox(hb_owner_db, subject: str) -> list[dict]:
    with hb_owner_db.connect() as c:
        return [
            row.payload
            for row in c.execute(
                text("select payload from outbox where key = :k order by seq"),
                {"k": f"cimahi:{subject}"},
            )
        ]


# --- the whole road, proposal to closed -----------------------------------------------------


def test_organisation_from_proposal_to_closed(hb, officials, hb_owner_db):
    org = organisation()
    token = register(hb, org)["access_token"]
    me = as_applicant(token)
    programmes = hb.get(f"{T}/programmes").json["items"]
    assert HIBAH in {p["code"] for p in programmes}

    # signing in again gives a token of its own kind: useless as an official's
    resp = hb.post(
        f"{T}/applicants/token", json={"email": org["email"], "password": org["password"]}
    )
    assert resp.status_code == 200
    assert (
        hb.get(f"{T}/applications", headers=as_applicant(resp.json["access_token"])).status_code
        == 401
    )
    assert (
        hb.post(
            f"{T}/applicants/token", json={"email": org["email"], "password": "salah"}
        ).status_code
        == 401
    )

    key = {"Idempotency-Key": uuid.uuid4().hex}
    resp = hb.post(f"{T}/applications", json=application(), headers={**me, **key})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    number = resp.json["application_number"]
    assert resp.json["status"] == "draft"
    assert number.startswith("HB-2026-") and len(number) == 16
    again = hb.post(f"{T}/applications", json=application(), headers={**me, **key})
    assert again.status_code == 201 and again.json["application_number"] == number
    assert again.headers["Idempotent-Replayed"] == "true"

    # completeness: every required document before submitting
    resp = hb.post(f"{T}/applications/{number}/submit", headers=me)
    assert resp.status_code == 409  # the application, not the (empty) request, is short
    assert {e["field"] for e in resp.json["errors"]} == {f"documents.{c}" for c in ORG_DOCUMENTS}
    upload(hb, me, number, "proposal", b"MZ\x90\x00not a pdf", expect=415)
    for code in ORG_DOCUMENTS:
        upload(hb, me, number, code)
    resp = hb.post(f"{T}/applications/{number}/submit", headers=me)
    assert resp.status_code == 200 and resp.json["status"] == "submitted"
    assert [
        a["status"]
        for a in hb.get(f"{T}/applications/mine", headers=me).json["items"]
        if a["application_number"] == number
    ] == ["submitted"]

    ev, ve, ap, fi = (
        officials[r]
        for r in ("bansos_evaluator", "bansos_verifier", "bansos_approver", "bansos_finance")
    )
    # the approver cannot skip the OPD evaluation and TAPD verification
    resp = move(hb, ap, number, "approved", 409, amount=1, reference="X", date="2026-03-01")
    assert "allowed next" in resp.json["detail"]
    move(hb, ve, number, "evaluated", 403, amount=90_000_000, reason="ok")
    move(
        hb,
        ev,
        number,
        "evaluated",
        amount=90_000_000,
        reason="Layak, dikurangi 10%",
        checklist={"proposal": True, "rab": True},
    )
    move(hb, ve, number, "verified", reason="Sesuai prioritas dan KUA-PPAS")
    resp = move(hb, ap, number, "approved", 422, amount=90_000_000, reference="", date="2026-03-01")
    assert resp.json["errors"][0]["field"] == "reference"
    move(
        hb,
        ap,
        number,
        "approved",
        amount=90_000_000,
        reference="Keputusan Wali Kota 900/Kep.12-BKAD/2026",
        date="2026-03-01",
    )
    move(hb, ap, number, "agreement_signed", reference="NPHD/031/BKBP/2026", date="2026-03-10")
    move(hb, fi, number, "disbursed", amount=50_000_000, reference="SP2D-0001/LS/2026")
    resp = move(hb, fi, number, "disbursed", 422, amount=40_000_001, reference="SP2D-0002")
    assert resp.json["errors"][0]["field"] == "amount"
    move(hb, fi, number, "disbursed", amount=40_000_000, reference="SP2D-0002/LS/2026")

    resp = hb.post(
        f"{T}/applications/{number}/lpj",
        headers=me,
        json={
            "summary": "Pelatihan terlaksana",
            "lines": [
                {"item": "Honor pelatih", "amount": 45_000_000},
                {"item": "Bahan", "amount": 45_000_001},
            ],
        },
    )
    assert resp.status_code == 422  # more than was disbursed
    resp = hb.post(
        f"{T}/applications/{number}/lpj",
        headers=me,
        json={
            "summary": "Pelatihan terlaksana",
            "lines": [
                {"item": "Honor pelatih", "amount": 45_000_000},
                {"item": "Bahan", "amount": 44_500_000},
            ],
        },
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    move(hb, ev, number, "closed", reason="LPJ diverifikasi, sisa Rp500.000 disetor kembali")
    move(hb, ap, number, "approved", 409, amount=1, reference="X", date="2026-03-01")

    detail = hb.get(f"{T}/applications/{number}", headers=ev).json
    assert detail["status"] == "closed" and detail["approved"] == 90_000_000
    assert detail["disbursed"] == 90_000_000 and detail["lpj"]["spent"] == 89_500_000
    assert detail["applicant"]["name"] == org["name"]
    assert [h["to"] for h in detail["history"]] == [
        "submitted",
        "evaluated",
        "verified",
        "approved",
        "agreement_signed",
        "disbursed",
        "disbursed",
        "reported",
        "closed",
    ]
    assert len({detail["actors"][s] for s in ("evaluate", "verify", "approve")}) == 3
    assert len(detail["documents"]) == len(ORG_DOCUMENTS)

    # the ledger: every step an event, with ids and amounts, never personal data
    events = outbox(hb_owner_db, number)
    assert [e["type"].split(".", 1)[1] for e in events] == [
        "application.created.v1",
        *["document.added.v1"] * 7,
        "application.submitted.v1",
        *["application.transitioned.v1"] * 6,
        "lpj.filed.v1",
        "application.transitioned.v1",
    ]
    dumped = json.dumps(events)
    for secret in (
        org["name"],
        org["address"],
        org["phone"],
        org["bank_account"],
        org["chairperson"],
        org["email"],
    ):
        assert secret not in dumped
    with hb_owner_db.connect() as c:
        raw = c.execute(
            text("select personal from applicants where id = :i"), {"i": detail["applicant"]["id"]}
        ).scalar_one()
    assert org["name"].encode() not in raw and org["bank_account"].encode() not in raw

    # ... and each of those events reaches the audit ledger, once
    from services.audit.models import LedgerEntryRow
    from shared.db import service_engine
    from tests.support.eventing import consumer, in_thread, relay, wait_until

    ids = [e["id"] for e in events]

    def in_ledger() -> list[str]:
        with service_engine("audit", migration=True).connect() as conn:
            return list(
                conn.execute(
                    text(
                        f"select event_id from {LedgerEntryRow.__tablename__} "
                        "where event_id = any(:ids)"
                    ),
                    {"ids": ids},
                ).scalars()
            )

    with in_thread(relay("hibah_bansos"), "relay-hb"), in_thread(consumer(), "audit"):
        wait_until(lambda: len(in_ledger()) == len(ids), 90, "every step in the ledger")
    assert sorted(in_ledger()) == sorted(ids)

    # the public page lists the grant (organisation and amount), never the people behind it
    page = hb.get("/t/cimahi/hibah-bansos/transparansi").get_data(as_text=True)
    assert org["name"] in page and "Rp90.000.000" in page
    assert org["chairperson"] not in page and org["phone"] not in page


def test_separation_of_duties_three_officials(
    hb, hb_app, demo_tenants, official_token, make_application
):
    cimahi = demo_tenants["cimahi"]
    both = {
        "Authorization": official_token(
            hb_app, cimahi, "bansos_evaluator", "bansos_verifier", "bansos_approver"
        )
    }
    number, me = make_application("cimahi")
    for code in ORG_DOCUMENTS:
        upload(hb, me, number, code)
    assert hb.post(f"{T}/applications/{number}/submit", headers=me).status_code == 200
    move(hb, both, number, "evaluated", amount=10_000_000, reason="ok")
    resp = move(hb, both, number, "verified", 409, reason="ok")
    assert resp.json["conflicting_step"] == "evaluate"
    other = {"Authorization": official_token(hb_app, cimahi, "bansos_verifier")}
    move(hb, other, number, "verified", reason="ok")
    resp = move(
        hb, both, number, "approved", 409, amount=10_000_000, reference="K-1", date="2026-03-01"
    )
    assert resp.json["step"] == "approve"


def test_other_tenant_cannot_see_application(
    hb, hb_app, demo_tenants, official_token, officials, make_application
):
    number, me = make_application("cimahi")
    bandung = {"Authorization": official_token(hb_app, demo_tenants["bandung"], "bansos_evaluator")}
    assert hb.get(f"/t/bandung/api/v1/applications/{number}", headers=bandung).status_code == 404
    assert hb.get(f"{T}/applications/{number}", headers=bandung).status_code == 404
    assert (
        hb.get(f"{T}/applications/{number}", headers=officials["bansos_verifier"]).status_code
        == 200
    )
    assert (
        hb.post(f"/t/bandung/api/v1/applications/{number}/submit", headers=me).status_code == 401
    )  # a Cimahi applicant's token means nothing in Bandung


def _applications_of(hb_owner_db, applicant_id: str) -> int:
    with hb_owner_db.connect() as c:
        return c.execute(
            text("select count(*) from applications where applicant_id = :a"), {"a": applicant_id}
        ).scalar_one()


def test_an_unknown_programme_is_a_404_naming_the_field_and_creates_nothing(
    hb, officials, hb_owner_db
):
    # the applicant, the programme and the standing are read in one statement
    # (repository.intake_read): a wrong code is told apart from a wrong applicant
    applicant_id, me = registered_at_the_counter(hb, officials)
    resp = hb.post(f"{T}/applications", json=application("NO-SUCH-2026", 2_000_000), headers=me)
    assert resp.status_code == 404, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    assert resp.json["errors"] == [{"field": "programme", "reason": "No such programme."}]
    assert _applications_of(hb_owner_db, applicant_id) == 0


def test_an_official_naming_another_citys_or_no_applicant_gets_a_404_and_nothing_is_created(
    hb, hb_app, officials, demo_tenants, official_token, hb_owner_db
):
    bandung_evaluator = {
        "Authorization": official_token(hb_app, demo_tenants["bandung"], "bansos_evaluator")
    }
    resp = post_registration(hb, "bandung", person(nik="3273011708900001"), bandung_evaluator)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    of_bandung = resp.json["applicant_id"]
    for applicant_id in (of_bandung, str(uuid.uuid4())):
        resp = hb.post(
            f"{T}/applications",
            json=application(BANSOS, 2_000_000, applicant_id=applicant_id),
            headers=officials["bansos_evaluator"],
        )
        assert resp.status_code == 404, resp.get_data(as_text=True)
        assert resp.json["errors"] == [{"field": "applicant_id", "reason": "No such applicant."}]
    assert _applications_of(hb_owner_db, of_bandung) == 0


# --- money -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [1.5e8 + 0.5, "100000000", "100000000.00", True, -1, 0])
def test_money_must_be_integer_rupiah(hb, bad):
    me = as_applicant(register(hb, organisation())["access_token"])
    resp = hb.post(f"{T}/applications", json=application(requested=bad), headers=me)
    assert resp.status_code == 422
    assert "requested" in {e["field"] for e in resp.json["errors"]}


def test_a_whole_number_sent_as_a_json_float_is_that_many_rupiah(hb):
    """JSON has one number type and JSON Schema's `integer` takes 1.5e8, so the server does
    too, as the integer it is (issue 21: what the document allows, the server accepts)."""
    me = as_applicant(register(hb, organisation())["access_token"])
    body = application(requested=150_000_000)
    body["requested"] = 1.5e8
    body["rab"] = [{**line, "amount": float(line["amount"])} for line in body["rab"]]
    resp = hb.post(f"{T}/applications", json=body, headers=me)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    number = resp.json["application_number"]
    mine = hb.get(f"{T}/applications/mine", headers=me).json
    [stored] = [a for a in mine["items"] if a["application_number"] == number]
    assert stored["requested"] == 150_000_000 and isinstance(stored["requested"], int)


def test_rab_must_add_up_and_eligibility_lists_every_rule(hb):
    me = as_applicant(register(hb, organisation(legal_entity_since="2025-06-01"))["access_token"])
    body = application(requested=600_000_000)
    body["rab"][0]["amount"] += 1
    resp = hb.post(f"{T}/applications", json=body, headers=me)
    assert resp.status_code == 422
    fields = {e["field"] for e in resp.json["errors"]}
    assert fields == {"rab", "eligibility.min_legal_entity_years", "eligibility.max_amount"}


def test_fifty_concurrent_approvals_room_for_ten(hb_app, hb, officials, hb_owner_db, demo_tenants):
    amount = 7_000_000
    code = add_programme(hb_owner_db, demo_tenants["cimahi"].id, "TEST-CONC", ceiling=10 * amount)
    me = as_applicant(register(hb, organisation())["access_token"])
    numbers = []
    for _ in range(50):
        resp = hb.post(f"{T}/applications", json=application(code, amount), headers=me)
        assert resp.status_code == 201, resp.get_data(as_text=True)
        number = resp.json["application_number"]
        assert hb.post(f"{T}/applications/{number}/submit", headers=me).status_code == 200
        move(hb, officials["bansos_evaluator"], number, "evaluated", amount=amount, reason="ok")
        move(hb, officials["bansos_verifier"], number, "verified", reason="ok")
        numbers.append(number)

    results, barrier = [], threading.Barrier(50)

    def approve(number):
        client = hb_app.test_client()
        barrier.wait()
        resp = client.post(
            f"{T}/applications/{number}/transitions",
            headers=officials["bansos_approver"],
            json={"to": "approved", "amount": amount, "reference": "K-9", "date": "2026-03-01"},
        )
        results.append((resp.status_code, resp.json))

    threads = [threading.Thread(target=approve, args=(n,)) for n in numbers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(status for status, _ in results)
    assert codes.count(200) == 10 and codes.count(409) == 40, codes
    assert all("ceiling" in body["detail"] for status, body in results if status == 409)
    summary = hb.get(f"{T}/programmes/{code}/summary", headers=officials["bansos_finance"]).json
    assert summary["allocated"] == summary["ceiling"] == 10 * amount
    assert summary["remaining"] == 0
    assert summary["by_status"] == {"approved": 10, "verified": 40}


# --- people: NIK rules and duplicates ----------------------------------------------------------


@pytest.mark.parametrize(
    "nik, words",
    [
        ("327701170890001", "16 digits"),
        ("9977011708900001", "province"),
        ("3277013202900001", "birth date"),
        ("3277010112990001", None),
    ],
)
def test_invalid_nik_refused_naming_the_rule(hb, officials, nik, words):
    resp = post_registration(hb, "cimahi", person(nik=nik), officials["bansos_evaluator"])
    if words is None:  # 1 December 1999: a valid NIK
        assert resp.status_code == 201
        return
    assert resp.status_code == 422, resp.get_data(as_text=True)
    reasons = [e["reason"] for e in resp.json["errors"] if e["field"] == "nik"]
    assert reasons and any(words in r for r in reasons), reasons


def test_same_nik_twice_in_one_programme_year(hb, officials):
    body = person()
    register(hb, body, officials["bansos_evaluator"])  # an official confirms the DTKS entry
    token = hb.post(
        f"{T}/applicants/token", json={"email": body["email"], "password": body["password"]}
    ).json
    me = as_applicant(token["access_token"])
    first = hb.post(f"{T}/applications", json=application(BANSOS, 2_000_000), headers=me)
    assert first.status_code == 201, first.get_data(as_text=True)
    second = hb.post(f"{T}/applications", json=application(BANSOS, 1_000_000), headers=me)
    assert second.status_code == 409
    assert "NIK" in second.json["detail"] and second.json["errors"][0]["field"] == "nik"
    assert second.json["existing_application"] == first.json["application_number"]
    # registering the same NIK again makes no account (and says no more than for a new one)
    again = person(nik=body["nik"])
    resp = post_registration(hb, "cimahi", again)
    assert resp.status_code == 202 and link_token(again["email"]) is None


def test_bansos_needs_domicile_and_social_registry(hb):
    body = person(nik="3273011708900001", in_social_registry=True)  # Bandung NIK, self-registered
    me = as_applicant(register(hb, body)["access_token"])
    resp = hb.post(f"{T}/applications", json=application(BANSOS, 2_000_000), headers=me)
    assert resp.status_code == 422
    assert {e["field"] for e in resp.json["errors"]} == {
        "eligibility.domicile_required",
        "eligibility.social_registry_required",
    }


def test_official_sees_the_persons_other_active_applications(
    hb, officials, hb_owner_db, demo_tenants
):
    applicant_id, me = registered_at_the_counter(hb, officials)
    first = hb.post(f"{T}/applications", json=application(BANSOS, 2_000_000), headers=me).json
    # a second bansos programme for the same person (another programme, allowed)
    code = add_programme(
        hb_owner_db,
        demo_tenants["cimahi"].id,
        "TEST-BANSOS",
        kind="bansos",
        eligibility={"applicant_types": ["individual"]},
    )
    second = hb.post(f"{T}/applications", json=application(code, 1_000_000), headers=me).json
    detail = hb.get(
        f"{T}/applications/{second['application_number']}", headers=officials["bansos_evaluator"]
    ).json
    assert detail["applicant"]["id"] == applicant_id
    assert [o["application_number"] for o in detail["other_active_applications"]] == [
        first["application_number"]
    ]


# --- bulk import -------------------------------------------------------------------------------


def _import_nik(i: int) -> str:
    day = i % 28 + 1 + (40 if i % 2 else 0)
    return f"327702{day:02d}{i // 28 % 12 + 1:02d}{(50 + i // 336) % 100:02d}0001"


def test_ten_thousand_row_import(hb, officials, hb_owner_db):
    header = "nik,kk,name,address,phone,bank_account,amount"
    rows = [
        f"{_import_nik(i)},3277020101200001,Warga {i},Jl. Melati {i},0812{i:07d},"
        f"9{i:09d},{1_000_000 + (i % 5) * 500_000}"
        for i in range(10_000)
    ]
    plant = [
        ("9902011708900001,3277020101200001,A,B,0812,111111,1000000", "province"),
        ("3277023202900001,3277020101200001,A,B,0812,111111,1000000", "birth date"),
        ("3273021708900001,3277020101200001,A,B,0812,111111,1000000", "domicile"),
        ("3277021708900001,32770201,A,B,0812,111111,1000000", "kk"),
        ("3277021708900002,3277020101200001,,B,0812,111111,1000000", "name"),
        ("3277021708900003,3277020101200001,A,B,0812,111111,1500000.50", "amount"),
        ("3277021708900004,3277020101200001,A,B,0812,111111,3000001", "max_amount"),
        ("3277021708900005,3277020101200001,A,B,0812,111111", "fields"),
        (None, "same NIK as line"),
    ]
    for k in range(36):
        line_text, words = plant[k % len(plant)]
        if line_text is None:
            line_text = rows[k * 7]  # repeats an earlier (valid) row
        rows.insert(200 + k * 250, line_text)
    lines = [header] + rows
    raw = ("\n".join(lines) + "\n").encode()
    before = hb.get(f"{T}/programmes/{BANSOS}/summary", headers=officials["bansos_finance"]).json

    resp = hb.post(
        f"{T}/programmes/{BANSOS}/imports",
        headers=officials["bansos_evaluator"],
        data={"file": (__import__("io").BytesIO(raw), "dtks.csv")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)[:2000]
    result = resp.json
    assert result["rows"] == 10_036
    assert len(result["rejected"]) == 36
    assert result["imported"] == 10_000 and result["unchanged"] == 0
    rejected = {r["line"]: r["reason"] for r in result["rejected"]}
    for number, line_text in enumerate(lines[1:], start=2):
        nik = line_text.split(",")[0]
        if number in rejected:
            continue
        assert line_text.count(",") == 6 and nik.startswith("327702"), (number, line_text)
    for words in (
        "province",
        "birth date",
        "domicile",
        "kk",
        "name",
        "amount",
        "max_amount",
        "fields",
        "same NIK as line",
    ):
        assert any(words in reason for reason in rejected.values()), words

    after = hb.get(f"{T}/programmes/{BANSOS}/summary", headers=officials["bansos_finance"]).json
    assert (
        after["by_status"].get("submitted", 0) - before["by_status"].get("submitted", 0) == 10_000
    )
    with hb_owner_db.connect() as c:
        blob = c.execute(
            text(
                "select personal from applicants where nik_region = '3277' "
                "order by created_at desc limit 1"
            )
        ).scalar_one()
    assert b"Warga" not in blob and b"327702" not in blob

    # importing the same file again changes nothing
    resp = hb.post(
        f"{T}/programmes/{BANSOS}/imports",
        headers=officials["bansos_evaluator"],
        data={"file": (__import__("io").BytesIO(raw), "dtks.csv")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200
    assert resp.json["imported"] == 0 and resp.json["unchanged"] == 10_000
    assert len(resp.json["rejected"]) == 36
    again = hb.get(f"{T}/programmes/{BANSOS}/summary", headers=officials["bansos_finance"]).json
    assert again["by_status"] == after["by_status"]


@pytest.mark.parametrize(
    "raw", [b"\xff\xfe\x00n\x00i\x00k\x00", b"nik,name\n3277021708900001,A\n", b"   \n"]
)
def test_malformed_import_imports_nothing(hb, officials, raw):
    before = hb.get(f"{T}/programmes/{BANSOS}/summary", headers=officials["bansos_finance"]).json
    resp = hb.post(
        f"{T}/programmes/{BANSOS}/imports",
        headers=officials["bansos_evaluator"],
        data={"file": (__import__("io").BytesIO(raw), "x.csv")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.json["errors"][0]["field"] == "file"
    after = hb.get(f"{T}/programmes/{BANSOS}/summary", headers=officials["bansos_finance"]).json
    assert after["by_status"] == before["by_status"]


EXCEL_ID = ROOT / "tests" / "fixtures" / "excel-id"
BANSOS_RULES = {
    "applicant_types": ["individual"],
    "domicile_required": True,
    "max_amount": 3_000_000,
    "social_registry_required": True,
}


@pytest.mark.parametrize("name", sorted(json.loads((EXCEL_ID / "expected.json").read_text())))
def test_files_excel_id_saves_import_every_good_row_and_name_every_bad_one(
    hb, officials, hb_owner_db, demo_tenants, name
):
    """Issue 21: `;` + BOM + CRLF, cp1252, tabs, XLSX (first or named sheet), Indonesian
    headers, Rp amounts, E+15 NIKs (tests/fixtures/excel-id/make_fixtures.py)."""
    expected = json.loads((EXCEL_ID / "expected.json").read_text())[name]
    code = add_programme(
        hb_owner_db,
        demo_tenants["cimahi"].id,
        "TEST-EXCEL",
        kind="bansos",
        eligibility=BANSOS_RULES,
    )
    data = {"file": (__import__("io").BytesIO((EXCEL_ID / name).read_bytes()), name)}
    if "sheet" in expected:
        data["sheet"] = expected["sheet"]
    resp = hb.post(
        f"{T}/programmes/{code}/imports",
        headers=officials["bansos_evaluator"],
        data=data,
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    result = resp.json
    assert result["imported"] == expected["imported"] and result["unchanged"] == 0, result
    rejected = {str(r["row"]): r for r in result["rejected"]}
    assert sorted(rejected) == sorted(expected["rejected"]), result["rejected"]
    for row, (column, words) in expected["rejected"].items():
        problems = rejected[row]["problems"]
        assert any(p["column"] == column and words in p["reason"] for p in problems), (
            row,
            problems,
        )
    summary = hb.get(f"{T}/programmes/{code}/summary", headers=officials["bansos_finance"]).json
    assert summary["by_status"].get("submitted", 0) == expected["imported"]


def test_an_xlsx_sheet_that_does_not_exist_imports_nothing(hb, officials):
    resp = hb.post(
        f"{T}/programmes/{BANSOS}/imports",
        headers=officials["bansos_evaluator"],
        data={
            "file": (__import__("io").BytesIO((EXCEL_ID / "dua-sheet.xlsx").read_bytes()), "x"),
            "sheet": "Lembar3",
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "file"
    assert resp.json["sheets"] == ["Petunjuk", "Data"]


def test_a_woman_born_in_1926_registers(hb):
    """Issue 21: 15-12-26 is not "a birth date in the future" but 15 December 1926."""
    register(hb, person(nik="3277015512260001"))


def test_openapi_lists_the_api(hb):
    doc = hb.get("/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    for path in (
        "/t/{tenant}/api/v1/applications",
        "/t/{tenant}/api/v1/programmes/{code}/imports",
        "/t/{tenant}/api/v1/applications/{number}/transitions",
    ):
        assert path in doc["paths"]


def test_organisation_funded_last_year_is_blocked_unless_exempt(
    hb, officials, hb_owner_db, demo_tenants
):
    cimahi = demo_tenants["cimahi"].id
    last_year = add_programme(hb_owner_db, cimahi, "TEST-2025", fiscal_year=2025)
    exempt = add_programme(
        hb_owner_db,
        cimahi,
        "TEST-KONI",
        eligibility={
            "applicant_types": ["organisation"],
            "no_hibah_previous_year": True,
            "exempt_from_annual_rule": True,
        },
    )
    org = organisation()
    me = as_applicant(register(hb, org)["access_token"])
    number = hb.post(f"{T}/applications", json=application(last_year, 20_000_000), headers=me).json[
        "application_number"
    ]
    assert hb.post(f"{T}/applications/{number}/submit", headers=me).status_code == 200
    move(hb, officials["bansos_evaluator"], number, "evaluated", amount=20_000_000, reason="ok")
    move(hb, officials["bansos_verifier"], number, "verified", reason="ok")
    move(
        hb,
        officials["bansos_approver"],
        number,
        "approved",
        amount=20_000_000,
        reference="K-2025",
        date="2025-03-01",
    )

    resp = hb.post(f"{T}/applications", json=application(), headers=me)
    assert resp.status_code == 422
    assert [e["field"] for e in resp.json["errors"]] == ["eligibility.no_hibah_previous_year"]
    assert hb.post(f"{T}/applications", json=application(exempt), headers=me).status_code == 201
    # a second account for the same legal entity (spaced or lower-cased) is refused
    again = organisation(registration_number=" " + org["registration_number"].lower())
    resp = post_registration(hb, "cimahi", again)
    assert resp.status_code == 202 and link_token(again["email"]) is None


def test_returned_for_revision_then_resubmitted(hb, officials, make_application):
    number, me = make_application("cimahi")
    for code in ORG_DOCUMENTS:
        upload(hb, me, number, code)
    assert hb.post(f"{T}/applications/{number}/submit", headers=me).status_code == 200
    move(hb, officials["bansos_evaluator"], number, "returned", 422)  # a reason is required
    move(hb, officials["bansos_evaluator"], number, "returned", reason="RAB belum rinci")
    upload(hb, me, number, "rab")  # documents may be added again while returned
    assert hb.post(f"{T}/applications/{number}/submit", headers=me).json["status"] == "submitted"
    move(hb, officials["bansos_evaluator"], number, "rejected", reason="Tidak sesuai prioritas")
    move(hb, officials["bansos_evaluator"], number, "evaluated", 409, amount=1, reason="x")
    upload(hb, me, number, "rab", expect=409)


def test_transparency_page_lists_grants_not_people(hb, officials, hb_owner_db, demo_tenants):
    """Approved hibah are public by organisation; bansos only as totals."""
    code = add_programme(hb_owner_db, demo_tenants["cimahi"].id, "TEST-PUBLIK")
    org = organisation()
    me = as_applicant(register(hb, org)["access_token"])
    number = hb.post(f"{T}/applications", json=application(code, 12_500_000), headers=me).json[
        "application_number"
    ]
    assert hb.post(f"{T}/applications/{number}/submit", headers=me).status_code == 200
    move(hb, officials["bansos_evaluator"], number, "evaluated", amount=12_500_000, reason="ok")
    move(hb, officials["bansos_verifier"], number, "verified", reason="ok")
    move(
        hb,
        officials["bansos_approver"],
        number,
        "approved",
        amount=12_500_000,
        reference="KEP-PUBLIK-1",
        date="2026-04-01",
    )
    bansos_person = person()
    register(hb, bansos_person, officials["bansos_evaluator"])

    resp = hb.get(f"{T}/transparency")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    data = resp.json
    mine = next(p for p in data["programmes"] if p["code"] == code)
    assert {
        "organisation": org["name"],
        "approved": 12_500_000,
        "decree_number": "KEP-PUBLIK-1",
    }.items() <= mine["grants"][0].items()
    bansos = next(p for p in data["programmes"] if p["code"] == BANSOS)
    assert set(bansos) >= {"aggregate"} and "grants" not in bansos

    page = hb.get("/t/cimahi/hibah-bansos/transparansi")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert org["name"] in html and "Rp12.500.000" in html
    assert "Pagu anggaran" in html  # Bahasa Indonesia by default
    assert "Budget ceiling" in hb.get("/t/cimahi/hibah-bansos/transparansi?lang=en").get_data(
        as_text=True
    )
    for secret in (
        org["chairperson"],
        org["phone"],
        org["bank_account"],
        bansos_person["name"],
        bansos_person["nik"],
    ):
        assert secret not in html


def test_applicant_password_guessing_through_the_api_is_throttled(hb):
    """The API token and the sign-in page share one throttle: after five wrong passwords the
    account waits (429 with Retry-After), even with the right password."""
    org = organisation()
    register(hb, org)
    hb.environ_base["REMOTE_ADDR"] = f"10.91.{random.randint(0, 250)}.{random.randint(1, 250)}"
    for _ in range(5):
        assert (
            hb.post(
                f"{T}/applicants/token", json={"email": org["email"], "password": "tebakan-salah"}
            ).status_code
            == 401
        )
    locked = hb.post(
        f"{T}/applicants/token", json={"email": org["email"], "password": org["password"]}
    )
    assert locked.status_code == 429 and locked.content_type == "application/problem+json"
    assert int(locked.headers["Retry-After"]) > 0
