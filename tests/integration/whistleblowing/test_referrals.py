"""Referrals between linked cities (issue 23 item 3; services/whistleblowing/referrals.py): an
Inspektorat refers a case to a linked city, the reporter consents in their inbox, the case moves,
the reporter follows it and talks with the receiving handlers with the original receipt, the
sealed identity is re-sealed to the receiving custodian, and both ledgers verify."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from tests.support.eventing import consumer, fresh_tenant, in_thread, ledger_rows, relay, wait_until

IDENTITY = {"name": "Siti Pelapor", "nik": "3277014502900003", "phone": "081122223333"}
REASON = "Pejabat yang dilaporkan bekerja di kota tujuan."


def city(prefix: str, custodian: bool = True):
    tenant = fresh_tenant(prefix)
    if custodian:
        from operations import key_admin

        key_admin.ensure_custodian(tenant.id, f"test-custodian-{tenant.slug}")
    return tenant


def link(a, b, scopes=("referrals",), status="active") -> None:
    """Both sides' rows of an agreement, as the links use cases write them (shared/agreements)."""
    from shared.agreements import Agreement
    from shared.db import service_engine, session_factory, tenant_session

    agreement_id = uuid.uuid4()
    factory = session_factory(service_engine("whistleblowing"))
    for me, other, direction in ((a, b, "outgoing"), (b, a, "incoming")):
        with tenant_session(factory, me.id) as s:
            s.add(
                Agreement(
                    tenant_id=me.id,
                    id=agreement_id,
                    partner=other.slug,
                    partner_kind="tenant",
                    partner_name=other.slug.title(),
                    direction=direction,
                    status=status,
                    scopes=list(scopes),
                    proposed_by="test",
                )
            )
            s.commit()


@pytest.fixture
def cities(stack, demo_tenants):
    sender, receiver = city("rfa"), city("rfb")
    link(sender, receiver)
    return sender, receiver


def headers(wb, tenant, *roles, official_id=None):
    from tests.support.officials import bearer

    return {"Authorization": bearer(wb.application, tenant.id, *roles, official_id=official_id)}


def file(wb, tenant, **extra) -> dict:
    resp = wb.post(
        f"/t/{tenant.slug}/api/v1/reports",
        json={
            "category": "korupsi",
            "what": "Pungutan liar di loket perizinan.",
            "reported_persons": [{"name": "Budi", "position": "Kepala Seksi"}],
            **extra,
        },
        environ_base={"REMOTE_ADDR": f"10.77.{uuid.uuid4().int % 250}.9"},
    )
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.json


def refer(wb, tenant, case_number, partner, **kw):
    return wb.post(
        f"/t/{tenant.slug}/api/v1/reports/{case_number}/referrals",
        json={"partner": partner, "reason": REASON},
        headers=headers(wb, tenant, "wbs_supervisor", **kw),
    )


