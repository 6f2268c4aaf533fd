"""Issue 16 (Low): a tenant admin's change to a security-relevant setting (identity disclosure,
attachments, retention, small cells) is not applied but kept for a second, different tenant
admin; the proposal, the approval and the rejection are audited with old→new; other settings
save at once."""

from __future__ import annotations

import copy

import yaml
from sqlalchemy import text

from shared.db import service_engine
from tests.integration.operations.test_tenant_config_admin import (
    api,
    configured_events,
    tenant_config_in,
)

TYPES = ["application/pdf", "image/jpeg", "image/png"]


def events_of(type_: str, tenant_id) -> list[dict]:
    with service_engine("whistleblowing", migration=True).connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                text("select payload from outbox where type = :ty and tenant_id = :t order by seq"),
                {"ty": type_, "t": tenant_id},
            )
        ]


def attachments_in(slug: str) -> dict:
    return tenant_config_in("whistleblowing", slug)["services"]["whistleblowing"]["attachments"]


def propose_pdf_only(wb, slug, admin) -> dict:
    got = wb.get(api(slug), headers=admin).json
    new = copy.deepcopy(got["config"])
    new["services"]["whistleblowing"]["attachments"]["types"] = ["application/pdf"]
    resp = wb.put(api(slug), headers=admin, json={"version": got["version"], "config": new})
    assert resp.status_code == 202, resp.get_data(as_text=True)
    assert resp.json["status"] == "pending"
    return resp.json


def test_a_change_of_allowed_file_types_waits_and_the_proposer_cannot_approve_it(
    wb, city, admin, second_admin
):
    config, path = city
    before = path.read_text()
    proposed = propose_pdf_only(wb, config.slug, admin)
    assert proposed["changes"] == [
        {
            "path": "services/whistleblowing/attachments/types",
            "old": TYPES,
            "new": ["application/pdf"],
        }
    ]
    # not applied: not in any service, not in the file, no version
    assert attachments_in(config.slug)["types"] == TYPES
    assert (
        tenant_config_in("hibah_bansos", config.slug)["services"]["whistleblowing"]["attachments"][
            "types"
        ]
        == TYPES
    )
    assert path.read_text() == before and configured_events(config.id) == []
    assert wb.get(f"{api(config.slug)}/versions", headers=admin).json["items"] == []
    [event] = events_of("platform.tenant.config_proposed.v1", config.id)
    assert event["data"]["changes"] == proposed["changes"]
    assert event["data"]["pending_id"] == proposed["pending_id"]

    # the same admin cannot approve (nor reject) their own proposal, by API or page
    approve = f"{api(config.slug)}/pending/{proposed['pending_id']}/approve"
    resp = wb.post(approve, headers=admin)
    assert resp.status_code == 403 and resp.content_type == "application/problem+json"
    reject = f"{api(config.slug)}/pending/{proposed['pending_id']}/reject"
    assert wb.post(reject, headers=admin).status_code == 403
    page_url = f"/t/{config.slug}/admin/settings/pending"
    assert wb.post(f"{page_url}/{proposed['pending_id']}/approve", headers=admin).status_code == 303
    assert attachments_in(config.slug)["types"] == TYPES
    page = wb.get(page_url, headers=admin).get_data(as_text=True)
    assert "menunggu persetujuan admin kedua" in page.lower() or "admin kedua" in page
    assert "Anda yang mengusulkan" in page and "application/pdf" in page
    [item] = wb.get(f"{api(config.slug)}/pending", headers=admin).json["items"]
    assert item["id"] == proposed["pending_id"]


