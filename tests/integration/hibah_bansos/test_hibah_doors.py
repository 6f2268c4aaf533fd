"""Issue 16 at hibah-bansos' doors, each attack performed on the real stack and refused: one
NIK in three spellings, a CSV with the ASCII and the fullwidth NIK, the auditor reading
personal data, free text in the clear at rest, an evaluator of round one verifying round two,
a NUL byte that gave a 500 with the statement's parameters in the log."""

from __future__ import annotations

import io
import logging
import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError

from tests.support.hibah_bansos import (
    PDF,
    add_programme,
    application,
    cimahi_nik,
    organisation,
    person,
)

T = "/t/cimahi/api/v1"
OFFICE = "/t/cimahi/hibah-bansos/office"


def fullwidth(digits: str) -> str:
    return "".join(chr(0xFF10 + int(d)) for d in digits)


def arabic_indic(digits: str) -> str:
    return "".join(chr(0x0660 + int(d)) for d in digits)


@pytest.fixture
def token(hb_app, demo_tenants, official_token):
    def make(*roles, official_id=None):
        return {
            "Authorization": official_token(
                hb_app, demo_tenants["cimahi"], *roles, official_id=official_id
            )
        }

    return make


def _individuals_programme(hb_owner_db, demo_tenants, kind="bansos"):
    return add_programme(
        hb_owner_db,
        demo_tenants["cimahi"].id,
        "DOORS",
        kind=kind,
        eligibility={"applicant_types": ["individual"]},
    )


# --- item 2: one person, one NIK -------------------------------------------------------------


def test_one_nik_written_in_three_scripts_registers_once(hb, token):
    nik = cimahi_nik()
    evaluator = token("bansos_evaluator")
    first = hb.post(f"{T}/applicants", json=person(nik=nik), headers=evaluator)
    assert first.status_code == 201, first.get_data(as_text=True)
    again = hb.post(f"{T}/applicants", json=person(nik=fullwidth(nik)), headers=evaluator)
    assert again.status_code == 409, again.get_data(as_text=True)
    assert again.json["errors"][0]["field"] == "nik"
    third = hb.post(f"{T}/applicants", json=person(nik=arabic_indic(nik)), headers=evaluator)
    assert third.status_code == 422
    assert [e["field"] for e in third.json["errors"]] == ["nik"]
    assert arabic_indic(nik) not in third.get_data(as_text=True)
    dashed = f"{nik[:4]}-{nik[4:8]} {nik[8:12]}-{nik[12:]}"
    assert hb.post(f"{T}/applicants", json=person(nik=dashed)).status_code == 409


