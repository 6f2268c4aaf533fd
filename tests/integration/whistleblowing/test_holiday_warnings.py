"""The coming year's days off must be known (issue 21 item 1): a tenant whose calendar lacks
next year's cuti bersama is named in `/readyz` as a warning (readiness stays 200)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.whistleblowing.app import holiday_warnings
from shared.db import service_engine


def test_a_tenant_without_next_years_cuti_bersama_is_warned_about(demo_tenants):
    engine = service_engine("whistleblowing")
    # The pinned `holidays` knows the 2027 decree but not 2028's.
    october_2027 = holiday_warnings(engine, now=datetime(2027, 10, 1, tzinfo=UTC))
    assert "2028" in october_2027["holidays:cimahi"], october_2027
    assert "2028" in october_2027["holidays:bandung"]
    assert holiday_warnings(engine, now=datetime(2026, 6, 1, tzinfo=UTC)) == {}


def test_readiness_carries_the_warnings_and_stays_ready(wb):
    answer = wb.get("/readyz")
    assert answer.status_code == 200
    assert answer.get_json().get("warnings", {}) == holiday_warnings(
        service_engine("whistleblowing")
    )
