"""A tenant admin adapts the city's configuration without code: branding, texts, categories,
SLA days, programmes and eligibility, enabled services.

Every save is checked by the same schema as the tenant files (shared/tenant_config.py), kept
as a numbered version (table `tenant_config_versions`), audited as
`platform.tenant.configured.v1` (version, digest and the top-level keys that changed: never
the values, which may hold free text), applied to every service database, and written back
to the tenant file so a restart or redeploy keeps it.

A save that changes a security-relevant setting (`SECURITY_PATHS`) is not applied: it is kept
as a pending change (`tenant_config_pending`: old→new per path, who proposed it) and audited as
`platform.tenant.config_proposed.v1`; a second, different tenant admin approves it (then it is
saved here, through the same validation, its event carrying old→new and both admins) or
rejects it (`platform.tenant.config_rejected.v1`). These settings are numbers and media types,
never personal data, so their values may be in events.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

from operations import tenant_apply
from operations.branding import contrast
from operations.replication.models import TenantConfigPending, TenantConfigVersion
from operations.replication.portal import invalid
from operations.replication.provisioning import tenants_dir
from shared.db import utcnow
from shared.event_types import (
    PLATFORM_TENANT_CONFIG_PROPOSED,
    PLATFORM_TENANT_CONFIG_REJECTED,
    PLATFORM_TENANT_CONFIGURED,
)
from shared.problem import Refused
from shared.tenancy import today
from shared.tenant_config import SCHEMA_PATH, SchemaProblem, TenantConfigError, parse
from shared.uow import UnitOfWork

# Decided by the hosting deployment, not by the city itself.
PLATFORM_KEYS = ("id", "slug", "replication_host", "suspended", "enabled")


class SettingsRefused(Refused):
    """A save refused (422, 409 when stale): `errors` in English for the API, `details` the
    same problems as rules and limits, which the pages put beside their fields in the
    reader's language."""

    def __init__(self, status: int, message: str, details: list[SchemaProblem], **kw: Any):
        super().__init__(status, message, **kw)
        self.details = details


def refused(problems: list[tuple[str, str, str, Any]]) -> SettingsRefused:
    """422 naming every wrong field: (field, English reason, rule, limit) each."""
    base = invalid([{"field": f, "reason": r} for f, r, _rule, _limit in problems])
    return SettingsRefused(
        422,
        str(base),
        [SchemaProblem(f, rule, limit) for f, _r, rule, limit in problems],
        errors=base.errors,
    )


# The header's colours (operations/branding.py): the primary colour is the header's background
# against the white page, the secondary its stripe against the primary (non-text contrast, 3:1).
MIN_COLOUR_CONTRAST = 3.0


