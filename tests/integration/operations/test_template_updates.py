"""Issue 23, item 5: templates that keep cities aligned. A template city publishes a signed
update of its template; two replicas provisioned from it (through the replication portal) see
it as a diff; one accepts, the other declines; a tampered update is refused and changes
nothing; a replica's own later edit is not overwritten by an old offer."""

from __future__ import annotations

import base64
import copy
import shutil
import uuid

import pytest
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from operations import tenant_apply
from operations.replication import template_updates as tu
from operations.replication.template import template_file, write_new_tenant
from shared.db import service_engine
from shared.tenant_config import load_file
from tests.integration.operations.test_tenant_config_admin import tenant_config_in
from tests.support import ROOT

NEW_CATEGORY = {
    "code": "pelayanan_publik",
    "label": {"id": "Pelayanan publik", "en": "Public service"},
}
GRATIFIKASI = "services/whistleblowing/categories/gratifikasi"
ADDED = "services/whistleblowing/categories/pelayanan_publik"
TEXT = "texts/id/report_intro"


@pytest.fixture
def tenants_dir(tmp_path, monkeypatch, demo_tenants):
    for slug in ("bandung", "cimahi"):
        shutil.copy(ROOT / "tenants" / f"{slug}.yaml", tmp_path / f"{slug}.yaml")
    monkeypatch.setenv("REPLIKA_TENANTS_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def template_city(tenants_dir):
    """A fresh template city (copied from cimahi): its updates go to its own replicas only."""
    slug = f"induk-{uuid.uuid4().hex[:6]}"
    path = write_new_tenant(
        tenants_dir,
        template_file(tenants_dir, "cimahi"),
        "cimahi",
        slug=slug,
        name="Pemerintah Kota Induk",
        region_code="32.73",
    )
    tenant_apply.apply(load_file(path))
    return slug


def admin_of(wb, slug, make_official, api_login) -> dict:
    return {"Authorization": api_login(wb, slug, make_official(slug, "tenant_admin"))}


def provision_replica(wb, template: str, host_admin: dict) -> str:
    """A new city replicated from `template` through the host's portal, as a city asks."""
    slug = f"kab-{uuid.uuid4().hex[:6]}"
    wb.environ_base["REMOTE_ADDR"] = f"10.79.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    body = {
        "region_name": f"Pemerintah Kabupaten {slug}",
        "region_code": "32.05",
        "slug": slug,
        "contact_name": "Rina Wulandari",
        "contact_email": "rina@example.go.id",
        "applications": ["whistleblowing", "hibah_bansos"],
        "agreement_number": "PKS/031/HUK/2026",
        "agreement_date": "2026-02-01",
        "template": template,
    }
    resp = wb.post("/t/bandung/api/v1/replication/requests", json=body)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    decided = wb.post(
        f"/t/bandung/api/v1/replication/requests/{resp.json['request_id']}/decision",
        json={"approve": True, "reason": "PKS ditandatangani"},
        headers=host_admin,
    )
    assert decided.status_code == 200 and decided.json["status"] == "provisioned", decided.json
    return slug


@pytest.fixture
def cities(wb, template_city, make_official, api_login):
    host_admin = admin_of(wb, "bandung", make_official, api_login)
    a = provision_replica(wb, template_city, host_admin)
    b = provision_replica(wb, template_city, host_admin)
    admins = {slug: admin_of(wb, slug, make_official, api_login) for slug in (template_city, a, b)}
    return template_city, a, b, admins


def config_api(slug: str) -> str:
    return f"/t/{slug}/api/v1/admin/config"


def change_template(wb, slug: str, admin: dict) -> None:
    """The template city renames a category, adds one and adds a text."""
    got = wb.get(config_api(slug), headers=admin).json
    new = copy.deepcopy(got["config"])
    cats = new["services"]["whistleblowing"]["categories"]
    for c in cats:
        if c["code"] == "gratifikasi":
            c["label"] = {"id": "Gratifikasi dan suap", "en": "Gratuities and bribes"}
    cats.append(NEW_CATEGORY)
    new["texts"] = {"id": {"report_intro": "Laporkan dengan jujur."}}
    resp = wb.put(config_api(slug), headers=admin, json={"version": got["version"], "config": new})
    assert resp.status_code == 200, resp.get_data(as_text=True)


