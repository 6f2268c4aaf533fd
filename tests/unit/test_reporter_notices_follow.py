"""Reporters' notices of issue 23's follow-ups: a reply on a case referred to a linked city is
planned in the city that holds the receipt and contact; a LAPOR! status update tells the reporter
(content-free); the tenant schema knows `whistleblowing.lapor_agency`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine

from services.notifications.consumer import NotificationsConsumer
from services.notifications.domain import rules, templates
from services.notifications.recipients import City, Contact
from shared import event_types as t
from shared.tenant_config import TenantConfigError, load_file
from tests.support import ROOT
from tests.unit.test_notification_plan import FakeRecipients

HOME, AWAY = uuid.uuid4(), uuid.uuid4()
ORIGINAL, REFERRED = uuid.uuid4(), uuid.uuid4()
NOW = datetime.now(UTC).isoformat()


class TwoCities(FakeRecipients):
    def city(self, slug):
        return {
            "cimahi": City(HOME, "cimahi", "Kota Cimahi", "id"),
            "bandung": City(AWAY, "bandung", "Kota Bandung", "id"),
        }.get(slug)

    def city_by_id(self, tenant_id):
        return {HOME: self.city("cimahi"), AWAY: self.city("bandung")}.get(tenant_id)

    def reporter_home(self, tenant_id, report_id):
        return (HOME, ORIGINAL) if (tenant_id, report_id) == (AWAY, REFERRED) else None

    def reporter_contact(self, tenant_id, report_id):
        assert (tenant_id, report_id) == (HOME, ORIGINAL)  # asked only where it is kept
        return Contact("email", "pelapor@contoh.id")


def consumer() -> NotificationsConsumer:
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connected
    return NotificationsConsumer(
        engine, "127.0.0.1:1", TwoCities(), {}, {"whistleblowing": "https://wbs.example"}
    )


def reply(tenant: str, report_id: uuid.UUID) -> dict:
    data = {
        "report_id": str(report_id),
        "case_number": "WBS-2026-ABCDEFGH",
        "author_role": "handler",
    }
    return {"type": t.WB_MESSAGE_POSTED, "tenant": tenant, "time": NOW, "data": data}


def test_a_reply_on_a_referred_case_is_planned_in_the_reporters_own_city():
    [planned] = consumer().plan(reply("bandung", REFERRED))
    assert planned.tenant_id == HOME and planned.recipient == f"reporter:{ORIGINAL}"
    assert planned.link == "https://wbs.example/t/cimahi/whistleblowing/inbox"
    assert (planned.kind, planned.channel, planned.skipped) == (
        rules.REPLY_TO_REPORTER,
        "email",
        None,
    )


def test_a_reply_on_a_case_filed_here_stays_here():
    [planned] = consumer().plan(reply("cimahi", ORIGINAL))
    assert planned.tenant_id == HOME and planned.recipient == f"reporter:{ORIGINAL}"
    assert planned.link == "https://wbs.example/t/cimahi/whistleblowing/inbox"


def test_a_lapor_status_update_tells_the_reporter_and_says_nothing_of_it():
    data = {
        "report_id": str(ORIGINAL),
        "case_number": "WBS-2026-ABCDEFGH",
        "updates": 1,
        "latest_seq": 2,
    }
    event = {"type": t.WB_LAPOR_STATUS_UPDATED, "tenant": "cimahi", "time": NOW, "data": data}
    [planned] = consumer().plan(event)
    assert (planned.kind, planned.recipient) == (rules.LAPOR_UPDATE, f"reporter:{ORIGINAL}")
    assert planned.link == "https://wbs.example/t/cimahi/whistleblowing/inbox"
    assert rules.LAPOR_UPDATE in rules.KINDS and rules.LAPOR_UPDATE not in rules.OFFICIAL_KINDS
    message = templates.render(rules.LAPOR_UPDATE, "id", "Kota Cimahi", planned.link, {}, None)
    assert "SP4N-LAPOR!" in str(message) and "WBS-2026" not in str(message)


def _cimahi() -> dict:
    return yaml.safe_load((ROOT / "tenants" / "cimahi.yaml").read_text())


def test_the_lapor_agency_setting_validates(tmp_path: Path):
    data = _cimahi()
    data["services"]["whistleblowing"]["lapor_agency"] = "PEMKOT-CIMAHI"
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(data, allow_unicode=True))
    assert load_file(good).data["services"]["whistleblowing"]["lapor_agency"] == "PEMKOT-CIMAHI"
    data["services"]["whistleblowing"]["lapor_agency"] = "../other agency"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(TenantConfigError) as info:
        load_file(bad)
    assert "services/whistleblowing/lapor_agency" in str(info.value)
