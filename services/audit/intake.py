"""What the ledger accepts: the checks of shared/event_intake.py, which every consumer of the
event topics (the audit ledger, the notifications consumer) applies the same way."""

from __future__ import annotations

from shared.event_intake import (
    SOURCE_SERVICES,
    TOPIC_SUFFIX,
    TYPE_PREFIXES,
    Rejected,
    check,
    service_of_topic,
)

__all__ = [
    "SOURCE_SERVICES",
    "TOPIC_SUFFIX",
    "TYPE_PREFIXES",
    "Rejected",
    "check",
    "service_of_topic",
]
