"""Duplicate-aid tokens: is a person drawing comparable bansos in a linked city too?

For every active bansos application (an individual's, past its draft and not rejected) and
every active agreement sharing `aid_tokens`, a city makes a token

    HMAC-SHA-256(agreement key, "replika-aid-token:v1" 0 NIK 0 category 0 year)

over the normalised NIK (shared.crypto.normalise: ASCII digits only), the aid category
(`aid_category` of the programme's settings, else its code without the `BANSOS-` prefix and the
year: BANSOS-DISABILITAS-2026 -> `disabilitas`) and the fiscal year. Both cities of the
agreement hold the key (made at acceptance, stored encrypted: operations/links/agreements.py),
so equal tokens mean the same person, category and year; nobody else can make or test one.
No NIK, name or plain hash of a NIK leaves the city: a plain SHA-256 of a NIK could be reversed
by hashing every NIK (about 10^10 of them, with region and birth date guessable: minutes).

Why HMAC and not an oblivious PRF: an OPRF (RFC 9497, e.g. ristretto255-SHA512) would let each
city get the token of its NIKs from the other without either holding the whole key, so a city
could not test NIKs offline against the tokens it received: every guess would be an online
request the other side sees and rate-limits. With an HMAC under a shared key, a city that holds
the key can do exactly that test offline against the partner's tokens. We accept that because
the partner is a government that signed an agreement, can check its own residents anyway, and
is audited; and because an OPRF needs an interactive protocol per token, a library this
project does not have (the `cryptography` package offers no OPRF or ristretto255), and, across
deployments, a round trip per application. An OPRF is the upgrade path: the token format is
versioned (`v1`) and the tables keep only tokens, so switching means re-publishing.

Transport between tenants of one deployment: a Kafka topic per agreement,
`links.aid.<agreement id>`, written and read by the hibah_bansos principal only (infra/
kafka_access.py). Each record is a CloudEvent (`hibah_bansos.aid.tokens_published.v1`) signed
with the hibah_bansos event key like every event (shared/event_signing.py); on receipt its
signature, source (the partner tenant), type, schema and agreement id are checked, and a record
failing any is dropped (logged without values). Tokens are re-published in full on each run;
each city reads the topic as the consumer group `links.aid.<its slug>` (granted to the
hibah_bansos principal, infra/kafka_access.py), whose offsets are committed only after the
round's database transaction: a run reads what came since the last one, not the whole topic.
The partner's newest list replaces its earlier ones, so a run that finds nothing new keeps them.

Transport between deployments (partner_kind `instance`): each city POSTs its full token list
to the partner's `/t/<slug>/api/v1/links/remote/<agreement id>/tokens`, signed by its
instance key (operations/links/remote.py: timestamp and nonce, the receiver checks the key the
agreement names); the receiver replaces what that partner published before and flags its
matches at once, and the sender flags its own against what the partner last pushed to it.

Each run replaces the city's own tokens, and each list received replaces the partner's: the
token of an application withdrawn, rejected or otherwise no longer active disappears on both
sides at the next run (a match already flagged stays on the application's page as history).

A match writes one `aid_matches` row per application and agreement on the side holding the
application (services/hibah_bansos/aid_links.py: the warning on the officials' application
page) and emits `hibah_bansos.aid.match_found.v1` (ids, number, category, year: no NIK, name or
token) for the notifications consumer. Both cities run the same sync, so both are flagged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, delete, exists, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from operations.links import agreements as agreement_cases
from services.hibah_bansos.aid_links import AidMatch, AidToken
from services.hibah_bansos.models import Applicant, Application, OutboxRow, Programme
from services.whistleblowing.models import TenantRow
from shared import event_signing, events
from shared.agreements import Agreement, active_agreements
from shared.crypto import FieldCipher, normalise
from shared.db import session_factory, tenant_session
from shared.event_signing import SignatureProblem, TrustedKeys
from shared.event_types import HB_AID_MATCH_FOUND, HB_AID_TOKENS_PUBLISHED
from shared.problem import Refused
from shared.tenancy import Tenant
from shared.uow import UnitOfWork

log = logging.getLogger(__name__)

SERVICE = "hibah_bansos"
KAFKA_ROLE = "relay-hibah_bansos"
TOPIC_PREFIX = "links.aid."
GROUP_PREFIX = "links.aid."  # + the reading city's slug
NOT_ACTIVE = ("draft", "rejected")
TOKEN_DOMAIN = b"replika-aid-token:v1"
SCOPE = "aid_tokens"
_YEAR_SUFFIX = re.compile(r"-(19|20)\d\d$")
_NOT_CATEGORY = re.compile(r"[^a-z0-9_-]+")


def topic_of(agreement_id: uuid.UUID) -> str:
    return f"{TOPIC_PREFIX}{agreement_id}"


def category_of(programme: Programme) -> str:
    given = (programme.config or {}).get("aid_category")
    if isinstance(given, str) and given.strip():
        raw = given
    else:
        raw = _YEAR_SUFFIX.sub("", programme.code)
        raw = raw[len("BANSOS-") :] if raw.upper().startswith("BANSOS-") else raw
    return _NOT_CATEGORY.sub("-", raw.strip().lower()).strip("-")[:40] or "bansos"


def aid_token(key: bytes, nik: str, category: str, year: int) -> str:
    msg = b"\x00".join(
        (TOKEN_DOMAIN, normalise("nik", nik).encode(), category.encode(), str(year).encode())
    )
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


@dataclass
class SyncResult:
    published: int = 0
    received: int = 0
    rejected: int = 0
    matched: list[str] = field(default_factory=list)  # application numbers flagged now


@dataclass(frozen=True)
class Databases:
    """The application-role engines (row-level security applies) of the two databases."""

    whistleblowing: Engine
    hibah_bansos: Engine


def _tenant(engine: Engine, slug: str) -> Tenant:
    with session_factory(engine)() as s:
        row = s.scalars(select(TenantRow).where(TenantRow.slug == slug)).one()
        return Tenant(id=row.id, slug=row.slug, config=row.config)


def _agreements_with_keys(db: Databases, tenant: Tenant) -> list[tuple[Agreement, bytes]]:
    with tenant_session(session_factory(db.whistleblowing), tenant.id) as ws:
        found = [
            (a, agreement_cases.aid_key(ws, a))
            for a in active_agreements(ws, tenant.id, SCOPE)
            if a.aid_key is not None
        ]
        ws.commit()  # a read; nothing written
        return found


def own_tokens(
    hs: Session, tenant_id: uuid.UUID, key: bytes
) -> list[tuple[uuid.UUID, str, str, int]]:
    """(application id, token, category, year) of every active bansos application."""
    rows = hs.execute(
        select(Application.id, Applicant.id, Applicant.personal, Programme)
        .join(Applicant, Applicant.id == Application.applicant_id)
        .join(Programme, Programme.id == Application.programme_id)
        .where(
            Programme.kind == "bansos",
            Applicant.kind == "individual",
            Application.status.not_in(NOT_ACTIVE),
        )
    ).all()
    out = []
    for app_id, applicant_id, personal, programme in rows:
        fields = FieldCipher(hs, tenant_id, "applicants", applicant_id).decrypt_json(
            "personal", personal
        )
        nik = fields.get("nik")
        if not nik:
            continue
        category = category_of(programme)
        out.append(
            (
                app_id,
                aid_token(key, nik, category, programme.fiscal_year),
                category,
                programme.fiscal_year,
            )
        )
    return out


def _replace(
    hs: Session, tenant_id: uuid.UUID, agreement_id: uuid.UUID, origin: str, rows: list[dict]
) -> None:
    """Make the stored tokens of (agreement, origin) exactly `rows`."""
    hs.execute(
        delete(AidToken).where(
            AidToken.tenant_id == tenant_id,
            AidToken.agreement_id == agreement_id,
            AidToken.origin == origin,
        )
    )
    _store(hs, rows)


def _own_rows(
    tenant_id: uuid.UUID, agreement_id: uuid.UUID, mine: list[tuple[uuid.UUID, str, str, int]]
) -> list[dict[str, Any]]:
    return [
        {
            "tenant_id": tenant_id,
            "agreement_id": agreement_id,
            "origin": "own",
            "token": token,
            "application_id": app_id,
            "category": category,
            "year": year,
        }
        for app_id, token, category, year in mine
    ]


def _partner_rows(
    tenant_id: uuid.UUID, agreement_id: uuid.UUID, tokens: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    return [
        {
            "tenant_id": tenant_id,
            "agreement_id": agreement_id,
            "origin": "partner",
            "token": t["token"],
            "application_id": None,
            "category": t["category"],
            "year": t["year"],
        }
        for t in tokens
    ]


_TOKEN = re.compile(r"^[0-9a-f]{64}$")


def checked_tokens(value: Any) -> list[dict[str, Any]]:
    """The token list of a body from another deployment; 422 naming `tokens` otherwise."""
    if not isinstance(value, list) or len(value) > 200_000:
        raise Refused(422, "tokens must be a list", "tokens")
    out = []
    for t in value:
        if not (
            isinstance(t, dict)
            and isinstance(t.get("token"), str)
            and _TOKEN.match(t["token"])
            and isinstance(t.get("category"), str)
            and 0 < len(t["category"]) <= 40
            and isinstance(t.get("year"), int)
            and 1900 < t["year"] < 2200
        ):
            raise Refused(422, "a token is not valid", "tokens")
        out.append({"token": t["token"], "category": t["category"], "year": t["year"]})
    return out


def receive_remote(
    db: Databases, tenant: Tenant, agreement: Agreement, tokens: list[dict[str, Any]]
) -> list[str]:
    """The token list another deployment pushed for `agreement` (its signature checked by the
    caller): it replaces what that partner published before; matches are flagged now."""
    with tenant_session(session_factory(db.hibah_bansos), tenant.id) as hs:
        uw = UnitOfWork(hs, tenant, SERVICE, OutboxRow)
        try:
            _replace(
                hs,
                tenant.id,
                agreement.id,
                "partner",
                _partner_rows(tenant.id, agreement.id, tokens),
            )
            matched = _match(uw, agreement)
            uw.commit()
        except BaseException:
            uw.rollback()
            raise
    return matched


def _sync_remote(db: Databases, tenant: Tenant, agreement: Agreement, key: bytes) -> SyncResult:
    """Push this city's tokens to the partner deployment; flag against what it pushed here."""
    from operations.links import remote

    result = SyncResult()
    with tenant_session(session_factory(db.hibah_bansos), tenant.id) as hs:
        uw = UnitOfWork(hs, tenant, SERVICE, OutboxRow)
        try:
            mine = own_tokens(hs, tenant.id, key)
            _replace(hs, tenant.id, agreement.id, "own", _own_rows(tenant.id, agreement.id, mine))
            published = [{"token": t, "category": c, "year": y} for _, t, c, y in mine]
            assert agreement.partner_url and agreement.partner_tenant
            try:
                remote.post(
                    agreement.partner_url,
                    remote.tenant_path(agreement.partner_tenant, f"/{agreement.id}/tokens"),
                    {"agreement_id": str(agreement.id), "tokens": published},
                )
                result.published += len(published)
            except remote.PartnerUnavailable as exc:
                log.warning("links: tokens of agreement %s not pushed: %s", agreement.id, exc)
            result.matched += _match(uw, agreement)
            uw.commit()
        except BaseException:
            uw.rollback()
            raise
    return result