def test_a_second_admin_approves_then_it_is_applied_and_the_event_records_old_and_new(
    wb, city, admin, second_admin
):
    config, path = city
    proposed = propose_pdf_only(wb, config.slug, admin)
    page = wb.get(f"/t/{config.slug}/admin/settings/pending", headers=second_admin)
    html = page.get_data(as_text=True)
    assert f"/pending/{proposed['pending_id']}/approve" in html  # the second admin may decide
    assert "admin kedua terlebih dahulu" not in html  # two admins: no "add one first"

    resp = wb.post(
        f"{api(config.slug)}/pending/{proposed['pending_id']}/approve", headers=second_admin
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.json["version"] == 1
    for service in ("whistleblowing", "hibah_bansos", "audit"):
        got = tenant_config_in(service, config.slug)["services"]["whistleblowing"]["attachments"]
        assert got["types"] == ["application/pdf"]
    assert "application/pdf" in path.read_text()
    [event] = configured_events(config.id)
    assert event["data"]["security_changes"] == [
        {
            "path": "services/whistleblowing/attachments/types",
            "old": TYPES,
            "new": ["application/pdf"],
        }
    ]
    assert event["data"]["approved_by"] != event["data"]["proposed_by"]
    assert event["data"]["pending_id"] == proposed["pending_id"]
    # decided once: nothing left to approve again
    assert wb.get(f"{api(config.slug)}/pending", headers=admin).json["items"] == []
    again = wb.post(
        f"{api(config.slug)}/pending/{proposed['pending_id']}/approve", headers=second_admin
    )
    assert again.status_code == 409


def test_a_rejected_change_is_never_applied_and_is_audited(wb, city, admin, second_admin):
    config, _ = city
    proposed = propose_pdf_only(wb, config.slug, admin)
    resp = wb.post(
        f"/t/{config.slug}/admin/settings/pending/{proposed['pending_id']}/reject",
        headers=second_admin,
    )
    assert resp.status_code == 303
    assert attachments_in(config.slug)["types"] == TYPES and configured_events(config.id) == []
    [event] = events_of("platform.tenant.config_rejected.v1", config.id)
    assert event["data"]["changes"] == proposed["changes"]
    assert event["data"]["rejected_by"] != event["data"]["proposed_by"]


def test_other_settings_save_at_once_even_beside_a_security_change(wb, city, admin):
    config, _ = city
    got = wb.get(api(config.slug), headers=admin).json
    new = copy.deepcopy(got["config"])
    new["services"]["whistleblowing"]["sla"]["feedback_days"] = 60
    resp = wb.put(api(config.slug), headers=admin, json={"version": 0, "config": new})
    assert resp.status_code == 200 and resp.json["version"] == 1  # not security: at once
    assert events_of("platform.tenant.config_proposed.v1", config.id) == []

    # both in one save: the SLA applies now, the disclosure rule waits
    new["services"]["whistleblowing"]["sla"]["feedback_days"] = 45
    new["services"]["whistleblowing"]["identity_disclosure_approvers"] = 2
    resp = wb.put(api(config.slug), headers=admin, json={"version": 1, "config": new})
    assert resp.status_code == 202 and resp.json["version"] == 2
    assert resp.json["changes"] == [
        {"path": "services/whistleblowing/identity_disclosure_approvers", "old": 1, "new": 2}
    ]
    wbs = tenant_config_in("whistleblowing", config.slug)["services"]["whistleblowing"]
    assert wbs["sla"]["feedback_days"] == 45 and wbs["identity_disclosure_approvers"] == 1


def test_a_city_with_one_tenant_admin_is_told_to_add_a_second(wb, city, admin):
    config, _ = city
    propose_pdf_only(wb, config.slug, admin)
    page = wb.get(f"/t/{config.slug}/admin/settings/pending", headers=admin).get_data(as_text=True)
    assert "admin kedua terlebih dahulu" in page
    assert wb.get(f"{api(config.slug)}/pending", headers=admin).json["tenant_admins"] == 1


def test_the_yaml_page_proposes_too_and_says_a_second_admin_must_approve(wb, city, admin):
    config, _ = city
    current = wb.get(api(config.slug), headers=admin).json["config"]
    current["services"]["whistleblowing"]["retention_days"] = 30
    url = f"/t/{config.slug}/admin/config"
    resp = wb.post(url, headers=admin, data={"version": "0", "config": yaml.safe_dump(current)})
    assert resp.status_code == 303 and resp.location.endswith("/admin/settings/pending")
    page = wb.get(resp.location, headers=admin).get_data(as_text=True)
    assert "menunggu persetujuan admin kedua" in page  # the flash, in Indonesian
    assert "Simpan kasus yang ditutup selama (hari)" in page  # the setting, by its label
    assert (
        tenant_config_in("whistleblowing", config.slug)["services"]["whistleblowing"][
            "retention_days"
        ]
        == 1825
    )
