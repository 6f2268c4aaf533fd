"""Per-process news of configuration changes, so the per-tenant caches can live long.

A worker caches the tenant row (shared/web.TenantCache), the tenant keys (shared/crypto.py)
and the custodian's public key (shared/identity.py). On a deployment of 514 cities a worker
sees a given tenant every few seconds, so caches of 5-30 s missed on a third to a half of
requests, each miss a round trip (issue 22, goal 4). These tables change rarely (a config
apply, a suspension, a key rotation or shredding) and must still reach every worker soon.

So each of them has a statement-level trigger that NOTIFYs `CHANNEL` (migration c001 of each
service: `upgrade_sql`), and each process LISTENs on it, per database, in a daemon thread.
The feed's `generation` moves on every notification and every time its connection is lost or
made. A cache entry remembers the generation it was loaded under:

- while the feed listens and the generation is unchanged, the entry is good for
  `TRUSTED_SECONDS` (a backstop: a notification is never needed for correctness beyond it);
- once the generation moved (a change, or a gap in listening), the entry is stale;
- while the feed does not listen, the cache's own short life applies, as before.

Any change of any tenant in the database drops every entry of that database: changes are
rare, and one rule is simpler than per-row invalidation. No payload: nothing about a tenant
crosses the channel.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from functools import cache

import psycopg
from sqlalchemy.engine import URL, Engine

log = logging.getLogger(__name__)

CHANNEL = "replika_config_changed"
TRUSTED_SECONDS = 300.0
APPLICATION_NAME = "replika change feed"  # its connection, as pg_stat_activity shows it
# after a lost connection (a restarted PostgreSQL), doubling while it stays lost
RECONNECT_SECONDS, RECONNECT_MAX_SECONDS = 1.0, 30.0


def upgrade_sql(tables: tuple[str, ...]) -> list[str]:
    """A migration's DDL: after any statement that changes one of `tables`, notify CHANNEL."""
    return [
        "create or replace function replika_notify_config_changed() returns trigger "
        f"language plpgsql as $$ begin perform pg_notify('{CHANNEL}', ''); return null; end $$",
        *(
            f"create trigger {table}_config_changed after insert or update or delete or "
            f"truncate on {table} for each statement execute function "
            "replika_notify_config_changed()"
            for table in tables
        ),
    ]


def downgrade_sql(tables: tuple[str, ...]) -> list[str]:
    return [
        *(f"drop trigger if exists {table}_config_changed on {table}" for table in tables),
        "drop function if exists replika_notify_config_changed()",
    ]


class ChangeFeed:
    """LISTEN on CHANNEL of one database, from the first use in this process."""

    def __init__(self, url: str, database: str) -> None:
        self.url = url
        self.database = database  # the URL without its password: a cache key per database
        self.generation = 0
        self.listening = False
        self._lock = threading.Lock()
        self._pid: int | None = None

    def stamp(self) -> int:
        """The generation to store with an entry about to be loaded (read before the load:
        a change committed during it moves the generation, and the entry is stale)."""
        self._ensure_started()
        return self.generation

    def fresh(self, loaded_at: float, stamp: int, short_seconds: float) -> bool:
        """Whether an entry loaded at `loaded_at` (time.monotonic) under `stamp` may be used."""
        age = time.monotonic() - loaded_at
        if self.listening:
            return stamp == self.generation and age < TRUSTED_SECONDS
        return age < short_seconds

    def _ensure_started(self) -> None:
        if self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            # a forked child inherits no thread: it listens on its own connection
            self._pid, self.listening = os.getpid(), False
            self.generation += 1
            threading.Thread(target=self._run, name="change-feed", daemon=True).start()

    def _run(self) -> None:
        pid, wait = os.getpid(), RECONNECT_SECONDS
        while self._pid == pid:
            try:
                with psycopg.connect(
                    self.url,
                    autocommit=True,
                    connect_timeout=5,
                    application_name=APPLICATION_NAME,
                    # a connection that died silently is noticed within about half a minute
                    keepalives_idle=15,
                    keepalives_interval=5,
                    keepalives_count=3,
                ) as conn:
                    conn.execute(f'listen "{CHANNEL}"')
                    self._moved(listening=True)  # whatever changed before now was missed
                    wait = RECONNECT_SECONDS
                    for _ in conn.notifies():
                        self._moved(listening=True)
            except Exception as exc:  # the connection is gone: short lives until it is back
                log.warning("change feed: not listening (%s); retrying", type(exc).__name__)
            self._moved(listening=False)
            time.sleep(wait)
            wait = min(2 * wait, RECONNECT_MAX_SECONDS)

    def _moved(self, listening: bool) -> None:
        # generation first: a reader that sees listening=True must also see the new generation
        self.generation += 1
        self.listening = listening


# An engine's feed, by the engine itself: hashing a URL renders it as text each time, and a
# report looks its feed up ~15 times (3% of a worker's time in the issue 22 profile).
_by_engine: weakref.WeakKeyDictionary[Engine, ChangeFeed] = weakref.WeakKeyDictionary()


def feed_for(engine: Engine) -> ChangeFeed:
    """The feed of `engine`'s database (one per database and process)."""
    feed = _by_engine.get(engine)
    if feed is None:
        feed = _by_engine[engine] = _feed(engine.url)
    return feed


@cache
def _feed(url: URL) -> ChangeFeed:
    # one per database, whatever the number of engines on it
    return ChangeFeed(
        url.set(drivername="postgresql").render_as_string(hide_password=False),
        database=url.render_as_string(hide_password=True),
    )