def publish(wb, slug: str, admin: dict) -> dict:
    resp = wb.post(f"/t/{slug}/api/v1/admin/template/updates", headers=admin)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    return resp.json


def events(type_: str, slug: str) -> list[dict]:
    with service_engine("whistleblowing", migration=True).connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                text(
                    "select o.payload from outbox o join tenants t on t.id = o.tenant_id "
                    "where o.type = :ty and t.slug = :s order by o.seq"
                ),
                {"ty": type_, "s": slug},
            )
        ]


def offer_count(slug: str) -> int:
    with service_engine("whistleblowing", migration=True).connect() as conn:
        return conn.execute(
            text(
                "select count(*) from template_offers o join tenants t on t.id = o.tenant_id "
                "where t.slug = :s"
            ),
            {"s": slug},
        ).scalar()


def categories_of(slug: str) -> dict[str, dict]:
    config = tenant_config_in("whistleblowing", slug)
    return {c["code"]: c for c in config["services"]["whistleblowing"]["categories"]}


def test_an_update_is_offered_as_a_diff_accepted_in_one_replica_declined_in_another(wb, cities):
    template, a, b, admins = cities
    change_template(wb, template, admins[template])
    draft = wb.get(f"/t/{template}/api/v1/admin/template", headers=admins[template]).json
    assert sorted(draft["followers"]) == sorted([a, b])
    page = wb.get(f"/t/{template}/admin/settings/template", headers=admins[template])
    assert page.status_code == 200
    assert "Terbitkan pembaruan templat" in page.get_data(as_text=True)

    published = publish(wb, template, admins[template])
    assert published["seq"] == 1
    delivered = {d["slug"]: d for d in published["delivered"]}
    assert set(delivered) == {a, b} and all(d["offer_id"] for d in delivered.values())
    [event] = events("platform.template.published.v1", template)
    assert event["data"]["update_id"] == published["update_id"]
    assert {GRATIFIKASI, ADDED, TEXT} <= set(event["data"]["paths"])

    # nothing changed in either replica yet
    for slug in (a, b):
        assert categories_of(slug)["gratifikasi"]["label"]["id"] == "Gratifikasi"
        assert "pelayanan_publik" not in categories_of(slug)
        [offered] = events("platform.template.offered.v1", slug)
        assert offered["data"]["update_id"] == published["update_id"]
        assert sorted(offered["data"]["paths"]) == sorted([GRATIFIKASI, ADDED, TEXT])

    # the diff: per setting, what the replica has and what the template offers
    [offer] = wb.get(f"/t/{a}/api/v1/admin/template-offers", headers=admins[a]).json["items"]
    items = {i["path"]: i for i in offer["items"]}
    assert set(items) == {GRATIFIKASI, ADDED, TEXT}
    assert items[GRATIFIKASI]["kind"] == "changed"
    assert items[GRATIFIKASI]["old"]["label"]["id"] == "Gratifikasi"
    assert items[GRATIFIKASI]["new"]["label"]["id"] == "Gratifikasi dan suap"
    assert items[ADDED]["kind"] == "added" and items[ADDED]["old"] is None
    assert items[ADDED]["new"] == NEW_CATEGORY
    assert items[TEXT]["new"] == "Laporkan dengan jujur."
    html = wb.get(f"/t/{a}/admin/settings/template-updates", headers=admins[a])
    assert html.status_code == 200
    body = html.get_data(as_text=True)
    assert "Pembaruan templat" in body and "Gratifikasi dan suap" in body
    assert "Ditambahkan" in body and "Diubah" in body and "Terima perubahan ini" in body

    # replica A accepts each item on its page
    for item in offer["items"]:
        resp = wb.post(
            f"/t/{a}/admin/settings/template-updates/{offer['id']}/{item['index']}/accept",
            headers=admins[a],
        )
        assert resp.status_code == 303
    assert categories_of(a)["gratifikasi"]["label"]["id"] == "Gratifikasi dan suap"
    assert categories_of(a)["pelayanan_publik"] == NEW_CATEGORY
    assert (
        tenant_config_in("hibah_bansos", a)["texts"]["id"]["report_intro"]
        == "Laporkan dengan jujur."
    )
    assert wb.get(config_api(a), headers=admins[a]).json["version"] == 3  # one save per item
    accepted = events("platform.template.accepted.v1", a)
    assert sorted(e["data"]["path"] for e in accepted) == sorted([GRATIFIKASI, ADDED, TEXT])
    assert len(events("platform.tenant.configured.v1", a)) == 3
    [after] = wb.get(f"/t/{a}/api/v1/admin/template-offers", headers=admins[a]).json["items"]
    assert {i["status"] for i in after["items"]} == {"accepted"}
    assert "Diterima" in wb.get(
        f"/t/{a}/admin/settings/template-updates", headers=admins[a]
    ).get_data(as_text=True)

    # replica B declines each item through the API: nothing changes there
    [offer_b] = wb.get(f"/t/{b}/api/v1/admin/template-offers", headers=admins[b]).json["items"]
    for item in offer_b["items"]:
        resp = wb.post(
            f"/t/{b}/api/v1/admin/template-offers/{offer_b['id']}/items/{item['index']}/decline",
            headers=admins[b],
        )
        assert resp.status_code == 204
    assert categories_of(b)["gratifikasi"]["label"]["id"] == "Gratifikasi"
    assert "pelayanan_publik" not in categories_of(b)
    assert wb.get(config_api(b), headers=admins[b]).json["version"] == 0
    assert len(events("platform.template.declined.v1", b)) == 3
    assert events("platform.tenant.configured.v1", b) == []
    again = wb.post(
        f"/t/{b}/api/v1/admin/template-offers/{offer_b['id']}/items/0/accept", headers=admins[b]
    )
    assert again.status_code == 409  # decided once

    # a second publish without changes is refused; the template city itself is not a replica
    resp = wb.post(f"/t/{template}/api/v1/admin/template/updates", headers=admins[template])
    assert resp.status_code == 409


