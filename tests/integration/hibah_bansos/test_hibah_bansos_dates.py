"""Hibah-bansos decides programme windows on the tenant's own date, not the UTC date: for a
Jayapura tenant (WIT, UTC+9) a programme closing 31 December is closed at 00:30 WIT on
1 January, while the UTC date is still 31 December; at 23:30 WIT on 31 December it is open."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime

import pytest
import yaml

from tests.support import ROOT
from tests.support.applicant_mail import register_confirmed
from tests.support.hibah_bansos import HIBAH, application, organisation

BEFORE_MIDNIGHT_WIT = datetime(2026, 12, 31, 14, 30, tzinfo=UTC)  # 23:30 WIT, 31 December
AFTER_MIDNIGHT_WIT = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)  # 00:30 WIT, 1 January


@pytest.fixture(scope="module")
def jayapura(stack, demo_tenants):
    """A city in Asia/Jayapura with cimahi's programmes (HIBAH closes on 31 December 2026),
    applied as a tenant file is (which syncs the programmes)."""
    from operations import tenant_apply
    from shared.tenancy import Tenant
    from shared.tenant_config import parse

    data = copy.deepcopy(yaml.safe_load((ROOT / "tenants" / "cimahi.yaml").read_text()))
    data.pop("id", None)
    data["slug"] = f"jyp-{uuid.uuid4().hex[:10]}"
    data["timezone"] = "Asia/Jayapura"
    config = parse(data, "test")
    programme = next(
        p for p in config.data["services"]["hibah_bansos"]["programmes"] if p["code"] == HIBAH
    )
    assert programme["closes"] == "2026-12-31"
    tenant_apply.apply(config)
    return Tenant(config.id, config.slug, config.data)


def at(monkeypatch, instant: datetime) -> None:
    """The clock shared.tenancy.today reads, stopped at `instant`."""
    import shared.tenancy

    monkeypatch.setattr(shared.tenancy, "utcnow", lambda: instant)


def open_codes(hb, slug: str) -> set[str]:
    resp = hb.get(f"/t/{slug}/api/v1/programmes")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return {p["code"] for p in resp.json["items"]}


def test_a_programme_closing_31_december_is_closed_after_midnight_in_jayapura(
    hb, jayapura, monkeypatch
):
    slug = jayapura.slug
    token = register_confirmed(hb, slug, organisation())
    me = {"Authorization": f"Bearer {token}"}

    at(monkeypatch, BEFORE_MIDNIGHT_WIT)
    assert HIBAH in open_codes(hb, slug)
    page = hb.get(f"/t/{slug}/hibah-bansos?lang=en").get_data(as_text=True)
    assert "Grants to community organisations 2026" in page
    resp = hb.post(f"/t/{slug}/api/v1/applications", json=application(), headers=me)
    assert resp.status_code == 201, resp.get_data(as_text=True)

    at(monkeypatch, AFTER_MIDNIGHT_WIT)
    assert AFTER_MIDNIGHT_WIT.date().isoformat() == "2026-12-31"  # the UTC date: still open
    assert HIBAH not in open_codes(hb, slug)
    resp = hb.post(f"/t/{slug}/api/v1/applications", json=application(), headers=me)
    assert resp.status_code == 409, resp.get_data(as_text=True)
    assert resp.json["errors"] == [
        {"field": "programme", "reason": "This programme is not open for applications."}
    ]
    page = hb.get(f"/t/{slug}/hibah-bansos?lang=en").get_data(as_text=True)
    assert "Grants to community organisations 2026" not in page
