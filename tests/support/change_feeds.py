"""Waiting for a process's change feed (shared/change_feed.py) to settle before a test counts
round trips: a cache entry loaded before the feed listens, or before a notification of an
earlier test's change arrives, is stale when the feed's generation moves, and the next use
reads it again."""

from __future__ import annotations

import time

from sqlalchemy.engine import Engine

from shared.change_feed import feed_for


def settled(engine: Engine, quiet_seconds: float = 0.3, timeout: float = 15.0) -> None:
    """Return once `engine`'s feed listens and its generation has not moved for
    `quiet_seconds` (earlier tests' notifications delivered)."""
    feed = feed_for(engine)
    feed.stamp()  # starts it
    deadline = time.monotonic() + timeout
    seen, since = feed.generation, time.monotonic()
    while time.monotonic() < deadline:
        if feed.generation != seen:
            seen, since = feed.generation, time.monotonic()
        elif feed.listening and time.monotonic() - since >= quiet_seconds:
            return
        time.sleep(0.02)
    raise AssertionError("the change feed did not settle")
