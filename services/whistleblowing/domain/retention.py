"""Retention: when an archived case is deleted, and when handlers are warned beforehand.

A case expires `retention_days` after it was archived, but never sooner than GRACE_DAYS
after the reporter last wrote (new input restarts the short clock, so nothing a reporter
just sent disappears unread). Handlers see the date WARNING_DAYS ahead.
"""

from __future__ import annotations

from datetime import date, timedelta

DEFAULT_RETENTION_DAYS = 1825
GRACE_DAYS = 30
WARNING_DAYS = 30


def expires_on(
    status: str,
    archived: date | None,
    last_reporter_input: date | None,
    retention_days: int = DEFAULT_RETENTION_DAYS,
) -> date | None:
    """The day the case may be deleted, or None while it is not archived."""
    if status != "archived" or archived is None:
        return None
    kept = archived + timedelta(days=retention_days)
    if last_reporter_input is None:  # the reporter never wrote after filing
        return kept
    return max(kept, last_reporter_input + timedelta(days=GRACE_DAYS))


def state(today: date, expiry: date | None) -> str:
    """'kept' | 'expiring' (within the warning period) | 'expired'."""
    if expiry is None:
        return "kept"
    if today >= expiry:
        return "expired"
    return "expiring" if (expiry - today).days <= WARNING_DAYS else "kept"
