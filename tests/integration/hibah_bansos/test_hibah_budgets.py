"""Real budgets (issue 18, item 5): RAB lines of item, volume, unit and unit price with the
line total computed on the server; rows added and removed without JavaScript; a returned
application edits its proposal and RAB and removes a wrong document; the LPJ takes evidence,
shows RAB against actual per line and the unspent balance, and records its return."""

from __future__ import annotations

import io
import re

from sqlalchemy import text

from tests.integration.hibah_bansos.test_hibah_bansos_pages import (
    NUMBER_RE,
    OFFICE,
    P,
    move,
    office,
    register_organisation,
)
from tests.support.hibah_bansos import PDF, add_programme, application

T = "/t/cimahi/api/v1"


def _rab_form(client, csrf_token, code, **fields):
    data = {
        "csrf_token": csrf_token(client, f"{P}/sign-in"),
        "proposal": "Pelatihan kewirausahaan pemuda di Kecamatan Cimahi Tengah.",
        "requested": "10.000.000",
        "rab_rows": "2",
        "rab_0_item": "Honor pelatih",
        "rab_0_volume": "4",
        "rab_0_unit": "orang",
        "rab_0_unit_price": "1.500.000",
        "rab_1_item": "Konsumsi",
        "rab_1_volume": "40",
        "rab_1_unit": "kotak",
        "rab_1_unit_price": "50000",
        **fields,
    }
    return client.post(f"{P}/programmes/{code}/apply", data=data)


def _value(html: str, field: str) -> str | None:
    m = re.search(rf'name="{field}"[^>]*value="([^"]*)"', html)
    return m.group(1) if m else None


def test_rab_rows_are_added_removed_and_totalled_without_javascript(
    hb_app, csrf_token, hb_owner_db, demo_tenants
):
    code = add_programme(hb_owner_db, demo_tenants["cimahi"].id, "TEST-RAB")
    citizen = hb_app.test_client()
    register_organisation(citizen, csrf_token)
    empty = citizen.get(f"{P}/programmes/{code}/apply").get_data(as_text=True)
    assert "Tambah baris" in empty and 'name="rab_2_item"' in empty  # three rows to start

    added = _rab_form(citizen, csrf_token, code, rab_action="add")
    html = added.get_data(as_text=True)
    assert added.status_code == 200  # shown again, nothing saved
    assert 'name="rab_2_item"' in html and 'name="rab_3_item"' not in html
    assert _value(html, "rab_1_item") == "Konsumsi" and _value(html, "rab_0_unit") == "orang"
    assert "Rp6.000.000" in html and "Rp2.000.000" in html  # each line's total, computed
    assert "Rp8.000.000" in html and "kurang Rp2.000.000" in html  # the total and the gap
    assert citizen.get(f"{P}/applications").get_data(as_text=True).count("HB-") == 0

    removed = _rab_form(citizen, csrf_token, code, rab_action="remove:0")
    html = removed.get_data(as_text=True)
    assert removed.status_code == 200 and _value(html, "rab_0_item") == "Konsumsi"
    assert 'name="rab_1_item"' not in html

    # saving a plan that does not add up is refused beside the table, saying by how much
    refused = _rab_form(citizen, csrf_token, code, action="draft")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="rab-error"' in html
    assert "selisih Rp2.000.000" in html and _value(html, "rab_1_unit_price") == "50000"

    saved = _rab_form(citizen, csrf_token, code, action="draft", rab_1_volume="80")
    assert saved.status_code == 303, saved.get_data(as_text=True)[:3000]
    number = NUMBER_RE.search(saved.headers["Location"]).group(0)
    page = citizen.get(saved.headers["Location"]).get_data(as_text=True)
    assert "80 kotak" in page and "Rp50.000" in page and "Rp4.000.000" in page
    with hb_owner_db.connect() as c:
        rows = c.execute(
            text(
                "select volume, unit, unit_price, amount from application_rab_lines l"
                " join applications a on a.id = l.application_id where a.number = :n"
                " order by position"
            ),
            {"n": number},
        ).all()
    assert [tuple(r) for r in rows] == [
        (4, "orang", 1_500_000, 6_000_000),
        (80, "kotak", 50_000, 4_000_000),
    ]


