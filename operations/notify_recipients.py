"""The notifications consumer's recipients port (services/notifications/recipients.py), read
from the services' own databases: the composition root, since services import no service.

Officials come from the first database of OFFICIAL_SERVICES (they are equal in each): roles,
active, the sealed e-mail (opened with the tenant's data key) and the kinds turned off.
Applicants from hibah_bansos: the contact on the applicant's sealed record (an e-mail when
the record holds one, else a phone for the WhatsApp/SMS gateway, else no notice). A
requesting city from the host's replication request (its sealed contact e-mail). Reporters:
`reporter_contact` is the one method not wired here yet (the reporter's optional contact
lives in the whistleblowing service; see its docstring).

`ServiceDeadlines` is the deadlines port of the daily notices (digest, LPJ coming due).

Each call opens its own tenant session as the service's app role, so row-level security
checks every read, and nothing read is kept.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import date
from typing import Any

from sqlalchemy import select

from operations.service_models import models_of
from services.hibah_bansos.repository import LPJ_PENDING
from services.notifications import channels
from services.notifications.consumer import NotificationsConsumer
from services.notifications.daily import DailyNotices
from services.notifications.deadlines import CaseClock, LpjDue
from services.notifications.domain import rules
from services.notifications.recipients import City, Contact, Skip
from services.whistleblowing import holiday_calendar, referrals, reporter_contacts
from services.whistleblowing.domain import clocks
from shared import crypto, settings
from shared.db import service_engine, session_factory, tenant_session
from shared.officials import OFFICIAL_SERVICES, email_of


def _session(service: str, tenant_id: uuid.UUID):
    return tenant_session(session_factory(service_engine(service)), tenant_id)


class ServiceRecipients:
    """Recipients read from the whistleblowing and hibah_bansos databases."""

    officials_service = OFFICIAL_SERVICES[0]

    def city(self, slug: str) -> City | None:
        model = models_of("whistleblowing").TenantRow
        with session_factory(service_engine("whistleblowing"))() as session:
            row = session.execute(select(model).where(model.slug == slug)).scalar_one_or_none()
            return _city(row) if row is not None else None

    def city_by_id(self, tenant_id: uuid.UUID) -> City | None:
        model = models_of("whistleblowing").TenantRow
        with session_factory(service_engine("whistleblowing"))() as session:
            row = session.get(model, tenant_id)
            return _city(row) if row is not None else None

    def officials_with_role(self, tenant_id: uuid.UUID, role: str) -> list[uuid.UUID]:
        model = models_of(self.officials_service).OfficialRow
        with _session(self.officials_service, tenant_id) as session:
            rows = session.execute(
                select(model.id, model.roles).where(model.active.is_(True)).order_by(model.id)
            ).all()
        return [official_id for official_id, roles in rows if role in (roles or [])]

    def assignee_of_case(self, tenant_id: uuid.UUID, report_id: uuid.UUID) -> uuid.UUID | None:
        model = models_of("whistleblowing").Report
        with _session("whistleblowing", tenant_id) as session:
            return session.execute(
                select(model.assignee_id).where(model.id == report_id)
            ).scalar_one_or_none()

    def requester_of_identity_request(
        self, tenant_id: uuid.UUID, request_id: uuid.UUID
    ) -> uuid.UUID | None:
        model = models_of("whistleblowing").IdentityRequest
        with _session("whistleblowing", tenant_id) as session:
            return session.execute(
                select(model.requested_by).where(model.id == request_id)
            ).scalar_one_or_none()

    def official_contact(
        self, tenant_id: uuid.UUID, official_id: uuid.UUID, kind: str
    ) -> Contact | Skip:
        # the opt-outs of a kind live where its preferences page is (shared/notify_prefs.py)
        service = rules.SERVICE_OF_KIND.get(kind, self.officials_service)
        model = models_of(service).OfficialRow
        with _session(service, tenant_id) as session:
            row = session.get(model, official_id)
            if row is None:
                return Skip("unknown")
            if not row.active:
                return Skip("inactive")
            if kind in (row.notify_opt_outs or []):
                return Skip("opted_out")
            email = email_of(row)
        return Contact("email", email) if email else Skip("no_contact")

    def applicant_contact(self, tenant_id: uuid.UUID, application_id: uuid.UUID) -> Contact | Skip:
        m = models_of("hibah_bansos")
        with _session("hibah_bansos", tenant_id) as session:
            applicant = session.execute(
                select(m.Applicant)
                .join(m.Application, m.Application.applicant_id == m.Applicant.id)
                .where(m.Application.id == application_id)
            ).scalar_one_or_none()
            if applicant is None:
                return Skip("unknown")
            personal = crypto.FieldCipher(
                session, tenant_id, "applicants", applicant.id
            ).decrypt_json("personal", applicant.personal)
        if personal.get("email"):
            return Contact("email", personal["email"])
        if personal.get("phone"):
            return Contact("phone", personal["phone"])
        return Skip("no_contact")

    def reporter_contact(self, tenant_id: uuid.UUID, report_id: uuid.UUID) -> Contact | Skip:
        # only a reporter who gave a contact on the form or in the inbox is ever told
        with _session("whistleblowing", tenant_id) as session:
            found = reporter_contacts.contact_for_case(session, tenant_id, report_id)
        return Contact(found.kind, found.address) if found else Skip("no_contact")

    def reporter_home(
        self, tenant_id: uuid.UUID, report_id: uuid.UUID
    ) -> tuple[uuid.UUID, uuid.UUID] | None:
        # a case referred from a linked city: its reporter is told from there
        with _session("whistleblowing", tenant_id) as session:
            return referrals.came_from(session, report_id)

    def city_contact(self, tenant_id: uuid.UUID, request_id: uuid.UUID) -> Contact | Skip:
        from operations.replication.models import ReplicationRequest

        with _session("whistleblowing", tenant_id) as session:
            req = session.get(ReplicationRequest, request_id)
            if req is None:
                return Skip("unknown")
            contact = json.loads(
                crypto.decrypt_field(
                    session, req.tenant_id, req.__tablename__, req.id, "contact", req.contact
                )
            )
        email = contact.get("email")
        return Contact("email", email) if email else Skip("no_contact")


def _city(row: Any) -> City:
    config: dict[str, Any] = row.config or {}
    own = config.get("notifications") or {}
    name = (config.get("branding") or {}).get("display_name") or config.get("name", row.slug)
    return City(
        id=row.id,
        slug=row.slug,
        name=name,
        language=config.get("locale", "id"),
        templates=own.get("templates") or {},
        rate_per_minute=own.get("rate_per_minute"),
        timezone=config.get("timezone", "Asia/Jakarta"),
        digest_at=own.get("digest_at"),
        lpj_notice_working_days=own.get("lpj_notice_working_days"),
    )


class ServiceDeadlines:
    """The deadlines port (services/notifications/deadlines.py): the SLA clocks of open cases
    from whistleblowing, the LPJ due dates from hibah_bansos, and the tenant's working-day
    calendar from services/whistleblowing/holiday_calendar.py (the one the clocks use). Reads
    dates, states and ids only: no case content, no names."""

    def _tenant(self, tenant_id: uuid.UUID) -> Any:
        model = models_of("whistleblowing").TenantRow
        with session_factory(service_engine("whistleblowing"))() as session:
            return session.get(model, tenant_id)

    def tenant_ids(self) -> list[uuid.UUID]:
        model = models_of("whistleblowing").TenantRow
        with session_factory(service_engine("whistleblowing"))() as session:
            rows = session.execute(select(model.id, model.config).where(model.enabled)).all()
        return [i for i, config in rows if not (config or {}).get("suspended")]

    def calendar(self, tenant_id: uuid.UUID, today: date) -> clocks.Calendar:
        row = self._tenant(tenant_id)
        return holiday_calendar.for_tenant((row.config if row else None) or {}, today)

    def case_clocks(self, tenant_id: uuid.UUID) -> list[CaseClock]:
        report = models_of("whistleblowing").Report
        with _session("whistleblowing", tenant_id) as session:
            rows = session.execute(
                select(
                    report.assignee_id,
                    report.status,
                    report.outcome,
                    report.acknowledge_by,
                    report.feedback_by,
                ).where(report.archived_at.is_(None))
            ).all()
        out = []
        for assignee, status, outcome, acknowledge_by, feedback_by in rows:
            ack = acknowledge_by if status in clocks.ACK_PENDING else None
            feedback = feedback_by if clocks.feedback_pending(status, outcome) else None
            if ack is not None or feedback is not None:
                out.append(CaseClock(assignee, ack, feedback))
        return out

    def lpj_dues(self, tenant_id: uuid.UUID) -> list[LpjDue]:
        app = models_of("hibah_bansos").Application
        with _session("hibah_bansos", tenant_id) as session:
            rows = session.execute(
                select(app.id, app.number, app.lpj_due).where(
                    app.status.in_(LPJ_PENDING), app.lpj_due.is_not(None)
                )
            ).all()
        return [LpjDue(i, number, due) for i, number, due in rows]


def public_urls() -> dict[str, str]:
    """Where the services' pages are, for sign-in links: WHISTLEBLOWING_URL, HIBAH_BANSOS_URL
    (`make run` sets them; in compose, the proxy's https:// names)."""
    return {
        service: os.environ.get(f"{settings.env_prefix(service)}_URL", "")
        for service in OFFICIAL_SERVICES
    }


def consumer_from_env() -> NotificationsConsumer:
    engine, recipients, urls = service_engine("notifications"), ServiceRecipients(), public_urls()
    return NotificationsConsumer(
        engine,
        settings.kafka_bootstrap(),
        recipients,
        channels.from_env(),
        urls,
        daily=DailyNotices(session_factory(engine), recipients, ServiceDeadlines(), urls),
    )
