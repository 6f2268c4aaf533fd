"""The path to bansos on the real stack and the local fake social registry (a real HTTP server):
eligibility in plain words before the form; a resident registers with phone and NIK (no
e-mail), is confirmed at the counter (KTP) and signs in with the NIK; one the registry lists applies and reaches "Diajukan"; one it
does not list is told before the form where to go and asks an official to verify them, which
puts the application in the evaluator's worklist; only yes/no and the data period are stored;
passwords are reset by a one-time e-mailed link, or at the counter after an identity check."""

from __future__ import annotations

import io
import re
import uuid
from email import message_from_bytes
from urllib.parse import urlsplit

import pytest
from sqlalchemy import text

from services.hibah_bansos import social_registry
from services.hibah_bansos.domain import workflow
from services.hibah_bansos.mailer import EmlDirectory
from tests.integration.hibah_bansos.test_hibah_bansos_pages import (
    addr,
    move,
    office,
    register_organisation,
)
from tests.support.counter import counter_code
from tests.support.hibah_bansos import BANSOS, PDF
from tests.support.social_registry import list_in_registry, registry_url, resident_form

P = "/t/cimahi/hibah-bansos"
OFFICE = f"{P}/office"
NUMBER_RE = re.compile(r"HB-\d{4}-[0-9A-HJKMNP-TV-Z]{8}")
BANSOS_DOCS = ("ktp_pengurus", "rekening")


def text_of(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def register_resident(client, csrf_token, **over) -> dict:
    """Register by the page without e-mail (the same page whether the NIK was new or held),
    confirm the registration at the counter (confirm_at_counter) and sign in with the NIK."""
    form = resident_form(**over)
    resp = client.post(
        f"{P}/register/individual",
        environ_base=addr(),
        data={**form, "csrf_token": csrf_token(client, f"{P}/register/individual")},
    )
    assert resp.status_code == 202, resp.get_data(as_text=True)[:3000]
    assert "Datang ke loket untuk konfirmasi" in text_of(resp)
    confirm_at_counter(client, csrf_token, form["nik"], form["password"])
    sign_in(client, csrf_token, form["nik"], form["password"])
    return form


def confirm_at_counter(client, csrf_token, nik: str, password: str):
    """A registration without e-mail is confirmed at the counter: the resident sets their
    password with the code the official handed over (spending it confirms the account)."""
    done = client.post(
        f"{P}/reset-password",
        data={
            "csrf_token": csrf_token(client, f"{P}/reset-password"),
            "reset_code": counter_code(client.application, csrf_token, nik),
            "password": password,
            "password_confirm": password,
        },
    )
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]


def sign_in(client, csrf_token, login: str, password: str, expect: int = 303):
    resp = client.post(
        f"{P}/sign-in",
        environ_base=addr(),
        data={
            "csrf_token": csrf_token(client, f"{P}/sign-in"),
            "email": login,
            "password": password,
        },
    )
    assert resp.status_code == expect, resp.get_data(as_text=True)[:2000]
    return resp


def bansos_form(client, csrf_token, action: str, **over):
    path = f"{P}/programmes/{BANSOS}/apply"
    data = {
        "csrf_token": csrf_token(client, path),
        "action": action,
        "proposal": "Kursi roda untuk ibu saya yang tidak dapat berjalan.",
        "requested": "2.500.000",
        "rab_0_item": "Kursi roda",
        "rab_0_amount": "2500000",
        **{f"doc_{c}": (io.BytesIO(PDF), f"{c}.pdf") for c in BANSOS_DOCS},
        **over,
    }
    return client.post(path, data=data, content_type="multipart/form-data")


def test_the_http_client_keeps_only_yes_no_and_the_data_period():
    listed = f"327701{uuid.uuid4().int % 28 + 1:02d}0790{uuid.uuid4().int % 9000 + 1:04d}"
    client = social_registry.HttpSocialRegistry(registry_url())
    assert client.check(listed) == social_registry.Answer(False, "2026-03")
    list_in_registry(listed, "2026-02")
    # the fake sends a household record too: the answer keeps none of it
    assert client.check(listed) == social_registry.Answer(True, "2026-02")
    assert social_registry.HttpSocialRegistry("http://127.0.0.1:9").check(listed) == (
        social_registry.UNAVAILABLE
    )
    assert client.check("not-a-nik") == social_registry.UNAVAILABLE


