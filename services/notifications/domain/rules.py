"""Which event tells whom: the rules, as data, from an event to its notices.

A rule names the kind of notice (the key of its template and of an official's opt-out), who
is to be told (an `Audience`, resolved to recipients through the recipients port) and the
sign-in page the notice points at (a path on one service, from ids in the event: a case
number, an application number, never anything a person wrote). Pure: the standard library
only; the consumer does the looking up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared import event_types as t

# --- audiences: who is to be told ------------------------------------------------------------


@dataclass(frozen=True)
class RoleHolders:
    """Every active official of the tenant holding `role`."""

    role: str


@dataclass(frozen=True)
class OfficialById:
    official_id: str


@dataclass(frozen=True)
class AssigneeOfCase:
    report_id: str


@dataclass(frozen=True)
class RequesterOfIdentityRequest:
    request_id: str


@dataclass(frozen=True)
class ApplicantOfApplication:
    application_id: str


@dataclass(frozen=True)
class ReporterOfCase:
    """The reporter, only when they left a contact for "ada balasan baru" notices. A case that
    came by referral from a linked city is followed from the city that holds the reporter's
    receipt and sealed contact: the consumer asks the port where (`Recipients.reporter_home`)
    and moves the notice there (`at_reporter_home`)."""

    report_id: str


@dataclass(frozen=True)
class RequestingCity:
    request_id: str


Audience = (
    RoleHolders
    | OfficialById
    | AssigneeOfCase
    | RequesterOfIdentityRequest
    | ApplicantOfApplication
    | ReporterOfCase
    | RequestingCity
)


@dataclass(frozen=True)
class Notice:
    kind: str
    audience: Audience
    service: str  # whose pages the link opens
    path: str  # the link's path, from /t/<slug>/...


# --- kinds (template keys; an official may opt out of each kind meant for officials) ---------

NEW_CASE = "wbs_new_case"
ASSIGNED = "wbs_assigned"
REPORTER_MESSAGE = "wbs_reporter_message"
REPLY_TO_REPORTER = "wbs_reply"
IDENTITY_REQUEST = "wbs_identity_request"
IDENTITY_APPROVED = "wbs_identity_approved"
APPLICATION_STATUS = "hb_application_status"
REPLICATION_DECIDED = "replication_decided"
SECURITY_SETTING = "security_setting_changed"
OFFICIAL_CONTACT_CHANGED = "official_contact_changed"
IDENTITY_DISCLOSED = "wbs_identity_disclosed"
LAPOR_UPDATE = "wbs_lapor_update"  # SP4N-LAPOR! posted a status update on a forwarded case
AID_MATCH = "hb_aid_match"  # a linked city holds the same duplicate-aid token (operations/links)
# the daily notices (services/notifications/daily.py): not from an event, from the clocks
DIGEST = "digest"
LPJ_DUE = "hb_lpj_due"
LPJ_OVERDUE = "hb_lpj_overdue"

# the kinds an official receives (and may turn off on the preferences page); the others go to
# applicants, reporters and cities, who asked for them by leaving a contact
OFFICIAL_KINDS = (
    NEW_CASE,
    ASSIGNED,
    REPORTER_MESSAGE,
    IDENTITY_REQUEST,
    IDENTITY_APPROVED,
    SECURITY_SETTING,
    OFFICIAL_CONTACT_CHANGED,
    DIGEST,
    AID_MATCH,
)
KINDS = (
    *OFFICIAL_KINDS,
    REPLY_TO_REPORTER,
    IDENTITY_DISCLOSED,
    LAPOR_UPDATE,
    APPLICATION_STATUS,
    LPJ_DUE,
    LPJ_OVERDUE,
    REPLICATION_DECIDED,
)
# whose database keeps an official's opt-out of each kind (its preferences page is there)
SERVICE_OF_KIND = {kind: "whistleblowing" for kind in OFFICIAL_KINDS} | {AID_MATCH: "hibah_bansos"}

# top-level tenant settings whose change a tenant admin must hear of: who holds identities,
# which services run, whether the city is open, who hosts its replication
SECURITY_SETTINGS = frozenset({"services", "enabled", "suspended", "replication_host"})


def _case(slug: str, data: dict[str, Any]) -> str:
    return f"/t/{slug}/whistleblowing/cases/{data['case_number']}"


def _new_case(slug: str, data: dict[str, Any]) -> list[Notice]:
    return [Notice(NEW_CASE, RoleHolders("wbs_intake"), "whistleblowing", _case(slug, data))]


def _assigned(slug: str, data: dict[str, Any]) -> list[Notice]:
    who = OfficialById(data["assignee_id"])
    return [Notice(ASSIGNED, who, "whistleblowing", _case(slug, data))]


def _message(slug: str, data: dict[str, Any]) -> list[Notice]:
    role = data["author_role"]
    if role == "reporter":
        who: Audience = AssigneeOfCase(data["report_id"])
        return [Notice(REPORTER_MESSAGE, who, "whistleblowing", _case(slug, data))]
    if role == "system":
        return []
    inbox = reporter_inbox(slug)
    return [Notice(REPLY_TO_REPORTER, ReporterOfCase(data["report_id"]), "whistleblowing", inbox)]


def reporter_inbox(slug: str) -> str:
    return f"/t/{slug}/whistleblowing/inbox"


def at_reporter_home(notice: Notice, home_slug: str, home_report_id: str) -> Notice:
    """A reporter's notice of a referred case, moved to the city where their receipt works
    (`home_slug`, its original case `home_report_id`): the same kind, that city's inbox."""
    return Notice(
        notice.kind, ReporterOfCase(home_report_id), notice.service, reporter_inbox(home_slug)
    )


