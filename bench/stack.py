"""The benchmark's own throw-away stack: infra.local.up on free ports under .local/bench-runs/,
stopped (by pid, through infra.local.stop) at the end, like `make test` does."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra import local

CUSTODIAN_PASSPHRASE = "bench-custodian-passphrase"
TENANT = "cimahi"


@contextmanager
def throwaway_stack(keep: bool = False) -> Iterator[tuple[Path, dict[str, str]]]:
    state = local.LOCAL / "bench-runs" / str(os.getpid())
    if state.exists():
        shutil.rmtree(state)
    started = time.monotonic()
    try:
        env = local.up(
            state, pg_port=local.free_port(), kafka_port=local.free_port_pair(), quiet=True
        )
        # every request comes from 127.0.0.1: the anonymous filing budgets (per address and
        # tenant; shared/settings.FilingBudgets) are raised as the test stack raises them, so
        # intake is measured, not 429s (the budget's statement and commit still run)
        env.setdefault("REPLIKA_FILING_PER_ADDRESS_HOUR", "100000000")
        env.setdefault("REPLIKA_FILING_PER_TENANT_MINUTE", "100000000")
        seed_tenants()
        print(f"bench: stack ready in {time.monotonic() - started:.1f}s ({state})", flush=True)
        yield state, env
    finally:
        local.stop(state, quiet=True)
        if not keep:
            shutil.rmtree(state, ignore_errors=True)


def seed_tenants() -> None:
    """The demo tenants in every database, each with an identity custodian (as the tests do).

    The keyring file is created here, before any server starts: shared/keyring.py creates a
    missing file with check-then-write, so gunicorn workers racing on their first request can
    each write a different master key, and tenant keys wrapped under the losing one never open
    again (seen on the first bench run: every intake request then failed with 500)."""
    from operations import key_admin, tenant_apply
    from shared.keyring import keyring
    from shared.tenant_config import load_file

    keyring().current_key_id()
    for slug in ("bandung", "cimahi"):
        config = load_file(local.ROOT / "tenants" / f"{slug}.yaml")
        tenant_apply.apply(config)
        key_admin.ensure_custodian(config.id, CUSTODIAN_PASSPHRASE)


def tenant(slug: str = TENANT):
    """The Tenant object of `slug` as the services load it."""
    from shared.tenancy import Tenant
    from shared.tenant_config import load_file

    config = load_file(local.ROOT / "tenants" / f"{slug}.yaml")
    return Tenant(config.id, config.slug, config.data)