def test_programme_cards_say_who_may_apply_before_the_form(hb):
    html = text_of(hb.get(P))
    assert "Siapa yang dapat mengajukan" in html
    assert "Untuk warga (perorangan), bukan untuk organisasi." in html
    assert "NIK Anda harus terdaftar di" in html and "Paling banyak Rp3.000.000" in html
    assert "tercantum dalam data sosial (DTKS/DTSEN)" in html
    english = text_of(hb.get(f"{P}?lang=en"))
    assert "Who may apply" in english and "social registry (DTKS/DTSEN)" in english


def test_the_trailing_slash_of_the_service_address_works(hb):
    resp = hb.get(f"{P}/")
    assert resp.status_code == 308 and resp.headers["Location"].endswith(P)
    assert hb.get(f"{P}/", follow_redirects=True).status_code == 200


def test_a_listed_resident_without_e_mail_applies_and_reaches_diajukan(
    hb_app, csrf_token, hb_owner_db
):
    citizen = hb_app.test_client()
    form = register_resident(citizen, csrf_token)
    list_in_registry(form["nik"])
    citizen.post(f"{P}/sign-out", data={"csrf_token": csrf_token(citizen, P)})
    sign_in(citizen, csrf_token, form["nik"], form["password"])  # NIK, no e-mail

    page = citizen.get(f"{P}/programmes/{BANSOS}/apply")
    assert page.status_code == 200
    html = text_of(page)
    assert "Anda tercantum dalam data sosial (DTKS/DTSEN), data Maret 2026." in html
    assert "Ajukan permohonan" in html and "Minta verifikasi petugas" not in html

    resp = bansos_form(citizen, csrf_token, "submit")
    assert resp.status_code == 303, resp.get_data(as_text=True)[:3000]
    number = NUMBER_RE.search(resp.headers["Location"]).group(0)
    assert "Diajukan" in text_of(citizen.get(resp.headers["Location"]))

    with hb_owner_db.connect() as c:
        checks = c.execute(
            text(
                "select r.source, r.listed, r.period from registry_checks r join applications a"
                " on a.applicant_id = r.applicant_id where a.number = :n"
            ),
            {"n": number},
        ).all()
        assert [tuple(r) for r in checks] == [("registry", True, "2026-03")]
        columns = set(
            c.execute(
                text(
                    "select column_name from information_schema.columns"
                    " where table_name = 'registry_checks'"
                )
            ).scalars()
        )
        # the registry's record (household id, welfare decile) has nowhere to go
        assert columns == {
            "id",
            "tenant_id",
            "applicant_id",
            "source",
            "listed",
            "period",
            "actor",
            "at",
        }
        events = c.execute(
            text("select payload::text from outbox where payload->>'type' like :t"),
            {"t": "hibah_bansos.applicant.registry_checked%"},
        ).scalars()
        assert all(form["nik"] not in e and "HH-" not in e for e in events)


