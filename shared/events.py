"""CloudEvents 1.0 (structured JSON) for every state change.

Events carry ids, states, amounts, digests and pseudonymous actor ids, never personal data.
Each `type` has a JSON Schema under `shared/schemas/events/<type>.json` for its `data`,
checked when the event is built.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator

from shared.tenancy import Tenant

SCHEMA_DIR = Path(__file__).parent / "schemas" / "events"
SPEC_VERSION = "1.0"


class UnknownEventType(ValueError):
    pass


class InvalidEvent(ValueError):
    pass


def new_event_id() -> str:
    """Time-ordered unique id (UUIDv7 layout): 48-bit ms timestamp + 74 random bits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (ms << 80)
        | (0x7 << 76)
        | ((rand >> 62) & 0xFFF) << 64
        | (0b10 << 62)
        | (rand & ((1 << 62) - 1))
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def notify_channel(service: str) -> str:
    return f"outbox_{service}"


@cache
def validator(type_: str) -> Draft202012Validator:
    path = SCHEMA_DIR / f"{type_}.json"
    if not path.exists():
        raise UnknownEventType(type_)
    return Draft202012Validator(json.loads(path.read_text()))


@cache
def envelope_validator() -> Draft202012Validator:
    schema = json.loads((SCHEMA_DIR.parent / "cloudevent.schema.json").read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# The verdicts on the hot paths (every event built, every record the consumers read) come from
# the same schemas compiled by jsonschema-rs: jsonschema's pure-Python descent was half of the
# audit consumer's time (issue 22 profile). jsonschema still words the errors. Formats stay
# unchecked, as jsonschema leaves them here (no format packages; `time` is checked apart).
# Where the two could differ (Rust's `$` does not match before a final newline) the compiled
# one is the stricter, and a record it refuses is refused.
COMPILED_REFUSED = "refused by the compiled schema"


@cache
def _compiled(type_: str) -> Any:
    return jsonschema_rs.validator_for(validator(type_).schema, validate_formats=False)


@cache
def _compiled_envelope() -> Any:
    return jsonschema_rs.validator_for(envelope_validator().schema, validate_formats=False)


def data_is_valid(type_: str, data: Any) -> bool:
    """Whether `data` passes the schema of `type_` (UnknownEventType when it has none)."""
    compiled = _compiled(type_)
    try:
        return bool(compiled.is_valid(data))
    except (TypeError, ValueError):  # not a JSON value (a Python object the schema never sees)
        return False


def envelope_is_valid(event: Any) -> bool:
    try:
        return bool(_compiled_envelope().is_valid(event))
    except (TypeError, ValueError):
        return False


def problems(event: Any) -> list[str]:
    """Why a stored or received event is not a valid Replika event (empty when it is)."""
    found = [
        f"envelope: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in envelope_validator().iter_errors(event)
    ]
    if isinstance(event, dict) and isinstance(event.get("time"), str):
        try:  # jsonschema checks "date-time" only with an optional package: check it here
            if datetime.fromisoformat(event["time"]).tzinfo is None:
                found.append("envelope: time: no UTC offset")
        except ValueError:
            found.append("envelope: time: not an ISO 8601 date-time")
    if isinstance(event, dict) and isinstance(event.get("type"), str):
        try:
            found += [
                f"data: {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                for e in validator(event["type"]).iter_errors(event.get("data"))
            ]
        except UnknownEventType:
            found.append(f"type: no schema for {event['type']}")
    return found


def known_types() -> list[str]:
    return sorted(p.stem for p in SCHEMA_DIR.glob("*.json"))


def build(
    service: str, type_: str, tenant: Tenant, subject: str, actor: str, data: dict[str, Any]
) -> dict[str, Any]:
    if not data_is_valid(type_, data):
        errors = [e.message for e in validator(type_).iter_errors(data)]
        raise InvalidEvent(f"{type_}: " + ("; ".join(errors) or COMPILED_REFUSED))
    return {
        "specversion": SPEC_VERSION,
        "id": new_event_id(),
        "source": f"/replika/{service}/{tenant.slug}",
        "type": type_,
        "subject": subject,
        "time": datetime.now(UTC).isoformat(timespec="microseconds"),
        "datacontenttype": "application/json",
        "tenant": tenant.slug,
        "actor": actor,
        "data": data,
    }
