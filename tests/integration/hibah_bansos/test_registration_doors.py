"""Who registers applicants, and registration as no oracle (issue 16, items 5 and 12): each
test performs the attack and asserts it is refused."""

from __future__ import annotations

import hashlib
import re

import pytest
from sqlalchemy import text

from tests.support.applicant_mail import (
    confirm,
    link_token,
    mails_to,
    own_address,
    post_registration,
    register_confirmed,
)
from tests.support.counter import counter_code
from tests.support.hibah_bansos import BANSOS, application, organisation, person

T = "/t/cimahi/api/v1"


@pytest.fixture
def official(hb_app, demo_tenants, official_token):
    def headers(*roles):
        return {"Authorization": official_token(hb_app, demo_tenants["cimahi"], *roles)}

    return headers


def _applicant_row(hb_owner_db, applicant_id):
    with hb_owner_db.connect() as conn:
        return (
            conn.execute(text("select * from applicants where id = :i"), {"i": applicant_id})
            .mappings()
            .one_or_none()
        )


@pytest.mark.parametrize(
    "roles",
    [("wbs_intake",), ("auditor",), ("tenant_admin",), ("bansos_verifier", "bansos_approver")],
)
def test_only_a_bansos_evaluator_registers_someone_in_the_social_registry(hb, official, roles):
    body = person()
    del body["password"]
    resp = hb.post(f"{T}/applicants", json=body, headers=official(*roles))
    assert resp.status_code == 403, resp.get_data(as_text=True)
    assert resp.json["errors"][0]["field"] == "in_social_registry"
    assert link_token(body["email"]) is None  # nothing was made


def test_the_evaluator_who_set_the_flag_is_recorded_and_audited(hb, hb_app, official, hb_owner_db):
    evaluator = official("bansos_evaluator")
    body = person()
    del body["password"]
    resp = hb.post(f"{T}/applicants", json=body, headers=evaluator)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    applicant_id = resp.json["applicant_id"]
    with hb.application.test_request_context("/t/cimahi/api/v1/auth/me", headers=evaluator):
        from flask import g

        from shared.auth import current_principal

        g.tenant = hb_app.extensions["replika"]["tenants"].get("cimahi")
        pseudonym = current_principal().pseudonym
    row = _applicant_row(hb_owner_db, applicant_id)
    assert row["in_social_registry"] and row["social_registry_set_by"] == pseudonym
    with hb_owner_db.connect() as conn:
        event = conn.execute(
            text("select payload from outbox where payload->>'subject' = :s"),
            {"s": applicant_id},
        ).scalar_one()
    assert event["data"]["in_social_registry"] is True and event["actor"] == pseudonym


def test_an_official_never_chooses_the_applicants_password(hb, official):
    evaluator = official("bansos_evaluator")
    body = person()
    chosen = hb.post(f"{T}/applicants", json=body, headers=evaluator)
    assert chosen.status_code == 422 and chosen.json["errors"][0]["field"] == "password"
    del body["password"]
    made = hb.post(f"{T}/applicants", json=body, headers=evaluator)
    assert made.status_code == 201 and made.json["activation"] == "mailed"
    assert "token" not in made.get_data(as_text=True)  # the link goes to the applicant only
    token = link_token(body["email"])
    assert hb.post(f"{T}/applicants/confirmations", json={"token": token}).status_code == 422
    own = "sandi-pilihan-saya-sendiri"
    activated = hb.post(f"{T}/applicants/confirmations", json={"token": token, "password": own})
    assert activated.status_code == 200
    again = hb.post(f"{T}/applicants/confirmations", json={"token": token, "password": own})
    assert again.status_code == 410  # a link works once
    signed_in = hb.post(f"{T}/applicants/token", json={"email": body["email"], "password": own})
    assert signed_in.status_code == 200


def test_exists_and_created_get_the_same_answer(hb, official):
    held_person = person()
    register_confirmed(hb, "cimahi", held_person)
    held_org = organisation()
    register_confirmed(hb, "cimahi", held_org)
    answers = []
    for body in (
        person(),  # new
        person(nik=held_person["nik"]),  # a NIK that has an account
        person(email=held_person["email"]),  # an e-mail address that has one
        organisation(registration_number=held_org["registration_number"]),
        organisation(),  # new
    ):
        resp = post_registration(hb, "cimahi", body)
        answers.append(
            (resp.status_code, resp.get_data(as_text=True), resp.headers["Content-Type"])
        )
    assert answers[0][0] == 202
    assert len(set(answers)) == 1, answers