def test_a_resident_not_listed_is_told_before_the_form_and_an_official_verifies_them(
    hb_app, csrf_token, make_official, hb_owner_db
):
    citizen = hb_app.test_client()
    register_resident(citizen, csrf_token)

    page = citizen.get(f"{P}/programmes/{BANSOS}/apply")
    html = text_of(page)
    assert "Anda tidak tercantum dalam data sosial" in html
    assert "Kantor kelurahan Anda" in html and "Dinas Sosial" in html
    raw = page.get_data(as_text=True)
    assert raw.index("Ke mana Anda dapat pergi") < raw.index('id="proposal"')  # before the form
    assert 'value="verify"' in raw and 'value="submit"' not in raw

    # submitting anyway keeps the draft and says what to do instead
    resp = bansos_form(citizen, csrf_token, "submit")
    refused = resp.get_data(as_text=True)
    assert resp.status_code == 409 and "mintalah verifikasi petugas" in refused  # its state
    number = NUMBER_RE.search(refused).group(0)
    assert f"{P}/applications/{number}/verification" in refused

    resp = citizen.post(
        f"{P}/applications/{number}/verification",
        data={"csrf_token": csrf_token(citizen, f"{P}/applications/{number}")},
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)[:2000]
    mine = text_of(citizen.get(resp.headers["Location"]))
    assert "Menunggu verifikasi petugas" in mine and "Dinas Sosial" in mine

    evaluator = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    verifier = office(hb_app, make_official, csrf_token, "bansos_verifier")
    # the worklist pages (25 a page, longest waiting first): the evaluator's step, this status
    waiting = workflow.waiting_for(frozenset({"bansos_evaluator"}))
    assert "verification" in waiting
    assert "verification" not in workflow.waiting_for(frozenset({"bansos_verifier"}))
    listed = evaluator.get(f"{OFFICE}?programme={BANSOS}&status=verification")
    assert number in listed.get_data(as_text=True)
    assert number not in verifier.get(f"{OFFICE}?programme={BANSOS}").get_data(as_text=True)
    detail = text_of(evaluator.get(f"{OFFICE}/applications/{number}"))
    assert "Tidak tercantum (data Maret 2026)" in detail and "untuk menjaminnya" in detail

    move(evaluator, csrf_token, number, "submitted", 422)  # vouching needs a reason
    move(evaluator, csrf_token, number, "submitted", reason="Kunjungan rumah 3 Des: layak")
    assert "Diajukan" in text_of(citizen.get(f"{P}/applications/{number}"))
    with hb_owner_db.connect() as c:
        sources = c.execute(
            text(
                "select r.source, r.listed, r.actor <> 'registry' from registry_checks r join"
                " applications a on a.applicant_id = r.applicant_id where a.number = :n"
                " order by r.at"
            ),
            {"n": number},
        ).all()
        assert [tuple(r) for r in sources] == [("registry", False, False), ("official", True, True)]
        types = list(
            c.execute(
                text(
                    "select payload->>'type' from outbox where payload->>'subject' = :n"
                    " order by seq"
                ),
                {"n": number},
            ).scalars()
        )
    assert "hibah_bansos.application.verification_requested.v1" in types
    assert types[-1] == "hibah_bansos.application.transitioned.v1"


def test_when_the_registry_cannot_be_reached_the_citizen_may_still_ask_an_official(
    hb_app, csrf_token, monkeypatch
):
    monkeypatch.setitem(
        hb_app.extensions,
        "hb_social_registry",
        social_registry.HttpSocialRegistry("http://127.0.0.1:9"),
    )
    citizen = hb_app.test_client()
    register_resident(citizen, csrf_token)
    html = text_of(citizen.get(f"{P}/programmes/{BANSOS}/apply"))
    assert "Data sosial tidak dapat diperiksa" in html and "Minta verifikasi petugas" in html


def test_an_organisation_is_told_before_the_form_that_bansos_is_for_residents(hb_app, csrf_token):
    client = hb_app.test_client()
    register_organisation(client, csrf_token)
    page = client.get(f"{P}/programmes/{BANSOS}/apply")
    html = text_of(page)
    assert "Anda tidak dapat mengajukan ke program ini" in html
    assert 'name="proposal"' not in page.get_data(as_text=True)


def test_forms_explain_each_field_with_aria_and_required_marks(hb_app, csrf_token):
    citizen = hb_app.test_client()
    form = register_resident(citizen, csrf_token)
    list_in_registry(form["nik"])
    resp = bansos_form(citizen, csrf_token, "submit", requested="1,5")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert re.search(r'id="requested"[^>]*aria-invalid="true"', html)
    assert re.search(r'id="requested"[^>]*aria-describedby="requested-error requested-hint"', html)
    assert 'id="requested-error"' in html and 'href="#requested"' in html
    assert "Isian bertanda * wajib diisi." in html and 'class="table-scroll"' in html
    register = citizen.get(f"{P}/register/individual").get_data(as_text=True)
    assert re.search(r'<input id="email"[^>]*type="email"(?![^>]*required)', register)
    assert "tidak wajib" in register


