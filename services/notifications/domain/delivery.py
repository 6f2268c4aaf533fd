"""When to try a notice again, when to give up, how many a city may send a minute. Pure."""

from __future__ import annotations

from datetime import timedelta

MAX_ATTEMPTS = 8  # then the notice is a dead letter of delivery (status "dead")
FIRST_RETRY_SECONDS = 5.0
MAX_RETRY_SECONDS = 600.0
DEFAULT_RATE_PER_MINUTE = 120  # per tenant, unless its file says otherwise


def retry_after(attempts: int, first: float = FIRST_RETRY_SECONDS) -> timedelta:
    """The wait after the `attempts`-th failed try: doubling from `first`, capped at 10 min."""
    return timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS))


def gives_up(attempts: int, max_attempts: int = MAX_ATTEMPTS) -> bool:
    return attempts >= max_attempts


def room_left(sent_last_minute: int, rate_per_minute: int) -> int:
    """How many more notices the tenant may send now."""
    return max(rate_per_minute - sent_last_minute, 0)
