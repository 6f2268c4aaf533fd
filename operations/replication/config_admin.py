"""A tenant admin adapts the city's configuration without code: branding, texts, categories,
SLA days, programmes and eligibility, enabled services.

Every save is checked by the same schema as the tenant files (shared/tenant_config.py), kept
as a numbered version (table `tenant_config_versions`), audited as
`platform.tenant.configured.v1` (version, digest and the top-level keys that changed: never
the values, which may hold free text), applied to every service database, and written back
to the tenant file so a restart or redeploy keeps it.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from operations import tenant_apply
from operations.replication.models import TenantConfigVersion
from operations.replication.portal import invalid
from operations.replication.provisioning import tenants_dir
from shared.event_types import PLATFORM_TENANT_CONFIGURED
from shared.problem import Refused
from shared.tenant_config import TenantConfigError, parse
from shared.uow import UnitOfWork

# Decided by the hosting deployment, not by the city itself.
PLATFORM_KEYS = ("id", "slug", "replication_host", "suspended", "enabled")


@dataclass(frozen=True)
class Current:
    version: int  # 0: as applied from the tenant file, never edited here
    config: dict[str, Any]
    digest: str


def digest(config: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(config, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()


def current(session, tenant) -> Current:
    row = session.execute(
        select(TenantConfigVersion).order_by(TenantConfigVersion.version.desc()).limit(1)
    ).scalar()
    if row is not None:
        return Current(row.version, row.config, row.digest)
    return Current(0, tenant.config, digest(tenant.config))


def history(session) -> list[TenantConfigVersion]:
    return list(
        session.execute(
            select(TenantConfigVersion).order_by(TenantConfigVersion.version.desc())
        ).scalars()
    )


class _NoAliasLoader(yaml.SafeLoader):
    """The safe loader, refusing aliases: `*name` makes one node many times over (a
    "billion laughs" document grows exponentially), and a tenant's settings never need it."""

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a tenant's settings", mark
            )
        return super().compose_node(parent, index)


MAX_YAML_CHARS = 1_000_000


def load_yaml(text: str | bytes) -> Any:
    """YAML without aliases (yaml.YAMLError when it has one)."""
    if len(text) > MAX_YAML_CHARS:
        raise yaml.YAMLError(f"longer than {MAX_YAML_CHARS} characters")
    return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass


def parse_yaml(text: str) -> Any:
    try:
        return load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark else ""
        raise invalid([{"field": "config", "reason": f"not valid YAML{where}"}]) from None


def update(uow: UnitOfWork, new: Any, expected_version: int, actor: str) -> Current:
    """Validate and save `new` as the next version (committed here, before it is applied),
    then apply it everywhere.

    `expected_version` is the version the admin edited: a concurrent save makes it stale (409),
    so one admin never silently overwrites another."""
    tenant, session = uow.tenant, uow.session
    if not isinstance(new, dict):
        raise invalid([{"field": "config", "reason": "must be a mapping"}])
    before = current(session, tenant)
    locked = [
        {"field": key, "reason": "set by the hosting deployment; cannot be changed here"}
        for key in PLATFORM_KEYS
        if key in new and new[key] != before.config.get(key)
    ]
    if locked:
        raise invalid(locked)  # some settings belong to the hosting deployment
    # leaving a platform setting out keeps it as it is
    merged = {**new, **{k: before.config[k] for k in PLATFORM_KEYS if k in before.config}}
    try:
        config = parse(merged, f"tenant {tenant.slug}")
    except TenantConfigError as exc:
        raise invalid(  # the configuration does not match the schema
            [{"field": field, "reason": reason} for field, reason in exc.problems]
        ) from None
    # the row lock serialises concurrent saves; the stale check then sees the winner
    session.execute(select(func.pg_advisory_xact_lock(_lock_key(tenant.id))))
    before = current(session, tenant)
    if expected_version != before.version:
        raise Refused(
            409,
            f"The configuration changed since you opened it (now version "
            f"{before.version}); reload and edit again.",
            errors=[{"field": "version", "reason": "stale"}],
        )
    changed = sorted(
        k
        for k in set(config.data) | set(before.config)
        if config.data.get(k) != before.config.get(k)
    )
    if not changed:
        return before
    saved = Current(before.version + 1, config.data, digest(config.data))
    session.add(
        TenantConfigVersion(
            tenant_id=tenant.id,
            version=saved.version,
            config=saved.config,
            digest=saved.digest,
            changed=changed,
            created_by=actor,
        )
    )
    uow.emit(
        PLATFORM_TENANT_CONFIGURED,
        f"tenant:{tenant.id}",
        actor,
        {
            "tenant_id": str(tenant.id),
            "slug": tenant.slug,
            "version": saved.version,
            "digest": saved.digest,
            "changed": changed,
        },
    )
    uow.commit()
    # After the version is committed: re-running these is idempotent (same data), and a
    # failure here leaves the version recorded for the admin to save again.
    tenant_apply.apply(config)
    _write_tenant_file(tenant.slug, config.data)
    return saved


def _lock_key(tenant_id) -> int:
    return int.from_bytes(
        hashlib.sha256(b"tenant-config:" + tenant_id.bytes).digest()[:8], "big", signed=True
    )


def _write_tenant_file(slug: str, data: dict[str, Any]) -> None:
    path: Path = tenants_dir() / f"{slug}.yaml"
    if not path.parent.is_dir():
        return  # a deployment without tenant files (configuration lives in the databases)
    tmp = path.with_suffix(".yaml.tmp")
    tmp.write_text(
        "# Edited through the tenant admin page; `replika tenant apply` this file "
        "to reapply it.\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    )
    os.replace(tmp, path)  # atomic: a reader sees the old file or the new one