def inbox(wb, tenant, receipt):
    resp = wb.get(f"/t/{tenant.slug}/api/v1/inbox", headers={"Authorization": f"Receipt {receipt}"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.json


def decide(wb, tenant, receipt, referral_id, decision):
    return wb.post(
        f"/t/{tenant.slug}/api/v1/inbox/referrals/{referral_id}/decision",
        json={"decision": decision},
        headers={"Authorization": f"Receipt {receipt}"},
    )


def verify_cli(slug: str):
    from operations.cli import main

    return CliRunner().invoke(main, ["audit", "verify", "--tenant", slug])


def test_refer_consent_follow_and_message_with_the_original_receipt_both_ledgers_verify(wb, cities):
    sender, receiver = cities
    filed = file(wb, sender)
    case, receipt = filed["case_number"], filed["receipt"]

    proposed = refer(wb, sender, case, receiver.slug)
    assert proposed.status_code == 201, proposed.get_data(as_text=True)
    referral_id = proposed.json["id"]
    asked = inbox(wb, sender, receipt)["referral"]
    assert asked["status"] == "awaiting_consent" and asked["reason"] == REASON
    # nothing moved before consent
    receiving_list = wb.get(
        f"/t/{receiver.slug}/api/v1/reports", headers=headers(wb, receiver, "wbs_supervisor")
    ).json
    assert receiving_list["total"] == 0

    again = refer(wb, sender, case, receiver.slug)
    assert again.status_code == 409  # one open referral per case

    consented = decide(wb, sender, receipt, referral_id, "consent")
    assert consented.status_code == 200, consented.get_data(as_text=True)
    new_case = consented.json["partner_case_number"]
    assert consented.json["status"] == "moved" and new_case and new_case != case
    assert decide(wb, sender, receipt, referral_id, "consent").status_code == 409
    # the receiving city cannot refer it on (nobody could be asked: the receipt is here)
    onward = wb.post(
        f"/t/{receiver.slug}/api/v1/reports/{new_case}/referrals",
        json={"partner": sender.slug, "reason": REASON},
        headers=headers(wb, receiver, "wbs_supervisor"),
    )
    assert onward.status_code == 409

    rx = headers(wb, receiver, "wbs_supervisor")
    theirs = wb.get(f"/t/{receiver.slug}/api/v1/reports/{new_case}", headers=rx)
    assert theirs.status_code == 200
    assert theirs.json["report"]["what"] == "Pungutan liar di loket perizinan."
    # the sending city cannot read the receiving case, nor the receiving one the original
    assert (
        wb.get(
            f"/t/{sender.slug}/api/v1/reports/{new_case}",
            headers=headers(wb, sender, "wbs_supervisor"),
        ).status_code
        == 404
    )
    # the original receipt opens nothing in the receiving city: it works where it was given
    assert (
        wb.get(
            f"/t/{receiver.slug}/api/v1/inbox", headers={"Authorization": f"Receipt {receipt}"}
        ).status_code
        == 401
    )

    # the reporter writes with the original receipt: the receiving handlers read it
    sent = wb.post(
        f"/t/{sender.slug}/api/v1/inbox/messages",
        json={"body": "Saya punya bukti tambahan."},
        headers={"Authorization": f"Receipt {receipt}"},
    )
    assert sent.status_code == 201
    theirs = wb.get(f"/t/{receiver.slug}/api/v1/reports/{new_case}", headers=rx).json
    assert [m["body"] for m in theirs["messages"]] == ["Saya punya bukti tambahan."]
    # they acknowledge and reply; the reporter sees both in the original city's inbox
    assert (
        wb.post(
            f"/t/{receiver.slug}/api/v1/reports/{new_case}/transitions",
            json={"to": "acknowledged"},
            headers=rx,
        ).status_code
        == 200
    )
    assert (
        wb.post(
            f"/t/{receiver.slug}/api/v1/reports/{new_case}/messages",
            json={"body": "Terima kasih, silakan unggah."},
            headers=rx,
        ).status_code
        == 201
    )
    followed = inbox(wb, sender, receipt)["referral"]["followed"]
    assert followed["case_number"] == new_case and followed["status"] == "acknowledged"
    assert [m["body"] for m in followed["messages"]] == [
        "Saya punya bukti tambahan.",
        "Terima kasih, silakan unggah.",
    ]

    from shared import event_types as ev

    def types(tenant):
        return [r.type for r in ledger_rows(tenant)]

    with (
        in_thread(relay("whistleblowing"), "relay-wb"),
        in_thread(consumer(), "audit"),
    ):
        wait_until(lambda: ev.WB_MESSAGE_POSTED in types(receiver), 120, "the receiving ledger")
        wait_until(lambda: ev.WB_REFERRAL_HANDED_OVER in types(sender), 120, "the sending ledger")
    assert ev.WB_REFERRAL_PROPOSED in types(sender) and ev.WB_REFERRAL_DECIDED in types(sender)
    assert ev.WB_REFERRAL_HANDED_OVER in types(receiver)
    for tenant in (sender, receiver):
        result = verify_cli(tenant.slug)
        assert result.exit_code == 0, result.output


def test_the_reporter_can_refuse_and_nothing_moves(wb, cities):
    sender, receiver = cities
    filed = file(wb, sender)
    referral_id = refer(wb, sender, filed["case_number"], receiver.slug).json["id"]
    refused = decide(wb, sender, filed["receipt"], referral_id, "refuse")
    assert refused.status_code == 200 and refused.json["status"] == "refused"
    assert inbox(wb, sender, filed["receipt"])["referral"]["status"] == "refused"
    assert (
        wb.get(
            f"/t/{receiver.slug}/api/v1/reports", headers=headers(wb, receiver, "wbs_supervisor")
        ).json["total"]
        == 0
    )
    assert decide(wb, sender, filed["receipt"], referral_id, "consent").status_code == 409


def test_a_city_without_an_agreement_is_refused_and_an_unknown_city_is_404(wb, cities):
    sender, receiver = cities
    unlinked = city("rfc", custodian=False)
    filed = file(wb, sender)
    assert refer(wb, sender, filed["case_number"], unlinked.slug).status_code == 409
    nowhere = refer(wb, sender, filed["case_number"], "no-such-city")
    assert nowhere.status_code == 404
    assert nowhere.headers["Content-Type"].startswith("application/problem+json")
    # the statistics-only agreement does not allow referrals
    stats_only = city("rfd")
    link(sender, stats_only, scopes=("statistics",))
    assert refer(wb, sender, filed["case_number"], stats_only.slug).status_code == 409
    # an agreement that only one side holds (the other ended it) stops the hand-over
    one_sided = city("rfe")
    link(sender, one_sided)
    ended = refer(wb, sender, filed["case_number"], one_sided.slug)
    assert ended.status_code == 201
    from shared.db import service_engine

    with service_engine("whistleblowing", migration=True).begin() as conn:
        conn.execute(
            text("update link_agreements set status = 'ended' where tenant_id = :t"),
            {"t": one_sided.id},
        )
    assert decide(wb, sender, filed["receipt"], ended.json["id"], "consent").status_code == 409
    assert (
        wb.get(
            f"/t/{one_sided.slug}/api/v1/reports",
            headers=headers(wb, one_sided, "wbs_supervisor"),
        ).json["total"]
        == 0
    )


def test_a_referral_of_another_tenant_is_404(wb, cities):
    sender, receiver = cities
    filed = file(wb, sender)
    referral_id = refer(wb, sender, filed["case_number"], receiver.slug).json["id"]
    # another case's receipt in the same city, and the receiving city's own case
    other = file(wb, sender)
    assert decide(wb, sender, other["receipt"], referral_id, "consent").status_code == 404
    theirs = file(wb, receiver)
    assert decide(wb, receiver, theirs["receipt"], referral_id, "consent").status_code == 404
    # the sending case, from the receiving city's officials: 404 like any missing case
    assert (
        wb.post(
            f"/t/{receiver.slug}/api/v1/reports/{filed['case_number']}/referrals",
            json={"partner": sender.slug, "reason": REASON},
            headers=headers(wb, receiver, "wbs_supervisor"),
        ).status_code
        == 404
    )
    # an investigator may not refer
    assert (
        wb.post(
            f"/t/{sender.slug}/api/v1/reports/{filed['case_number']}/referrals",
            json={"partner": receiver.slug, "reason": REASON},
            headers=headers(wb, sender, "wbs_investigator"),
        ).status_code
        == 403
    )


def test_a_sealed_identity_is_resealed_to_the_receiving_custodian(wb, cities):
    from shared import identity as custody
    from shared.db import service_engine, session_factory, tenant_session

    sender, receiver = cities
    filed = file(wb, sender, identity=IDENTITY)
    referral_id = refer(wb, sender, filed["case_number"], receiver.slug).json["id"]
    moved = decide(wb, sender, filed["receipt"], referral_id, "consent").json
    assert moved["identity"] == "awaiting_reseal"
    custodian = headers(wb, sender, "identity_custodian")
    url = f"/t/{sender.slug}/api/v1/referrals/{referral_id}/identity"
    wrong = wb.post(url, json={"passphrase": "not the passphrase"}, headers=custodian)
    assert wrong.status_code == 403
    # the receiving city's custodian cannot do it from there (wrong tenant: 404)
    assert (
        wb.post(
            f"/t/{receiver.slug}/api/v1/referrals/{referral_id}/identity",
            json={"passphrase": f"test-custodian-{receiver.slug}"},
            headers=headers(wb, receiver, "identity_custodian"),
        ).status_code
        == 404
    )
    done = wb.post(url, json={"passphrase": f"test-custodian-{sender.slug}"}, headers=custodian)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.json["identity"] == "resealed"
    assert wb.post(url, json={"passphrase": "x"}, headers=custodian).status_code == 409

    factory = session_factory(service_engine("whistleblowing"))
    with tenant_session(factory, receiver.id) as s:
        row = s.execute(
            text("select id, sealed_identity from wb_reports where case_number = :c"),
            {"c": moved["partner_case_number"]},
        ).one()
        opened = custody.open_identity(
            s, receiver.id, row.id, row.sealed_identity, f"test-custodian-{receiver.slug}"
        )
    assert opened["nik"] == IDENTITY["nik"]
    with tenant_session(factory, sender.id) as s:
        left = s.execute(
            text("select sealed_identity from wb_reports where case_number = :c"),
            {"c": filed["case_number"]},
        ).scalar_one()
    assert left is None  # the identity lives with one custodian only
    # nothing in clear in either city's rows of the referral, or in the outbox
    with service_engine("whistleblowing", migration=True).connect() as conn:
        dumped = " ".join(
            str(r)
            for q in ("select * from wb_referrals", "select payload from outbox")
            for r in conn.execute(text(q)).all()
        )
    assert IDENTITY["nik"] not in dumped and IDENTITY["name"] not in dumped


def sign_in(client, tenant, make_official, csrf_token, *roles):
    import pyotp

    creds = make_official(tenant.slug, *roles)
    resp = client.post(
        f"/t/{tenant.slug}/login",
        environ_base={"REMOTE_ADDR": f"10.78.{uuid.uuid4().int % 250}.7"},
        data={
            "csrf_token": csrf_token(client, f"/t/{tenant.slug}/login"),
            "username": creds.username,
            "password": creds.password,
            "otp": pyotp.TOTP(creds.totp_secret).now(),
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)


def test_office_page_refers_and_the_inbox_page_asks_consent(
    wb_app, wb, cities, make_official, csrf_token
):
    sender, receiver = cities
    filed = file(wb, sender)
    office = wb_app.test_client()
    sign_in(office, sender, make_official, csrf_token, "wbs_supervisor")
    case_url = f"/t/{sender.slug}/whistleblowing/cases/{filed['case_number']}"
    page = office.get(case_url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Rujuk ke kota lain" in html and f'value="{receiver.slug}"' in html
    short = office.post(
        f"{case_url}/referrals",
        data={"partner": receiver.slug, "reason": "x", "csrf_token": csrf_token(office, case_url)},
    )
    assert short.status_code == 303  # refused, said beside the form
    assert "paling sedikit 10 karakter" in office.get(case_url).get_data(as_text=True)
    sent = office.post(
        f"{case_url}/referrals",
        data={
            "partner": receiver.slug,
            "reason": REASON,
            "csrf_token": csrf_token(office, case_url),
        },
    )
    assert sent.status_code == 303 and sent.headers["Location"].endswith(filed["case_number"])
    assert "menunggu persetujuan pelapor" in office.get(case_url).get_data(as_text=True)

    reporter = wb_app.test_client()
    inbox_url = f"/t/{sender.slug}/whistleblowing/inbox"
    opened = reporter.post(
        inbox_url,
        data={"receipt": filed["receipt"], "csrf_token": csrf_token(reporter, inbox_url)},
    )
    html = opened.get_data(as_text=True)
    assert opened.status_code == 200
    assert "Saya setuju pengaduan dirujuk" in html and REASON in html
    referral_id = inbox(wb, sender, filed["receipt"])["referral"]["id"]
    consent = reporter.post(
        f"{inbox_url}/referral",
        data={
            "referral": referral_id,
            "decision": "consent",
            "csrf_token": csrf_token(reporter, inbox_url),
        },
    )
    assert consent.status_code == 303
    after = reporter.get(inbox_url).get_data(as_text=True)
    new_case = inbox(wb, sender, filed["receipt"])["referral"]["followed"]["case_number"]
    assert new_case in after and "Terima kasih. Pengaduan Anda telah diserahkan" in after
    # the reporter writes on the page; the receiving handlers read it
    sent = reporter.post(
        f"{inbox_url}/messages",
        data={"body": "Tambahan dari halaman.", "csrf_token": csrf_token(reporter, inbox_url)},
    )
    assert sent.status_code == 303
    theirs = wb.get(
        f"/t/{receiver.slug}/api/v1/reports/{new_case}",
        headers=headers(wb, receiver, "wbs_supervisor"),
    ).json
    assert [m["body"] for m in theirs["messages"]] == ["Tambahan dari halaman."]


def test_evidence_moves_with_the_case_and_later_files_are_relayed(wb, cities):
    import io

    from tests.support.images import png

    sender, receiver = cities
    filed = file(wb, sender)
    me = {"Authorization": f"Receipt {filed['receipt']}"}

    def upload():
        resp = wb.post(
            f"/t/{sender.slug}/api/v1/inbox/attachments",
            headers=me,
            data={"file": (io.BytesIO(png(40, 30)), "bukti.png")},
            content_type="multipart/form-data",
        )
        assert resp.status_code == 201, resp.get_data(as_text=True)

    upload()
    referral_id = refer(wb, sender, filed["case_number"], receiver.slug).json["id"]
    new_case = decide(wb, sender, filed["receipt"], referral_id, "consent").json[
        "partner_case_number"
    ]
    rx = headers(wb, receiver, "wbs_supervisor")
    theirs = wb.get(f"/t/{receiver.slug}/api/v1/reports/{new_case}", headers=rx).json
    assert [a["media_type"] for a in theirs["attachments"]] == ["image/png"]
    got = wb.get(
        f"/t/{receiver.slug}/api/v1/reports/{new_case}/attachments/{theirs['attachments'][0]['id']}",
        headers=rx,
    )
    assert got.status_code == 200 and got.data.startswith(b"\x89PNG")
    upload()  # after the hand-over: into the receiving case
    theirs = wb.get(f"/t/{receiver.slug}/api/v1/reports/{new_case}", headers=rx).json
    assert len(theirs["attachments"]) == 2
    # the receiving case says where it came from
    came = wb.get(f"/t/{receiver.slug}/api/v1/reports/{new_case}/referrals", headers=rx).json
    assert {k: v for k, v in came["referral"].items() if k != "id"} == {
        "direction": "in",
        "status": "moved",
        "partner": sender.slug,
        "partner_case_number": filed["case_number"],
        "identity": "none",
    }
    # the sending city closes its original case; the reporter still reaches the receiving one
    sx = headers(wb, sender, "wbs_supervisor")
    for step in (
        {"to": "acknowledged"},
        {
            "to": "triaged",
            "outcome": "not_wbs_matter",
            "reason": "Dirujuk ke kota tempat pejabat bekerja.",
            "referral": receiver.slug,
        },
        {"to": "archived"},
    ):
        moved_on = wb.post(
            f"/t/{sender.slug}/api/v1/reports/{filed['case_number']}/transitions",
            json=step,
            headers=sx,
        )
        assert moved_on.status_code == 200, moved_on.get_data(as_text=True)
    sent = wb.post(
        f"/t/{sender.slug}/api/v1/inbox/messages", json={"body": "Masih ada kabar?"}, headers=me
    )
    assert sent.status_code == 201
    theirs = wb.get(f"/t/{receiver.slug}/api/v1/reports/{new_case}", headers=rx).json
    assert [m["body"] for m in theirs["messages"]] == ["Masih ada kabar?"]


def test_the_custodian_reseals_on_a_page_with_the_error_beside_the_passphrase(
    wb_app, wb, cities, make_official, csrf_token
):
    sender, receiver = cities
    filed = file(wb, sender, identity=IDENTITY)
    plain = file(wb, sender)  # an anonymous report: nothing to re-seal, not listed
    for f in (filed, plain):
        referral_id = refer(wb, sender, f["case_number"], receiver.slug).json["id"]
        assert decide(wb, sender, f["receipt"], referral_id, "consent").status_code == 200
    confidential_id = inbox(wb, sender, filed["receipt"])["referral"]["id"]
    custodian = wb_app.test_client()
    sign_in(custodian, sender, make_official, csrf_token, "identity_custodian")
    page_url = f"/t/{sender.slug}/whistleblowing/identity-reseals"
    home = custodian.get(f"/t/{sender.slug}/whistleblowing/office").get_data(as_text=True)
    assert page_url in home and "Segel ulang identitas" in home  # in the custodian's menu
    page = custodian.get(page_url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert filed["case_number"] in html and plain["case_number"] not in html
    form_url = f"{page_url}/{confidential_id}"
    assert f'action="{form_url}"' in html

    wrong = custodian.post(
        form_url, data={"passphrase": "bukan frasa", "csrf_token": csrf_token(custodian, page_url)}
    )
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 403
    assert f'id="passphrase-{confidential_id}-error"' in html and "Frasa sandi tidak benar." in html
    assert 'aria-invalid="true"' in html
    empty = custodian.post(form_url, data={"csrf_token": csrf_token(custodian, page_url)})
    assert empty.status_code == 422
    assert "Ketik frasa sandi pemegang kunci Anda" in empty.get_data(as_text=True)

    done = custodian.post(
        form_url,
        data={
            "passphrase": f"test-custodian-{sender.slug}",
            "csrf_token": csrf_token(custodian, page_url),
        },
    )
    assert done.status_code == 303 and done.headers["Location"].endswith("/identity-reseals")
    after = custodian.get(page_url).get_data(as_text=True)
    assert "Identitas telah disegel ulang untuk" in after
    assert "Tidak ada identitas yang menunggu disegel ulang." in after
    english = custodian.get(f"{page_url}?lang=en").get_data(as_text=True)
    assert "No identity waits to be re-sealed." in english
    new_case = inbox(wb, sender, filed["receipt"])["referral"]["followed"]["case_number"]
    came = wb.get(
        f"/t/{receiver.slug}/api/v1/reports/{new_case}/referrals",
        headers=headers(wb, receiver, "wbs_supervisor"),
    ).json
    assert came["referral"]["identity"] == "resealed"
    # an official who is not a custodian cannot open the page
    other = wb_app.test_client()
    sign_in(other, sender, make_official, csrf_token, "wbs_supervisor")
    assert other.get(page_url).status_code == 403


def test_a_hand_over_whose_sending_commit_failed_is_completed_by_consenting_again(wb, cities):
    """The receiving side commits first (referrals.py); here the sending side's transaction is
    then lost (rolled back instead of committed, as when its commit fails). Consenting again
    finds the receiving case by `partner_referral_id` and only completes the sending side."""
    from sqlalchemy import select

    from services.whistleblowing import referrals
    from services.whistleblowing.models import OutboxRow, Referral, Report
    from shared import event_types as ev
    from shared.db import service_engine, session_factory, tenant_session
    from shared.uow import UnitOfWork

    sender, receiver = cities
    filed = file(wb, sender)
    referral_id = refer(wb, sender, filed["case_number"], receiver.slug).json["id"]
    factory = session_factory(service_engine("whistleblowing"))
    with tenant_session(factory, sender.id) as s:
        uw = UnitOfWork(s, sender, "whistleblowing", OutboxRow)
        report = s.execute(
            select(Report).where(Report.case_number == filed["case_number"])
        ).scalar_one()
        first = referrals.decide(uw, report, uuid.UUID(referral_id), "consent")
        first_case = first.partner_case_number
        assert first.status == "moved" and first_case
        uw.rollback()  # the sending commit never happens

    def receiving_state():
        with service_engine("whistleblowing", migration=True).connect() as conn:
            cases = (
                conn.execute(
                    text("select case_number from wb_reports where tenant_id = :t"),
                    {"t": receiver.id},
                )
                .scalars()
                .all()
            )
            incoming = conn.execute(
                text("select count(*) from wb_referrals where tenant_id = :t"), {"t": receiver.id}
            ).scalar_one()
            handed = conn.execute(
                text(
                    "select count(*) from outbox where tenant_id = :t and payload->>'type' = :type"
                ),
                {"t": receiver.id, "type": ev.WB_REFERRAL_HANDED_OVER},
            ).scalar_one()
        return cases, incoming, handed

    # the receiving city holds the case; the sending city still asks the reporter
    assert receiving_state() == ([first_case], 1, 1)
    asked = inbox(wb, sender, filed["receipt"])["referral"]
    assert asked["status"] == "awaiting_consent"

    again = decide(wb, sender, filed["receipt"], referral_id, "consent")
    assert again.status_code == 200, again.get_data(as_text=True)
    assert again.json["status"] == "moved"
    assert again.json["partner_case_number"] == first_case  # the same case, not a copy
    assert receiving_state() == ([first_case], 1, 1)
    with tenant_session(factory, sender.id) as s:
        out = s.get_one(Referral, uuid.UUID(referral_id))
        assert out.status == "moved" and out.partner_case_number == first_case
    followed = inbox(wb, sender, filed["receipt"])["referral"]["followed"]
    assert followed["case_number"] == first_case
