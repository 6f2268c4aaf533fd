"""Linked cities (issue 23 items 1 and 2): agreements between two tenants of one deployment,
and the duplicate-aid check that flags the same person in both cities without either city
sending a NIK, a name or a plain hash of a NIK anywhere."""

from __future__ import annotations

import hashlib
import re
import uuid

import pyotp
from sqlalchemy import create_engine, select, text

from operations.links import tokens
from shared.agreements import Agreement, active_agreement
from shared.db import service_engine, session_factory, tenant_session
from shared.event_signing import TrustedKeys
from shared.event_types import (
    HB_AID_MATCH_FOUND,
    PLATFORM_LINK_ACCEPTED,
    PLATFORM_LINK_PROPOSED,
)
from tests.support.eventing import records_on_topic
from tests.support.hibah_bansos import cimahi_nik
from tests.support.links import (
    _admin,
    _bansos_application,
    _link,
    _name,
    _office_page,
    _outbox_types,
)
from tests.support.whistleblowing import addr


def _databases() -> tokens.Databases:
    return tokens.Databases(service_engine("whistleblowing"), service_engine("hibah_bansos"))


def test_the_same_person_in_two_linked_cities_is_flagged_on_both_and_no_nik_travels(
    wb, hb_app, two_cities, make_official, api_login, csrf_token, stack
):
    a, b = two_cities
    a_admin = _admin(wb, make_official, api_login, a.slug)
    b_admin = _admin(wb, make_official, api_login, b.slug)
    agreement_id = _link(wb, a_admin, b_admin, a, b)

    # both sides audited: each city's outbox holds the proposal and the acceptance
    wb_url = stack["WHISTLEBLOWING_MIGRATION_DATABASE_URL"]
    for city in (a, b):
        found = _outbox_types(wb_url, city.id)
        assert PLATFORM_LINK_PROPOSED in found and PLATFORM_LINK_ACCEPTED in found
    with tenant_session(session_factory(service_engine("whistleblowing")), a.id) as s:
        assert active_agreement(s, a.id, b.slug, "aid_tokens") is not None
        assert active_agreement(s, a.id, b.slug, "referrals") is not None
        assert active_agreement(s, a.id, b.slug, "statistics") is None  # not shared
        assert active_agreement(s, a.id, "bandung", "aid_tokens") is None

    nik = cimahi_nik()
    other_nik = cimahi_nik()
    a_number = _bansos_application(a.id, nik)
    b_number = _bansos_application(b.id, nik)
    lone_number = _bansos_application(b.id, other_nik)  # only in one city: never flagged
    _bansos_application(a.id, cimahi_nik(), status="draft")  # a draft publishes no token

    kafka = tokens.Kafka(stack["KAFKA_BOOTSTRAP_SERVERS"])
    try:
        first = tokens.sync(_databases(), kafka, a.slug)
        assert first.published == 1 and first.matched == []  # the other city has not spoken
        second = tokens.sync(_databases(), kafka, b.slug)
        assert second.published == 2 and second.matched == [b_number]
        third = tokens.sync(_databases(), kafka, a.slug)
        assert third.matched == [a_number]
        again = tokens.sync(_databases(), kafka, b.slug)
        assert again.matched == []  # flagged once
        quiet = tokens.sync(_databases(), kafka, b.slug)
        # the group's offsets were kept: only what came since is read, and nothing did
        assert quiet.received == 0 and quiet.matched == []
        # an application no longer active: its token is withdrawn on both sides next round
        with tenant_session(session_factory(service_engine("hibah_bansos")), a.id) as s:
            s.execute(
                text("update applications set status = 'rejected' where number = :n"),
                {"n": a_number},
            )
            s.commit()
        assert tokens.sync(_databases(), kafka, a.slug).published == 0
        assert tokens.sync(_databases(), kafka, b.slug).received == 0  # the empty list
        with tenant_session(session_factory(service_engine("hibah_bansos")), b.id) as s:
            left = s.execute(
                text("select count(*) from aid_tokens where origin = 'partner'")
            ).scalar_one()
        assert left == 0
        with tenant_session(session_factory(service_engine("hibah_bansos")), a.id) as s:
            own_left = s.execute(
                text("select count(*) from aid_tokens where origin = 'own'")
            ).scalar_one()
        assert own_left == 0
    finally:
        kafka.close()

    for city, number in ((a, a_number), (b, b_number)):
        other = b if city is a else a
        html = _office_page(hb_app, make_official, csrf_token, city.slug, number)
        warning = re.search(r'<p[^>]*id="aid-warning-1">(.*?)</p>', html, re.S)
        assert warning and f"Juga menerima bantuan sejenis di {_name(other)}, 2026." in warning[1]
        assert 'id="aid-warning-2"' not in html  # one warning per agreement
        assert HB_AID_MATCH_FOUND in _outbox_types(
            stack["HIBAH_BANSOS_MIGRATION_DATABASE_URL"], city.id
        )
    lone = _office_page(hb_app, make_official, csrf_token, b.slug, lone_number)
    assert "Juga menerima bantuan sejenis" not in lone

    # nothing outside the city holding the applicant carries the NIK or a plain hash of it
    needles = {
        nik,
        hashlib.sha256(nik.encode()).hexdigest(),
        hashlib.sha256(f"nik:{nik}".encode()).hexdigest(),
        hashlib.sha1(nik.encode()).hexdigest(),
        hashlib.md5(nik.encode()).hexdigest(),  # noqa: S324 (a needle to look for, not a use)
    }
    records = records_on_topic(tokens.topic_of(uuid.UUID(agreement_id)), "", timeout=10)
    assert len(records) >= 4
    dumped = [repr(r).lower() for r in records]
    for service in ("whistleblowing", "hibah_bansos"):
        engine = create_engine(stack[f"{service.upper()}_MIGRATION_DATABASE_URL"])
        try:
            with engine.connect() as conn:
                for table in ("outbox",) + (
                    ("link_agreements",)
                    if service == "whistleblowing"
                    else ("aid_tokens", "aid_matches")
                ):
                    rows = conn.execute(text(f"select * from {table}")).all()  # noqa: S608 (fixed names)
                    dumped += [repr(tuple(r)).lower() for r in rows]
        finally:
            engine.dispose()
    bodies = [
        wb.get(f"/t/{c.slug}/api/v1/links", headers=h).get_data(as_text=True).lower()
        for c, h in ((a, a_admin), (b, b_admin))
    ]
    for needle in needles:
        assert not any(needle in d for d in dumped + bodies), "a NIK or a plain hash of it leaked"
    # the key itself: only its ciphertext is stored, and no record or body carries it
    with tenant_session(session_factory(service_engine("whistleblowing")), a.id) as s:
        row = s.scalars(select(Agreement).where(Agreement.id == uuid.UUID(agreement_id))).one()
        from operations.links.agreements import aid_key

        key_hex = aid_key(s, row).hex()
    assert not any(key_hex in d for d in dumped + bodies)


