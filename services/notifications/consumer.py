"""`replika notifications consume`: the consumer group "notifications" of the events topics.

Three steps, each its own transaction:

1. **Plan.** A poll's records are checked like the audit ledger checks them
   (shared/event_intake.py: signature, source, type, schema); a record that fails becomes a
   dead letter (`notification_dead_letters`) and the stream goes on. Each accepted event is
   turned into notices by the rules (domain/rules.py), each notice into recipients through
   the recipients port, and one `notifications` row per (event, recipient, channel) is
   inserted, a duplicate skipped by that unique key. Kafka offsets are committed only after
   this transaction commits: a crash before it means the records come again, and are skipped.
   A recipient with no contact, or an official who opted out of the kind, gets a `skipped` row.
2. **Send.** Due `pending` rows are taken with `FOR UPDATE SKIP LOCKED` (several consumers
   may run), rendered from the tenant's templates (content-free), sent over their channel,
   and marked `sent`. A channel that refuses for now (SMTP 4xx, unreachable) puts the row
   back with a doubling delay; after MAX_ATTEMPTS it is `dead`. Nothing is lost: a row is
   pending until it is sent or given up. The per-tenant rate limit leaves the rest due.

3. **Daily.** Once a minute the loop asks the daily notices job (daily.py) to plan each
   tenant's digest and LPJ notices when its local hour has come; step 2 sends them.

The poll, check and commit loop is the audit ledger's too (shared/event_consumer.py).

Metrics (Prometheus, `--metrics-port`): notices sent, failed, skipped, dead letters, pending,
and the consumer's lag behind the topics.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from infra.topics import topic_for
from services.notifications import channels as channels_mod
from services.notifications.daily import DailyNotices
from services.notifications.domain import delivery, rules, templates
from services.notifications.models import (
    DEAD,
    PENDING,
    SENT,
    SKIPPED,
    DeadLetterRow,
    NotificationRow,
)
from services.notifications.recipients import Contact, Recipients, Skip
from shared import event_consumer, event_intake
from shared.db import session_factory
from shared.event_signing import TrustedKeys

log = logging.getLogger(__name__)

GROUP = "notifications"

SENT_TOTAL = Counter("replika_notifications_sent_total", "Notices sent", ["channel"])
FAILED_TOTAL = Counter(
    "replika_notifications_failed_total", "Failed sends (retried unless dead)", ["channel"]
)
SKIPPED_TOTAL = Counter("replika_notifications_skipped_total", "Notices not sent", ["reason"])
DEAD_TOTAL = Counter("replika_notifications_dead_total", "Notices given up after retries")
DEAD_LETTERS = Counter(
    "replika_notifications_dead_letters_total", "Records not accepted", ["reason"]
)
PENDING_GAUGE = Gauge("replika_notifications_pending", "Notices waiting to be sent")
LAG_GAUGE = Gauge("replika_notifications_lag", "Records on the topics not yet read by the group")


@dataclass(frozen=True)
class Planned:
    tenant_id: uuid.UUID
    kind: str
    recipient: str  # pseudonymous reference
    channel: str
    link: str
    skipped: str | None = None  # reason, when no notice is to be sent


def _now() -> datetime:
    return datetime.now(UTC)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class NotificationsConsumer:
    def __init__(
        self,
        engine: Engine,
        bootstrap: str,
        recipients: Recipients,
        channels: dict[str, channels_mod.Channel],
        public_urls: dict[str, str],
        *,
        group: str = GROUP,
        topics: tuple[str, ...] | None = None,
        keys: TrustedKeys | None = None,
        max_attempts: int = delivery.MAX_ATTEMPTS,
        first_retry_seconds: float = delivery.FIRST_RETRY_SECONDS,
        send_batch: int = 50,
        max_event_age: timedelta = timedelta(hours=24),
        daily: DailyNotices | None = None,
        daily_every_seconds: float = 60.0,
    ) -> None:
        self.sessions = session_factory(engine)
        self.bootstrap, self.group = bootstrap, group
        self.topics = topics or tuple(topic_for(s) for s in event_intake.SOURCE_SERVICES)
        self.recipients, self.channels = recipients, channels
        self.public_urls = {k: v.rstrip("/") for k, v in public_urls.items()}
        self.keys = keys or TrustedKeys()
        self.max_attempts, self.first_retry = max_attempts, first_retry_seconds
        self.send_batch = send_batch
        # an older event tells nobody: a first start on a topic with history (the group reads
        # from the earliest offset) must not send a notice of every past event
        self.max_event_age = max_event_age
        self.planned = self.sent = self.failed = self.dead_lettered = 0
        # the daily digest and LPJ notices (daily.py), planned by the same loop
        self.daily, self.daily_every = daily, daily_every_seconds

    # --- Kafka ---------------------------------------------------------------------------

    def _consumer(self):
        return event_consumer.kafka_consumer(
            "notifications", self.bootstrap, self.group, self.topics
        )

    # --- planning ------------------------------------------------------------------------

    def _recipients_of(
        self, tenant_id: uuid.UUID, audience: rules.Audience
    ) -> list[tuple[str, Contact | Skip | None]]:
        """(reference, contact or why not) of every recipient of `audience`; an official's
        contact is None here (it depends on the kind: opt-outs), asked for by the caller."""
        r = self.recipients
        officials: list[uuid.UUID | None] = []
        match audience:
            case rules.RoleHolders(role):
                officials = list(r.officials_with_role(tenant_id, role))
            case rules.OfficialById(official_id):
                officials = [_uuid(official_id)]
            case rules.AssigneeOfCase(report_id):
                i = _uuid(report_id)
                officials = [r.assignee_of_case(tenant_id, i) if i else None]
            case rules.RequesterOfIdentityRequest(request_id):
                i = _uuid(request_id)
                officials = [r.requester_of_identity_request(tenant_id, i) if i else None]
            case rules.ApplicantOfApplication(application_id):
                i = _uuid(application_id)
                return [(f"applicant:{i}", r.applicant_contact(tenant_id, i))] if i else []
            case rules.ReporterOfCase(report_id):
                i = _uuid(report_id)
                return [(f"reporter:{i}", r.reporter_contact(tenant_id, i))] if i else []
            case rules.RequestingCity(request_id):
                i = _uuid(request_id)
                return [(f"city:{i}", r.city_contact(tenant_id, i))] if i else []
        return [(f"official:{i}", None) for i in officials if i is not None]

    def _at_reporter_home(
        self, tenant_id: uuid.UUID, notice: rules.Notice
    ) -> tuple[rules.Notice, uuid.UUID]:
        """A reporter's notice of a case that came by referral goes from the city that holds
        their receipt and sealed contact (the contact never leaves it); others stay."""
        if not isinstance(notice.audience, rules.ReporterOfCase):
            return notice, tenant_id
        i = _uuid(notice.audience.report_id)
        home = self.recipients.reporter_home(tenant_id, i) if i else None
        if home is None:
            return notice, tenant_id
        home_city = self.recipients.city_by_id(home[0])
        if home_city is None:
            return notice, tenant_id
        return rules.at_reporter_home(notice, home_city.slug, str(home[1])), home_city.id

    def plan(self, event: dict[str, Any]) -> list[Planned]:
        """The notification rows of one accepted event."""
        if datetime.fromisoformat(event["time"]) < _now() - self.max_event_age:
            return []
        city = self.recipients.city(event["tenant"])
        if city is None:
            return []
        tenant_id = city.id
        out: list[Planned] = []
        for notice in rules.notices(event, city.slug):
            notice, tenant_id = self._at_reporter_home(city.id, notice)
            link = self.public_urls.get(notice.service, "") + notice.path
            for reference, contact in self._recipients_of(tenant_id, notice.audience):
                if contact is None:  # an official: their contact depends on the kind
                    official_id = uuid.UUID(reference.split(":", 1)[1])
                    contact = self.recipients.official_contact(tenant_id, official_id, notice.kind)
                if isinstance(contact, Skip):
                    out.append(
                        Planned(tenant_id, notice.kind, reference, "none", link, contact.reason)
                    )
                    continue
                channel = channels_mod.CHANNEL_OF_CONTACT.get(contact.kind, "none")
                out.append(Planned(tenant_id, notice.kind, reference, channel, link))
        return out

    def store(
        self, accepted: list[tuple[Any, dict[str, Any]]], letters: list[dict[str, Any]]
    ) -> int:
        """Insert one poll's notification rows and dead letters in one transaction; returns
        how many rows are new. An event whose plan fails for a reason of its own (not an
        outage of a database) joins the dead letters: it must not stop the stream."""
        rows = []
        now = _now()
        for record, event in accepted:
            try:
                planned = self.plan(event)
            except Exception as exc:
                if event_consumer.is_db_error(exc):
                    raise  # an outage: the whole poll is read again after the backoff
                rejected = event_intake.Rejected("unplannable", type(exc).__name__)
                letters.append(_letter(record, rejected))
                continue
            for p in planned:
                rows.append(
                    {
                        "event_id": event["id"][:64],
                        "event_type": event["type"][:120],
                        "tenant_id": p.tenant_id,
                        "kind": p.kind,
                        "recipient": p.recipient,
                        "channel": p.channel,
                        "link": p.link[:500],
                        "status": SKIPPED if p.skipped else PENDING,
                        "attempts": 0,
                        "last_error": p.skipped,
                        "created_at": now,
                        "next_attempt_at": now,
                    }
                )
        new = 0
        with self.sessions() as session, session.begin():
            if rows:
                new = len(
                    session.execute(
                        insert(NotificationRow)
                        .values(rows)
                        .on_conflict_do_nothing(constraint="notifications_once")
                        .returning(NotificationRow.id)
                    ).all()
                )
            if letters:
                session.execute(
                    insert(DeadLetterRow)
                    .values(letters)
                    .on_conflict_do_nothing(
                        index_elements=["topic", "kafka_partition", "kafka_offset"]
                    )
                )
        for row in rows:
            if row["status"] == SKIPPED:
                SKIPPED_TOTAL.labels(row["last_error"]).inc()
        for letter in letters:
            DEAD_LETTERS.labels(letter["reason"]).inc()
            log.error(
                "notifications: dead letter %s[%d]@%d: %s (record sha256 %s)",
                letter["topic"],
                letter["kafka_partition"],
                letter["kafka_offset"],
                letter["reason"],
                letter["record_sha256"],
            )
        self.planned += new
        self.dead_lettered += len(letters)
        return new

    def handle(self, batch: dict) -> int:
        accepted, rejected = event_consumer.check_batch(batch, self.keys)
        return self.store(accepted, [_letter(record, why) for record, why in rejected])

    # --- sending -------------------------------------------------------------------------

    def _sent_last_minute(self, session: Session, tenant_ids: set[uuid.UUID]) -> dict:
        since = _now() - timedelta(minutes=1)
        counts = session.execute(
            select(NotificationRow.tenant_id, func.count())
            .where(NotificationRow.tenant_id.in_(tenant_ids), NotificationRow.sent_at >= since)
            .group_by(NotificationRow.tenant_id)
        ).all()
        return {tenant: n for tenant, n in counts}

    def deliver_due(self) -> int:
        """Send what is due, one notice per transaction (so a crash can repeat at most the one
        notice in flight, under the same idempotency key); returns how many were sent. Stops
        after `send_batch` tries, so the loop goes back to Kafka in between."""
        sent = 0
        skipped_tenants: set[uuid.UUID] = set()  # over their rate this round
        for _ in range(self.send_batch):
            with self.sessions() as session, session.begin():
                query = (
                    select(NotificationRow)
                    .where(
                        NotificationRow.status == PENDING,
                        NotificationRow.next_attempt_at <= _now(),
                    )
                    .order_by(NotificationRow.next_attempt_at, NotificationRow.id)
                    .limit(1)
                    .with_for_update(skip_locked=True)
                )
                if skipped_tenants:
                    query = query.where(NotificationRow.tenant_id.not_in(skipped_tenants))
                row = session.execute(query).scalar_one_or_none()
                if row is None:
                    break
                city = self.recipients.city_by_id(row.tenant_id)
                rate = (city.rate_per_minute if city else None) or delivery.DEFAULT_RATE_PER_MINUTE
                used = self._sent_last_minute(session, {row.tenant_id}).get(row.tenant_id, 0)
                if not delivery.room_left(used, rate):
                    skipped_tenants.add(row.tenant_id)  # stays due: sent when the minute has room
                    continue
                if self._deliver(row, city):
                    sent += 1
        return sent

    def _contact(self, row: NotificationRow) -> Contact | Skip:
        kind, _, ref = row.recipient.partition(":")
        ref_id = uuid.UUID(ref)
        r = self.recipients
        if kind == "official":
            return r.official_contact(row.tenant_id, ref_id, row.kind)
        if kind == "applicant":
            return r.applicant_contact(row.tenant_id, ref_id)
        if kind == "reporter":
            return r.reporter_contact(row.tenant_id, ref_id)
        if kind == "city":
            return r.city_contact(row.tenant_id, ref_id)
        return Skip("unknown")

    def _deliver(self, row: NotificationRow, city) -> bool:
        """Try one row (within the caller's transaction); True when it was sent."""
        try:
            contact = self._contact(row) if city is not None else Skip("unknown")
        except Exception as exc:  # a service's database away: try again later
            self._failed(row, channels_mod.DeliveryFailed(type(exc).__name__, temporary=True))
            return False
        if isinstance(contact, Skip):
            row.status, row.last_error = SKIPPED, contact.reason
            SKIPPED_TOTAL.labels(contact.reason).inc()
            return False
        channel = self.channels.get(channels_mod.CHANNEL_OF_CONTACT.get(contact.kind, ""))
        if channel is None:
            self._failed(row, channels_mod.DeliveryFailed("channel not configured", temporary=True))
            return False
        message = templates.render(
            row.kind,
            contact.language or city.language,
            city.name,
            row.link,
            city.templates,
            row.figures,
        )
        try:
            channel.send(contact.address, message, _key(row))
        except channels_mod.DeliveryFailed as exc:
            self._failed(row, exc)
            return False
        row.status, row.sent_at, row.last_error = SENT, _now(), None
        row.attempts += 1
        SENT_TOTAL.labels(channel.name).inc()
        self.sent += 1
        return True

    def _failed(self, row: NotificationRow, exc: channels_mod.DeliveryFailed) -> None:
        row.attempts += 1
        row.last_error = exc.reason
        FAILED_TOTAL.labels(row.channel).inc()
        self.failed += 1
        if not exc.temporary or delivery.gives_up(row.attempts, self.max_attempts):
            row.status = DEAD
            DEAD_TOTAL.inc()
            log.error("notifications: notice %d given up: %s", row.id, exc.reason)
        else:
            row.next_attempt_at = _now() + delivery.retry_after(row.attempts, self.first_retry)
            log.warning(
                "notifications: notice %d failed (%s), attempt %d", row.id, exc.reason, row.attempts
            )

    def pending(self) -> int:
        with self.sessions() as session:
            return session.execute(
                select(func.count()).where(NotificationRow.status == PENDING)
            ).scalar_one()

    # --- the loop ------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """The shared poll-check-store-commit loop (shared/event_consumer.py); after every
        poll, the daily notices when due, the sending, and the metrics every few seconds."""
        last_metrics = last_daily = 0.0

        def after_poll(consumer) -> None:
            nonlocal last_metrics, last_daily
            if self.daily is not None and time.monotonic() - last_daily >= self.daily_every:
                self.daily.tick()
                last_daily = time.monotonic()
            self.deliver_due()
            if time.monotonic() - last_metrics >= 5.0:
                last_metrics = time.monotonic()
                PENDING_GAUGE.set(self.pending())
                LAG_GAUGE.set(_lag(consumer))

        event_consumer.run(
            stop,
            name="notifications",
            log=log,
            open_consumer=self._consumer,
            handle=self.handle,
            poll_timeout_ms=300,
            after_poll=after_poll,
        )


def _key(row: NotificationRow) -> str:
    """The idempotency key of a notice: stable across retries and restarts."""
    return hashlib.sha256(f"{row.event_id}|{row.recipient}|{row.channel}".encode()).hexdigest()[:32]


def _letter(record: Any, rejected: event_intake.Rejected) -> dict[str, Any]:
    event_id = tenant = None
    try:
        import json

        value = json.loads(record.value)
        if isinstance(value, dict):
            event_id = value.get("id") if isinstance(value.get("id"), str) else None
            tenant = value.get("tenant") if isinstance(value.get("tenant"), str) else None
    except (ValueError, TypeError, UnicodeDecodeError):
        pass

    def clean(text: str | None, limit: int) -> str | None:
        return (
            None if text is None else "".join(c if c.isprintable() else "?" for c in text[:limit])
        )

    return {
        "topic": record.topic[:249],
        "kafka_partition": record.partition,
        "kafka_offset": record.offset,
        "reason": rejected.reason[:40],
        "detail": clean(rejected.detail, 500) or "",
        "record_sha256": hashlib.sha256(record.value or b"").hexdigest(),
        "record_value": record.value,
        "event_id": clean(event_id, 64),
        "tenant": clean(tenant, 63),
        "received_at": _now(),
    }


def _lag(consumer) -> int:
    try:
        assigned = list(consumer.assignment())
        if not assigned:
            return 0
        ends = consumer.end_offsets(assigned)
        return sum(max(ends[tp] - consumer.position(tp), 0) for tp in assigned)
    except Exception:  # a metric must not stop the stream
        return 0