def test_forty_probes_from_one_address_are_throttled(hb):
    address = {"REMOTE_ADDR": own_address()}
    statuses = [
        hb.post(f"{T}/applicants", json=person(), environ_base=address).status_code
        for _ in range(40)
    ]
    assert statuses[0] == 202 and statuses.count(429) >= 25, statuses
    elsewhere = post_registration(hb, "cimahi", person())
    assert elsewhere.status_code == 202  # another address has its own budget


def test_an_unconfirmed_account_cannot_sign_in(hb):
    body = person()
    assert post_registration(hb, "cimahi", body).status_code == 202
    creds = {"email": body["email"], "password": body["password"]}
    unconfirmed = hb.post(f"{T}/applicants/token", json=creds)
    wrong = hb.post(f"{T}/applicants/token", json={**creds, "password": "salah-sama-sekali"})
    assert unconfirmed.status_code == wrong.status_code == 401
    assert unconfirmed.json == wrong.json
    assert confirm(hb, "cimahi", body["email"]).status_code == 200
    assert hb.post(f"{T}/applicants/token", json=creds).status_code == 200


def test_a_squatted_nik_is_claimed_at_the_counter(hb, official, hb_owner_db):
    """Someone registers a real person's NIK with their own e-mail and never confirms; the
    person comes to the counter and the evaluator registers them: the squatter's account is
    gone, the person's works."""
    real = person()
    squatter = person(nik=real["nik"])
    assert post_registration(hb, "cimahi", squatter).status_code == 202
    squatter_link = link_token(squatter["email"])
    evaluator = official("bansos_evaluator")
    token = register_confirmed(hb, "cimahi", real, evaluator)
    assert confirm(hb, "cimahi", squatter["email"]).status_code == 410  # the squat is gone
    assert squatter_link is not None
    me = {"Authorization": f"Bearer {token}"}
    applied = hb.post(f"{T}/applications", json=application(BANSOS, 2_000_000), headers=me)
    assert applied.status_code == 201, applied.get_data(as_text=True)
    # a confirmed holder is not claimable
    other = person(nik=real["nik"])
    del other["password"]
    resp = hb.post(f"{T}/applicants", json=other, headers=evaluator)
    assert resp.status_code == 409 and resp.json["errors"][0]["field"] == "nik"


def test_an_expired_link_is_refused(hb, hb_owner_db):
    body = organisation()
    assert post_registration(hb, "cimahi", body).status_code == 202
    digest = hashlib.sha256(link_token(body["email"]).encode()).hexdigest()
    with hb_owner_db.begin() as conn:
        conn.execute(
            text(
                "update applicants set link_expires_at = now() - interval '1 minute' "
                "where link_hash = :h"
            ),
            {"h": digest},
        )
    assert confirm(hb, "cimahi", body["email"]).status_code == 410
    assert mails_to(body["email"]) == 1


# --- residents without e-mail (issue 19's path): confirmed at the counter ---------------------

P = "/t/cimahi/hibah-bansos"


def _resident(**over) -> dict:
    body = person(**over)
    del body["email"]
    body["in_social_registry"] = False
    return body


def _counter_code(hb_app, csrf_token, nik: str) -> str:
    """The desk is told the registration is unconfirmed, then hands over a code."""
    from tests.support.officials import page_session

    desk = hb_app.test_client()
    page_session(
        hb_app, desk, hb_app.extensions["replika"]["tenants"].get("cimahi").id, "bansos_evaluator"
    )
    path = f"{P}/office/password-reset"
    found = desk.post(path, data={"csrf_token": csrf_token(desk, path), "nik": nik})
    assert "belum dikonfirmasi" in found.get_data(as_text=True)
    return counter_code(hb_app, csrf_token, nik)


def _set_password(hb, csrf_token, code: str, password: str):
    return hb.post(
        f"{P}/reset-password",
        data={
            "csrf_token": csrf_token(hb, f"{P}/reset-password"),
            "reset_code": code,
            "password": password,
            "password_confirm": password,
        },
    )


