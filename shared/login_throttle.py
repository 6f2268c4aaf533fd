"""Login throttling per account, per account at one client address, and per address, kept in
the database.

Counters live in PostgreSQL (not in a worker's memory), so every gunicorn worker and every
replica sees the same failures. A key is locked for an exponentially growing time once it has
failed more than its free allowance, so a guesser is slowed down (429 with a growing
Retry-After) rather than the account being shut. Three keys, three allowances:

- (username, address), the tightest: one guesser at one address is slowed down first, while the
  right password + code from another address still signs in;
- username alone, higher: a guesser spread over many addresses is still slowed down;
- address alone, highest: one address spraying many usernames is slowed down, but one person's
  failures on their own account (stopped by the first key) never lock the whole office behind
  the same NAT address.

A success clears the account's counters only (an attacker with one valid account must not be
able to reset the counter of its address).

Keys are HMACs of "account:<username>" / "address:<ip>", so the table holds neither
usernames nor addresses, and an unknown username is throttled exactly like a known one
(lockouts reveal nothing about which accounts exist).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, String, case, delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.db import TenantOwned, utcnow


class LoginThrottleRecord(TenantOwned):
    """Columns of the per-service `login_throttle` table."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)


@dataclass(frozen=True)
class Policy:
    free_failures: int  # failures allowed before the first lock
    base_lock: timedelta  # first lock; doubles with each further failure
    max_lock: timedelta
    forget_after: timedelta  # a key quiet this long starts again from zero

    def lock_for(self, failures: int) -> timedelta | None:
        if failures < self.free_failures:
            return None
        exponent = min(failures - self.free_failures, 20)
        return min(self.base_lock * (2**exponent), self.max_lock)


ACCOUNT_AT_ADDRESS = Policy(5, timedelta(seconds=30), timedelta(minutes=15), timedelta(hours=1))
ACCOUNT = Policy(10, timedelta(seconds=30), timedelta(minutes=15), timedelta(hours=1))
ADDRESS = Policy(20, timedelta(minutes=1), timedelta(hours=1), timedelta(hours=1))


def throttle_key(secret: str, kind: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Keys:
    account: str
    address: str
    account_at_address: str

    @classmethod
    def of(cls, secret: str, tenant_id, username: str, address: str) -> Keys:
        # The tenant is part of the key: keys never collide across tenants' (hidden) rows.
        name = username.strip().lower()
        return cls(
            throttle_key(secret, f"{tenant_id}:account", name),
            throttle_key(secret, f"{tenant_id}:address", address),
            throttle_key(secret, f"{tenant_id}:account-at-address", f"{address}\x00{name}"),
        )

    def all(self) -> list[str]:
        return [self.account_at_address, self.account, self.address]

    def with_policies(self) -> list[tuple[str, Policy]]:
        return [
            (self.account_at_address, ACCOUNT_AT_ADDRESS),
            (self.account, ACCOUNT),
            (self.address, ADDRESS),
        ]


def serialise_attempts(session: Session, keys: Keys) -> None:
    """Hold this account's lock until the transaction ends, so concurrent guesses at one
    account (from any worker or replica) are checked one after another and none slips past
    the count."""
    session.execute(
        text("select pg_advisory_xact_lock(hashtextextended(:k, 0))"), {"k": keys.account}
    )


# Public forms that anyone may post (a replication request): a few per address and day.
PUBLIC_FORM = Policy(5, timedelta(minutes=10), timedelta(hours=24), timedelta(hours=24))


def retry_after(
    session: Session, model: type[Any], keys: Keys | list[str], now: datetime | None = None
) -> int:
    """Seconds until a login with these keys (or any list of keys) may be tried again."""
    now = now or utcnow()
    wanted = keys.all() if isinstance(keys, Keys) else keys
    rows = session.execute(select(model.locked_until).where(model.key.in_(wanted))).scalars().all()
    waits = [(until - now).total_seconds() for until in rows if until is not None]
    return max([0, *(int(w) + 1 for w in waits if w > 0)])


def record_failure(
    session: Session, model: type[Any], tenant_id, keys: Keys, now: datetime | None = None
) -> None:
    """Count one failed login against all three keys (atomic upsert: safe across workers)."""
    count(session, model, tenant_id, keys.with_policies(), now)


def count(
    session: Session,
    model: type[Any],
    tenant_id,
    keyed: list[tuple[str, Policy]],
    now: datetime | None = None,
) -> None:
    """Count one attempt against each key under its policy, locking keys past their allowance."""
    now = now or utcnow()
    table = model.__table__
    for key, policy in keyed:
        stale = now - policy.forget_after
        first = insert(table).values(
            tenant_id=tenant_id, key=key, failures=1, last_failure_at=now, locked_until=None
        )
        counted = first.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={"failures": _restart_if_stale(table, stale), "last_failure_at": now},
        ).returning(table.c.failures)
        failures = session.execute(counted).scalar_one()
        lock = policy.lock_for(failures)
        if lock is not None:
            session.execute(
                table.update().where(table.c.key == key).values(locked_until=now + lock)
            )


def _restart_if_stale(table, stale: datetime):
    return case((table.c.last_failure_at < stale, 1), else_=table.c.failures + 1)


def record_success(
    session: Session, model: type[Any], keys: Keys, now: datetime | None = None
) -> None:
    """Clear the account's counters (everywhere and at this address) and forget this
    tenant's long-quiet keys. The address's own counter stays."""
    now = now or utcnow()
    oldest = now - max(ACCOUNT.forget_after, ADDRESS.forget_after) - ADDRESS.max_lock
    session.execute(
        delete(model).where(
            model.key.in_([keys.account, keys.account_at_address])
            | (model.last_failure_at < oldest)
        )
    )
