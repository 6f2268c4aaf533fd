"""The notifications consumer's pure rules: which event tells whom, what a notice says (never
what a report says), when to retry, and what a tenant file may put in a template."""

from __future__ import annotations

import copy
import uuid

import pytest
import yaml

from services.notifications.domain import delivery, rules, templates
from shared import event_types as t
from shared.tenant_config import TenantConfigError, parse
from tests.support import ROOT

CASE = "WBS-2026-ABCDEFGH"


def event(type_: str, **data) -> dict:
    return {"type": type_, "data": data}


def test_a_new_report_tells_the_intake_officials_and_links_to_the_case():
    [notice] = rules.notices(event(t.WB_REPORT_SUBMITTED, case_number=CASE), "cimahi")
    assert notice.audience == rules.RoleHolders("wbs_intake")
    assert notice.kind == rules.NEW_CASE
    assert notice.path == f"/t/cimahi/whistleblowing/cases/{CASE}"


def test_a_reporter_s_message_tells_the_assignee_and_an_official_s_the_reporter():
    rid = str(uuid.uuid4())
    [to_handler] = rules.notices(
        event(t.WB_MESSAGE_POSTED, report_id=rid, case_number=CASE, author_role="reporter"), "c"
    )
    assert to_handler.audience == rules.AssigneeOfCase(rid)
    [to_reporter] = rules.notices(
        event(t.WB_MESSAGE_POSTED, report_id=rid, case_number=CASE, author_role="wbs_intake"), "c"
    )
    assert to_reporter.audience == rules.ReporterOfCase(rid)
    assert to_reporter.kind == rules.REPLY_TO_REPORTER
    assert to_reporter.path == "/t/c/whistleblowing/inbox"  # no case number for the reporter
    system = event(t.WB_MESSAGE_POSTED, report_id=rid, case_number=CASE, author_role="system")
    assert rules.notices(system, "c") == []


def test_identity_requests_go_to_custodians_and_only_an_approval_to_the_requester():
    rq = str(uuid.uuid4())
    [asked] = rules.notices(event(t.WB_IDENTITY_REQUESTED, request_id=rq), "c")
    assert asked.audience == rules.RoleHolders("identity_custodian")
    [approved] = rules.notices(event(t.WB_IDENTITY_DECIDED, request_id=rq, status="approved"), "c")
    assert approved.audience == rules.RequesterOfIdentityRequest(rq)
    for status in ("pending", "rejected", "cancelled", "expired"):
        assert rules.notices(event(t.WB_IDENTITY_DECIDED, request_id=rq, status=status), "c") == []


def test_every_status_change_of_an_application_tells_its_applicant():
    aid = str(uuid.uuid4())
    for type_ in (t.HB_APPLICATION_SUBMITTED, t.HB_APPLICATION_TRANSITIONED):
        [notice] = rules.notices(
            event(type_, application_id=aid, application_number="HB-2026-ABCDEFGH"), "c"
        )
        assert notice.audience == rules.ApplicantOfApplication(aid)
        assert notice.path == "/t/c/hibah-bansos/applications/HB-2026-ABCDEFGH"


def test_only_security_relevant_setting_changes_tell_the_tenant_admins():
    def configured(*changed):
        return rules.notices(event(t.PLATFORM_TENANT_CONFIGURED, changed=list(changed)), "c")

    assert configured("branding", "texts") == []
    [notice] = configured("texts", "services")
    assert notice.audience == rules.RoleHolders("tenant_admin")


def test_events_without_a_rule_tell_nobody():
    assert rules.notices(event(t.WB_ATTACHMENT_ADDED), "c") == []
    assert rules.notices(event("test.thing.changed.v1"), "c") == []


def test_every_kind_has_a_template_in_both_languages_that_holds_the_link():
    for kind in rules.KINDS:
        for lang in ("id", "en"):
            message = templates.render(kind, lang, "Kota Cimahi", "https://x.example/t/cimahi/a")
            assert "https://x.example/t/cimahi/a" in message.body
            assert "Kota Cimahi" in message.subject


def test_indonesian_is_the_default_and_a_tenant_s_own_wording_wins():
    message = templates.render(rules.NEW_CASE, "fr", "Cimahi", "L")
    assert message.subject == "[Cimahi] Ada laporan baru"
    own = {rules.NEW_CASE: {"en": {"subject": "New at {city}", "body": "Look: {link}"}}}
    message = templates.render(rules.NEW_CASE, "en", "Cimahi", "L", own)
    assert (message.subject, message.body) == ("New at Cimahi", "Look: L")


def test_retries_double_up_to_a_cap_and_give_up_after_max_attempts():
    assert delivery.retry_after(1).total_seconds() == delivery.FIRST_RETRY_SECONDS
    assert delivery.retry_after(2).total_seconds() == 2 * delivery.FIRST_RETRY_SECONDS
    assert delivery.retry_after(50).total_seconds() == delivery.MAX_RETRY_SECONDS
    assert not delivery.gives_up(delivery.MAX_ATTEMPTS - 1)
    assert delivery.gives_up(delivery.MAX_ATTEMPTS)
    assert delivery.room_left(10, 12) == 2 and delivery.room_left(15, 12) == 0


def _cimahi_with(notifications: dict) -> dict:
    data = copy.deepcopy(yaml.safe_load((ROOT / "tenants" / "cimahi.yaml").read_text()))
    data["notifications"] = notifications
    return data


def test_a_tenant_file_may_word_its_notices_and_set_a_rate():
    own = {"rate_per_minute": 30, "templates": {"wbs_new_case": {"id": {"body": "Buka {link}"}}}}
    assert parse(_cimahi_with(own), "test").data["notifications"]["rate_per_minute"] == 30


@pytest.mark.parametrize(
    "body",
    ["Laporan {text}: {link}", "Halo {name}, {link}", "Masuk di sini", "{link} {nik}", "{link}{"],
)
def test_a_template_that_could_carry_content_or_lacks_the_link_is_refused(body):
    own = {"templates": {"wbs_new_case": {"id": {"body": body}}}}
    with pytest.raises(TenantConfigError):
        parse(_cimahi_with(own), "test")


def test_a_template_of_an_unknown_kind_is_refused():
    own = {"templates": {"wbs_report_text": {"id": {"body": "{link}"}}}}
    with pytest.raises(TenantConfigError):
        parse(_cimahi_with(own), "test")


def test_a_duplicate_aid_match_tells_the_evaluators_without_the_partner_or_category():
    data = {
        "application_id": str(uuid.uuid4()),
        "application_number": "BANSOS-2026-0007",
        "agreement_id": str(uuid.uuid4()),
        "partner": "bandung",
        "category": "disabilitas",
        "year": 2026,
    }
    [notice] = rules.notices(event(t.HB_AID_MATCH_FOUND, **data), "cimahi")
    assert notice.audience == rules.RoleHolders("bansos_evaluator")
    assert notice.path == "/t/cimahi/hibah-bansos/office/applications/BANSOS-2026-0007"
    assert rules.SERVICE_OF_KIND[notice.kind] == "hibah_bansos"  # opted out on hibah's page
    for lang in ("id", "en"):
        message = templates.render(notice.kind, lang, city="Kota Cimahi", link="L")
        assert "bandung" not in (message.subject + message.body).lower()
        assert "disabilitas" not in message.body