def test_a_record_not_signed_by_the_partner_is_dropped(
    wb, two_cities, make_official, api_login, stack
):
    a, b = two_cities
    a_admin = _admin(wb, make_official, api_login, a.slug)
    b_admin = _admin(wb, make_official, api_login, b.slug)
    agreement_id = uuid.UUID(_link(wb, a_admin, b_admin, a, b, scopes=("aid_tokens",)))
    with tenant_session(session_factory(service_engine("whistleblowing")), b.id) as s:
        row = s.scalars(select(Agreement).where(Agreement.id == agreement_id)).one()
    nik = cimahi_nik()
    number = _bansos_application(b.id, nik)
    # a record that claims to come from city A but is not signed by the hibah_bansos key
    with tenant_session(session_factory(service_engine("hibah_bansos")), b.id) as s:
        mine = s.execute(
            text("select token from aid_tokens where application_id is not null")
        ).all()
    assert mine == []  # nothing published yet
    import json

    from shared import events

    forged_event = events.build(
        "hibah_bansos",
        "hibah_bansos.aid.tokens_published.v1",
        a,
        f"agreement:{agreement_id}",
        "system",
        {"agreement_id": str(agreement_id), "tokens": []},
    )
    forged_event["sigkey"], forged_event["sig"] = "ed25519:0000000000000000", "AAAA"
    assert tokens.check_record(json.dumps(forged_event).encode(), row, TrustedKeys()) is None
    # a correctly signed record of another tenant (not the partner) is dropped too
    signed_by_b = tokens.tokens_record(b, row, [])
    assert tokens.check_record(signed_by_b, row, TrustedKeys()) is None
    # A's own, signed record for this agreement is taken
    with tenant_session(session_factory(service_engine("whistleblowing")), a.id) as s:
        a_row = s.scalars(select(Agreement).where(Agreement.id == agreement_id)).one()
    good = tokens.tokens_record(a, a_row, [{"token": "0" * 64, "category": "x", "year": 2026}])
    assert tokens.check_record(good, row, TrustedKeys()) == [
        {"token": "0" * 64, "category": "x", "year": 2026}
    ]
    # for another agreement, the same record is dropped
    other = Agreement(id=uuid.uuid4(), partner=a.slug)
    assert tokens.check_record(good, other, TrustedKeys()) is None
    assert number