def test_a_tampered_or_foreign_update_is_refused_and_changes_nothing(wb, cities):
    template, a, _b, admins = cities
    change_template(wb, template, admins[template])
    published = publish(wb, template, admins[template])
    bundle = wb.get(
        f"/t/{template}/api/v1/admin/template/updates/{published['update_id']}/bundle",
        headers=admins[template],
    ).json
    assert bundle["document"]["update_id"] == published["update_id"]
    before = offer_count(a)
    offers_api = f"/t/{a}/api/v1/admin/template-offers"

    # the same update again: already received
    resp = wb.post(offers_api, headers=admins[a], json=bundle)
    assert resp.status_code == 409

    # altered after signing (a new update id, so only the signature can tell)
    tampered = copy.deepcopy(bundle)
    tampered["document"]["update_id"] = str(uuid.uuid4())
    for c in tampered["document"]["changes"]:
        if c["path"] == GRATIFIKASI:
            c["new"]["label"]["id"] = "Dihapus saja"
    resp = wb.post(offers_api, headers=admins[a], json=tampered)
    assert resp.status_code == 422 and resp.content_type == "application/problem+json"
    assert "altered" in resp.json["detail"] and "Nothing was changed" in resp.json["detail"]

    # signed by a key this deployment does not trust
    key = Ed25519PrivateKey.generate()
    foreign = copy.deepcopy(tampered)
    foreign["signature"] = base64.b64encode(
        key.sign(tu.SIGNED_PREFIX + tu.canonical(foreign["document"]))
    ).decode()
    foreign["signer_key"] = base64.b64encode(
        key.public_key().public_bytes(s.Encoding.Raw, s.PublicFormat.Raw)
    ).decode()
    resp = wb.post(offers_api, headers=admins[a], json=foreign)
    assert resp.status_code == 422 and "does not trust" in resp.json["detail"]

    assert offer_count(a) == before
    assert categories_of(a)["gratifikasi"]["label"]["id"] == "Gratifikasi"
    assert len(events("platform.template.offered.v1", a)) == 1


