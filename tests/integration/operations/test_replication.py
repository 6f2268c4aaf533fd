"""Replication on the real stack: request -> approval by the hosting city's tenant admin ->
a new tenant that works at once on every service, isolated from the others; one-time
onboarding with forced TOTP; resumable provisioning; suspended tenants are read-only."""

from __future__ import annotations

import re
import shutil
import time
import uuid
from types import SimpleNamespace

import pyotp
import pytest
from click.testing import CliRunner
from sqlalchemy import text

from shared.db import service_engine
from shared.tenant_config import tenant_id_for
from tests.support import ROOT

HOST = "/t/bandung/api/v1/replication"
CONTACT_NAME, CONTACT_EMAIL = "Dewi Lestari Kartika", "dewi.kartika@garutkab.go.id"


@pytest.fixture
def tenants_dir(tmp_path, monkeypatch):
    """A temporary tenants directory: tests never write into the repository's tenants/."""
    for slug in ("bandung", "cimahi"):
        shutil.copy(ROOT / "tenants" / f"{slug}.yaml", tmp_path / f"{slug}.yaml")
    monkeypatch.setenv("REPLIKA_TENANTS_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture(autouse=True)
def own_address(wb):
    """Each test posts from its own client address: requests are limited per address."""
    wb.environ_base["REMOTE_ADDR"] = f"10.77.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


@pytest.fixture
def host_admin(wb, make_official, api_login):
    creds = make_official("bandung", "tenant_admin")
    return {"Authorization": api_login(wb, "bandung", creds)}


def request_body(slug: str, **overrides) -> dict:
    return {
        "region_name": f"Pemerintah Kabupaten {slug.title()}",
        "region_code": "32.05",
        "slug": slug,
        "contact_name": CONTACT_NAME,
        "contact_email": CONTACT_EMAIL,
        "applications": ["whistleblowing", "hibah_bansos"],
        "agreement_number": "PKS/027/HUK/2026",
        "agreement_date": "2026-01-15",
        "template": "cimahi",
        **overrides,
    }


def outbox(types_prefix: str = "platform.") -> list[dict]:
    with service_engine("whistleblowing", migration=True).connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                text("select payload from outbox where type like :p order by seq"),
                {"p": types_prefix + "%"},
            )
        ]