def test_a_csv_with_the_ascii_and_the_fullwidth_nik_imports_one(
    hb, token, hb_owner_db, demo_tenants
):
    code = _individuals_programme(hb_owner_db, demo_tenants)
    nik = cimahi_nik()
    raw = (
        "nik,kk,name,address,phone,bank_account,amount\n"
        f"{nik},3277020101200001,Warga Satu,Jl. Melati 1,081200000001,9100000001,1000000\n"
        f"{fullwidth(nik)},{fullwidth('3277020101200001')},Warga Dua,Jl. Melati 2,"
        "081200000002,9100000002,1.000.000\n"
    ).encode()
    resp = hb.post(
        f"{T}/programmes/{code}/imports",
        headers=token("bansos_evaluator"),
        data={"file": (io.BytesIO(raw), "dtks.csv")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["imported"] == 1, resp.json
    assert [r["line"] for r in resp.json["rejected"]] == [3]
    assert "same NIK" in resp.json["rejected"][0]["reason"]


# --- item 6: the auditor's redacted detail ----------------------------------------------------


def test_the_auditor_reads_no_personal_data(hb, hb_app, token, hb_owner_db, demo_tenants):
    code = _individuals_programme(hb_owner_db, demo_tenants)
    body = person(phone="081299887766", address="Jl. Rahasia 17, Cimahi")
    me = {"Authorization": f"Bearer {_register(hb, body)['access_token']}"}
    resp = hb.post(
        f"{T}/applications", json=application(code, 1_500_000, proposal="x" * 20), headers=me
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    number = resp.json["application_number"]
    pdf = PDF
    hb.post(
        f"{T}/applications/{number}/documents",
        headers=me,
        data={"code": "ktp_pengurus", "file": (io.BytesIO(pdf), "ktp.pdf")},
        content_type="multipart/form-data",
    )
    assert hb.post(f"{T}/applications/{number}/submit", headers=me).status_code == 200

    evaluator = hb.get(f"{T}/applications/{number}", headers=token("bansos_evaluator")).json
    assert evaluator["applicant"]["nik"] == body["nik"]  # those who work it read it

    auditor = token("auditor")
    resp = hb.get(f"{T}/applications/{number}", headers=auditor)
    assert resp.status_code == 200
    seen = resp.get_data(as_text=True)
    for secret in (body["nik"], body["kk"], body["bank_account"], body["phone"], body["address"]):
        assert secret not in seen
    view = resp.json
    assert view["redacted"] is True and set(view["applicant"]) <= {"id", "type", "name"}
    assert "proposal" not in view and "other_active_applications" not in view
    assert view["requested"] == 1_500_000 and view["status"] == "submitted"
    assert [h["to"] for h in view["history"]] == ["submitted"]
    assert view["rab"][0]["amount"] == 750_000

    client = hb_app.test_client()
    page = client.get(f"{OFFICE}/applications/{number}", headers=auditor)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for secret in (body["nik"], body["kk"], body["bank_account"], body["phone"], body["address"]):
        assert secret not in html
    for doc in evaluator["documents"]:
        url = f"{OFFICE}/applications/{number}/documents/{doc['id']}"
        assert client.get(url, headers=auditor).status_code == 403


def _register(hb, body, headers=None) -> dict:
    resp = hb.post(f"{T}/applicants", json=body, headers=headers or {})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.json


# --- item 7 and the low item: text sealed at rest; every actor of every step --------------------


def test_reasons_and_rab_are_ciphertexts_and_an_earlier_evaluator_may_not_verify(
    hb, token, hb_owner_db, demo_tenants
):
    code = add_programme(hb_owner_db, demo_tenants["cimahi"].id, "SOD")
    me = {"Authorization": f"Bearer {_register(hb, organisation())['access_token']}"}
    rab_item = f"Sewa kursi roda {uuid.uuid4().hex[:8]}"
    body = application(code, 10_000_000)
    body["rab"][0]["item"] = rab_item
    number = hb.post(f"{T}/applications", json=body, headers=me).json["application_number"]
    assert hb.post(f"{T}/applications/{number}/submit", headers=me).status_code == 200

    a = uuid.uuid4()  # an official who is both evaluator and verifier
    a_eval, a_verify = (token(r, official_id=a) for r in ("bansos_evaluator", "bansos_verifier"))
    b, c = token("bansos_verifier"), token("bansos_evaluator")
    secret = f"Diagnosis tunadaksa {uuid.uuid4().hex[:8]}"

    def move(headers, to, expect=200, **fields):
        resp = hb.post(
            f"{T}/applications/{number}/transitions", json={"to": to, **fields}, headers=headers
        )
        assert resp.status_code == expect, resp.get_data(as_text=True)
        return resp

    move(a_eval, "evaluated", amount=9_000_000, reason="Layak")
    move(b, "returned", reason=secret)
    assert hb.post(f"{T}/applications/{number}/submit", headers=me).status_code == 200
    move(c, "evaluated", amount=9_000_000, reason="Layak setelah perbaikan")
    refused = move(a_verify, "verified", 409, reason="Sesuai")  # a evaluated round one
    assert "evaluate" in refused.get_data(as_text=True)
    move(b, "verified", reason="Sesuai prioritas")

    detail = hb.get(f"{T}/applications/{number}", headers=c).json
    assert secret in [h["reason"] for h in detail["history"]]
    assert detail["rab"][0]["item"] == rab_item
    with hb_owner_db.connect() as conn:
        app_id = conn.execute(
            text("select id from applications where number = :n"), {"n": number}
        ).scalar_one()
        reasons = conn.execute(
            text("select reason from application_steps where application_id = :a"), {"a": app_id}
        ).scalars()
        # the budget plan's lines (migration h012): each item sealed on its own
        raw_rab = b"".join(
            bytes(item)
            for item in conn.execute(
                text("select item from application_rab_lines where application_id = :a"),
                {"a": app_id},
            ).scalars()
        )
    stored = b"".join(bytes(r) for r in reasons if r is not None)
    assert stored and secret.encode() not in stored and b"Layak" not in stored
    assert raw_rab and rab_item.encode() not in bytes(raw_rab)


# --- item 8: database errors never put parameters in logs ------------------------------------


def test_a_nul_byte_in_a_text_field_is_422_naming_it(hb, caplog):
    caplog.set_level(logging.DEBUG)
    body = organisation(name="Yayasan\x00Cahaya", password="kata-sandi-RAHASIA-123")
    resp = hb.post(f"{T}/applicants", json=body)
    assert resp.status_code == 422
    assert [e["field"] for e in resp.json["errors"]] == ["name"]
    assert "RAHASIA" not in caplog.text and "Yayasan" not in caplog.text


def test_a_value_postgresql_refuses_is_422_and_its_log_holds_no_parameter(hb, token, caplog):
    caplog.set_level(logging.DEBUG)
    resp = hb.get(f"{T}/applications/HB-RAHASIA-\x00", headers=token("bansos_evaluator"))
    assert resp.status_code == 422, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    assert "RAHASIA" not in caplog.text


def test_engines_hide_the_parameters_of_a_failed_statement(stack):
    from shared.db import service_engine

    with service_engine("hibah_bansos").connect() as conn, pytest.raises(DataError) as info:
        conn.execute(text("select :a, :b"), {"a": "argon2id$RAHASIA", "b": "x\x00"})
    assert "RAHASIA" not in str(info.value)
    assert "hidden" in str(info.value)


def test_the_migration_reindexes_old_rows_and_counts_duplicates(hb_owner_db, demo_tenants, caplog):
    """Rows written before item 2: the personal record holds the NIK as typed (fullwidth) and
    the index was taken over that raw string. Migration h004 makes them ASCII, indexes them
    again, and a second spelling of a NIK already held is counted as a duplicate (logged as
    a number only)."""
    import hashlib
    import hmac
    import importlib.util

    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy.orm import Session

    from shared import crypto
    from tests.support import ROOT

    tenant_id = demo_tenants["cimahi"].id
    nik = cimahi_nik()
    held = uuid.uuid4()
    with hb_owner_db.begin() as conn:
        session = Session(bind=conn)
        _, key = crypto._active_tenant_key(session, tenant_id, "index")

        def old_index(value: str) -> str:  # the raw string, as before: \D kept other digits
            return hmac.new(key, f"nik:{value}".encode(), hashlib.sha256).hexdigest()

        rows = [(uuid.uuid4(), fullwidth(nik)), (held, nik[:4] + fullwidth(nik[4:]))]
        for i, (row_id, typed) in enumerate(rows):
            personal = crypto.FieldCipher(session, tenant_id, "applicants", row_id).encrypt_json(
                "personal",
                {
                    "name": "Lama",
                    "nik": typed,
                    "kk": fullwidth("3277010101200001"),
                    "phone": "０８１２-３４５６-７８９０",
                    "bank_account": f"９１０{i}００００１",
                    "address": "Jl. Lama",
                },
            )
            conn.execute(
                text(
                    "insert into applicants (id, tenant_id, kind, nik_index, personal, "
                    "in_social_registry, created_at) values (:i, :t, 'individual', :n, :p, "
                    "false, now() + make_interval(secs => :s))"
                ),
                {"i": row_id, "t": tenant_id, "n": old_index(typed), "p": personal, "s": i},
            )
        session.flush()
    path = ROOT / "services/hibah_bansos/migrations/versions/h004_digits_reindex.py"
    spec = importlib.util.spec_from_file_location("h004", path)
    h004 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(h004)
    caplog.set_level(logging.WARNING)
    with hb_owner_db.begin() as conn, Operations.context(MigrationContext.configure(conn)):
        h004.upgrade()
    with hb_owner_db.begin() as conn:
        session = Session(bind=conn)
        first_id, second_id = (r[0] for r in rows)
        got = dict(
            conn.execute(
                text("select id, nik_index from applicants where id in (:a, :b)"),
                {"a": first_id, "b": second_id},
            ).all()
        )
        assert got[first_id] == crypto.blind_index(session, tenant_id, "nik", nik)
        assert got[second_id] != got[first_id]  # a duplicate cannot hold the index too
        raw = conn.execute(
            text("select personal from applicants where id = :a"), {"a": first_id}
        ).scalar_one()
        personal = crypto.FieldCipher(session, tenant_id, "applicants", first_id).decrypt_json(
            "personal", raw
        )
        assert (personal["nik"], personal["phone"]) == (nik, "081234567890")
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("h004"))
    assert "1 duplicate" in line and nik not in caplog.text


# --- item 11: hibah documents in PDF are cleaned like images ---------------------------------


def test_a_hibah_pdf_is_stored_cleaned_and_one_that_cannot_be_is_refused(
    hb, hb_app, token, hb_owner_db, demo_tenants
):
    from tests.support.pdfs import hostile_pdf, locked_pdf, what_is_left

    code = _individuals_programme(hb_owner_db, demo_tenants)
    me = {"Authorization": f"Bearer {_register(hb, person())['access_token']}"}
    number = hb.post(f"{T}/applications", json=application(code, 1_000_000), headers=me).json[
        "application_number"
    ]

    def upload(content):
        return hb.post(
            f"{T}/applications/{number}/documents",
            headers=me,
            data={"code": "ktp_pengurus", "file": (io.BytesIO(content), "ktp.pdf")},
            content_type="multipart/form-data",
        )

    locked = upload(locked_pdf())
    assert locked.status_code == 422 and locked.json["errors"][0]["field"] == "file"
    assert "ktp_pengurus" in locked.json["detail"]  # the file is named by its document code
    assert upload(hostile_pdf()).status_code == 201
    evaluator = token("bansos_evaluator")
    doc = hb.get(f"{T}/applications/{number}", headers=evaluator).json["documents"][0]
    stored = hb_app.test_client().get(
        f"{OFFICE}/applications/{number}/documents/{doc['id']}", headers=evaluator
    )
    assert stored.status_code == 200 and stored.mimetype == "application/pdf"
    left = what_is_left(stored.data)
    assert left["pages"] == 1 and left["info"] == {} and left["attachments"] == []
    assert not left["mark"] and "/OpenAction" not in left["root"]