def _nik_sign_in(hb, csrf_token, nik: str, password: str) -> tuple[int, str]:
    """Sign in by the page with the NIK: (status, the error said beside the form)."""
    resp = hb.post(
        f"{P}/sign-in",
        data={"csrf_token": csrf_token(hb, f"{P}/sign-in"), "email": nik, "password": password},
        environ_base={"REMOTE_ADDR": own_address()},
    )
    error = re.search(r'role="alert"[^>]*>(.*?)</', resp.get_data(as_text=True), re.S)
    return resp.status_code, error.group(1).strip() if error else ""


def test_without_e_mail_a_held_nik_gets_the_same_answer_as_a_new_one(hb, hb_app, csrf_token):
    held = _resident()
    assert post_registration(hb, "cimahi", held).status_code == 202  # unconfirmed holder
    confirmed = _resident()
    assert post_registration(hb, "cimahi", confirmed).status_code == 202
    code = _counter_code(hb_app, csrf_token, confirmed["nik"])
    assert _set_password(hb, csrf_token, code, confirmed["password"]).status_code == 303
    api = []
    for body in (_resident(), _resident(nik=held["nik"]), _resident(nik=confirmed["nik"])):
        resp = post_registration(hb, "cimahi", body)
        api.append((resp.status_code, resp.get_data(as_text=True)))
    assert api[0][0] == 202 and len(set(api)) == 1, api
    pages = []
    for nik in (_resident()["nik"], held["nik"], confirmed["nik"]):
        client = hb_app.test_client()
        path = f"{P}/register/individual"
        form = {k: v for k, v in _resident(nik=nik).items() if k not in ("type",)}
        form.update(password_confirm=form["password"], csrf_token=csrf_token(client, path))
        form.pop("in_social_registry")
        resp = client.post(path, data=form, environ_base={"REMOTE_ADDR": own_address()})
        html = resp.get_data(as_text=True)
        assert "Datang ke loket untuk konfirmasi" in html
        with client.session_transaction() as s:
            signed_in = "hb_applicant" in s
        pages.append((resp.status_code, signed_in))
    assert pages == [(202, False)] * 3


def test_a_resident_without_e_mail_signs_in_only_once_the_counter_confirmed_them(
    hb, hb_app, csrf_token, hb_owner_db
):
    body = _resident()
    assert post_registration(hb, "cimahi", body).status_code == 202
    unconfirmed = _nik_sign_in(hb, csrf_token, body["nik"], body["password"])
    wrong = _nik_sign_in(hb, csrf_token, body["nik"], "salah-sama-sekali")
    assert unconfirmed == wrong  # an unconfirmed account answers like a wrong password
    assert wrong[0] == 401
    assert "di loket dengan membawa KTP" in wrong[1]  # ... and says how to confirm
    code = _counter_code(hb_app, csrf_token, body["nik"])
    assert _set_password(hb, csrf_token, code, body["password"]).status_code == 303
    assert _nik_sign_in(hb, csrf_token, body["nik"], body["password"])[0] == 303
    with hb_owner_db.connect() as conn:
        types = conn.execute(
            text(
                "select payload->>'type', payload->'data'->>'how' from outbox"
                " where payload->>'type' = 'hibah_bansos.applicant.confirmed.v1'"
                " and payload->'data'->>'applicant_id' = ("
                "   select payload->'data'->>'applicant_id' from outbox"
                "   where payload->>'type' = 'hibah_bansos.applicant.password_reset.v1'"
                "   order by seq desc limit 1)"
            )
        ).all()
    assert [tuple(t) for t in types] == [("hibah_bansos.applicant.confirmed.v1", "reset_code")]


def test_a_squatters_password_ends_when_the_real_person_is_confirmed_at_the_counter(
    hb, hb_app, csrf_token
):
    squatter = _resident()
    assert post_registration(hb, "cimahi", squatter).status_code == 202
    code = _counter_code(hb_app, csrf_token, squatter["nik"])  # the KTP's owner at the desk
    own = "sandi-pemilik-ktp-asli"
    assert _set_password(hb, csrf_token, code, own).status_code == 303
    assert _nik_sign_in(hb, csrf_token, squatter["nik"], squatter["password"])[0] == 401
    assert _nik_sign_in(hb, csrf_token, squatter["nik"], own)[0] == 303
