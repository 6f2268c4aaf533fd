"""The notifications consumer's throughput against the plain audit consumer (issue 20).

The same event set for both: N `whistleblowing.report.submitted.v1` events of 6 tenants,
committed through shared.uow.UnitOfWork and published by shared.relay.Relay to the real
`whistleblowing.events` topic (so they are signed and checked like any event). Each consumer
is the production class (services/notifications/consumer.py, services/audit/consumer.py),
in its own consumer group, reading exactly these offsets (partitions assigned and sought to
where the set begins: the topic also holds the earlier sections' events).

- notifications: every event is planned into one notice per `wbs_intake` official of the
  event's tenant (3 officials with an e-mail address each), and every notice is sent over a channel that
  takes the message in-process (no SMTP server: the consumer's own work is measured: the
  plan transaction, one transaction per notice, rendering, the per-tenant rate-limit query).
  The bench tenants' `notifications.rate_per_minute` is set to the schema's maximum (10,000)
  and the events are spread over 6 of them, so the per-tenant limit (120/min by default)
  caps at 1,000 notices/s, above what is measured (the note says if it came close).
- audit: every event appended to the tenant's hash chain (ledger batch per poll), with the
  production checkpoint settings.
Time is from the first poll's records to the last notice sent / the last event appended.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

from bench.stats import ratio

OFFICIALS = 3
TENANTS = 6  # the per-tenant notification limit tops at 10,000/min: 6 cities, 1,000/s
RATE_PER_MINUTE = 10_000  # the tenant schema's maximum
SLUG = "bench-notify"
TOPIC = "whistleblowing.events"


class SinkChannel:
    """Takes each message in-process (the channel port's contract: send or raise)."""

    name = "email"

    def __init__(self) -> None:
        self.sent = 0
        self.lock = threading.Lock()

    def send(self, to: str, message, key: str) -> None:
        with self.lock:
            self.sent += 1


def make_tenant(state: Path, k: int):
    """A city of its own from the `cimahi` template (through the CLI's use cases), with the
    highest notification rate limit the schema allows and three intake officials."""
    import copy

    from bench import stack
    from infra import local
    from operations import key_admin, official_admin, tenant_apply
    from operations.replication import provisioning
    from operations.replication.template import TenantExists, write_new_tenant
    from shared.tenancy import Tenant
    from shared.tenant_config import load_file

    directory = state / "notifications" / "tenants"
    directory.mkdir(parents=True, exist_ok=True)
    template = copy.deepcopy(load_file(local.ROOT / "tenants" / "cimahi.yaml").data)
    template.setdefault("notifications", {})["rate_per_minute"] = RATE_PER_MINUTE
    slug = f"{SLUG}-{k}"
    try:
        path = write_new_tenant(
            directory,
            template,
            "cimahi",
            slug=slug,
            name=f"Pemerintah Kota Bench Notifikasi {k}",
            region_code=f"99.{90 + k:02d}",
        )
    except TenantExists:
        path = directory / f"{slug}.yaml"
    config = load_file(path)
    tenant_apply.apply(config)
    provisioning._step_keys(config.id)
    key_admin.ensure_custodian(config.id, stack.CUSTODIAN_PASSPHRASE)
    for j in range(OFFICIALS):
        official_admin.add(
            slug,
            f"bench-intake-{j}-{uuid.uuid4().hex[:6]}",
            ["wbs_intake"],
            email=f"intake{j}@{slug}.example.id",
        )
    return Tenant(config.id, config.slug, config.data)


def _end_offsets() -> dict[int, int]:
    from kafka import KafkaConsumer, TopicPartition

    from shared.settings import kafka_client_config

    c = KafkaConsumer(**kafka_client_config("admin"))
    try:
        parts = c.partitions_for_topic(TOPIC) or set()
        ends = c.end_offsets([TopicPartition(TOPIC, p) for p in parts])
        return {tp.partition: off for tp, off in ends.items()}
    finally:
        c.close()


def publish(tenant, n: int) -> dict:
    """N events through the outbox and the relay (the production path to the topic)."""
    from bench.pipeline_bench import prefill
    from shared.db import service_engine
    from shared.relay import Relay

    fill = prefill(tenant, n)
    relay = Relay(
        "whistleblowing",
        service_engine("whistleblowing", migration=True),
        os.environ["KAFKA_BOOTSTRAP_SERVERS"],
    )
    try:
        published = relay.drain(timeout=600)
    finally:
        relay.close()
    return {"events": published, "prefill_seconds": round(fill, 1)}


def _assigning(cls, group: str, client: str, start: dict[int, int]):
    """The production consumer class, reading TOPIC from `start` (partition -> offset)."""

    class Assigned(cls):  # type: ignore[misc, valid-type]
        first_at: float | None = None

        def _consumer(self):
            from kafka import KafkaConsumer, TopicPartition

            from shared.settings import kafka_client_config

            c = KafkaConsumer(
                **kafka_client_config(client, self.bootstrap),
                group_id=group,
                enable_auto_commit=False,
                max_poll_records=500,
                request_timeout_ms=15000,
            )
            tps = [TopicPartition(TOPIC, p) for p in start]
            c.assign(tps)
            for tp in tps:
                c.seek(tp, start[tp.partition])
            return c

        def handle(self, batch):
            if self.first_at is None:
                self.first_at = time.monotonic()
            return super().handle(batch)

    return Assigned


def _run_until(consumer, done, timeout: float) -> tuple[float | None, float]:
    """Run the consumer in a thread until `done()` or `timeout`; (when done or None, when
    it was stopped)."""
    stop = threading.Event()
    t = threading.Thread(target=consumer.run, args=(stop,), daemon=True)
    t.start()
    deadline = time.monotonic() + timeout
    finished = None
    try:
        while time.monotonic() < deadline:
            if done():
                finished = time.monotonic()
                break
            time.sleep(0.02)
    finally:
        stopped = time.monotonic()
        stop.set()
        t.join(30)
    return finished, stopped


def run(quick: bool, state: Path, env: dict) -> dict:
    from operations.notify_recipients import ServiceRecipients, public_urls
    from services.audit.consumer import AuditConsumer
    from services.notifications.consumer import NotificationsConsumer
    from shared import event_types, settings
    from shared.db import service_engine

    n = 300 if quick else 900  # events; 3 notices each (sending is one transaction per notice)
    timeout = 300.0 if quick else 900.0
    tenants = [make_tenant(state, k) for k in range(TENANTS)]
    start = _end_offsets()
    pub = [publish(t, n // TENANTS) for t in tenants]
    events = sum(off - start.get(p, 0) for p, off in _end_offsets().items())
    out: dict = {
        "events": events,
        "event_type": event_types.WB_REPORT_SUBMITTED,
        "recipients_per_event": OFFICIALS,
        "publish": pub,
        "notes": [
            "Channel: an in-process sink (the SMTP server's own speed is not the consumer's); "
            "the bench tenant's notification rate limit is raised to 10,000,000/min.",
        ],
    }
    print(f"bench:   notifications: {events} events on {TOPIC}", flush=True)

    sink = SinkChannel()
    cls = _assigning(NotificationsConsumer, "notifications", "notifications", start)
    nc = cls(
        service_engine("notifications"),
        settings.kafka_bootstrap(),
        ServiceRecipients(),
        {"email": sink},
        public_urls(),
    )
    expected = events * OFFICIALS
    finished, stopped = _run_until(nc, lambda: sink.sent >= expected, timeout)
    # an unfinished run (timeout) still gives its rate over the time it ran
    took = ((finished or stopped) - nc.first_at) if nc.first_at else None
    out["notifications"] = {
        "events": events,
        "notifications": sink.sent,
        "planned": nc.planned,
        "failed": nc.failed,
        "dead_lettered": nc.dead_lettered,
        "seconds": round(took, 3) if took else None,
        "events_per_s": round(events / took, 1) if took and finished else None,
        "notifications_per_s": round(sink.sent / took, 1) if took else None,
        "complete": finished is not None,
    }
    print(
        f"bench:   notifications consumer: {sink.sent}/{expected} notices in "
        f"{out['notifications']['seconds']} s ({out['notifications']['notifications_per_s']}/s)",
        flush=True,
    )

    cls = _assigning(AuditConsumer, "audit", "audit-consumer", start)
    ac = cls(service_engine("audit"), settings.kafka_bootstrap())
    finished, stopped = _run_until(ac, lambda: ac.appended + ac.duplicates >= events, timeout)
    took = ((finished or stopped) - ac.first_at) if ac.first_at else None
    out["audit"] = {
        "events": events,
        "appended": ac.appended,
        "duplicates": ac.duplicates,
        "dead_lettered": ac.dead_lettered,
        "seconds": round(took, 3) if took else None,
        "events_per_s": round(events / took, 1) if took else None,
        "complete": finished is not None,
    }
    out["events_ratio_to_audit"] = ratio(
        out["notifications"]["events_per_s"], out["audit"]["events_per_s"]
    )
    print(
        f"bench:   audit consumer: {ac.appended} appended in {out['audit']['seconds']} s "
        f"({out['audit']['events_per_s']}/s)",
        flush=True,
    )
    return out
