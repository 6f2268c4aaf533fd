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
from jsonschema import Draft202012Validator, ValidationError

SCHEMA_PATH = Path(__file__).parent / "schemas" / "tenant.schema.json"
TENANT_NAMESPACE = uuid.UUID("6f1f0a52-6a0e-4f43-9a77-6f9bb0d6c2a1")


@dataclass(frozen=True)
class SchemaProblem:
    """One problem in words a page can localise: the field (a path, "/"-joined), the rule it
    breaks (a JSON Schema keyword, or a rule of `check_rules`) and that rule's value (the
    minimum, the pattern, the choices, the unknown names...)."""

    field: str
    rule: str
    limit: Any = None


class TenantConfigError(ValueError):
    def __init__(
        self,
        source: str,
        problems: list[tuple[str, str]],
        details: list[SchemaProblem] | None = None,
    ) -> None:
        self.source, self.problems = source, problems
        self.details = (
            details if details is not None else [SchemaProblem(f, "") for f, _ in problems]
        )
        lines = [f"{source}: {field}: {reason}" for field, reason in problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class TenantConfig:
    id: uuid.UUID
    slug: str
    data: dict[str, Any]


def _validator() -> Draft202012Validator:
    """The schema's validator, its formats (`date`, `uuid`) asserted: a file (or a settings
    save) with 2026-02-30 is refused, not read back as a date that does not exist."""
    schema = json.loads(SCHEMA_PATH.read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _whole_numbers(value: Any) -> Any:
    """`value` with every float that is a whole number as an int: JSON Schema counts 2.0 as
    an integer, the code reading the settings (range(), days) expects 2. The schema has no
    other numbers (every numeric setting is an integer)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(v) for v in value]
    return value


def tenant_id_for(slug: str) -> uuid.UUID:
    """Stable id for a slug, so a tenant keeps its id across deployments and re-applies."""
    return uuid.uuid5(TENANT_NAMESPACE, slug)


def _path(error: ValidationError) -> str:
    return "/".join(str(p) for p in error.absolute_path) or "(root)"


def _details(error: ValidationError) -> list[SchemaProblem]:
    """What `error` means field by field: a missing property names itself, an unknown one
    is named, and a `oneOf` is explained by the branch whose type and keys fit best."""
    if error.validator == "oneOf" and error.context:
        branches: dict[Any, list[ValidationError]] = {}
        for sub in error.context:
            branches.setdefault(sub.relative_schema_path[0], []).append(sub)
        matched = [
            subs
            for subs in branches.values()
            if not any(s.validator == "type" and not s.relative_path for s in subs)
        ]
        if matched:  # the branch whose shape fits best: fewest missing or unknown keys
            best = min(
                matched,
                key=lambda subs: (
                    sum(
                        s.validator in ("required", "additionalProperties") and not s.relative_path
                        for s in subs
                    ),
                    len(subs),
                ),
            )
            return [d for sub in best for d in _details(sub)]
    path = _path(error)
    if error.validator == "required":
        missing = [p for p in error.validator_value if p not in (error.instance or {})]
        prefix = "" if path == "(root)" else path + "/"
        return [SchemaProblem(prefix + name, "required") for name in missing]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        unknown = sorted(str(k) for k in error.instance if k not in known)
        return [SchemaProblem(path, "additionalProperties", unknown)]
    if error.validator == "type":
        return [SchemaProblem(path, "type", error.validator_value)]
    return [SchemaProblem(path, str(error.validator), error.validator_value)]


def parse(data: Any, source: str) -> TenantConfig:
    if not isinstance(data, dict):
        raise TenantConfigError(source, [("(root)", "must be a mapping")])
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        raise TenantConfigError(
            source,
            [(_path(e), e.message) for e in errors],
            [d for e in errors for d in _details(e)],
        )
    data = _whole_numbers(dict(data))
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