def test_the_api_computes_line_totals_and_keeps_the_first_shape(hb, hb_owner_db, demo_tenants):
    code = add_programme(hb_owner_db, demo_tenants["cimahi"].id, "TEST-RABAPI")
    from tests.support.hibah_bansos import organisation

    registered = hb.post(f"{T}/applicants", json=organisation())
    me = {"Authorization": f"Bearer {registered.json['access_token']}"}
    lines = [
        {"item": "Sewa tenda", "volume": 2, "unit": "unit", "unit_price": 1_500_000},
        {"item": "Konsumsi", "amount": 7_000_000},  # a total only, as before
    ]
    body = application(code, 10_000_000, rab=lines)
    created = hb.post(f"{T}/applications", json=body, headers=me)
    assert created.status_code == 201, created.json
    wrong = [{**lines[0], "amount": 3_000_001}, lines[1]]
    refused = hb.post(
        f"{T}/applications", json=application(code, 10_000_000, rab=wrong), headers=me
    )
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json["errors"]] == ["rab.0.amount"]
    half = [{"item": "Sewa tenda", "volume": 2}, lines[1]]
    refused = hb.post(f"{T}/applications", json=application(code, 10_000_000, rab=half), headers=me)
    assert [e["field"] for e in refused.json["errors"]] == ["rab.0.unit_price"]
    spec = hb.get("/openapi.json").json
    assert {"volume", "unit", "unit_price", "amount"} <= set(
        spec["components"]["schemas"]["RabLineIn"]["properties"]
    )


