"""What a consumer of the event topics accepts: the checks a Kafka record passes before the
audit ledger chains it or the notifications consumer acts on it.

A record is accepted only when all of these hold, in this order (the first that fails is the
dead letter's reason):

| reason              | the check                                                           |
|---------------------|---------------------------------------------------------------------|
| `unknown_topic`     | the topic is `<service>.events` of a service the ledger reads       |
| `not_json`          | the value is a JSON object                                          |
| `missing_signature` | it carries `sig` and `sigkey` (shared/event_signing.py)             |
| `unknown_key`       | `sigkey` is a published key of the topic's service                  |
| `bad_signature`     | the Ed25519 signature verifies over the event without `sig`         |
| `wrong_source`      | `source` is `/replika/<the topic's service>/<the event's tenant>`   |
| `wrong_type`        | `type` belongs to the topic's service (TYPE_PREFIXES)               |
| `unknown_type`      | `type` has a JSON Schema in shared/schemas/events/                  |
| `naive_time`        | `time` is an ISO 8601 date-time with a UTC offset                   |
| `schema`            | the envelope and `data` validate against their JSON Schemas         |
| `unknown_tenant`    | the tenant is known to the consumer (checked when it stores)        |

Details name fields and schema keywords, never values, so a record holding personal data does
not spread it to logs or listings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared import events
from shared.event_signing import SignatureProblem, TrustedKeys

SOURCE_SERVICES = ("whistleblowing", "hibah_bansos")
TOPIC_SUFFIX = ".events"

# The event types each service may emit. Platform events (tenant lifecycle, replication) are
# emitted by the hosting service, whistleblowing (shared/replication/lifecycle.py); `test.*`
# is the schema the pipeline tests emit with.
TYPE_PREFIXES: dict[str, tuple[str, ...]] = {
    "whistleblowing": ("whistleblowing.", "platform.", "test."),
    "hibah_bansos": ("hibah_bansos.", "test."),
}


@dataclass(frozen=True)
class Rejected:
    reason: str
    detail: str


def service_of_topic(topic: str) -> str | None:
    if not topic.endswith(TOPIC_SUFFIX):
        return None
    service = topic[: -len(TOPIC_SUFFIX)]
    return service if service in SOURCE_SERVICES else None


def _path(error: Any) -> str:
    return "/".join(map(str, error.absolute_path)) or "(root)"


def check(topic: str, value: bytes | None, keys: TrustedKeys) -> dict[str, Any] | Rejected:
    """The event in a record when it may be chained (tenant aside), else why not."""
    service = service_of_topic(topic)
    if service is None:
        return Rejected("unknown_topic", f"{topic[:100]} is not a service's events topic")
    try:
        event = json.loads(value) if value else None
    except (ValueError, UnicodeDecodeError):
        return Rejected("not_json", "the value is not JSON")
    if not isinstance(event, dict):
        return Rejected("not_json", "the value is not a JSON object")
    try:
        keys.check(service, event)
    except SignatureProblem as exc:
        return Rejected(exc.reason, exc.detail)
    tenant, source, type_ = event.get("tenant"), event.get("source"), event.get("type")
    if not isinstance(tenant, str) or source != f"/replika/{service}/{tenant}":
        return Rejected("wrong_source", f"source is not /replika/{service}/<tenant>")
    if not isinstance(type_, str) or not type_.startswith(TYPE_PREFIXES[service]):
        return Rejected("wrong_type", f"not an event type of {service}")
    try:
        events.validator(type_)
    except events.UnknownEventType:
        return Rejected("unknown_type", f"no schema for {type_[:200]}")
    time = event.get("time")
    try:
        naive = not isinstance(time, str) or datetime.fromisoformat(time).tzinfo is None
    except ValueError:
        naive = True
    if naive:
        return Rejected("naive_time", "time is not an ISO 8601 date-time with a UTC offset")
    if events.envelope_is_valid(event) and events.data_is_valid(type_, event.get("data")):
        return event  # the usual case: no error objects built
    envelope, data = events.envelope_validator(), events.validator(type_)
    errors = [f"envelope: {_path(e)}: {e.validator}" for e in envelope.iter_errors(event)]
    errors += [f"data: {_path(e)}: {e.validator}" for e in data.iter_errors(event.get("data"))]
    return Rejected("schema", "; ".join(errors)[:500] or events.COMPILED_REFUSED)
