"""Event type names, once: each constant names a JSON Schema in `shared/schemas/events/`.

Call sites use these constants, never string literals, so a renamed or retired type is a
NameError at import, and `tests/unit/test_event_types.py` keeps this list and the schema files equal.
"""

from __future__ import annotations

# --- hibah_bansos
HB_AID_MATCH_FOUND = "hibah_bansos.aid.match_found.v1"
HB_AID_TOKENS_PUBLISHED = "hibah_bansos.aid.tokens_published.v1"  # agreement topics only
HB_APPLICANT_CONFIRMED = "hibah_bansos.applicant.confirmed.v1"
HB_APPLICANT_PASSWORD_RESET = "hibah_bansos.applicant.password_reset.v1"
HB_APPLICANT_PASSWORD_RESET_ISSUED = "hibah_bansos.applicant.password_reset_issued.v1"
HB_APPLICANT_REGISTERED = "hibah_bansos.applicant.registered.v1"
HB_APPLICANT_REGISTRY_CHECKED = "hibah_bansos.applicant.registry_checked.v1"
HB_APPLICATION_CREATED = "hibah_bansos.application.created.v1"
HB_APPLICATION_SUBMITTED = "hibah_bansos.application.submitted.v1"
HB_APPLICATION_TRANSITIONED = "hibah_bansos.application.transitioned.v1"
HB_APPLICATION_UPDATED = "hibah_bansos.application.updated.v1"
HB_APPLICATION_VERIFICATION_REQUESTED = "hibah_bansos.application.verification_requested.v1"
HB_BENEFICIARIES_IMPORTED = "hibah_bansos.beneficiaries.imported.v1"
HB_DOCUMENT_ADDED = "hibah_bansos.document.added.v1"
HB_DOCUMENT_REMOVED = "hibah_bansos.document.removed.v1"
HB_LPJ_FILED = "hibah_bansos.lpj.filed.v1"
HB_LPJ_REFUND_RECORDED = "hibah_bansos.lpj.refund_recorded.v1"

# --- platform
PLATFORM_LINK_ACCEPTED = "platform.link.accepted.v1"
PLATFORM_LINK_DECLINED = "platform.link.declined.v1"
PLATFORM_LINK_ENDED = "platform.link.ended.v1"
PLATFORM_LINK_PROPOSED = "platform.link.proposed.v1"
PLATFORM_ONBOARDING_REISSUED = "platform.onboarding.reissued.v1"
PLATFORM_OFFICIAL_ACTIVE_CHANGED = "platform.official.active_changed.v1"
PLATFORM_OFFICIAL_ADDED = "platform.official.added.v1"
PLATFORM_OFFICIAL_CONTACT_CHANGED = "platform.official.contact_changed.v1"
PLATFORM_OFFICIAL_ENROLLED = "platform.official.enrolled.v1"
PLATFORM_OFFICIAL_RENAMED = "platform.official.renamed.v1"
PLATFORM_OFFICIAL_ROLES_CHANGED = "platform.official.roles_changed.v1"
PLATFORM_OFFICIAL_SECOND_FACTOR_RESET = "platform.official.second_factor_reset.v1"
PLATFORM_REPLICATION_APPROVED = "platform.replication.approved.v1"
PLATFORM_REPLICATION_REJECTED = "platform.replication.rejected.v1"
PLATFORM_REPLICATION_REQUESTED = "platform.replication.requested.v1"
PLATFORM_TENANT_CONFIG_PROPOSED = "platform.tenant.config_proposed.v1"
PLATFORM_TENANT_CONFIG_REJECTED = "platform.tenant.config_rejected.v1"
PLATFORM_TENANT_CONFIGURED = "platform.tenant.configured.v1"
PLATFORM_TENANT_EXPORTED = "platform.tenant.exported.v1"
PLATFORM_TENANT_IMPORTED = "platform.tenant.imported.v1"
PLATFORM_TENANT_OFFBOARDED = "platform.tenant.offboarded.v1"
PLATFORM_TENANT_ONBOARDED = "platform.tenant.onboarded.v1"
PLATFORM_TENANT_PROVISIONED = "platform.tenant.provisioned.v1"
PLATFORM_TENANT_RESUMED = "platform.tenant.resumed.v1"
PLATFORM_TENANT_SUSPENDED = "platform.tenant.suspended.v1"
PLATFORM_TEMPLATE_ACCEPTED = "platform.template.accepted.v1"
PLATFORM_TEMPLATE_DECLINED = "platform.template.declined.v1"
PLATFORM_TEMPLATE_FOLLOWED = "platform.template.followed.v1"
PLATFORM_TEMPLATE_OFFERED = "platform.template.offered.v1"
PLATFORM_TEMPLATE_PUBLISHED = "platform.template.published.v1"
PLATFORM_TEMPLATE_UNFOLLOWED = "platform.template.unfollowed.v1"

# --- whistleblowing
WB_ATTACHMENT_ADDED = "whistleblowing.attachment.added.v1"
WB_HANDLER_PROFILE_SET = "whistleblowing.handler.profile_set.v1"
WB_IDENTITY_DECIDED = "whistleblowing.identity.decided.v1"
WB_IDENTITY_REQUESTED = "whistleblowing.identity.requested.v1"
WB_IDENTITY_VIEWED = "whistleblowing.identity.viewed.v1"
WB_LAPOR_FORWARD_DECIDED = "whistleblowing.lapor.forward_decided.v1"
WB_LAPOR_FORWARD_OFFERED = "whistleblowing.lapor.forward_offered.v1"
WB_LAPOR_FORWARDED = "whistleblowing.lapor.forwarded.v1"
WB_LAPOR_STATUS_UPDATED = "whistleblowing.lapor.status_updated.v1"
WB_MESSAGE_POSTED = "whistleblowing.message.posted.v1"
WB_REFERRAL_DECIDED = "whistleblowing.referral.decided.v1"
WB_REFERRAL_HANDED_OVER = "whistleblowing.referral.handed_over.v1"
WB_REFERRAL_IDENTITY_RESEALED = "whistleblowing.referral.identity_resealed.v1"
WB_REFERRAL_PROPOSED = "whistleblowing.referral.proposed.v1"
WB_REPORT_ASSIGNED = "whistleblowing.report.assigned.v1"
WB_REPORT_EXPIRED = "whistleblowing.report.expired.v1"
WB_REPORT_RECUSED = "whistleblowing.report.recused.v1"
WB_REPORT_SUBMITTED = "whistleblowing.report.submitted.v1"
WB_REPORT_TRANSCRIPT_CONFIRMED = "whistleblowing.report.transcript_confirmed.v1"
WB_REPORT_TRANSITIONED = "whistleblowing.report.transitioned.v1"

ALL: frozenset[str] = frozenset(
    v for k, v in dict(globals()).items() if k.isupper() and isinstance(v, str)
)