def _store(hs: Session, rows: Iterable[dict[str, Any]]) -> None:
    rows = list(rows)
    if rows:
        hs.execute(insert(AidToken).values(rows).on_conflict_do_nothing())


def _match(uw: UnitOfWork, agreement: Agreement) -> list[str]:
    """Flag every application of this side whose token the partner published too."""
    hs = uw.session
    mine, theirs = AidToken.__table__.alias("mine"), AidToken.__table__.alias("theirs")
    found = hs.execute(
        select(mine.c.application_id, mine.c.category, mine.c.year, Application.number)
        .join(
            theirs,
            and_(
                theirs.c.tenant_id == mine.c.tenant_id,
                theirs.c.agreement_id == mine.c.agreement_id,
                theirs.c.origin == "partner",
                theirs.c.token == mine.c.token,
            ),
        )
        .join(Application, Application.id == mine.c.application_id)
        .where(
            mine.c.tenant_id == uw.tenant.id,
            mine.c.agreement_id == agreement.id,
            mine.c.origin == "own",
            ~exists().where(
                AidMatch.tenant_id == mine.c.tenant_id,
                AidMatch.agreement_id == agreement.id,
                AidMatch.application_id == mine.c.application_id,
            ),
        )
    ).all()
    numbers = []
    for application_id, category, year, number in found:
        hs.add(
            AidMatch(
                agreement_id=agreement.id,
                application_id=application_id,
                partner_name=agreement.partner_name,
                category=category,
                year=year,
            )
        )
        uw.emit(
            HB_AID_MATCH_FOUND,
            f"application:{application_id}",
            "system",
            {
                "application_id": str(application_id),
                "application_number": number,
                "agreement_id": str(agreement.id),
                "partner": agreement.partner,
                "category": category,
                "year": year,
            },
        )
        numbers.append(number)
    return numbers


