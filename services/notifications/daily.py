"""The daily notices job: each official's digest of due-soon and overdue cases, and the
applicants' LPJ coming due / overdue, run by the notifications consumer's loop (a tick a
minute, `NotificationsConsumer.run`), so `make run` and compose start it with the consumer.

A tick plans rows into the same `notifications` table the events fill, and the consumer's
sender sends them (retries, rate limit, opt-outs checked again at send). The unique key
(event id, recipient, channel) makes each notice once: a digest's "event id" is
`digest:<local date>` with the official as recipient (once per official per local day), an
LPJ notice's `lpj-due:<application>:<due date>` or `lpj-overdue:...` (once each). Running the
tick twice, or in two consumers at once, adds nothing. The rows hold the digest's counts
(`figures`) and nothing of any case.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from services.notifications import channels as channels_mod
from services.notifications.deadlines import Deadlines
from services.notifications.domain import daily, rules
from services.notifications.models import PENDING, SKIPPED, NotificationRow
from services.notifications.recipients import City, Contact, Recipients, Skip

log = logging.getLogger(__name__)

DAILY_EVENT_TYPE = "notifications.daily"


class DailyNotices:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        recipients: Recipients,
        deadlines: Deadlines,
        public_urls: dict[str, str],
    ) -> None:
        self.sessions, self.recipients, self.deadlines = sessions, recipients, deadlines
        self.public_urls = {k: v.rstrip("/") for k, v in public_urls.items()}
        self._done: set[tuple[uuid.UUID, date]] = set()  # planned in this process already

    def tick(self, now: datetime | None = None) -> int:
        """Plan the notices due at `now` for every tenant; returns how many rows are new."""
        now = now or datetime.now(UTC)
        new = 0
        for tenant_id in self.deadlines.tenant_ids():
            try:
                new += self._tenant(tenant_id, now)
            except Exception as exc:  # one tenant's trouble must not stop the others
                if _is_db_error(exc):
                    raise
                log.exception("notifications: daily notices of tenant %s failed", tenant_id)
        return new

    def _tenant(self, tenant_id: uuid.UUID, now: datetime) -> int:
        city = self.recipients.city_by_id(tenant_id)
        if city is None:
            return 0
        today = daily.local_day(now, city.timezone, city.digest_at)
        if today is None or (tenant_id, today) in self._done:
            return 0
        calendar = self.deadlines.calendar(tenant_id, today)
        if not calendar.is_working_day(today):
            self._done.add((tenant_id, today))
            return 0
        rows = self._digest_rows(city, today, calendar, now) + self._lpj_rows(
            city, today, calendar, now
        )
        new = self._store(rows)
        self._done.add((tenant_id, today))
        if new:
            log.info("notifications: %d daily notices for %s on %s", new, city.slug, today)
        return new

    def _digest_rows(self, city: City, today: date, calendar, now: datetime) -> list[dict]:
        clocks = self.deadlines.case_clocks(city.id)
        if not clocks:
            return []
        intake = self.recipients.officials_with_role(city.id, "wbs_intake")
        link = f"{self.public_urls.get('whistleblowing', '')}/t/{city.slug}/whistleblowing/office"
        rows = []
        for official_id, counts in daily.digests(clocks, today, calendar, intake).items():
            contact = self.recipients.official_contact(city.id, official_id, rules.DIGEST)
            rows.append(
                _row(
                    f"digest:{today.isoformat()}",
                    city.id,
                    rules.DIGEST,
                    f"official:{official_id}",
                    contact,
                    link,
                    now,
                    counts.figures(),
                )
            )
        return rows

    def _lpj_rows(self, city: City, today: date, calendar, now: datetime) -> list[dict]:
        rows = []
        days = city.lpj_notice_working_days or daily.DEFAULT_LPJ_NOTICE_WORKING_DAYS
        base = self.public_urls.get("hibah_bansos", "")
        for due in self.deadlines.lpj_dues(city.id):
            which = daily.lpj_notice(due.due, today, calendar, days)
            if which is None:
                continue
            kind = rules.LPJ_OVERDUE if which == "overdue" else rules.LPJ_DUE
            contact = self.recipients.applicant_contact(city.id, due.application_id)
            link = f"{base}/t/{city.slug}/hibah-bansos/applications/{due.application_number}"
            event_id = f"lpj-{which}:{due.application_id}:{due.due.isoformat()}"
            rows.append(
                _row(
                    event_id,
                    city.id,
                    kind,
                    f"applicant:{due.application_id}",
                    contact,
                    link,
                    now,
                )
            )
        return rows

    def _store(self, rows: list[dict[str, Any]]) -> int:
        if not rows:
            return 0
        with self.sessions() as session, session.begin():
            return len(
                session.execute(
                    insert(NotificationRow)
                    .values(rows)
                    .on_conflict_do_nothing(constraint="notifications_once")
                    .returning(NotificationRow.id)
                ).all()
            )


def _row(
    event_id: str,
    tenant_id: uuid.UUID,
    kind: str,
    recipient: str,
    contact: Contact | Skip,
    link: str,
    now: datetime,
    figures: dict[str, int] | None = None,
) -> dict[str, Any]:
    if isinstance(contact, Skip):
        skipped, channel = contact.reason, "none"
    else:
        skipped, channel = None, channels_mod.CHANNEL_OF_CONTACT.get(contact.kind, "none")
    at = datetime.now(UTC)  # the row's own times are real ones, whatever `now` planned for
    return {
        "event_id": event_id[:64],
        "event_type": DAILY_EVENT_TYPE,
        "tenant_id": tenant_id,
        "kind": kind,
        "recipient": recipient,
        "channel": channel,
        "link": link[:500],
        "status": SKIPPED if skipped else PENDING,
        "attempts": 0,
        "last_error": skipped,
        "created_at": at,
        "next_attempt_at": at,
        "figures": figures,
    }


def _is_db_error(exc: Exception) -> bool:
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(exc, SQLAlchemyError)