def test_a_returned_application_edits_its_rab_removes_a_document_and_resubmits(
    hb_app, make_official, csrf_token, hb_owner_db, demo_tenants
):
    code = add_programme(hb_owner_db, demo_tenants["cimahi"].id, "TEST-EDIT")
    citizen = hb_app.test_client()
    register_organisation(citizen, csrf_token)
    resp = _rab_form(citizen, csrf_token, code, action="submit", rab_1_volume="80")
    assert resp.status_code == 303, resp.get_data(as_text=True)[:3000]
    number = NUMBER_RE.search(resp.headers["Location"]).group(0)
    path = f"{P}/applications/{number}"
    assert "Ubah proposal dan RAB" not in citizen.get(path).get_data(as_text=True)

    evaluator = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    move(evaluator, csrf_token, number, "returned", reason="Tambahkan sewa tempat di RAB")
    page = citizen.get(path).get_data(as_text=True)
    assert "Ubah proposal dan RAB" in page
    # a wrong document is uploaded, then removed
    up = citizen.post(
        f"{path}/documents",
        data={
            "csrf_token": csrf_token(citizen, path),
            "code": "proposal",
            "file": (io.BytesIO(PDF), "x.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert up.status_code == 303, up.get_data(as_text=True)[:2000]
    page = citizen.get(path).get_data(as_text=True)
    doc_id = re.search(r"/documents/([0-9a-f-]{36})/remove", page).group(1)
    assert f"{number}-proposal.pdf" in page and "PDF" in page and "kB" in page
    gone = citizen.post(
        f"{path}/documents/{doc_id}/remove", data={"csrf_token": csrf_token(citizen, path)}
    )
    assert gone.status_code == 303
    assert "/remove" not in citizen.get(path).get_data(as_text=True)

    edit = citizen.get(f"{path}/edit").get_data(as_text=True)
    assert "Tambahkan sewa tempat di RAB" in edit  # the officials' reason, on the form
    assert _value(edit, "rab_1_volume") == "80" and _value(edit, "requested") == "10000000"
    form = {
        "csrf_token": csrf_token(citizen, f"{path}/edit"),
        "proposal": "Pelatihan kewirausahaan pemuda, dengan sewa aula kecamatan.",
        "requested": "12000000",
        "rab_rows": "2",
        "rab_0_item": "Honor pelatih",
        "rab_0_volume": "4",
        "rab_0_unit": "orang",
        "rab_0_unit_price": "1500000",
        "rab_1_item": "Konsumsi",
        "rab_1_volume": "80",
        "rab_1_unit": "kotak",
        "rab_1_unit_price": "50000",
    }
    added = citizen.post(f"{path}/edit", data={**form, "rab_action": "add"})
    assert added.status_code == 200 and 'name="rab_2_item"' in added.get_data(as_text=True)
    form.update(
        rab_rows="3",
        rab_2_item="Sewa aula",
        rab_2_volume="2",
        rab_2_unit="hari",
        rab_2_unit_price="1000000",
    )
    saved = citizen.post(f"{path}/edit", data=form)
    assert saved.status_code == 303, saved.get_data(as_text=True)[:3000]
    page = citizen.get(path).get_data(as_text=True)
    assert "Sewa aula" in page and "Rp12.000.000" in page and "sewa aula kecamatan" in page
    resp = citizen.post(f"{path}/submit", data={"csrf_token": csrf_token(citizen, path)})
    assert resp.status_code == 303
    detail = evaluator.get(f"{OFFICE}/applications/{number}").get_data(as_text=True)
    assert "Diajukan" in detail and "Sewa aula" in detail and "2 hari" in detail
    # once submitted, the application is no longer changed
    refused = citizen.post(f"{path}/edit", data=form)
    assert refused.status_code == 303 and "/edit" not in refused.headers["Location"]
    assert "Honor pelatih" in citizen.get(path).get_data(as_text=True)


def test_the_lpj_takes_evidence_shows_rab_against_actual_and_records_the_return(
    hb_app, make_official, csrf_token, hb_owner_db, demo_tenants
):
    code = add_programme(hb_owner_db, demo_tenants["cimahi"].id, "TEST-LPJ")
    citizen = hb_app.test_client()
    register_organisation(citizen, csrf_token)
    resp = _rab_form(citizen, csrf_token, code, action="submit", rab_1_volume="80")
    number = NUMBER_RE.search(resp.headers["Location"]).group(0)
    path = f"{P}/applications/{number}"
    with hb_owner_db.begin() as c:  # the officials' steps up to the transfer are tested elsewhere
        c.execute(
            text(
                "update applications set status = 'disbursed', approved = 10000000,"
                " disbursed = 10000000 where number = :n"
            ),
            {"n": number},
        )
    page = citizen.get(path).get_data(as_text=True)
    assert "Kuitansi atau nota (bukti LPJ)" in page and "Realisasi untuk Konsumsi" in page
    for kind in ("lpj_receipt", "lpj_photo"):
        up = citizen.post(
            f"{path}/documents",
            data={
                "csrf_token": csrf_token(citizen, path),
                "code": kind,
                "file": (io.BytesIO(PDF), "a.pdf"),
            },
            content_type="multipart/form-data",
        )
        assert up.status_code == 303, up.get_data(as_text=True)[:2000]
    lpj = {
        "csrf_token": csrf_token(citizen, path),
        "summary": "Pelatihan terlaksana 3 hari.",
        "lpj_rows": "2",
        "lpj_0_item": "Honor pelatih",
        "lpj_0_rab_line": "0",
        "lpj_0_amount": "6000000",
        "lpj_1_item": "Konsumsi",
        "lpj_1_rab_line": "1",
        "lpj_1_amount": "3.250.000",
        "refund_amount": "700000",  # not the whole unspent balance
        "refund_date": "2026-06-01",
        "refund_reference": "STS-0042",
    }
    refused = citizen.post(f"{path}/lpj", data=lpj)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="refund-amount-error"' in html
    assert "seluruh sisa dana" in html
    filed = citizen.post(
        f"{path}/lpj", data={**lpj, "refund_amount": "", "refund_date": "", "refund_reference": ""}
    )
    assert filed.status_code == 303, filed.get_data(as_text=True)[:3000]
    page = citizen.get(path).get_data(as_text=True)
    assert "Sisa dana yang harus dikembalikan ke kas daerah: Rp750.000" in page
    done = citizen.post(
        f"{path}/refund",
        data={
            "csrf_token": csrf_token(citizen, path),
            "refund_amount": "750.000",
            "refund_date": "2026-06-01",
            "refund_reference": "STS-0042",
        },
    )
    assert done.status_code == 303, done.get_data(as_text=True)[:3000]
    again = citizen.post(
        f"{path}/refund",
        data={
            "csrf_token": csrf_token(citizen, f"{P}/sign-in"),
            "refund_amount": "750000",
            "refund_date": "2026-06-01",
            "refund_reference": "STS-0043",
        },
    )
    assert again.status_code == 409  # recorded once

    evaluator = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    detail = evaluator.get(f"{OFFICE}/applications/{number}").get_data(as_text=True)
    assert "Realisasi" in detail and "Rp3.250.000" in detail and "Rp750.000" in detail
    assert "STS-0042" in detail and "Kuitansi atau nota (bukti LPJ)" in detail
    assert f"{number}-lpj_photo.pdf" in detail
    resp = move(evaluator, csrf_token, number, "closed", reason="LPJ dan bukti sesuai")
    closed = evaluator.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Permohonan ditutup" in closed
    assert "Selesai" in citizen.get(path).get_data(as_text=True)


def test_the_api_changes_a_returned_application_removes_a_document_and_records_a_refund(
    hb, hb_owner_db, demo_tenants
):
    from tests.support.hibah_bansos import organisation

    code = add_programme(hb_owner_db, demo_tenants["cimahi"].id, "TEST-PUT")
    registered = hb.post(f"{T}/applicants", json=organisation())
    me = {"Authorization": f"Bearer {registered.json['access_token']}"}
    number = hb.post(f"{T}/applications", json=application(code, 10_000_000), headers=me).json[
        "application_number"
    ]
    up = hb.post(
        f"{T}/applications/{number}/documents",
        data={"code": "proposal", "file": (io.BytesIO(PDF), "p.pdf")},
        headers=me,
        content_type="multipart/form-data",
    )
    assert up.status_code == 201
    assert hb.post(f"{T}/applications/{number}/submit", headers=me).status_code == 200
    changed = application(
        code,
        12_000_000,
        rab=[{"item": "Sewa aula", "volume": 3, "unit": "hari", "unit_price": 4_000_000}],
    )
    assert hb.put(f"{T}/applications/{number}", json=changed, headers=me).status_code == 409
    doc = f"{T}/applications/{number}/documents/{up.json['document_id']}"
    assert hb.delete(doc, headers=me).status_code == 409  # submitted: nothing is changed

    def set_status(status: str, **columns: int) -> None:
        extra = "".join(f", {k} = {int(v)}" for k, v in columns.items())
        with hb_owner_db.begin() as c:
            c.execute(
                text(f"update applications set status = :s{extra} where number = :n"),
                {"s": status, "n": number},
            )

    set_status("returned")
    resp = hb.put(f"{T}/applications/{number}", json=changed, headers=me)
    assert resp.status_code == 200 and resp.json["requested"] == 12_000_000
    bad = application(code, 12_000_000, rab=[{"item": "Sewa aula", "volume": 3, "unit_price": 1}])
    resp = hb.put(f"{T}/applications/{number}", json=bad, headers=me)
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "rab"
    assert hb.delete(doc, headers=me).status_code == 204
    assert hb.delete(doc, headers=me).status_code == 404

    set_status("disbursed", approved=12_000_000, disbursed=12_000_000)
    lpj = {"lines": [{"item": "Sewa aula", "amount": 11_000_000, "rab_line": 0}]}
    wrong_line = {"lines": [{"item": "Sewa aula", "amount": 11_000_000, "rab_line": 1}]}
    resp = hb.post(f"{T}/applications/{number}/lpj", json=wrong_line, headers=me)
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "lines.0.rab_line"
    assert hb.post(f"{T}/applications/{number}/lpj", json=lpj, headers=me).status_code == 201
    refund = {"amount": 1_000_000, "date": "2026-06-01", "reference": "STS-7"}
    resp = hb.post(f"{T}/applications/{number}/refund", json={**refund, "amount": 999}, headers=me)
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "refund.amount"
    resp = hb.post(f"{T}/applications/{number}/refund", json=refund, headers=me)
    assert resp.status_code == 200 and resp.json["refund_amount"] == 1_000_000
    assert hb.post(f"{T}/applications/{number}/refund", json=refund, headers=me).status_code == 409
    with hb_owner_db.connect() as c:
        actual = c.execute(
            text(
                "select l.actual from application_rab_lines l join applications a"
                " on a.id = l.application_id where a.number = :n"
            ),
            {"n": number},
        ).scalar_one()
    assert actual == 11_000_000