def test_declined_and_ended_agreements_share_nothing(
    wb, two_cities, make_official, api_login, stack
):
    a, b = two_cities
    a_admin = _admin(wb, make_official, api_login, a.slug)
    b_admin = _admin(wb, make_official, api_login, b.slug)
    resp = wb.post(
        f"/t/{a.slug}/api/v1/links", json={"partner": b.slug, "scopes": ["nope"]}, headers=a_admin
    )
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "scopes"
    resp = wb.post(
        f"/t/{a.slug}/api/v1/links",
        json={"partner": a.slug, "scopes": ["referrals"]},
        headers=a_admin,
    )
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == "partner"
    resp = wb.post(
        f"/t/{a.slug}/api/v1/links",
        json={"partner": b.slug, "scopes": ["referrals"]},
        headers=a_admin,
    )
    first = resp.json["id"]
    again = wb.post(
        f"/t/{a.slug}/api/v1/links",
        json={"partner": b.slug, "scopes": ["referrals"]},
        headers=a_admin,
    )
    assert again.status_code == 409
    declined = wb.post(
        f"/t/{b.slug}/api/v1/links/{first}/decision", json={"accept": False}, headers=b_admin
    )
    assert declined.json["status"] == "declined"
    assert wb.get(f"/t/{a.slug}/api/v1/links/{first}", headers=a_admin).json["status"] == "declined"

    second = _link(wb, a_admin, b_admin, a, b, scopes=("referrals",))
    ended = wb.post(f"/t/{b.slug}/api/v1/links/{second}/end", headers=b_admin)
    assert ended.status_code == 200 and ended.json["status"] == "ended"
    assert wb.get(f"/t/{a.slug}/api/v1/links/{second}", headers=a_admin).json["status"] == "ended"
    with tenant_session(session_factory(service_engine("whistleblowing")), a.id) as s:
        assert active_agreement(s, a.id, b.slug, "referrals") is None
    # another city's admin sees none of these
    assert wb.get(f"/t/cimahi/api/v1/links/{second}", headers=a_admin).status_code in (
        401,
        403,
        404,
    )


def test_the_links_page_proposes_and_accepts_without_javascript(
    wb_app, two_cities, make_official, csrf_token
):
    a, b = two_cities
    clients = {}
    for city in (a, b):
        client = wb_app.test_client()
        creds = make_official(city.slug, "tenant_admin")
        resp = client.post(
            f"/t/{city.slug}/login",
            environ_base=addr(),
            data={
                "csrf_token": csrf_token(client, f"/t/{city.slug}/login"),
                "username": creds.username,
                "password": creds.password,
                "otp": pyotp.TOTP(creds.totp_secret).now(),
            },
        )
        assert resp.status_code == 302
        clients[city.slug] = client
    page = f"/t/{a.slug}/admin/links"
    ca = clients[a.slug]
    html = ca.get(page).get_data(as_text=True)
    assert "Tautan dengan kota lain" in html and "<script" not in html
    bad = ca.post(page, data={"csrf_token": csrf_token(ca, page), "partner": b.slug})
    assert bad.status_code == 422
    assert 'id="scopes-error"' in bad.get_data(as_text=True)
    sent = ca.post(
        page,
        data={"csrf_token": csrf_token(ca, page), "partner": b.slug, "scopes": "aid_tokens"},
    )
    assert sent.status_code == 303
    cb = clients[b.slug]
    b_page = f"/t/{b.slug}/admin/links"
    listing = cb.get(b_page).get_data(as_text=True)
    assert _name(a) in listing and "Terima" in listing
    with tenant_session(session_factory(service_engine("whistleblowing")), b.id) as s:
        row = s.scalars(select(Agreement).where(Agreement.partner == a.slug)).one()
    done = cb.post(f"{b_page}/{row.id}/accept", data={"csrf_token": csrf_token(cb, b_page)})
    assert done.status_code == 303
    assert "Perjanjian diterima." in cb.get(b_page).get_data(as_text=True)
    english = ca.get(f"{page}?lang=en").get_data(as_text=True)
    assert "Links with other cities" in english and "Active" in english