def tokens_record(tenant: Tenant, agreement: Agreement, tokens: list[dict[str, Any]]) -> bytes:
    """The signed CloudEvent of one agreement's tokens, as a Kafka record value."""
    event = events.build(
        SERVICE,
        HB_AID_TOKENS_PUBLISHED,
        tenant,
        f"agreement:{agreement.id}",
        "system",
        {"agreement_id": str(agreement.id), "tokens": tokens},
    )
    event_signing.sign(SERVICE, event)
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


def check_record(
    value: bytes | None, agreement: Agreement, keys: TrustedKeys
) -> list[dict[str, Any]] | None:
    """The tokens of a record the partner of `agreement` signed for it, else None (dropped:
    not JSON, no valid hibah_bansos signature, another source, type, schema or agreement)."""
    try:
        event = json.loads(value) if value else None
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(event, dict):
        return None
    try:
        keys.check(SERVICE, event)
    except SignatureProblem as exc:
        log.warning("links: token record dropped on %s: %s", topic_of(agreement.id), exc.reason)
        return None
    if (
        event.get("type") != HB_AID_TOKENS_PUBLISHED
        or event.get("tenant") != agreement.partner
        or event.get("source") != f"/replika/{SERVICE}/{agreement.partner}"
        or events.problems(event)
        or not events.validator(HB_AID_TOKENS_PUBLISHED).is_valid(event.get("data"))
        or event["data"]["agreement_id"] != str(agreement.id)
    ):
        log.warning("links: token record dropped on %s: not the partner's", topic_of(agreement.id))
        return None
    return list(event["data"]["tokens"])


