"""Anonymous filing has budgets: per client address per hour, per tenant per minute (issue 16)."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import create_engine, text

from shared.settings import FilingBudgets
from tests.support.whistleblowing import P, addr

T = "/t/cimahi/api/v1"


def _report() -> dict:
    return {
        "category": "pungutan_liar",
        "what": f"Petugas meminta uang tambahan. {uuid.uuid4().hex}",
    }


def _file(client, who):
    return client.post(f"{T}/reports", json=_report(), environ_base=who)


def _token(client) -> str:
    html = client.get(f"{P}/report").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture(scope="module")
def owner_db(stack):
    engine = create_engine(stack["WHISTLEBLOWING_MIGRATION_DATABASE_URL"])
    yield engine
    engine.dispose()


@pytest.fixture
def budgets(wb_app, monkeypatch):
    def set_to(per_address_hour: int, per_tenant_minute: int) -> None:
        monkeypatch.setitem(
            wb_app.config, "FILING_BUDGETS", FilingBudgets(per_address_hour, per_tenant_minute)
        )

    return set_to


def test_one_address_filing_beyond_its_hourly_budget_waits(wb, budgets, owner_db):
    budgets(per_address_hour=3, per_tenant_minute=1_000_000)
    flooder = addr()
    for _ in range(3):
        assert _file(wb, flooder).status_code == 201
    refused = _file(wb, flooder)
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    # the page refuses too, in Indonesian, with the time to wait; nothing is filed
    page = wb.post(
        f"{P}/report",
        data={
            "csrf_token": _token(wb),
            "mode": "anonymous",
            **_report(),
            "submission": uuid.uuid4().hex,
        },
        environ_base=flooder,
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 429 and int(page.headers["Retry-After"]) > 0
    assert "Terlalu banyak pengaduan dikirim dari sini" in html
    assert "menit" in html
    # another address still files
    assert _file(wb, addr()).status_code == 201
    # the address is kept as a keyed hash only
    with owner_db.connect() as conn:
        keys = conn.execute(text("select key from login_throttle")).scalars().all()
    assert not any(flooder["REMOTE_ADDR"] in k for k in keys)


def test_a_flood_from_many_addresses_meets_the_tenants_budget_per_minute(wb, budgets):
    budgets(per_address_hour=1_000_000, per_tenant_minute=5)
    statuses = [_file(wb, addr()).status_code for _ in range(6)]
    assert 429 in statuses, statuses  # at most five filings this minute, whoever sends them
    first = statuses.index(429)
    assert set(statuses[:first]) <= {201}
    after = [_file(wb, addr()) for _ in range(3)]
    assert [r.status_code for r in after] == [429, 429, 429]
    assert all(0 < int(r.headers["Retry-After"]) <= 60 for r in after)


def test_a_refused_filing_keeps_its_count_and_nothing_else(wb, budgets, owner_db):
    """The budgets are counted inside the filing's write statement (issue 22); a refused
    filing is rolled back (no report, no event) and its count is committed apart."""

    def state() -> tuple[int, int, int]:
        with owner_db.connect() as conn:
            return (
                conn.execute(text("select count(*) from wb_reports")).scalar_one(),
                conn.execute(text("select count(*) from outbox")).scalar_one(),
                conn.execute(
                    text("select coalesce(sum(failures), 0) from login_throttle")
                ).scalar_one(),
            )

    budgets(per_address_hour=1, per_tenant_minute=1_000_000)
    who = addr()
    before = state()
    assert _file(wb, who).status_code == 201
    filed = state()
    assert filed[0] == before[0] + 1 and filed[1] > before[1]
    assert filed[2] == before[2] + 2  # the address's budget and the tenant's
    for n in (1, 2):
        refused = _file(wb, who)
        assert refused.status_code == 429, refused.get_data(as_text=True)
        # nothing filed, no event; the address's count rose by one (the tenant's is not spent)
        assert state() == (filed[0], filed[1], filed[2] + n)
