"""shared/bounded_cache.py and the per-process caches built on it: a worker serving 514
cities (or a flood of made-up slugs) keeps a fixed number of entries."""

from __future__ import annotations

import threading
import uuid

import pytest

from shared.bounded_cache import BoundedCache
from shared.change_feed import ChangeFeed


def test_least_recently_used_goes_first():
    c: BoundedCache[str, int] = BoundedCache(2)
    c["a"], c["b"] = 1, 2
    assert c.get("a") == 1  # "a" is now the most recent
    c["c"] = 3
    assert len(c) == 2 and "b" not in c
    assert c.get("a") == 1 and c.get("c") == 3 and c.get("b") is None


def test_overwriting_keeps_one_entry_and_pop_and_clear():
    c: BoundedCache[str, int] = BoundedCache(3)
    c["a"] = 1
    c["a"] = 2
    assert len(c) == 1 and c.get("a") == 2
    assert c.pop("a") == 2 and c.pop("a") is None
    c["b"] = 1
    c.clear()
    assert len(c) == 0


def test_size_must_be_positive():
    with pytest.raises(ValueError):
        BoundedCache(0)


def test_threads_never_push_it_over_its_size():
    c: BoundedCache[int, int] = BoundedCache(100)

    def fill(base: int) -> None:
        for i in range(2000):
            c[base + i] = i
            c.get(base + i // 2)

    threads = [threading.Thread(target=fill, args=(k * 10_000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(c) == 100


def test_the_tenant_key_and_public_key_caches_are_bounded_and_hold_514_cities():
    from shared import crypto, identity

    for cache, size in (
        (crypto._tenant_key_cache, crypto.TENANT_KEY_CACHE_SIZE),
        (identity._public_keys, identity.PUBLIC_KEY_CACHE_SIZE),
    ):
        assert isinstance(cache, BoundedCache) and cache.maxsize == size
    assert crypto.TENANT_KEY_CACHE_SIZE >= 514 * len(crypto.PURPOSES)
    assert identity.PUBLIC_KEY_CACHE_SIZE >= 514
    from shared import web

    assert web.TENANT_CACHE_SIZE >= 514


def test_the_tenant_cache_keeps_at_most_its_size_of_slugs(monkeypatch):
    from shared import web

    monkeypatch.setattr(web, "TENANT_CACHE_SIZE", 50)
    looked_up: list[str] = []

    class Cache(web.TenantCache):
        def __init__(self) -> None:
            super().__init__(None, None, "whistleblowing")  # type: ignore[arg-type]

    cache = Cache()
    monkeypatch.setattr(
        web, "load_tenant", lambda _s, _m, slug, _svc: looked_up.append(slug) or None
    )
    # no database here: a feed that never listens (entries live TENANT_CACHE_SECONDS)
    unheard = ChangeFeed("postgresql://unused", database="postgresql://unused")
    monkeypatch.setattr(unheard, "_ensure_started", lambda: None)
    monkeypatch.setattr(cache, "feed", lambda: unheard)

    class NoSession:
        def __enter__(self):
            return self

        def connection(self, **_options):  # the cache asks for an autocommit connection
            return None

        def __exit__(self, *exc):
            return False

    cache.factory = lambda: NoSession()  # type: ignore[assignment,return-value]
    for i in range(1000):  # made-up slugs, as a scanner sends them
        assert cache.get(f"no-such-city-{uuid.uuid4().hex[:8]}-{i}") is None
    assert len(cache._entries) == 50
    assert len(looked_up) == 1000