def test_a_replica_s_own_later_edit_is_not_overwritten_by_an_old_offer(wb, cities):
    template, a, _b, admins = cities
    change_template(wb, template, admins[template])
    publish(wb, template, admins[template])
    [offer] = wb.get(f"/t/{a}/api/v1/admin/template-offers", headers=admins[a]).json["items"]
    index = next(i["index"] for i in offer["items"] if i["path"] == GRATIFIKASI)

    # the replica renames the category its own way after the offer arrived
    got = wb.get(config_api(a), headers=admins[a]).json
    new = copy.deepcopy(got["config"])
    for c in new["services"]["whistleblowing"]["categories"]:
        if c["code"] == "gratifikasi":
            c["label"]["id"] = "Gratifikasi (lokal)"
    saved = wb.put(
        config_api(a), headers=admins[a], json={"version": got["version"], "config": new}
    )
    assert saved.status_code == 200

    url = f"/t/{a}/api/v1/admin/template-offers/{offer['id']}/items/{index}/accept"
    resp = wb.post(url, headers=admins[a])
    assert resp.status_code == 409 and "changed this setting" in resp.json["detail"]
    assert categories_of(a)["gratifikasi"]["label"]["id"] == "Gratifikasi (lokal)"
    page = wb.post(
        f"/t/{a}/admin/settings/template-updates/{offer['id']}/{index}/accept", headers=admins[a]
    )
    assert page.status_code == 303
    assert categories_of(a)["gratifikasi"]["label"]["id"] == "Gratifikasi (lokal)"
    assert events("platform.template.accepted.v1", a) == []

    # a newer update of the same setting replaces the older item, offered against the city's own
    got = wb.get(config_api(template), headers=admins[template]).json
    new = copy.deepcopy(got["config"])
    for c in new["services"]["whistleblowing"]["categories"]:
        if c["code"] == "gratifikasi":
            c["label"]["id"] = "Gratifikasi, suap dan hadiah"
    wb.put(
        config_api(template),
        headers=admins[template],
        json={"version": got["version"], "config": new},
    )
    assert publish(wb, template, admins[template])["seq"] == 2
    newer, older = wb.get(f"/t/{a}/api/v1/admin/template-offers", headers=admins[a]).json["items"]
    assert older["items"][index]["status"] == "superseded"
    [item] = newer["items"]
    assert item["path"] == GRATIFIKASI and item["old"]["label"]["id"] == "Gratifikasi (lokal)"
    resp = wb.post(
        f"/t/{a}/api/v1/admin/template-offers/{newer['id']}/items/0/accept", headers=admins[a]
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert categories_of(a)["gratifikasi"]["label"]["id"] == "Gratifikasi, suap dan hadiah"


def test_template_items_and_their_diff():
    config = {
        "services": {"whistleblowing": {"categories": [{"code": "a", "label": {"id": "A"}}]}},
        "texts": {"id": {"k": "v"}},
    }
    items = tu.items_of(config)
    assert items == {
        "services/whistleblowing/categories/a": {"code": "a", "label": {"id": "A"}},
        "texts/id/k": "v",
    }
    added = tu.with_item(
        config, "services/whistleblowing/categories/b", {"code": "b", "label": {"id": "B"}}
    )
    removed = tu.with_item(added, "services/whistleblowing/categories/a", None)
    assert [c["code"] for c in removed["services"]["whistleblowing"]["categories"]] == ["b"]
    assert "texts" not in tu.with_item(config, "texts/id/k", None)
    assert tu.diff(items, tu.items_of(removed)) == [
        {"path": "services/whistleblowing/categories/a", "old": {"code": "a", "label": {"id": "A"}}, "new": None},
        {"path": "services/whistleblowing/categories/b", "old": None, "new": {"code": "b", "label": {"id": "B"}}},
    ]  # fmt: skip
    assert tu.kind_of(None, 1) == "added" and tu.kind_of(1, None) == "removed"
    assert tu.applies_to({"services": {}}, "services/hibah_bansos/programmes/x") is False


def test_an_update_is_accepted_only_from_the_template_city_the_replica_follows(
    wb, cities, tenants_dir, make_official, api_login
):
    template, a, _b, admins = cities
    # another template city on this deployment, signed by the same (trusted) key
    other = f"lain-{uuid.uuid4().hex[:6]}"
    path = write_new_tenant(
        tenants_dir,
        template_file(tenants_dir, "cimahi"),
        "cimahi",
        slug=other,
        name="Pemerintah Kota Lain",
        region_code="32.74",
    )
    tenant_apply.apply(load_file(path))
    other_admin = admin_of(wb, other, make_official, api_login)
    change_template(wb, other, other_admin)
    published = publish(wb, other, other_admin)
    assert published["delivered"] == []  # nobody follows it
    bundle = published["bundle"]
    before = offer_count(a)

    resp = wb.post(f"/t/{a}/api/v1/admin/template-offers", headers=admins[a], json=bundle)
    assert resp.status_code == 422 and resp.content_type == "application/problem+json"
    assert f"follows the template of {template}, not of {other}" in resp.json["detail"]
    assert "Nothing was stored" in resp.json["detail"]
    assert offer_count(a) == before
    assert events("platform.template.offered.v1", a) == []

    # a city that follows no template refuses every update
    resp = wb.post(f"/t/{template}/api/v1/admin/template-offers", headers=admins[template],
                   json=bundle)  # fmt: skip
    assert resp.status_code == 422 and "follows no template city" in resp.json["detail"]
    assert offer_count(template) == 0


def test_a_replica_stops_following_and_follows_again_and_the_template_city_sees_it(wb, cities):
    template, a, b, admins = cities
    api = "/t/{}/api/v1/admin/template-following"

    got = wb.get(api.format(a), headers=admins[a]).json
    assert got["following"]["template"] == template and got["following"]["active"] is True
    assert got["following"]["same_deployment"] is True
    seen = wb.get(api.format(template), headers=admins[template]).json
    assert sorted(f["slug"] for f in seen["followers"]) == sorted([a, b])
    assert seen["following"] is None
    page = wb.get(f"/t/{template}/admin/settings/template-following", headers=admins[template])
    assert page.status_code == 200 and a in page.get_data(as_text=True)
    html = wb.get(f"/t/{a}/admin/settings/template-following", headers=admins[a])
    assert template in html.get_data(as_text=True)
    assert "/template-following/stop" in html.get_data(as_text=True)

    # A stops following on its page: the template city no longer lists it nor offers to it
    resp = wb.post(f"/t/{a}/admin/settings/template-following/stop", headers=admins[a])
    assert resp.status_code == 303
    assert wb.get(api.format(a), headers=admins[a]).json["following"]["active"] is False
    seen = wb.get(api.format(template), headers=admins[template]).json
    assert [f["slug"] for f in seen["followers"]] == [b]
    [unfollowed] = events("platform.template.unfollowed.v1", a)
    assert unfollowed["data"]["template"] == template
    assert wb.post(api.format(a), headers=admins[a], json={"active": False}).status_code == 409

    change_template(wb, template, admins[template])
    published = publish(wb, template, admins[template])
    assert [d["slug"] for d in published["delivered"]] == [b]
    resp = wb.post(f"/t/{a}/api/v1/admin/template-offers", headers=admins[a],
                   json=published["bundle"])  # fmt: skip
    assert resp.status_code == 422 and "stopped following" in resp.json["detail"]
    assert offer_count(a) == 0

    # follows again through the API: listed again, and the same update is received
    resp = wb.post(api.format(a), headers=admins[a], json={"active": True})
    assert resp.status_code == 200 and resp.json["following"]["active"] is True
    [followed] = events("platform.template.followed.v1", a)
    assert followed["data"]["template"] == template
    seen = wb.get(api.format(template), headers=admins[template]).json
    assert sorted(f["slug"] for f in seen["followers"]) == sorted([a, b])
    resp = wb.post(f"/t/{a}/api/v1/admin/template-offers", headers=admins[a],
                   json=published["bundle"])  # fmt: skip
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert offer_count(a) == 1

    # only a tenant admin; a bad body is named
    bad = wb.post(api.format(a), headers=admins[a], json={"active": "yes"})
    assert bad.status_code == 422
    resp = wb.post(api.format(a), headers=admins[a], json={"template": "x", "signer": "sha256:0"})
    assert resp.status_code == 422 and "trusts" in resp.json["detail"]


ATTACHMENT_TYPES = "services/whistleblowing/attachments/types"


def test_accepting_an_attachment_types_change_waits_for_a_second_admin(
    wb, cities, make_official, api_login
):
    template, a, _b, admins = cities
    # the template city changes its allowed file types (itself a security setting: two admins)
    got = wb.get(config_api(template), headers=admins[template]).json
    new = copy.deepcopy(got["config"])
    new["services"]["whistleblowing"]["attachments"]["types"] = ["application/pdf"]
    resp = wb.put(config_api(template), headers=admins[template],
                  json={"version": got["version"], "config": new})  # fmt: skip
    assert resp.status_code == 202, resp.get_data(as_text=True)
    second_template_admin = admin_of(wb, template, make_official, api_login)
    resp = wb.post(f"{config_api(template)}/pending/{resp.json['pending_id']}/approve",
                   headers=second_template_admin)  # fmt: skip
    assert resp.status_code == 200, resp.get_data(as_text=True)
    publish(wb, template, admins[template])

    [offer] = wb.get(f"/t/{a}/api/v1/admin/template-offers", headers=admins[a]).json["items"]
    [item] = [i for i in offer["items"] if i["path"] == ATTACHMENT_TYPES]
    before = tenant_config_in("whistleblowing", a)["services"]["whistleblowing"]["attachments"]
    assert item["new"] == ["application/pdf"] and before["types"] != ["application/pdf"]
    url = f"/t/{a}/api/v1/admin/template-offers/{offer['id']}/items/{item['index']}/accept"
    resp = wb.post(url, headers=admins[a])
    assert resp.status_code == 202, resp.get_data(as_text=True)
    assert resp.json["status"] == "proposed" and resp.json["pending_id"]
    pending_id = resp.json["pending_id"]

    # waiting: not applied, the item says so (and cannot be accepted twice)
    def attachment_item() -> dict:
        [o] = wb.get(f"/t/{a}/api/v1/admin/template-offers", headers=admins[a]).json["items"]
        return o["items"][item["index"]]

    waiting = attachment_item()
    assert waiting["status"] == "proposed" and waiting["pending_id"] == pending_id
    got = tenant_config_in("whistleblowing", a)["services"]["whistleblowing"]["attachments"]
    assert got["types"] == before["types"]
    assert wb.post(url, headers=admins[a]).status_code == 409
    page = wb.get(f"/t/{a}/admin/settings/template-updates", headers=admins[a])
    assert "admin kedua" in page.get_data(as_text=True)
    # the admin who accepted cannot approve it themself
    approve = f"{config_api(a)}/pending/{pending_id}/approve"
    assert wb.post(approve, headers=admins[a]).status_code == 403

    # a second admin approves: applied, and the offer's item is accepted with that version
    second = admin_of(wb, a, make_official, api_login)
    resp = wb.post(approve, headers=second)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    for service in ("whistleblowing", "hibah_bansos"):
        got = tenant_config_in(service, a)["services"]["whistleblowing"]["attachments"]
        assert got["types"] == ["application/pdf"]
    done = attachment_item()
    assert done["status"] == "accepted" and done["version"] == resp.json["version"]
    assert [e["data"]["path"] for e in events("platform.template.accepted.v1", a)] == [
        ATTACHMENT_TYPES
    ]
