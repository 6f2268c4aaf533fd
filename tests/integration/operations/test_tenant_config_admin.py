"""A tenant admin adapts the city's configuration through the API and the page: validated by
the tenant schema, versioned, audited (names of changed settings only), applied to every
service and written back to the tenant file; platform settings and other tenants are out of
reach."""

from __future__ import annotations

import copy

import pytest
import yaml
from sqlalchemy import text

from shared.db import service_engine


def api(slug: str) -> str:
    return f"/t/{slug}/api/v1/admin/config"


def tenant_config_in(service: str, slug: str) -> dict:
    with service_engine(service, migration=True).connect() as conn:
        return conn.execute(
            text("select config from tenants where slug = :s"), {"s": slug}
        ).scalar_one()


def configured_events(tenant_id) -> list[dict]:
    with service_engine("whistleblowing", migration=True).connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                text(
                    "select payload from outbox where type = 'platform.tenant.configured.v1' "
                    "and tenant_id = :t order by seq"
                ),
                {"t": tenant_id},
            )
        ]


def test_admin_edits_settings_everywhere_with_a_version_and_an_event(wb, city, admin):
    config, path = city
    got = wb.get(api(config.slug), headers=admin)
    assert got.status_code == 200 and got.json["version"] == 0 and got.headers["ETag"] == '"0"'
    new = copy.deepcopy(got.json["config"])
    new["branding"]["display_name"] = "Kota Uji Coba"
    new["services"]["whistleblowing"]["sla"]["feedback_days"] = 60
    resp = wb.put(api(config.slug), headers=admin, json={"version": 0, "config": new})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["version"] == 1 and resp.headers["ETag"] == '"1"'

    for service in ("whistleblowing", "hibah_bansos", "audit"):
        stored = tenant_config_in(service, config.slug)
        assert stored["branding"]["display_name"] == "Kota Uji Coba"
        assert stored["services"]["whistleblowing"]["sla"]["feedback_days"] == 60
    assert yaml.safe_load(path.read_text())["branding"]["display_name"] == "Kota Uji Coba"
    page = wb.get(f"/t/{config.slug}/whistleblowing")
    assert "Kota Uji Coba" in page.get_data(as_text=True)  # this process sees it at once

    [event] = configured_events(config.id)
    assert event["data"]["version"] == 1 and event["data"]["changed"] == ["branding", "services"]
    assert event["data"]["digest"] == resp.json["digest"]
    assert "Kota Uji Coba" not in str(event)  # names of settings only, never their values
    versions = wb.get(f"{api(config.slug)}/versions", headers=admin).json["items"]
    assert [v["version"] for v in versions] == [1]


def test_schema_errors_name_the_field_and_change_nothing(wb, city, admin):
    config, path = city
    before = path.read_text()
    new = copy.deepcopy(wb.get(api(config.slug), headers=admin).json["config"])
    new["services"]["whistleblowing"]["sla"]["feedback_days"] = "sembilan puluh"
    resp = wb.put(api(config.slug), headers=admin, json={"version": 0, "config": new})
    assert resp.status_code == 422 and resp.content_type == "application/problem+json"
    assert resp.json["errors"][0]["field"] == "services/whistleblowing/sla/feedback_days"
    assert path.read_text() == before and configured_events(config.id) == []
    assert (
        tenant_config_in("hibah_bansos", config.slug)["services"]["whistleblowing"]["sla"][
            "feedback_days"
        ]
        == 90
    )


@pytest.mark.parametrize(
    "key, value", [("slug", "cimahi"), ("replication_host", True), ("suspended", True)]
)
def test_platform_settings_cannot_be_changed_by_the_city(wb, city, admin, key, value):
    config, _ = city
    new = dict(wb.get(api(config.slug), headers=admin).json["config"], **{key: value})
    resp = wb.put(api(config.slug), headers=admin, json={"version": 0, "config": new})
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == key
    assert configured_events(config.id) == []


