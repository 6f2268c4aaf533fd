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
    errors = list(validator(type_).iter_errors(data))
    if errors:
        raise InvalidEvent(f"{type_}: " + "; ".join(e.message for e in errors))
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
