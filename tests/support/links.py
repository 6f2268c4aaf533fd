"""Helpers of the linked-cities tests (tests/integration/operations/test_links*.py)."""

from __future__ import annotations

import uuid

import pyotp
from sqlalchemy import create_engine, select, text

from services.hibah_bansos.models import Applicant, Application, Programme
from shared.crypto import FieldCipher, blind_index
from shared.db import service_engine, session_factory, tenant_session
from tests.support.hibah_bansos import BANSOS
from tests.support.whistleblowing import addr


def _name(config) -> str:
    return config.data["branding"]["display_name"]


def _admin(wb, make_official, api_login, slug):
    creds = make_official(slug, "tenant_admin")
    return {"Authorization": api_login(wb, slug, creds)}


def _link(wb, a_admin, b_admin, a, b, scopes=("aid_tokens", "referrals")) -> str:
    resp = wb.post(
        f"/t/{a.slug}/api/v1/links",
        json={"partner": b.slug, "scopes": list(scopes)},
        headers=a_admin,
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    agreement_id = resp.json["id"]
    assert resp.json["status"] == "proposed" and resp.json["direction"] == "outgoing"
    incoming = wb.get(f"/t/{b.slug}/api/v1/links/{agreement_id}", headers=b_admin)
    assert incoming.status_code == 200
    assert incoming.json["direction"] == "incoming" and incoming.json["partner"] == a.slug
    # the city that proposed cannot accept its own proposal
    own = wb.post(
        f"/t/{a.slug}/api/v1/links/{agreement_id}/decision", json={"accept": True}, headers=a_admin
    )
    assert own.status_code == 403
    accepted = wb.post(
        f"/t/{b.slug}/api/v1/links/{agreement_id}/decision", json={"accept": True}, headers=b_admin
    )
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    assert accepted.json["status"] == "active"
    assert (
        wb.get(f"/t/{a.slug}/api/v1/links/{agreement_id}", headers=a_admin).json["status"]
        == "active"
    )
    return agreement_id


def _bansos_application(tenant_id: uuid.UUID, nik: str, status: str = "submitted") -> str:
    """A bansos application of an individual with `nik`, written as the service writes it
    (personal fields encrypted, NIK blind-indexed), through the application role."""
    factory = session_factory(service_engine("hibah_bansos"))
    with tenant_session(factory, tenant_id) as s:
        programme = s.scalars(select(Programme).where(Programme.code == BANSOS)).one()
        applicant = Applicant(id=uuid.uuid4(), kind="individual", personal=b"")
        applicant.nik_index = blind_index(s, tenant_id, "nik", nik)
        applicant.personal = FieldCipher(s, tenant_id, "applicants", applicant.id).encrypt_json(
            "personal", {"nik": nik, "kk": "3277010101200001", "name": "Budi Santoso"}
        )
        s.add(applicant)
        s.flush()
        app_id = uuid.uuid4()
        number = f"HB-2026-{uuid.uuid4().hex[:8].upper()}"
        s.add(
            Application(
                id=app_id,
                number=number,
                programme_id=programme.id,
                applicant_id=applicant.id,
                status=status,
                requested=2_500_000,
                nik_index=applicant.nik_index,
                proposal=FieldCipher(s, tenant_id, "applications", app_id).encrypt_json(
                    "proposal", "Kursi roda"
                ),
                actors={},
            )
        )
        s.commit()
        return number


def _office_page(hb_app, make_official, csrf_token, slug, number) -> str:
    client = hb_app.test_client()
    creds = make_official(slug, "bansos_evaluator")
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
    page = client.get(f"/t/{slug}/hibah-bansos/office/applications/{number}")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _outbox_types(engine_url: str, tenant_id: uuid.UUID) -> list[str]:
    engine = create_engine(engine_url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    text("select type from outbox where tenant_id = :t order by created_at"),
                    {"t": tenant_id},
                ).scalars()
            )
    finally:
        engine.dispose()