def unique_slug(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_catalogue_is_public_on_the_host_only(wb, tenants_dir):
    resp = wb.get(f"{HOST}/catalogue")
    assert resp.status_code == 200
    apps = {a["code"]: a for a in resp.json["applications"]}
    assert set(apps) == {"whistleblowing", "hibah_bansos"}
    assert apps["whistleblowing"]["description"]["id"] and apps["hibah_bansos"]["name"]["en"]
    assert {"bandung", "cimahi"} <= {t["slug"] for t in resp.json["templates"]}
    assert wb.get("/t/cimahi/api/v1/replication/catalogue").status_code == 404
    page = wb.get("/t/bandung/replication?lang=en")
    assert page.status_code == 200 and "Grants and social aid" in page.get_data(as_text=True)


def test_invalid_request_names_every_wrong_field(wb, tenants_dir):
    resp = wb.post(
        f"{HOST}/requests",
        json=request_body(
            "garut",
            region_code="3205x",
            contact_email="not-mail",
            applications=["email"],
            agreement_date="2099-01-01",
            template="atlantis",
        ),
    )
    assert resp.status_code == 422 and resp.content_type == "application/problem+json"
    fields = {e["field"] for e in resp.json["errors"]}
    assert fields == {"region_code", "contact_email", "applications", "agreement_date", "template"}
    taken = wb.post(f"{HOST}/requests", json=request_body("cimahi"))
    assert taken.status_code == 409 and taken.json["errors"][0]["field"] == "slug"


def test_request_review_requires_the_host_s_tenant_admin(
    wb, tenants_dir, official_token, demo_tenants
):
    slug = unique_slug("sumedang")
    req_id = wb.post(f"{HOST}/requests", json=request_body(slug)).json["request_id"]
    assert wb.get(f"{HOST}/requests").status_code == 401
    intake = official_token(wb.application, demo_tenants["bandung"], "wbs_intake")
    assert wb.get(f"{HOST}/requests", headers={"Authorization": intake}).status_code == 403
    foreign = official_token(wb.application, demo_tenants["cimahi"], "tenant_admin")
    assert (
        wb.get(f"{HOST}/requests/{req_id}", headers={"Authorization": foreign}).status_code == 404
    )
    assert (
        wb.post(
            f"{HOST}/requests/{req_id}/decision",
            json={"approve": True},
            headers={"Authorization": foreign},
        ).status_code
        == 404
    )
    # cimahi is no host: its own admin has no portal either
    assert (
        wb.get(
            "/t/cimahi/api/v1/replication/requests", headers={"Authorization": foreign}
        ).status_code
        == 404
    )


def test_reject_needs_a_reason_and_is_audited(wb, tenants_dir, host_admin):
    slug = unique_slug("ciamis")
    req_id = wb.post(f"{HOST}/requests", json=request_body(slug)).json["request_id"]
    no_reason = wb.post(
        f"{HOST}/requests/{req_id}/decision", json={"approve": False}, headers=host_admin
    )
    assert no_reason.status_code == 422 and no_reason.json["errors"][0]["field"] == "reason"
    resp = wb.post(
        f"{HOST}/requests/{req_id}/decision",
        json={"approve": False, "reason": "Belum ada PKS yang ditandatangani."},
        headers=host_admin,
    )
    assert resp.status_code == 200 and resp.json["status"] == "rejected"
    assert not (tenants_dir / f"{slug}.yaml").exists()
    assert wb.get(f"/t/{slug}/api/v1/tenant").status_code == 404
    rejected = [
        e for e in outbox("platform.replication.rejected") if e["data"]["request_id"] == req_id
    ]
    assert len(rejected) == 1 and "PKS" not in str(rejected[0])  # only the reason's digest
    again = wb.post(
        f"{HOST}/requests/{req_id}/decision", json={"approve": True}, headers=host_admin
    )
    assert again.status_code == 409


def test_request_to_working_tenant_with_one_time_onboarding(
    wb, hb, wb_app, tenants_dir, host_admin, api_login
):
    slug = "garut"
    started = time.monotonic()
    resp = wb.post(f"{HOST}/requests", json=request_body(slug))
    assert resp.status_code == 201 and resp.json["status"] == "pending"
    req_id = resp.json["request_id"]

    # personal data: encrypted at rest, absent from events; the reviewer sees it
    with service_engine("whistleblowing", migration=True).connect() as conn:
        stored = conn.execute(
            text("select contact from replication_requests where id = :i"), {"i": req_id}
        ).scalar()
    assert CONTACT_EMAIL.encode() not in bytes(stored)
    listed = wb.get(f"{HOST}/requests?status=pending", headers=host_admin)
    mine = [r for r in listed.json["items"] if r["request_id"] == req_id]
    assert mine[0]["contact"] == {"name": CONTACT_NAME, "email": CONTACT_EMAIL}

    approved = wb.post(
        f"{HOST}/requests/{req_id}/decision",
        json={"approve": True, "reason": "PKS ditandatangani"},
        headers=host_admin,
    )
    assert approved.status_code == 200, approved.get_data(as_text=True)
    assert approved.json["status"] == "provisioned"
    assert approved.json["steps"] == ["tenant_file", "applied", "keys", "admin", "onboarding"]
    with service_engine("audit", migration=True).connect() as conn:  # ledger key ready
        assert (
            conn.execute(
                text("select count(*) from audit_keys where tenant_id = :t"),
                {"t": str(tenant_id_for(slug))},
            ).scalar()
            == 1
        )
    link = approved.json["onboarding_url"]
    assert re.fullmatch(rf"/t/{slug}/onboarding/[A-Za-z0-9_-]{{40,}}", link)

    # the tenant file, from the template, in the configured directory only
    written = (tenants_dir / f"{slug}.yaml").read_text()
    assert "Pemerintah Kabupaten Garut" in written and "korupsi" in written
    assert not (ROOT / "tenants" / f"{slug}.yaml").exists()

    # works at once on both services (no restart), with its own name
    for client in (wb, hb):
        info = client.get(f"/t/{slug}/api/v1/tenant")
        assert info.status_code == 200 and info.json["slug"] == slug
        assert info.json["display_name"] == "Kabupaten Garut"
    for other in ("bandung", "cimahi"):
        assert wb.get(f"/t/{other}/api/v1/tenant").json["slug"] == other

    # events: requested, approved, provisioned on the host; none with the contact's data
    mine = [e for e in outbox() if e["subject"] == f"replication:{req_id}"]
    assert [e["type"] for e in mine] == [
        "platform.replication.requested.v1",
        "platform.replication.approved.v1",
        "platform.tenant.provisioned.v1",
    ]
    assert all(e["tenant"] == "bandung" for e in mine)
    assert CONTACT_EMAIL not in str(outbox()) and CONTACT_NAME not in str(outbox())

    # re-running is a no-op; no second link
    again = wb.post(f"{HOST}/requests/{req_id}/provision", headers=host_admin)
    assert again.status_code == 200 and "onboarding_url" not in again.json

    g = wb_app.test_client()  # the contact official's browser
    exchanged = g.get(link)  # the link's token is spent for this browser's session ...
    assert exchanged.status_code == 303
    page = exchanged.headers["Location"]
    assert page.endswith(f"/t/{slug}/onboarding") and link.rsplit("/", 1)[1] not in page
    assert wb_app.test_client().get(link).status_code == 410  # ... so a logged link is dead
    form = g.get(page)
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', html).group(1)
    assert f"otpauth://totp/Replika:admin%40{slug}" in html.replace("&amp;", "&")
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    password = "garut-admin-" + uuid.uuid4().hex[:12]
    weak = g.post(
        page,
        data={
            "csrf_token": token,
            "password": "short",
            "password_confirm": "short",
            "otp": pyotp.TOTP(secret).now(),
        },
    )
    assert weak.status_code == 422
    wrong_code = g.post(
        page,
        data={
            "csrf_token": token,
            "password": password,
            "password_confirm": password,
            "otp": "000000",
        },
    )
    assert wrong_code.status_code == 422  # TOTP enrolment is not optional
    code = pyotp.TOTP(secret).now()
    done = g.post(
        page,
        data={"csrf_token": token, "password": password, "password_confirm": password, "otp": code},
        follow_redirects=True,  # signed in, on the admin's home
    )
    assert done.status_code == 200, done.get_data(as_text=True)
    # the custodian's key is the custodian's: no passphrase or recovery secret for the admin
    finished = done.get_data(as_text=True)
    assert "RK-" not in finished and f"/t/{slug}/whistleblowing/custodian" in finished
    with service_engine("whistleblowing", migration=True).connect() as conn:
        assert not conn.execute(
            text(
                "select 1 from custodian_keys where tenant_id = "
                "(select id from tenants where slug = :s)"
            ),
            {"s": slug},
        ).first()
    assert g.get(link).status_code == 410  # once only
    assert g.get(page).status_code == 410
    assert wb_app.test_client().post(link, data={"csrf_token": token}).status_code in (400, 410)

    # sign in with 2FA on both services (the enrolment code itself cannot be replayed)
    creds = SimpleNamespace(username="admin", password=password, totp_secret=secret)
    replay = wb.post(
        f"/t/{slug}/api/v1/auth/token",
        json={"username": "admin", "password": password, "otp": code},
    )
    assert replay.status_code == 401
    totp, next_step = pyotp.TOTP(secret), int(time.time() // 30) + 1
    next_code = totp.generate_otp(next_step)
    bearer = api_login(wb, slug, creds, otp=next_code)
    me = wb.get(f"/t/{slug}/api/v1/auth/me", headers={"Authorization": bearer})
    assert me.json["roles"] == ["tenant_admin"] and me.json["tenant"] == slug
    # a code is taken once for all services: the one just used at whistleblowing is refused
    replay_hb = hb.post(
        f"/t/{slug}/api/v1/auth/token",
        json={"username": "admin", "password": password, "otp": next_code},
    )
    assert replay_hb.status_code == 401
    while int(time.time() // 30) < next_step:  # the step after next is accepted from then on
        time.sleep(1)
    bearer_hb = api_login(hb, slug, creds, otp=totp.generate_otp(next_step + 1))
    assert (
        hb.get(f"/t/{slug}/api/v1/auth/me", headers={"Authorization": bearer_hb}).status_code == 200
    )
    onboarded = [e for e in outbox("platform.tenant.onboarded") if e["tenant"] == slug]
    assert len(onboarded) == 1

    # isolation both ways: tokens of one city mean nothing in another
    for other in ("bandung", "cimahi"):
        assert (
            wb.get(f"/t/{other}/api/v1/auth/me", headers={"Authorization": bearer}).status_code
            == 404
        )
    assert wb.get(f"/t/{slug}/api/v1/auth/me", headers=host_admin).status_code == 404
    assert (
        wb.get(
            f"/t/{slug}/api/v1/replication/requests", headers={"Authorization": bearer}
        ).status_code
        == 404
    )  # garut hosts nothing

    # a citizen can file a report in the new city
    filed = wb.post(
        f"/t/{slug}/api/v1/reports",
        json={"category": "korupsi", "what": "Pungutan di loket perizinan tanpa dasar hukum."},
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    assert time.monotonic() - started < 300


def test_interrupted_provisioning_resumes_where_it_stopped(
    wb, tenants_dir, host_admin, monkeypatch
):
    from operations.replication import provisioning

    slug = unique_slug("kuningan")
    req_id = wb.post(
        f"{HOST}/requests", json=request_body(slug, applications=["whistleblowing"])
    ).json["request_id"]
    real_keys = provisioning._step_keys
    calls = []

    def broken(tenant_id):
        calls.append(tenant_id)
        raise ConnectionError("database went away")

    monkeypatch.setattr(provisioning, "_step_keys", broken)
    resp = wb.post(f"{HOST}/requests/{req_id}/decision", json={"approve": True}, headers=host_admin)
    assert resp.status_code == 503 and resp.content_type == "application/problem+json"
    assert resp.json["steps"] == ["tenant_file", "applied"]
    monkeypatch.setattr(provisioning, "_step_keys", real_keys)
    resumed = wb.post(f"{HOST}/requests/{req_id}/provision", headers=host_admin)
    assert resumed.status_code == 200, resumed.get_data(as_text=True)
    assert resumed.json["steps"] == list(provisioning.STEPS)
    assert resumed.json["onboarding_url"].startswith(f"/t/{slug}/onboarding/")
    assert wb.get(f"/t/{slug}/api/v1/tenant").json["services"] == ["whistleblowing"]
    with service_engine("whistleblowing", migration=True).connect() as conn:
        keys = conn.execute(
            text(
                "select count(*) from tenant_keys where tenant_id = "
                "(select id from tenants where slug = :s) and active"
            ),
            {"s": slug},
        ).scalar()
    assert keys == 3
    # a lost link can be replaced; the old one stops working
    old = resumed.json["onboarding_url"]
    new = wb.post(f"{HOST}/requests/{req_id}/onboarding-link", headers=host_admin)
    assert new.status_code == 200 and new.json["onboarding_url"] != old
    assert wb.get(old).status_code == 410
    assert wb.get(new.json["onboarding_url"], follow_redirects=True).status_code == 200


def test_suspended_tenant_refuses_writes_and_serves_reads(
    wb, hb, wb_app, hb_app, tenants_dir, host_admin
):
    from operations import tenant_apply
    from operations.cli import main
    from shared.tenant_config import load_file

    slug = unique_slug("sumedang")
    runner = CliRunner()
    made = runner.invoke(
        main,
        [
            "tenant",
            "new",
            slug,
            "--from",
            "cimahi",
            "--name",
            "Pemerintah Kabupaten Sumedang",
            "--region-code",
            "32.11",
        ],
    )
    assert made.exit_code == 0, made.output
    tenant_apply.apply(load_file(tenants_dir / f"{slug}.yaml"))
    report = {"category": "korupsi", "what": "Pungutan liar di pasar kecamatan setiap pagi."}

    def refresh():
        for app in (wb_app, hb_app):
            app.extensions["replika"]["tenants"].clear()  # instead of waiting 5 s

    out = runner.invoke(main, ["tenant", "suspend", slug])
    assert out.exit_code == 0 and "suspended" in out.output, out.output
    refresh()
    refused = wb.post(f"/t/{slug}/api/v1/reports", json=report)
    assert refused.status_code == 503 and refused.content_type == "application/problem+json"
    assert "suspended" in refused.json["detail"]
    assert hb.post(f"/t/{slug}/api/v1/applicants", json={}).status_code == 503
    assert wb.get(f"/t/{slug}/api/v1/tenant").status_code == 200
    assert hb.get(f"/t/{slug}/api/v1/tenant").status_code == 200
    page = wb.get(f"/t/{slug}/whistleblowing?lang=en")
    assert page.status_code == 200 and "temporarily suspended" in page.get_data(as_text=True)
    assert "sedang ditangguhkan" in wb.get(f"/t/{slug}/whistleblowing?lang=id").get_data(
        as_text=True
    )  # Bahasa Indonesia first
    assert wb.post("/t/cimahi/api/v1/reports", json=report).status_code == 201  # others write
    assert [e["type"] for e in outbox("platform.tenant.s") if e["tenant"] == slug] == [
        "platform.tenant.suspended.v1"
    ]
    assert (
        runner.invoke(main, ["tenant", "suspend", slug])
        .output.strip()
        .endswith("already suspended")
    )

    assert runner.invoke(main, ["tenant", "resume", slug]).exit_code == 0
    refresh()
    assert wb.post(f"/t/{slug}/api/v1/reports", json=report).status_code == 201
    assert "temporarily suspended" not in wb.get(f"/t/{slug}/whistleblowing?lang=en").get_data(
        as_text=True
    )
    assert runner.invoke(main, ["tenant", "suspend", "no-such-city"]).exit_code != 0


def test_requests_are_limited_per_address(wb, tenants_dir):
    """Five accepted requests a day from one address; the sixth waits (429, Retry-After);
    another address is not affected."""
    for _ in range(5):
        resp = wb.post(f"{HOST}/requests", json=request_body(unique_slug("kab")))
        assert resp.status_code == 201, resp.get_data(as_text=True)
    refused = wb.post(f"{HOST}/requests", json=request_body(unique_slug("kab")))
    assert refused.status_code == 429 and refused.content_type == "application/problem+json"
    assert int(refused.headers["Retry-After"]) > 0
    wb.environ_base["REMOTE_ADDR"] = "10.78.0.1"
    assert wb.post(f"{HOST}/requests", json=request_body(unique_slug("kab"))).status_code == 201


def test_reserved_slugs_are_refused(wb, tenants_dir):
    for slug in ("admin", "api", "static", "onboarding", "replika"):
        resp = wb.post(f"{HOST}/requests", json=request_body(slug))
        assert resp.status_code == 422, (slug, resp.get_data(as_text=True))
        assert resp.json["errors"][0]["field"] == "slug"
        assert "reserved" in resp.json["errors"][0]["reason"]
    short = wb.post(f"{HOST}/requests", json=request_body("t"))  # `t` is also too short
    assert short.status_code == 422 and short.json["errors"][0]["field"] == "slug"


def test_a_pending_request_expires_then_frees_its_slug(wb, tenants_dir, host_admin):
    """Nobody decided it in time: it can no longer be approved, and the slug may be asked for
    again (the old request is closed as expired)."""
    from operations.replication.portal import PENDING_TTL

    slug = unique_slug("banjar")
    first = wb.post(f"{HOST}/requests", json=request_body(slug))
    assert first.status_code == 201
    under_way = wb.post(f"{HOST}/requests", json=request_body(slug))
    assert under_way.status_code == 409
    with service_engine("whistleblowing", migration=True).begin() as conn:
        conn.execute(
            text("update replication_requests set created_at = created_at - :d where id = :i"),
            {"d": PENDING_TTL, "i": first.json["request_id"]},
        )
    late = wb.post(
        f"{HOST}/requests/{first.json['request_id']}/decision",
        json={"approve": True},
        headers=host_admin,
    )
    assert late.status_code == 409 and "expired" in late.json["detail"]
    shown = wb.get(f"{HOST}/requests/{first.json['request_id']}", headers=host_admin)
    assert shown.json["expired"] is True and shown.json["status"] == "pending"
    assert not (tenants_dir / f"{slug}.yaml").exists()
    wb.environ_base["REMOTE_ADDR"] = "10.79.0.1"
    again = wb.post(f"{HOST}/requests", json=request_body(slug))
    assert again.status_code == 201, again.get_data(as_text=True)
    old = wb.get(f"{HOST}/requests/{first.json['request_id']}", headers=host_admin).json
    assert old["status"] == "rejected" and old["decision_reason"].startswith("expired")


def test_settings_yaml_with_aliases_is_refused():
    """A "billion laughs" document: aliases multiply one node; the settings page refuses any."""
    from operations.replication import config_admin
    from shared.problem import Refused

    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    with pytest.raises(Refused) as refused:
        config_admin.parse_yaml(bomb)
    assert refused.value.status == 422 and refused.value.errors[0]["field"] == "config"
    assert config_admin.parse_yaml("name: {id: Kota}\nlist: [1, 2]\n") == {
        "name": {"id": "Kota"},
        "list": [1, 2],
    }