def test_a_password_is_reset_by_a_one_time_e_mailed_link(hb_app, csrf_token, tmp_path, monkeypatch):
    client = hb_app.test_client()
    org = register_organisation(client, csrf_token)  # its confirmation mail is not counted
    monkeypatch.setitem(hb_app.extensions, "hb_mailer", EmlDirectory(tmp_path))
    stranger = client.post(
        f"{P}/forgot-password",
        data={"csrf_token": csrf_token(client, f"{P}/forgot-password"), "email": "x@tidak-ada.id"},
    )
    resp = client.post(
        f"{P}/forgot-password",
        data={"csrf_token": csrf_token(client, f"{P}/forgot-password"), "email": org["email"]},
    )
    assert resp.status_code == stranger.status_code == 303  # the same answer either way
    mails = sorted(tmp_path.glob("*.eml"))
    assert len(mails) == 1
    mail = message_from_bytes(mails[0].read_bytes())
    assert mail["To"] == org["email"]
    body = mail.get_payload(decode=True).decode()
    link = re.search(r"https?://\S+reset-password\?code=\S+", body).group(0)

    parts = urlsplit(link)
    page = client.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 303 and "code=" not in page.headers["Location"]
    new = "kata-sandi-baru-yang-panjang"
    token = csrf_token(client, f"{P}/reset-password")
    done = client.post(
        f"{P}/reset-password",
        data={"csrf_token": token, "password": new, "password_confirm": new},
    )
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]
    sign_in(client, csrf_token, org["email"], org["password"], expect=401)
    sign_in(client, csrf_token, org["email"], new)
    # the link works once
    code = re.search(r"code=(\S+)", link).group(1)
    again = client.post(
        f"{P}/reset-password",
        data={
            "csrf_token": csrf_token(client, f"{P}/reset-password"),
            "reset_code": code,
            "password": "lagi-kata-sandi-panjang",
            "password_confirm": "lagi-kata-sandi-panjang",
        },
    )
    assert again.status_code == 410 and "tidak berlaku lagi" in again.get_data(as_text=True)


def test_a_resident_without_e_mail_gets_a_reset_code_at_the_counter(
    hb_app, csrf_token, make_official
):
    citizen = hb_app.test_client()
    form = register_resident(citizen, csrf_token)
    path = f"{OFFICE}/password-reset"
    verifier = office(hb_app, make_official, csrf_token, "bansos_verifier")
    assert verifier.get(path).status_code == 403  # the intake role only
    desk = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    found = desk.post(
        path, data={"csrf_token": csrf_token(desk, path), "nik": form["nik"], "action": "find"}
    )
    assert found.status_code == 200 and form["name"] in found.get_data(as_text=True)
    unchecked = desk.post(
        path, data={"csrf_token": csrf_token(desk, path), "nik": form["nik"], "action": "issue"}
    )
    assert unchecked.status_code == 422 and "Centang kotak ini" in unchecked.get_data(as_text=True)
    issued = desk.post(
        path,
        data={
            "csrf_token": csrf_token(desk, path),
            "nik": form["nik"],
            "action": "issue",
            "identity_checked": "yes",
        },
    )
    assert issued.status_code == 200
    groups = re.findall(r"<span>([0-9A-Z]{4})</span>", issued.get_data(as_text=True))
    assert len(groups) == 5
    new = "kata-sandi-dari-loket-1"
    other = hb_app.test_client()
    done = other.post(
        f"{P}/reset-password",
        data={
            "csrf_token": csrf_token(other, f"{P}/reset-password"),
            "reset_code": "-".join(groups).lower(),
            "password": new,
            "password_confirm": new,
        },
    )
    assert done.status_code == 303, done.get_data(as_text=True)[:2000]
    sign_in(other, csrf_token, form["nik"], new)


@pytest.mark.parametrize("nik", ["327701", "abcdefghijklmnop"])
def test_the_counter_names_a_wrong_nik_beside_the_field(hb_app, csrf_token, make_official, nik):
    desk = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    path = f"{OFFICE}/password-reset"
    resp = desk.post(path, data={"csrf_token": csrf_token(desk, path), "nik": nik})
    assert resp.status_code == 404 and 'id="nik-error"' in resp.get_data(as_text=True)