def check_rules(config: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """What the schema cannot say: readable colours, codes used once, documents that exist,
    programmes that close after they open."""
    problems: list[tuple[str, str, str, Any]] = []
    branding = config.get("branding", {})
    primary, secondary = branding.get("primary_color"), branding.get("secondary_color")
    if primary and contrast(primary, "#ffffff") < MIN_COLOUR_CONTRAST:
        problems.append(
            ("branding/primary_color", "too little contrast with the white page", "contrast", 3)
        )
    if primary and secondary and contrast(primary, secondary) < MIN_COLOUR_CONTRAST:
        problems.append(
            (
                "branding/secondary_color",
                "too little contrast with the primary colour",
                "contrast_primary",
                3,
            )
        )
    services = config.get("services", {})
    lists = [
        ("services/whistleblowing/categories", services.get("whistleblowing", {}).get("categories")),
        ("services/hibah_bansos/required_documents", services.get("hibah_bansos", {}).get("required_documents")),
        ("services/hibah_bansos/programmes", services.get("hibah_bansos", {}).get("programmes")),
    ]  # fmt: skip
    for path, items in lists:
        seen: set[str] = set()
        for i, item in enumerate(items or []):
            if item["code"] in seen:
                problems.append((f"{path}/{i}/code", "used twice", "unique", item["code"]))
            seen.add(item["code"])
    hb = services.get("hibah_bansos", {})
    documents = {d["code"] for d in hb.get("required_documents", [])}
    for i, p in enumerate(hb.get("programmes", [])):
        unknown = sorted(set(p.get("required_documents", [])) - documents)
        if unknown:
            problems.append(
                (
                    f"services/hibah_bansos/programmes/{i}/required_documents",
                    f"not among the required documents: {', '.join(unknown)}",
                    "document",
                    unknown,
                )
            )
        if p.get("opens") and p.get("closes") and p["closes"] < p["opens"]:
            problems.append(
                (
                    f"services/hibah_bansos/programmes/{i}/closes",
                    "before the programme opens",
                    "closes_before_opens",
                    p["opens"],
                )
            )
    return problems


def _keeps_this_page(config: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """The settings are edited on the whistleblowing service (pages and API), which answers
    404 for a city that does not run it: a save here cannot stop it, or the city's admins
    would lose these pages (the hosting deployment can, in the tenant file)."""
    wb = config.get("services", {}).get("whistleblowing")
    reason = "the settings are edited on the whistleblowing service: a save here keeps it"
    if wb is None:
        return [("services/whistleblowing", reason, "required", None)]
    if wb.get("enabled", True) is not True:
        return [("services/whistleblowing/enabled", reason, "enum", [True])]
    return []


def close_removed_programmes(before: dict[str, Any], new: dict[str, Any], on: date) -> list[str]:
    """A programme left out of `new` stays in it, closed on `on` (its ledger row keeps its
    applications and budget; a programme deleted from the settings would stay open there).
    Returns the codes closed."""
    old = before.get("services", {}).get("hibah_bansos", {}).get("programmes", [])
    services = new.get("services")
    hb = services.get("hibah_bansos") if isinstance(services, dict) else None
    if not old or not isinstance(hb, dict) or not isinstance(hb.get("programmes", []), list):
        return []  # the schema will say what is wrong with it
    kept = {
        p["code"]
        for p in hb.get("programmes", [])
        if isinstance(p, dict) and isinstance(p.get("code"), str)
    }
    closed = []
    for p in old:
        if p["code"] in kept:
            continue
        p = copy.deepcopy(p)
        last = on.isoformat()
        if not p.get("closes") or p["closes"] > last:
            p["closes"] = last
        if p.get("opens") and p["opens"] > p["closes"]:
            p["opens"] = p["closes"]
        hb.setdefault("programmes", []).append(p)
        closed.append(p["code"])
    return closed


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
        line = mark.line + 1 if mark else None
        raise refused([("config", f"not valid YAML{where}", "yaml", line)]) from None


# --- security-relevant settings: a second tenant admin approves ---------------------------------

# Who may learn a reporter's identity and for how long, what reporters may upload, how long
# cases are kept (a shorter time destroys evidence) and how small a public statistic may be
# (a lower threshold can single a reporter out). "/"-joined, as the schema's error paths.
SECURITY_PATHS: tuple[str, ...] = (
    "services/whistleblowing/identity_disclosure_approvers",
    "services/whistleblowing/identity_disclosure_valid_days",
    "services/whistleblowing/attachments/types",
    "services/whistleblowing/attachments/max_bytes",
    "services/whistleblowing/attachments/max_count",
    "services/whistleblowing/retention_days",
    "services/whistleblowing/small_cell_threshold",
)


def _schema_default(path: str) -> Any:
    """The schema's default of `path` (None when it has none): a setting left out is its
    default, so writing the default down changes nothing."""
    schema = json.loads(SCHEMA_PATH.read_text())
    node: Any = schema
    for key in path.split("/"):
        while isinstance(node, dict) and "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
        node = (node or {}).get("properties", {}).get(key)
        if node is None:
            return None
    return node.get("default") if isinstance(node, dict) else None


_DEFAULTS = {path: _schema_default(path) for path in SECURITY_PATHS}


def value_at(config: dict[str, Any], path: str) -> Any:
    node: Any = config
    for key in path.split("/"):
        if not isinstance(node, dict) or key not in node:
            return _DEFAULTS.get(path)
        node = node[key]
    return node


def _set_at(config: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split("/")
    node = config
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = copy.deepcopy(value)


def security_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """[{"path", "old", "new"}] for every security-relevant setting that differs."""
    return [
        {"path": p, "old": value_at(old, p), "new": value_at(new, p)}
        for p in SECURITY_PATHS
        if value_at(old, p) != value_at(new, p)
    ]


@dataclass(frozen=True)
class Proposed:
    """A save kept for a second tenant admin's approval (nothing applied yet)."""

    id: str
    changes: list[dict[str, Any]]
    saved: Current | None = None  # the other settings of the same save, applied at once


def pending(session) -> list[TenantConfigPending]:
    return list(
        session.execute(
            select(TenantConfigPending)
            .where(TenantConfigPending.status == "pending")
            .order_by(TenantConfigPending.proposed_at)
        ).scalars()
    )


def _pending_or_404(session, pending_id: str) -> TenantConfigPending:
    try:
        key = uuid.UUID(str(pending_id))
    except ValueError:
        raise Refused(404, "No such pending change.") from None
    row = session.get(TenantConfigPending, key, with_for_update=True)
    if row is None:
        raise Refused(404, "No such pending change.")
    if row.status != "pending":
        raise Refused(409, f"This change was already {row.status}.", "status")
    return row


def _may_decide(row: TenantConfigPending, actor: str) -> None:
    if row.proposed_by == actor:
        raise Refused(
            403,
            "A second tenant admin must decide: the admin who proposed a change to "
            "security settings cannot approve or reject it.",
            "approver",
        )


def approve(uow: UnitOfWork, pending_id: str, actor: str) -> Current:
    """A second tenant admin approves: the proposed values are set in the current version and
    saved through `update` (the same validation as every save). 409 when one of these
    settings changed since the proposal (reject it and propose again)."""
    row = _pending_or_404(uow.session, pending_id)
    _may_decide(row, actor)
    uow.session.execute(select(func.pg_advisory_xact_lock(_lock_key(uow.tenant.id))))
    cur = current(uow.session, uow.tenant)
    if any(value_at(cur.config, c["path"]) != c["old"] for c in row.changes):
        raise SettingsRefused(
            409,
            "A setting of this change was changed since it was proposed; reject it and "
            "propose it again.",
            [SchemaProblem("version", "stale", cur.version)],
            errors=[{"field": "version", "reason": "stale"}],
        )
    new = copy.deepcopy(cur.config)
    for c in row.changes:
        _set_at(new, c["path"], c["new"])
    row.status, row.decided_by, row.decided_at = "approved", actor, utcnow()
    saved = update(uow, new, cur.version, row.proposed_by, approval=(row, actor))
    assert isinstance(saved, Current)  # noqa: S101 - update saves when given an approval
    return saved


def reject(uow: UnitOfWork, pending_id: str, actor: str) -> None:
    row = _pending_or_404(uow.session, pending_id)
    _may_decide(row, actor)
    row.status, row.decided_by, row.decided_at = "rejected", actor, utcnow()
    uow.emit(
        PLATFORM_TENANT_CONFIG_REJECTED,
        f"tenant:{uow.tenant.id}",
        actor,
        {
            "tenant_id": str(uow.tenant.id),
            "slug": uow.tenant.slug,
            "pending_id": str(row.id),
            "changes": row.changes,
            "proposed_by": row.proposed_by,
            "rejected_by": actor,
        },
    )


def _propose(
    uow: UnitOfWork,
    base_version: int,
    changes: list[dict[str, Any]],
    actor: str,
    saved: Current | None = None,
) -> Proposed:
    row = TenantConfigPending(
        id=uuid.uuid4(),
        tenant_id=uow.tenant.id,
        status="pending",
        base_version=base_version,
        changes=changes,
        proposed_by=actor,
    )
    uow.session.add(row)
    uow.emit(
        PLATFORM_TENANT_CONFIG_PROPOSED,
        f"tenant:{uow.tenant.id}",
        actor,
        {
            "tenant_id": str(uow.tenant.id),
            "slug": uow.tenant.slug,
            "pending_id": str(row.id),
            "changes": changes,
            "base_version": base_version,
            "proposed_by": actor,
        },
    )
    return Proposed(str(row.id), changes, saved)


# --- the one save ---------------------------------------------------------------------------


def update(
    uow: UnitOfWork,
    new: Any,
    expected_version: int,
    actor: str,
    *,
    approval: tuple[TenantConfigPending, str] | None = None,
) -> Current | Proposed:
    """Validate and save `new` as the next version (committed here, before it is applied),
    then apply it everywhere; a change to a security-relevant setting is only proposed
    (`Proposed`, nothing saved) unless it comes with its `approval` (the pending change and
    the second admin, from `approve`).

    `expected_version` is the version the admin edited: a concurrent save makes it stale (409),
    so one admin never silently overwrites another."""
    tenant, session = uow.tenant, uow.session
    if not isinstance(new, dict):
        raise refused([("config", "must be a mapping", "mapping", None)])
    before = current(session, tenant)
    locked = [
        (key, "set by the hosting deployment; cannot be changed here", "platform", None)
        for key in PLATFORM_KEYS
        if key in new and new[key] != before.config.get(key)
    ]
    if locked:
        raise refused(locked)  # some settings belong to the hosting deployment
    # leaving a platform setting out keeps it as it is
    merged = {**new, **{k: before.config[k] for k in PLATFORM_KEYS if k in before.config}}
    # a programme taken out is closed (yesterday, in the city's zone), never left open
    close_removed_programmes(before.config, merged, today(tenant) - timedelta(days=1))
    try:
        config = parse(merged, f"tenant {tenant.slug}")
    except TenantConfigError as exc:
        raise SettingsRefused(  # the configuration does not match the schema
            422,
            str(invalid([{"field": f, "reason": r} for f, r in exc.problems])),
            exc.details,
            errors=[{"field": f, "reason": r} for f, r in exc.problems],
        ) from None
    if problems := check_rules(config.data) + _keeps_this_page(config.data):
        raise refused(problems)
    # the row lock serialises concurrent saves; the stale check then sees the winner
    session.execute(select(func.pg_advisory_xact_lock(_lock_key(tenant.id))))
    before = current(session, tenant)
    if expected_version != before.version:
        raise SettingsRefused(
            409,
            f"The configuration changed since you opened it (now version "
            f"{before.version}); reload and edit again.",
            [SchemaProblem("version", "stale", before.version)],
            errors=[{"field": "version", "reason": "stale"}],
        )
    security = security_changes(before.config, config.data)
    proposal = None
    if security and approval is None:
        # the security-relevant settings wait for a second admin; the others save at once
        rest = copy.deepcopy(config.data)
        for c in security:
            _revert(rest, before.config, c["path"])
        config = dataclasses.replace(config, data=rest)
        proposal = security
    changed = sorted(
        k
        for k in set(config.data) | set(before.config)
        if config.data.get(k) != before.config.get(k)
    )
    if not changed:
        return _propose(uow, before.version, proposal, actor) if proposal else before
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
    approved = {}
    if approval is not None:
        approval[0].version = saved.version
        if security:
            approved = {
                "security_changes": security,
                "pending_id": str(approval[0].id),
                "proposed_by": actor,
                "approved_by": approval[1],
            }
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
            **approved,
        },
    )
    result: Current | Proposed = saved
    if proposal:
        result = _propose(uow, saved.version, proposal, actor, saved=saved)
    uow.commit()
    # After the version is committed: re-running these is idempotent (same data), and a
    # failure here leaves the version recorded for the admin to save again.
    tenant_apply.apply(config)
    _write_tenant_file(tenant.slug, config.data)
    return result


def _revert(new: dict[str, Any], old: dict[str, Any], path: str) -> None:
    """Put `path` of `new` back as it is in `old` (left out when `old` leaves it out)."""
    *parents, last = path.split("/")
    node: Any = new
    was: Any = old
    for key in parents:
        was = was.get(key, {}) if isinstance(was, dict) else {}
        if not isinstance(node.get(key), dict):
            if isinstance(was, dict) and was:
                node[key] = copy.deepcopy(was)
            return
        node = node[key]
    if isinstance(was, dict) and last in was:
        node[last] = copy.deepcopy(was[last])
    else:
        node.pop(last, None)


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