def _identity_requested(slug: str, data: dict[str, Any]) -> list[Notice]:
    page = f"/t/{slug}/whistleblowing/identity-requests"
    return [Notice(IDENTITY_REQUEST, RoleHolders("identity_custodian"), "whistleblowing", page)]


def _identity_decided(slug: str, data: dict[str, Any]) -> list[Notice]:
    if data["status"] != "approved":
        return []
    page = f"/t/{slug}/whistleblowing/identity-requests"
    who = RequesterOfIdentityRequest(data["request_id"])
    out = [Notice(IDENTITY_APPROVED, who, "whistleblowing", page)]
    if data.get("reporter_notified"):
        # the reporter's inbox shows "identitas Anda dibuka sesuai prosedur"; a reporter who
        # left a contact is told to look there (ReporterOfCase: nobody else)
        inbox = f"/t/{slug}/whistleblowing/inbox"
        reporter = ReporterOfCase(data["report_id"])
        out.append(Notice(IDENTITY_DISCLOSED, reporter, "whistleblowing", inbox))
    return out


def _lapor_update(slug: str, data: dict[str, Any]) -> list[Notice]:
    # only that there is news: the inbox shows LAPOR!'s status (ReporterOfCase: nobody else)
    who = ReporterOfCase(data["report_id"])
    return [Notice(LAPOR_UPDATE, who, "whistleblowing", reporter_inbox(slug))]


def _application(slug: str, data: dict[str, Any]) -> list[Notice]:
    page = f"/t/{slug}/hibah-bansos/applications/{data['application_number']}"
    who = ApplicantOfApplication(data["application_id"])
    return [Notice(APPLICATION_STATUS, who, "hibah_bansos", page)]


def _replication(slug: str, data: dict[str, Any]) -> list[Notice]:
    # The onboarding link's token is shown once and stored only as a hash: it cannot be rebuilt
    # here without a secret. The city is pointed at the host's tracking page instead, where its
    # tracking code (given when it asked) shows the decision and the onboarding link.
    page = f"/t/{slug}/replication/track"
    return [Notice(REPLICATION_DECIDED, RequestingCity(data["request_id"]), "whistleblowing", page)]


def _configured(slug: str, data: dict[str, Any]) -> list[Notice]:
    if not SECURITY_SETTINGS & set(data["changed"]):
        return []
    return _to_admins(slug, data)


def _to_admins(slug: str, data: dict[str, Any]) -> list[Notice]:
    page = f"/t/{slug}/whistleblowing/office"
    return [Notice(SECURITY_SETTING, RoleHolders("tenant_admin"), "whistleblowing", page)]


def _contact_changed(slug: str, data: dict[str, Any]) -> list[Notice]:
    # the admins, not the previous address: the event holds no address, and an address that
    # was taken over must not be how the city learns of it
    page = f"/t/{slug}/admin/officials"
    admins = RoleHolders("tenant_admin")
    return [Notice(OFFICIAL_CONTACT_CHANGED, admins, "whistleblowing", page)]


def _aid_match(slug: str, data: dict[str, Any]) -> list[Notice]:
    # the evaluators who check a bansos application: the page shows the warning; the notice
    # says only that one waits (no partner city, category or person)
    page = f"/t/{slug}/hibah-bansos/office/applications/{data['application_number']}"
    return [Notice(AID_MATCH, RoleHolders("bansos_evaluator"), "hibah_bansos", page)]


RULES: dict[str, Callable[[str, dict[str, Any]], list[Notice]]] = {
    t.WB_REPORT_SUBMITTED: _new_case,
    t.WB_REPORT_ASSIGNED: _assigned,
    t.WB_MESSAGE_POSTED: _message,
    t.WB_IDENTITY_REQUESTED: _identity_requested,
    t.WB_IDENTITY_DECIDED: _identity_decided,
    t.WB_LAPOR_STATUS_UPDATED: _lapor_update,
    t.HB_APPLICATION_SUBMITTED: _application,
    t.HB_APPLICATION_TRANSITIONED: _application,
    t.PLATFORM_REPLICATION_APPROVED: _replication,
    t.PLATFORM_REPLICATION_REJECTED: _replication,
    t.PLATFORM_TENANT_CONFIGURED: _configured,
    t.PLATFORM_OFFICIAL_ROLES_CHANGED: _to_admins,
    t.PLATFORM_OFFICIAL_SECOND_FACTOR_RESET: _to_admins,
    t.PLATFORM_OFFICIAL_ADDED: _to_admins,
    t.PLATFORM_OFFICIAL_CONTACT_CHANGED: _contact_changed,
    t.HB_AID_MATCH_FOUND: _aid_match,
}


def notices(event: dict[str, Any], slug: str) -> list[Notice]:
    """The notices an accepted event (shared/event_intake.py) calls for; none for most."""
    rule = RULES.get(event["type"])
    return rule(slug, event.get("data") or {}) if rule else []
