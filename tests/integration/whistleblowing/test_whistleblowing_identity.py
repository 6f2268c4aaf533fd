"""Identity disclosure: a written request, custodian approval with the passphrase (one or two
approvers per tenant), the reporter told first, the requester shown the identity once."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine, text

IDENTITY = {
    "name": "Siti Pelapor",
    "nik": "3277014502900003",
    "phone": "+62 811 2222 3333",
    "email": "siti@example.org",
}


@pytest.fixture
def custodian_passphrase(stack, demo_tenants):
    """The passphrase of a tenant's identity custodian (tests/conftest.py gives the demo
    tenants one; `new_city(..., custodian=True)` below does the same)."""
    return lambda slug: f"test-custodian-{slug}"


def new_city(demo_tenants, custodian: bool = True, **wb_settings):
    import copy

    from operations import tenant_apply
    from shared.tenant_config import parse

    data = copy.deepcopy(demo_tenants["cimahi"].data)
    data.pop("id")
    data["slug"] = f"wbi-{uuid.uuid4().hex[:10]}"
    data["services"]["whistleblowing"].update(wb_settings)
    config = parse(data, "test")
    tenant_apply.apply(config)
    if custodian:
        from operations import key_admin

        key_admin.ensure_custodian(config.id, f"test-custodian-{config.slug}")
    return config


def addr():
    return {"REMOTE_ADDR": f"10.99.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"}


def confidential_case(wb, base, official, requester_id):
    filed = wb.post(
        f"{base}/reports",
        json={
            "category": "korupsi",
            "what": "Mark-up anggaran pengadaan laptop.",
            "identity": IDENTITY,
        },
    ).json
    case = filed["case_number"]
    for to, extra in (("acknowledged", {}), ("triaged", {"outcome": "accepted"})):
        assert (
            wb.post(
                f"{base}/reports/{case}/transitions",
                json={"to": to, **extra},
                headers=official("wbs_supervisor"),
            ).status_code
            == 200
        )
    return filed


def test_identity_is_disclosed_once_after_approval_and_the_reporter_is_told(
    wb, demo_tenants, official_token, make_official, custodian_passphrase
):
    city = demo_tenants["cimahi"]
    base = "/t/cimahi/api/v1"
    inv = make_official("cimahi", "wbs_investigator")
    investigator = {
        "Authorization": official_token(
            wb.application, city, "wbs_investigator", official_id=inv.official_id
        )
    }
    custodian = {"Authorization": official_token(wb.application, city, "identity_custodian")}

    def supervisor(role):
        return {"Authorization": official_token(wb.application, city, role)}

    filed = confidential_case(wb, base, supervisor, inv.official_id)
    case, me = filed["case_number"], {"Authorization": f"Receipt {filed['receipt']}"}
    assert (
        wb.post(
            f"{base}/reports/{case}/assignments",
            headers=supervisor("wbs_supervisor"),
            json={"official_id": str(inv.official_id)},
        ).status_code
        == 201
    )

    short = wb.post(
        f"{base}/reports/{case}/identity-requests", headers=investigator, json={"reason": "perlu"}
    )
    assert short.status_code == 422 and short.json["errors"][0]["field"] == "reason"
    asked = wb.post(
        f"{base}/reports/{case}/identity-requests",
        headers=investigator,
        json={"reason": "Pelapor adalah saksi kunci; perlu dimintai keterangan."},
    )
    assert asked.status_code == 201
    request_id = asked.json["id"]
    pending = wb.get(f"{base}/identity-requests", headers=custodian).json["items"]
    assert any(p["id"] == request_id and p["case_number"] == case for p in pending)
    assert (
        wb.get(f"{base}/identity-requests/{request_id}", headers=investigator).status_code == 409
    )  # not approved yet

    wrong = wb.post(
        f"{base}/identity-requests/{request_id}/decisions",
        headers=custodian,
        json={"decision": "approve", "passphrase": "not the passphrase"},
    )
    assert wrong.status_code == 403
    inbox = wb.get(f"{base}/inbox", headers=me, environ_base=addr()).json
    assert not [m for m in inbox["messages"] if m.get("notice")]

    ok = wb.post(
        f"{base}/identity-requests/{request_id}/decisions",
        headers=custodian,
        json={"decision": "approve", "passphrase": custodian_passphrase("cimahi")},
    )
    assert ok.status_code == 200, ok.get_data(as_text=True)
    assert ok.json["status"] == "approved"
    inbox = wb.get(f"{base}/inbox", headers=me, environ_base=addr()).json
    assert [m["notice"] for m in inbox["messages"] if m.get("notice")] == ["identity_disclosed"]

    other = {"Authorization": official_token(wb.application, city, "wbs_supervisor")}
    assert wb.get(f"{base}/identity-requests/{request_id}", headers=other).status_code == 404
    shown = wb.get(f"{base}/identity-requests/{request_id}", headers=investigator)
    assert shown.status_code == 200 and shown.json["identity"] == IDENTITY
    assert wb.get(f"{base}/identity-requests/{request_id}", headers=investigator).status_code == 410

    import os

    owner = create_engine(os.environ["WHISTLEBLOWING_MIGRATION_DATABASE_URL"])
    with owner.connect() as conn:
        dump = " ".join(
            str(r)
            for t in ("wb_reports", "wb_identity_requests", "outbox")
            for r in conn.execute(text(f"select * from {t}"))
        )
        types = [
            p["type"]
            for (p,) in conn.execute(
                text("select payload from outbox where key = :k order by seq"),
                {"k": f"cimahi:{case}"},
            )
        ]
    owner.dispose()
    for value in IDENTITY.values():
        assert value not in dump
    assert types[-3:] == [
        "whistleblowing.identity.requested.v1",
        "whistleblowing.identity.decided.v1",
        "whistleblowing.identity.viewed.v1",
    ]


def test_two_approvers_when_the_tenant_asks_for_them(
    wb, demo_tenants, official_token, make_official, custodian_passphrase
):
    city = new_city(demo_tenants, identity_disclosure_approvers=2)
    base = f"/t/{city.slug}/api/v1"

    def official(role):
        return {"Authorization": official_token(wb.application, city, role)}

    # a real, active official: approving needs the requester's current standing (issue 16)
    requester_id = make_official(city.slug, "wbs_supervisor").official_id
    investigator = {
        "Authorization": official_token(
            wb.application, city, "wbs_supervisor", official_id=requester_id
        )
    }
    case = confidential_case(wb, base, official, requester_id)["case_number"]
    request_id = wb.post(
        f"{base}/reports/{case}/identity-requests",
        headers=investigator,
        json={"reason": "Diperlukan untuk pemeriksaan saksi."},
    ).json["id"]
    # the requester cannot approve their own request
    own = {
        "Authorization": official_token(
            wb.application, city, "identity_custodian", official_id=requester_id
        )
    }
    assert (
        wb.post(
            f"{base}/identity-requests/{request_id}/decisions",
            headers=own,
            json={"decision": "approve"},
        ).status_code
        == 409
    )
    first = official("identity_custodian")
    one = wb.post(
        f"{base}/identity-requests/{request_id}/decisions",
        headers=first,
        json={"decision": "approve"},
    )
    assert one.status_code == 200 and one.json == {**one.json, "status": "pending", "approvals": 1}
    assert (
        wb.post(
            f"{base}/identity-requests/{request_id}/decisions",
            headers=first,
            json={"decision": "approve"},
        ).status_code
        == 409
    )
    second = official("identity_custodian")
    two = wb.post(
        f"{base}/identity-requests/{request_id}/decisions",
        headers=second,
        json={"decision": "approve", "passphrase": custodian_passphrase(city.slug)},
    )
    assert two.status_code == 200 and two.json["status"] == "approved"
    assert (
        wb.get(f"{base}/identity-requests/{request_id}", headers=investigator).json["identity"][
            "nik"
        ]
        == IDENTITY["nik"]
    )


def test_a_city_without_a_custodian_refuses_an_identity_but_takes_anonymous_reports(
    wb, demo_tenants
):
    city = new_city(demo_tenants, custodian=False)
    base = f"/t/{city.slug}/api/v1"
    refused = wb.post(
        f"{base}/reports",
        json={"category": "korupsi", "what": "Dengan nama saya.", "identity": IDENTITY},
    )
    assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "identity"
    assert (
        wb.post(
            f"{base}/reports", json={"category": "korupsi", "what": "Tanpa nama saya."}
        ).status_code
        == 201
    )


def test_an_anonymous_report_has_no_identity_to_request(
    wb, demo_tenants, official_token, make_report
):
    city = demo_tenants["cimahi"]
    base = "/t/cimahi/api/v1"
    boss = {"Authorization": official_token(wb.application, city, "wbs_supervisor")}
    case = make_report("cimahi", what="Anonim tanpa identitas.")["case_number"]
    resp = wb.post(
        f"{base}/reports/{case}/identity-requests",
        headers=boss,
        json={"reason": "Ingin tahu siapa pelapornya."},
    )
    assert resp.status_code == 409


def test_a_rejected_request_discloses_nothing(wb, demo_tenants, official_token, make_report):
    city = demo_tenants["cimahi"]
    base = "/t/cimahi/api/v1"
    requester = uuid.uuid4()
    boss = {
        "Authorization": official_token(
            wb.application, city, "wbs_supervisor", official_id=requester
        )
    }
    filed = make_report("cimahi", what="Dengan identitas.", identity=IDENTITY)
    request_id = wb.post(
        f"{base}/reports/{filed['case_number']}/identity-requests",
        headers=boss,
        json={"reason": "Alasan yang cukup panjang."},
    ).json["id"]
    custodian = {"Authorization": official_token(wb.application, city, "identity_custodian")}
    rejected = wb.post(
        f"{base}/identity-requests/{request_id}/decisions",
        headers=custodian,
        json={"decision": "reject"},
    )
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert wb.get(f"{base}/identity-requests/{request_id}", headers=boss).status_code == 409
    inbox = wb.get(
        f"{base}/inbox",
        headers={"Authorization": f"Receipt {filed['receipt']}"},
        environ_base=addr(),
    ).json
    assert not [m for m in inbox["messages"] if m.get("notice")]


def test_the_disclosure_flow_through_the_pages(
    wb_app, make_official, csrf_token, custodian_passphrase
):
    import re

    from tests.support.whistleblowing import P, sign_in

    citizen = wb_app.test_client()
    filed = citizen.post(
        "/t/cimahi/api/v1/reports",
        json={
            "category": "korupsi",
            "what": "Suap dalam perizinan bangunan.",
            "identity": IDENTITY,
        },
    )
    case = filed.json["case_number"]

    requester = wb_app.test_client()
    sign_in(requester, make_official, csrf_token, "wbs_supervisor")
    page = requester.get(f"{P}/cases/{case}").get_data(as_text=True)
    assert "Minta identitas" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert (
        requester.post(
            f"{P}/cases/{case}/identity-requests",
            data={"csrf_token": token, "reason": "Saksi kunci untuk pemeriksaan."},
        ).status_code
        == 303
    )
    page = requester.get(f"{P}/cases/{case}").get_data(as_text=True)
    assert "Menunggu pemegang kunci" in page

    custodian = wb_app.test_client()
    sign_in(custodian, make_official, csrf_token, "identity_custodian")
    listing = custodian.get("/t/cimahi/whistleblowing/identity-requests").get_data(as_text=True)
    assert case in listing and "Saksi kunci untuk pemeriksaan." in listing
    request_id = re.search(
        r"identity-requests/([0-9a-f-]{36})/decisions", listing.split(case)[1]
    ).group(1)
    ctoken = re.search(r'name="csrf_token" value="([^"]+)"', listing).group(1)
    wrong = custodian.post(
        f"/t/cimahi/whistleblowing/identity-requests/{request_id}/decisions",
        data={"csrf_token": ctoken, "decision": "approve", "passphrase": "salah"},
        follow_redirects=True,
    )
    assert "Frasa sandi tidak benar." in wrong.get_data(as_text=True)
    ok = custodian.post(
        f"/t/cimahi/whistleblowing/identity-requests/{request_id}/decisions",
        data={
            "csrf_token": ctoken,
            "decision": "approve",
            "passphrase": custodian_passphrase("cimahi"),
        },
        follow_redirects=True,
    )
    assert "pelapor telah diberi tahu" in ok.get_data(as_text=True)

    page = requester.get(f"{P}/cases/{case}").get_data(as_text=True)
    assert "Tampilkan identitas" in page
    shown = requester.post(
        f"/t/cimahi/whistleblowing/identity-requests/{request_id}/view", data={"csrf_token": token}
    )
    assert shown.status_code == 200 and IDENTITY["nik"] in shown.get_data(as_text=True)
    assert shown.headers["Cache-Control"] == "no-store"
    again = requester.post(
        f"/t/cimahi/whistleblowing/identity-requests/{request_id}/view", data={"csrf_token": token}
    )
    assert again.status_code == 410 and IDENTITY["nik"] not in again.get_data(as_text=True)


# --- issue 16, item 3: a recused or reassigned official no longer reads the identity ----------


def _asked_and_assigned(wb, city, official_token, make_official, base="/t/cimahi/api/v1"):
    """A confidential case assigned to a real investigator who asked for the identity."""
    inv = make_official(city.slug, "wbs_investigator")
    investigator = {
        "Authorization": official_token(
            wb.application, city, "wbs_investigator", official_id=inv.official_id
        )
    }
    boss = {"Authorization": official_token(wb.application, city, "wbs_supervisor")}
    case = confidential_case(wb, base, lambda role: boss, inv.official_id)["case_number"]
    assigned = wb.post(
        f"{base}/reports/{case}/assignments",
        headers=boss,
        json={"official_id": str(inv.official_id)},
    )
    assert assigned.status_code == 201, assigned.get_data(as_text=True)
    asked = wb.post(
        f"{base}/reports/{case}/identity-requests",
        headers=investigator,
        json={"reason": "Pelapor adalah saksi kunci; perlu dimintai keterangan."},
    )
    assert asked.status_code == 201, asked.get_data(as_text=True)
    return case, asked.json["id"], inv, investigator, boss


def _request_row(request_id):
    import os

    owner = create_engine(os.environ["WHISTLEBLOWING_MIGRATION_DATABASE_URL"])
    with owner.connect() as conn:
        row = conn.execute(
            text("select status, disclosure from wb_identity_requests where id = :i"),
            {"i": request_id},
        ).one()
    owner.dispose()
    return row


def _approve(wb, base, request_id, official_token, city, passphrase, expect=200):
    custodian = {"Authorization": official_token(wb.application, city, "identity_custodian")}
    resp = wb.post(
        f"{base}/identity-requests/{request_id}/decisions",
        headers=custodian,
        json={"decision": "approve", "passphrase": passphrase},
    )
    assert resp.status_code == expect, resp.get_data(as_text=True)
    return resp


def test_a_requester_recused_after_approval_never_reads_the_identity(
    wb, demo_tenants, official_token, make_official, custodian_passphrase
):
    city, base = demo_tenants["cimahi"], "/t/cimahi/api/v1"
    case, request_id, inv, investigator, boss = _asked_and_assigned(
        wb, city, official_token, make_official
    )
    _approve(wb, base, request_id, official_token, city, custodian_passphrase("cimahi"))
    assert _request_row(request_id).disclosure is not None  # the copy waits for the requester

    recused = wb.post(
        f"{base}/reports/{case}/recusals",
        headers=boss,
        json={"official_id": str(inv.official_id), "reason": "Kerabat terlapor."},
    )
    assert recused.status_code == 201, recused.get_data(as_text=True)
    assert wb.get(f"{base}/reports/{case}", headers=investigator).status_code == 404
    shown = wb.get(f"{base}/identity-requests/{request_id}", headers=investigator)
    assert shown.status_code in (404, 409) and IDENTITY["nik"] not in shown.get_data(as_text=True)
    row = _request_row(request_id)
    assert row.status == "cancelled" and row.disclosure is None  # the copy is wiped


def test_reassigning_the_case_cancels_the_pending_request(
    wb, demo_tenants, official_token, make_official, custodian_passphrase
):
    city, base = demo_tenants["cimahi"], "/t/cimahi/api/v1"
    case, request_id, inv, investigator, boss = _asked_and_assigned(
        wb, city, official_token, make_official
    )
    other = make_official("cimahi", "wbs_investigator")
    moved = wb.post(
        f"{base}/reports/{case}/assignments",
        headers=boss,
        json={"official_id": str(other.official_id)},
    )
    assert moved.status_code == 201
    assert _request_row(request_id).status == "cancelled"
    custodian = {"Authorization": official_token(wb.application, city, "identity_custodian")}
    pending = wb.get(f"{base}/identity-requests", headers=custodian).json["items"]
    assert request_id not in [p["id"] for p in pending]
    _approve(wb, base, request_id, official_token, city, custodian_passphrase("cimahi"), 409)
    assert wb.get(f"{base}/identity-requests/{request_id}", headers=investigator).status_code in (
        404,
        409,
    )


def test_the_custodian_sees_the_requesters_standing_and_cannot_approve_without_it(
    wb, demo_tenants, official_token, make_official, custodian_passphrase
):
    from operations import official_admin

    city, base = demo_tenants["cimahi"], "/t/cimahi/api/v1"
    case, request_id, inv, investigator, boss = _asked_and_assigned(
        wb, city, official_token, make_official
    )
    custodian = {"Authorization": official_token(wb.application, city, "identity_custodian")}

    def standing():
        items = wb.get(f"{base}/identity-requests", headers=custodian).json["items"]
        return next(p["requester_standing"] for p in items if p["id"] == request_id)

    assert standing() == "may_handle"
    official_admin.set_active("cimahi", inv.username, False)
    assert standing() == "inactive"
    refused = _approve(
        wb, base, request_id, official_token, city, custodian_passphrase("cimahi"), 409
    )
    assert refused.json["requester_standing"] == "inactive"
    assert _request_row(request_id).disclosure is None


def test_an_approved_copy_expires_after_the_tenants_days(
    wb, demo_tenants, official_token, make_official, custodian_passphrase
):
    from services.whistleblowing import retention

    city = new_city(demo_tenants, identity_disclosure_valid_days=2)
    base = f"/t/{city.slug}/api/v1"
    case, request_id, inv, investigator, boss = _asked_and_assigned(
        wb, city, official_token, make_official, base
    )
    _approve(wb, base, request_id, official_token, city, custodian_passphrase(city.slug))
    import os

    owner = create_engine(os.environ["WHISTLEBLOWING_MIGRATION_DATABASE_URL"])
    with owner.begin() as conn:
        conn.execute(
            text(
                "update wb_identity_requests set decided_at = now() - interval '3 days' "
                "where id = :i"
            ),
            {"i": request_id},
        )
    owner.dispose()
    late = wb.get(f"{base}/identity-requests/{request_id}", headers=investigator)
    assert late.status_code == 410 and IDENTITY["nik"] not in late.get_data(as_text=True)
    retention.run_once()
    row = _request_row(request_id)
    assert row.status == "expired" and row.disclosure is None