class NewRecords:
    def __init__(self, values: list[bytes | None], consumer: Any) -> None:
        self.values, self._consumer = values, consumer

    def commit(self) -> None:
        """Commit the group's offsets up to what was read (after the round's transaction)."""
        if self._consumer.assignment():
            self._consumer.commit()

    def close(self) -> None:
        self._consumer.close()


class Kafka:
    """The hibah_bansos principal's clients for the agreement topics."""

    def __init__(self, bootstrap: str | None = None, replication_factor: int = 1) -> None:
        from shared.settings import kafka_client_config

        self.config = kafka_client_config(KAFKA_ROLE, bootstrap)
        self.replication_factor = replication_factor
        self._producer: Any = None
        self._known: set[str] = set()

    def ensure_topic(self, topic: str) -> None:
        if topic in self._known:
            return
        from kafka import KafkaAdminClient
        from kafka.admin import NewTopic
        from kafka.errors import TopicAlreadyExistsError

        admin = KafkaAdminClient(**self.config, request_timeout_ms=15000)
        try:
            admin.create_topics([NewTopic(topic, 1, self.replication_factor)])
        except TopicAlreadyExistsError:
            pass
        finally:
            admin.close()
        self._known.add(topic)

    def send(self, topic: str, key: str, value: bytes) -> None:
        from kafka import KafkaProducer

        self.ensure_topic(topic)
        if self._producer is None:
            self._producer = KafkaProducer(**self.config, acks="all", linger_ms=5)
        self._producer.send(topic, key=key.encode(), value=value).get(timeout=15)

    def read_all(self, topic: str, timeout: float = 10.0) -> list[bytes | None]:
        from kafka import KafkaConsumer, TopicPartition

        self.ensure_topic(topic)
        consumer = KafkaConsumer(**self.config, enable_auto_commit=False, consumer_timeout_ms=1000)
        try:
            parts = [
                TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            if not parts:
                return []
            consumer.assign(parts)
            consumer.seek_to_beginning(*parts)
            ends = consumer.end_offsets(parts)
            out: list[bytes | None] = []
            deadline = time.monotonic() + timeout
            while any(consumer.position(tp) < ends[tp] for tp in parts):
                if time.monotonic() > deadline:
                    break
                for records in consumer.poll(timeout_ms=500).values():
                    out.extend(r.value for r in records)
            return out
        finally:
            consumer.close()

    def read_new(self, topic: str, group: str, timeout: float = 10.0) -> NewRecords:
        """The records of `topic` since `group`'s committed offsets (all of them the first
        time); `commit()` them once they are handled, `close()` in any case."""
        from kafka import KafkaConsumer, TopicPartition

        self.ensure_topic(topic)
        consumer = KafkaConsumer(
            **self.config, group_id=group, enable_auto_commit=False, consumer_timeout_ms=1000
        )
        try:
            parts = [
                TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
            values: list[bytes | None] = []
            if parts:
                consumer.assign(parts)
                for tp in parts:
                    committed = consumer.committed(tp)
                    if committed is None:
                        consumer.seek_to_beginning(tp)
                    else:
                        consumer.seek(tp, committed)
                ends = consumer.end_offsets(parts)
                deadline = time.monotonic() + timeout
                while any(consumer.position(tp) < ends[tp] for tp in parts):
                    if time.monotonic() > deadline:
                        break
                    for records in consumer.poll(timeout_ms=500).values():
                        values.extend(r.value for r in records)
        except BaseException:
            consumer.close()
            raise
        return NewRecords(values, consumer)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close()
            self._producer = None


def sync(db: Databases, kafka: Kafka, slug: str, keys: TrustedKeys | None = None) -> SyncResult:
    """One city's round: publish its tokens on each aid agreement's topic, take in the
    partner's, flag the matches. Idempotent: run it as often as wanted."""
    keys = keys or TrustedKeys()
    tenant = _tenant(db.whistleblowing, slug)
    result = SyncResult()
    for agreement, key in _agreements_with_keys(db, tenant):
        if agreement.partner_kind == "instance":
            remote_result = _sync_remote(db, tenant, agreement, key)
            result.published += remote_result.published
            result.matched += remote_result.matched
            continue
        topic = topic_of(agreement.id)
        batch: NewRecords | None = None
        with tenant_session(session_factory(db.hibah_bansos), tenant.id) as hs:
            uw = UnitOfWork(hs, tenant, SERVICE, OutboxRow)
            try:
                mine = own_tokens(hs, tenant.id, key)
                _replace(
                    hs, tenant.id, agreement.id, "own", _own_rows(tenant.id, agreement.id, mine)
                )
                published = [{"token": t, "category": c, "year": y} for _, t, c, y in mine]
                kafka.send(topic, tenant.slug, tokens_record(tenant, agreement, published))
                result.published += len(published)
                latest = None  # the partner's last list replaces the ones before it
                batch = kafka.read_new(topic, GROUP_PREFIX + tenant.slug)
                for value in batch.values:
                    probe = _peek_tenant(value)
                    if probe == tenant.slug:
                        continue  # our own record
                    tokens = check_record(value, agreement, keys)
                    if tokens is None:
                        result.rejected += 1
                        continue
                    latest = tokens
                if latest is not None:
                    result.received += len(latest)
                    _replace(
                        hs,
                        tenant.id,
                        agreement.id,
                        "partner",
                        _partner_rows(tenant.id, agreement.id, latest),
                    )
                result.matched += _match(uw, agreement)
                uw.commit()
                batch.commit()
            except BaseException:
                uw.rollback()
                raise
            finally:
                if batch is not None:
                    batch.close()
    return result


def _peek_tenant(value: bytes | None) -> str | None:
    try:
        event = json.loads(value) if value else None
    except (ValueError, UnicodeDecodeError):
        return None
    return event.get("tenant") if isinstance(event, dict) else None