def test_a_stale_version_is_refused(wb, city, admin):
    config, _ = city
    base = wb.get(api(config.slug), headers=admin).json["config"]
    first = dict(base, name="Pemerintah Kota Uji Satu")
    assert (
        wb.put(api(config.slug), headers=admin, json={"version": 0, "config": first}).status_code
        == 200
    )
    second = dict(base, name="Pemerintah Kota Uji Dua")
    resp = wb.put(api(config.slug), headers=admin, json={"version": 0, "config": second})
    assert resp.status_code == 409 and resp.json["errors"][0]["field"] == "version"
    assert tenant_config_in("whistleblowing", config.slug)["name"] == "Pemerintah Kota Uji Satu"


def test_only_this_citys_tenant_admin(wb, wb_app, city, admin, demo_tenants, official_token):
    config, _ = city
    intake = official_token(wb_app, config, "wbs_intake")
    assert wb.get(api(config.slug), headers={"Authorization": intake}).status_code == 403
    assert wb.get(api(config.slug)).status_code == 401
    # a tenant admin of another city: 404, as for any foreign id
    foreign = official_token(wb_app, demo_tenants["cimahi"], "tenant_admin")
    assert wb.get(api(config.slug), headers={"Authorization": foreign}).status_code == 404
    assert (
        wb.put(api("cimahi"), headers=admin, json={"version": 0, "config": {}}).status_code == 404
    )


def test_page_saves_yaml_and_shows_errors(wb, city, admin, csrf_token):
    config, _ = city
    url = f"/t/{config.slug}/admin/config"
    page = wb.get(url, headers=admin)
    assert page.status_code == 200 and "Pengaturan kota" in page.get_data(as_text=True)
    text_ = yaml.safe_load(
        page.get_data(as_text=True)
        .split('name="config"', 1)[1]
        .split(">", 1)[1]
        .split("</textarea>", 1)[0]
        .replace("&#34;", '"')
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
    )
    text_["branding"]["display_name"] = "Kota Lewat Halaman"
    bad = wb.post(url, headers=admin, data={"version": "0", "config": "services: [unclosed"})
    assert bad.status_code == 422 and "YAML" in bad.get_data(as_text=True)
    ok = wb.post(url, headers=admin, data={"version": "0", "config": yaml.safe_dump(text_)})
    assert ok.status_code == 200 and "versi 1" in ok.get_data(as_text=True)
    assert (
        tenant_config_in("audit", config.slug)["branding"]["display_name"] == "Kota Lewat Halaman"
    )


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda c: c["services"].pop("whistleblowing"), "services/whistleblowing"),
        (
            lambda c: c["services"]["whistleblowing"].update(enabled=False),
            "services/whistleblowing/enabled",
        ),
    ],
    ids=["left out", "disabled"],
)
def test_a_save_keeps_the_service_that_serves_the_settings(wb, city, admin, change, field):
    """The settings live on the whistleblowing service, which answers 404 for a city that
    does not run it: a save that stopped it would lock the city's admins out."""
    config, _ = city
    new = copy.deepcopy(wb.get(api(config.slug), headers=admin).json["config"])
    change(new)
    resp = wb.put(api(config.slug), headers=admin, json={"version": 0, "config": new})
    assert resp.status_code == 422 and resp.json["errors"][0]["field"] == field
    assert wb.get(api(config.slug), headers=admin).status_code == 200
    assert configured_events(config.id) == []


def test_the_document_says_what_a_settings_save_takes(wb, city, admin):
    """The served document embeds the tenant file's schema, and a save of a whole-number
    float stores the int."""
    doc = wb.get("/openapi.json").json
    body = doc["paths"]["/t/{tenant}/api/v1/admin/config"]["put"]["requestBody"]
    config_ref = body["content"]["application/json"]["schema"]["properties"]["config"]["$ref"]
    assert config_ref == "#/components/schemas/TenantSettings"
    settings = doc["components"]["schemas"]["TenantSettings"]
    assert "slug" not in settings["required"] and "$defs" not in settings
    assert "202" in doc["paths"]["/t/{tenant}/api/v1/admin/config"]["put"]["responses"]
    config, _ = city
    new = copy.deepcopy(wb.get(api(config.slug), headers=admin).json["config"])
    new["services"]["whistleblowing"]["sla"]["feedback_days"] = 60.0
    resp = wb.put(api(config.slug), headers=admin, json={"version": 0, "config": new})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    stored = tenant_config_in("whistleblowing", config.slug)
    assert type(stored["services"]["whistleblowing"]["sla"]["feedback_days"]) is int
