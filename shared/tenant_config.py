"""Tenant configuration files (`tenants/<slug>.yaml`): load, validate, apply to every service.

The schema (`shared/schemas/tenant.schema.json`, JSON Schema 2020-12) is the single definition
of what a city can configure; errors name the file, the field and the reason.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).parent / "schemas" / "tenant.schema.json"
TENANT_NAMESPACE = uuid.UUID("6f1f0a52-6a0e-4f43-9a77-6f9bb0d6c2a1")


class TenantConfigError(ValueError):
    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source, self.problems = source, problems
        lines = [f"{source}: {field}: {reason}" for field, reason in problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class TenantConfig:
    id: uuid.UUID
    slug: str
    data: dict[str, Any]


def _validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def tenant_id_for(slug: str) -> uuid.UUID:
    """Stable id for a slug, so a tenant keeps its id across deployments and re-applies."""
    return uuid.uuid5(TENANT_NAMESPACE, slug)


def parse(data: Any, source: str) -> TenantConfig:
    if not isinstance(data, dict):
        raise TenantConfigError(source, [("(root)", "must be a mapping")])
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        raise TenantConfigError(
            source,
            [("/".join(str(p) for p in e.absolute_path) or "(root)", e.message) for e in errors],
        )
    data = dict(data)
    data.setdefault("locale", "id")
    data.setdefault("timezone", "Asia/Jakarta")
    tid = uuid.UUID(data["id"]) if "id" in data else tenant_id_for(data["slug"])
    data["id"] = str(tid)
    return TenantConfig(id=tid, slug=data["slug"], data=data)


def load_file(path: Path) -> TenantConfig:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise TenantConfigError(str(path), [("(file)", f"not valid YAML: {exc}")]) from None
    return parse(data, str(path))
