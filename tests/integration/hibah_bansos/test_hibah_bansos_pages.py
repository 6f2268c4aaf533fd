"""Hibah-bansos pages on the real stack: applicants register, sign in, apply with documents and
submit; officials take the application through the office pages; the dashboard and the CSV
export show it; another tenant sees nothing; bad input comes back beside the field, never 5xx."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pyotp
import pytest

from tests.support.applicant_mail import link_token
from tests.support.hibah_bansos import (
    HIBAH,
    ORG_DOCUMENTS,
    PDF,
    add_programme,
    organisation,
)

P = "/t/cimahi/hibah-bansos"
OFFICE = f"{P}/office"
NUMBER_RE = re.compile(r"HB-\d{4}-[0-9A-HJKMNP-TV-Z]{8}")


def addr() -> dict:
    n = uuid.uuid4().int
    return {"REMOTE_ADDR": f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"}


def register_organisation(client, csrf_token, **over) -> dict:
    org = organisation(**over)
    data = {k: v for k, v in org.items() if k != "type"}
    data.update(
        csrf_token=csrf_token(client, f"{P}/register/organisation"),
        password_confirm=org["password"],
    )
    resp = client.post(f"{P}/register/organisation", data=data, environ_base=addr())
    assert resp.status_code == 202, resp.get_data(as_text=True)
    # the account works once the e-mailed link is followed (a page with one button)
    link = f"{P}/confirm?token={link_token(org['email'])}"
    token = csrf_token(client, link)
    resp = client.post(
        f"{P}/confirm", data={"csrf_token": token, "token": link_token(org["email"])}
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return org


def sign_in_applicant(client, csrf_token, org) -> None:
    resp = client.post(
        f"{P}/sign-in",
        environ_base=addr(),
        data={
            "csrf_token": csrf_token(client, f"{P}/sign-in"),
            "email": org["email"],
            "password": org["password"],
        },
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)


def office(hb_app, make_official, csrf_token, *roles, slug="cimahi"):
    client = hb_app.test_client()
    creds = make_official(slug, *roles)
    resp = client.post(
        f"/t/{slug}/login",
        environ_base=addr(),
        data={
            "csrf_token": csrf_token(client, f"/t/{slug}/login"),
            "username": creds.username,
            "password": creds.password,
            "otp": pyotp.TOTP(creds.totp_secret).now(),
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client


def apply_form(
    client, csrf_token, code, *, requested="100000000", action="submit", documents=(), **over
):
    path = f"{P}/programmes/{code}/apply"
    data = {
        # the session's token from a page that always has a form: an applicant a programme
        # is not for is told so instead of being shown the form
        "csrf_token": csrf_token(client, f"{P}/sign-in"),
        "action": action,
        "proposal": "Pelatihan kewirausahaan pemuda di Kecamatan Cimahi Tengah.",
        "requested": requested,
        "rab_0_item": "Honor pelatih",
        "rab_0_amount": "60000000",
        "rab_1_item": "Bahan pelatihan",
        "rab_1_amount": "40.000.000",
        **{f"doc_{c}": (io.BytesIO(PDF), f"{c}.pdf") for c in documents},
        **over,
    }
    return client.post(path, data=data, content_type="multipart/form-data")


def move(client, csrf_token, number, to, expect=303, **fields):
    # the session's token, from a page that always has a form (the detail page has none
    # for an official who has no step to take)
    token = csrf_token(client, "/t/cimahi/login")
    resp = client.post(
        f"{OFFICE}/applications/{number}/transitions",
        data={"csrf_token": token, "to": to, **fields},
    )
    assert resp.status_code == expect, resp.get_data(as_text=True)[:3000]
    return resp


def test_pages_list_open_programmes_in_indonesian_and_english(hb):
    page = hb.get(P)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="id">' in html
    assert "Hibah organisasi kemasyarakatan 2026" in html and "Program yang dibuka" in html
    english = hb.get(f"{P}?lang=en").get_data(as_text=True)
    assert "Open programmes" in english and "Grants to community organisations 2026" in english
    assert "Register an organisation" in hb.get(f"{P}/sign-in").get_data(as_text=True)
    # pages that need an applicant send the visitor to sign in first
    resp = hb.get(f"{P}/applications?lang=id")
    assert resp.status_code == 302 and "/hibah-bansos/sign-in" in resp.headers["Location"]


def test_organisation_applies_by_page_and_officials_take_it_to_closed(
    hb_app, make_official, csrf_token, hb_owner_db, demo_tenants, official_token
):
    code = add_programme(hb_owner_db, demo_tenants["cimahi"].id, "TEST-PAGES")
    citizen = hb_app.test_client()
    org = register_organisation(citizen, csrf_token)
    citizen.post(f"{P}/sign-out", data={"csrf_token": csrf_token(citizen, P)})
    assert citizen.get(f"{P}/applications").status_code == 302  # signed out
    wrong = citizen.post(
        f"{P}/sign-in",
        environ_base=addr(),
        data={
            "csrf_token": csrf_token(citizen, f"{P}/sign-in"),
            "email": org["email"],
            "password": "bukan-kata-sandinya",
        },
    )
    assert wrong.status_code == 401 and "salah" in wrong.get_data(as_text=True)
    sign_in_applicant(citizen, csrf_token, org)

    resp = apply_form(citizen, csrf_token, code, documents=("proposal",))
    assert resp.status_code == 303, resp.get_data(as_text=True)[:3000]
    number = NUMBER_RE.search(resp.headers["Location"]).group(0)
    page = citizen.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Diajukan" in page and "Rp100.000.000" in page and "Proposal" in page
    mine = citizen.get(f"{P}/applications").get_data(as_text=True)
    assert number in mine and "Diajukan" in mine

    evaluator = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    verifier = office(hb_app, make_official, csrf_token, "bansos_verifier")
    approver = office(hb_app, make_official, csrf_token, "bansos_approver")
    finance = office(hb_app, make_official, csrf_token, "bansos_finance")

    worklist = evaluator.get(f"{OFFICE}?programme={code}").get_data(as_text=True)
    assert number in worklist
    assert number not in verifier.get(f"{OFFICE}?programme={code}").get_data(as_text=True)
    detail = evaluator.get(f"{OFFICE}/applications/{number}").get_data(as_text=True)
    assert org["name"] in detail and org["bank_account"] in detail  # decrypted for officials
    assert "Pelatihan kewirausahaan" in detail

    # the approver cannot skip evaluation: refused beside the form, nothing moves
    resp = move(
        approver,
        csrf_token,
        number,
        "approved",
        409,
        amount="90000000",
        reference="K-1",
        date="2026-03-01",
    )
    assert "tidak diizinkan" in resp.get_data(as_text=True)
    move(
        evaluator, csrf_token, number, "evaluated", amount="90000000", reason="Layak, dikurangi 10%"
    )
    assert number in verifier.get(f"{OFFICE}?programme={code}").get_data(as_text=True)
    move(verifier, csrf_token, number, "verified", reason="Sesuai prioritas")
    move(
        approver,
        csrf_token,
        number,
        "approved",
        amount="90.000.000",
        reference="Keputusan Wali Kota 900/Kep.12-BKAD/2026",
        date="2026-03-01",
    )
    move(
        approver,
        csrf_token,
        number,
        "agreement_signed",
        reference="NPHD/031/BKBP/2026",
        date="2026-03-10",
    )
    assert number in finance.get(f"{OFFICE}?programme={code}").get_data(as_text=True)
    resp = move(
        finance, csrf_token, number, "disbursed", 422, amount="90000001", reference="SP2D-0001"
    )
    assert 'id="amount-error"' in resp.get_data(as_text=True)
    move(finance, csrf_token, number, "disbursed", amount="90000000", reference="SP2D-0001/LS/2026")
    # paid in full: no longer waiting for finance, but still listed under its status
    assert number not in finance.get(f"{OFFICE}?programme={code}").get_data(as_text=True)
    assert number in finance.get(f"{OFFICE}?programme={code}&status=disbursed").get_data(
        as_text=True
    )

    # the applicant files the LPJ on the application page
    path = f"{P}/applications/{number}"
    resp = citizen.post(
        f"{path}/lpj",
        data={
            "csrf_token": csrf_token(citizen, path),
            "summary": "Pelatihan terlaksana",
            "lpj_0_item": "Honor pelatih",
            "lpj_0_amount": "60000000",
            "lpj_2_item": "Bahan",
            "lpj_2_amount": "29500000",
        },
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)[:3000]
    move(evaluator, csrf_token, number, "closed", reason="LPJ diverifikasi")
    assert "Selesai" in citizen.get(path).get_data(as_text=True)

    dashboard = finance.get(f"{OFFICE}/programmes/{code}")
    html = dashboard.get_data(as_text=True)
    assert dashboard.status_code == 200
    assert "Rp10.000.000.000" in html and "Rp90.000.000" in html  # ceiling; allocated
    assert "Rp9.910.000.000" in html  # remaining
    english = finance.get(f"{OFFICE}/programmes/{code}?lang=en").get_data(as_text=True)
    assert "Remaining" in english and "Accountability reports overdue" in english

    export = finance.get(f"{OFFICE}/programmes/{code}/applications.csv")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert "attachment" in export.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    row = next(r for r in rows if r["application_number"] == number)
    assert row["organisation"] == org["name"] and row["status"] == "closed"
    assert row["approved"] == "90000000" and row["disbursed"] == "90000000"
    assert row["lpj_spent"] == "89500000"
    text = export.get_data(as_text=True)
    for secret in (org["bank_account"], org["phone"], org["chairperson"], org["npwp"]):
        assert secret not in text
    # the same export on the JSON API, officials only
    token = official_token(hb_app, demo_tenants["cimahi"], "auditor")
    api = hb_app.test_client().get(
        f"/t/cimahi/api/v1/programmes/{code}/applications.csv", headers={"Authorization": token}
    )
    assert api.status_code == 200 and api.get_data(as_text=True) == text
    assert (
        hb_app.test_client().get(f"/t/cimahi/api/v1/programmes/{code}/applications.csv").status_code
        == 401
    )


def test_submitting_without_documents_names_what_is_missing(hb_app, csrf_token):
    citizen = hb_app.test_client()
    register_organisation(citizen, csrf_token)
    resp = apply_form(citizen, csrf_token, HIBAH)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 409, html[:3000]  # the application (its documents) is short
    assert "Dokumen wajib belum diunggah: NPWP" in html
    number = NUMBER_RE.search(html).group(0)  # the draft is kept
    path = f"{P}/applications/{number}"
    for doc in ORG_DOCUMENTS:
        resp = citizen.post(
            f"{path}/documents",
            content_type="multipart/form-data",
            data={
                "csrf_token": csrf_token(citizen, path),
                "code": doc,
                "file": (io.BytesIO(PDF), "x.pdf"),
            },
        )
        assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    resp = citizen.post(
        f"{path}/documents",
        content_type="multipart/form-data",
        data={
            "csrf_token": csrf_token(citizen, path),
            "code": "proposal",
            "file": (io.BytesIO(b"MZ\x90\x00not a pdf"), "x.pdf"),
        },
    )
    assert resp.status_code == 415 and "PDF, JPEG atau PNG" in resp.get_data(as_text=True)
    resp = citizen.post(f"{path}/submit", data={"csrf_token": csrf_token(citizen, path)})
    assert resp.status_code == 303
    assert "Diajukan" in citizen.get(path).get_data(as_text=True)


@pytest.mark.parametrize("amount", ["1.5", "sepuluh juta", "1e8", "-5", "0"])
def test_a_bad_amount_comes_back_beside_the_field(hb_app, csrf_token, amount):
    citizen = hb_app.test_client()
    register_organisation(citizen, csrf_token)
    resp = apply_form(citizen, csrf_token, HIBAH, requested=amount)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422, html[:3000]
    assert 'id="requested-error"' in html and "bilangan bulat rupiah" in html
    assert f'value="{amount}"' in html  # what was typed is shown again
    resp = apply_form(citizen, csrf_token, HIBAH, rab_1_amount=amount)
    assert resp.status_code == 422 and 'id="rab-1-amount-error"' in resp.get_data(as_text=True)


def test_bad_registration_and_transition_input_is_a_4xx_page(hb_app, make_official, csrf_token):
    client = hb_app.test_client()
    path = f"{P}/register/individual"
    resp = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, path),
            "email": "bukan-email",
            "password": "pendek",
            "password_confirm": "lain",
            "nik": "9977011708900001",
            "kk": "1",
            "name": "",
            "address": "Cimahi",
            "phone": "x",
            "bank_account": "12",
        },
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Mohon periksa" in html
    assert 'id="email-error"' in html and 'id="password_confirm-error"' in html
    assert "pendek" not in html  # passwords are never sent back
    evaluator = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    citizen = hb_app.test_client()
    register_organisation(citizen, csrf_token)
    resp = apply_form(citizen, csrf_token, HIBAH, action="draft")
    draft = NUMBER_RE.search(resp.headers["Location"]).group(0)
    # a draft is not the evaluator's to move
    resp = move(evaluator, csrf_token, draft, "evaluated", 409, amount="1", reason="x")
    assert "tidak diizinkan" in resp.get_data(as_text=True)
    resp = apply_form(citizen, csrf_token, "BANSOS-DISABILITAS-2026", action="draft")
    assert resp.status_code == 422  # an organisation cannot apply for bansos
    assert "tidak terbuka untuk jenis pemohon" in resp.get_data(as_text=True)
    resp = apply_form(
        citizen,
        csrf_token,
        HIBAH,
        requested="200000000",
        rab_0_amount="100000000",
        rab_1_amount="100000000",
        documents=ORG_DOCUMENTS,
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)[:3000]
    number = NUMBER_RE.search(resp.headers["Location"]).group(0)
    # bad amounts on the transition form are a 422 beside the field, never a 500
    for amount, words in (
        ("1.5", "bilangan bulat rupiah"),
        ("sejuta", "bilangan bulat"),
        ("300000000", "melebihi"),
    ):
        resp = move(evaluator, csrf_token, number, "evaluated", 422, amount=amount, reason="Layak")
        html = resp.get_data(as_text=True)
        assert 'id="amount-error"' in html and words in html, amount
    resp = move(evaluator, csrf_token, number, "evaluated", 422, amount="1000000")
    assert 'id="reason-error"' in resp.get_data(as_text=True)
    assert "Diajukan" in evaluator.get(f"{OFFICE}/applications/{number}").get_data(as_text=True)


def test_forms_without_a_csrf_token_are_refused(hb_app, make_official, csrf_token):
    citizen = hb_app.test_client()
    org = organisation()
    resp = citizen.post(
        f"{P}/register/organisation",
        data={**{k: v for k, v in org.items() if k != "type"}, "password_confirm": org["password"]},
    )
    assert resp.status_code == 400
    register_organisation(citizen, csrf_token)
    resp = apply_form(citizen, lambda *_: "", HIBAH)
    assert resp.status_code == 400
    assert "HB-" not in citizen.get(f"{P}/applications").get_data(as_text=True)
    evaluator = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    resp = evaluator.post(
        f"{OFFICE}/applications/HB-2026-00000000/transitions",
        data={"to": "evaluated", "amount": "1", "reason": "x"},
    )
    assert resp.status_code == 400


def test_another_tenants_application_number_is_a_404(
    hb_app, make_official, csrf_token, official_token, demo_tenants
):
    citizen = hb_app.test_client()
    register_organisation(citizen, csrf_token)
    resp = apply_form(citizen, csrf_token, HIBAH, action="draft")
    number = NUMBER_RE.search(resp.headers["Location"]).group(0)
    cimahi = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    assert cimahi.get(f"{OFFICE}/applications/{number}").status_code == 200

    bandung = office(hb_app, make_official, csrf_token, "bansos_evaluator", slug="bandung")
    resp = bandung.get(f"/t/bandung/hibah-bansos/office/applications/{number}")
    assert resp.status_code == 404 and number not in resp.get_data(as_text=True)
    assert bandung.get(f"{OFFICE}/applications/{number}").status_code == 404  # a Bandung session
    assert cimahi.get(f"/t/bandung/hibah-bansos/office/applications/{number}").status_code == 404
    # another applicant of the same city: the number looks like no number
    other = hb_app.test_client()
    register_organisation(other, csrf_token)
    assert other.get(f"{P}/applications/{number}").status_code == 404
    # and officials' pages need an official
    assert citizen.get(f"{OFFICE}/applications/{number}").status_code == 401


def test_pages_are_never_cached_and_the_export_is_in_the_openapi(hb_app, make_official, csrf_token):
    citizen = hb_app.test_client()
    register_organisation(citizen, csrf_token)
    evaluator = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    for client, path in (
        (citizen, f"{P}/applications"),
        (citizen, f"{P}/programmes/{HIBAH}/apply"),
        (evaluator, OFFICE),
        (evaluator, f"{OFFICE}/programmes"),
        (evaluator, f"{OFFICE}/programmes/{HIBAH}"),
    ):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["Cache-Control"] == "no-store", path
    english = evaluator.get(f"{OFFICE}?lang=en").get_data(as_text=True)
    assert "Worklist" in english and "Waiting for me" in english
    doc = hb_app.test_client().get("/openapi.json").json
    op = doc["paths"]["/t/{tenant}/api/v1/programmes/{code}/applications.csv"]["get"]
    assert "text/csv" in op["responses"]["200"]["content"]


def test_the_export_quotes_what_a_spreadsheet_would_run(
    hb_app,
    csrf_token,
    hb_owner_db,
    demo_tenants,
    official_token,
):
    code = add_programme(hb_owner_db, demo_tenants["cimahi"].id, "TEST-CSV")
    citizen = hb_app.test_client()
    name = f'=HYPERLINK("http://x") {uuid.uuid4().hex[:6]}'
    register_organisation(citizen, csrf_token, name=name)
    resp = apply_form(citizen, csrf_token, code, action="draft")
    number = NUMBER_RE.search(resp.headers["Location"]).group(0)
    token = official_token(hb_app, demo_tenants["cimahi"], "bansos_finance")
    export = hb_app.test_client().get(
        f"/t/cimahi/api/v1/programmes/{code}/applications.csv", headers={"Authorization": token}
    )
    row = next(
        r
        for r in csv.DictReader(io.StringIO(export.get_data(as_text=True)))
        if r["application_number"] == number
    )
    assert row["organisation"] == "'" + name and row["status"] == "draft"
    assert (
        hb_app.test_client()
        .get("/t/cimahi/api/v1/programmes/NOPE/applications.csv", headers={"Authorization": token})
        .status_code
        == 404
    )


def test_separation_of_duties_and_the_ceiling_are_explained_on_the_page(
    hb_app, make_official, csrf_token, hb_owner_db, demo_tenants
):
    code = add_programme(hb_owner_db, demo_tenants["cimahi"].id, "TEST-PAGU", ceiling=5_000_000)
    citizen = hb_app.test_client()
    register_organisation(citizen, csrf_token)
    resp = apply_form(
        citizen,
        csrf_token,
        code,
        requested="10000000",
        rab_0_amount="6000000",
        rab_1_amount="4000000",
    )
    number = NUMBER_RE.search(resp.headers["Location"]).group(0)
    both = office(hb_app, make_official, csrf_token, "bansos_evaluator", "bansos_verifier")
    move(both, csrf_token, number, "evaluated", amount="10000000", reason="Layak")
    page = both.get(f"{OFFICE}/applications/{number}").get_data(as_text=True)
    assert "pemisahan tugas" in page  # verifying is not offered; return or reject still are
    assert 'name="to" value="verified"' not in page and 'name="to" value="returned"' in page
    resp = move(both, csrf_token, number, "verified", 409, reason="Sesuai")
    assert "pemisahan tugas" in resp.get_data(as_text=True)
    move(
        office(hb_app, make_official, csrf_token, "bansos_verifier"),
        csrf_token,
        number,
        "verified",
        reason="Sesuai",
    )
    approver = office(hb_app, make_official, csrf_token, "bansos_approver")
    resp = move(
        approver,
        csrf_token,
        number,
        "approved",
        409,
        amount="10000000",
        reference="KEP-1",
        date="2026-03-01",
    )
    assert "Pagu program akan terlampaui: sisa Rp5.000.000" in resp.get_data(as_text=True)
    move(
        approver,
        csrf_token,
        number,
        "approved",
        amount="5000000",
        reference="KEP-1",
        date="2026-03-01",
    )
    html = approver.get(f"{OFFICE}/programmes/{code}").get_data(as_text=True)
    assert html.count("Rp5.000.000") >= 2 and "Rp0" in html  # ceiling = allocated; none left
