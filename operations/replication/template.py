"""A new tenant file from a template city's configuration (pure functions, no I/O but files).

What a city configured (report categories, SLA days, programmes, documents, eligibility rules)
is carried over as the starting point; what identifies the template city (slug, id, names,
region code, NIK domicile prefixes) is replaced or dropped, so the new city adapts the rest.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from shared.tenant_config import TenantConfig, TenantConfigError, load_file, parse

SLUG_RE = re.compile(r"^[a-z][a-z0-9-]{1,62}$")
# BPS/Kemendagri region code: province "32", regency/city "32.05", district "32.05.01", ...
REGION_CODE_RE = re.compile(r"^[0-9]{2}(\.[0-9]{2}){0,3}$")
# Keys that belong to the template city only and never to a copy of it.
DROPPED_KEYS = ("id", "replication_host", "suspended")
_REGION_WORDS = re.compile(r"\b(pemerintah|kabupaten|kota|kab|provinsi|daerah)\b\.?", re.I)


class TenantExists(FileExistsError):
    pass


def slug_from_region_name(region_name: str) -> str:
    """'Pemerintah Kabupaten Garut' -> 'garut' (a suggestion; the caller may choose another)."""
    words = _REGION_WORDS.sub(" ", region_name.lower())
    slug = re.sub(r"[^a-z0-9]+", "-", words).strip("-")
    if slug[:1].isdigit():
        slug = "t-" + slug
    return slug[:63]


def display_name_from(name: str) -> str:
    """'Pemerintah Kabupaten Garut' -> 'Kabupaten Garut' (the branding's short name)."""
    return re.sub(r"^\s*pemerintah\s+", "", name, flags=re.I).strip() or name


def domicile_prefix(region_code: str) -> str | None:
    """NIK domicile prefix of a regency/city code: '32.05' -> '3205' (None for a province)."""
    digits = region_code.replace(".", "")
    return digits[:4] if len(digits) >= 4 else None


def new_tenant_data(
    template: dict[str, Any],
    *,
    slug: str,
    name: str,
    region_code: str,
    display_name: str | None = None,
    applications: list[str] | None = None,
) -> dict[str, Any]:
    """The configuration of a new city copied from `template` (validated by the tenant schema);
    `applications`, when given, keeps only those services."""
    problems = []
    if not SLUG_RE.match(slug or ""):
        problems.append(("slug", "lower-case letters, digits and '-', 2-63 characters"))
    if not (name or "").strip():
        problems.append(("name", "required"))
    if not REGION_CODE_RE.match(region_code or ""):
        problems.append(("region_code", "a BPS region code such as 32.05"))
    if problems:
        raise TenantConfigError("new tenant", problems)
    data = copy.deepcopy(template)
    for key in DROPPED_KEYS:
        data.pop(key, None)
    data["slug"], data["name"], data["region_code"] = slug, name.strip(), region_code
    if applications is not None:
        data["services"] = {k: v for k, v in data.get("services", {}).items() if k in applications}
    branding = dict(data.get("branding") or {})
    branding["display_name"] = display_name or display_name_from(name)
    branding.pop("logo", None)  # the template city's logo is not the new city's
    data["branding"] = branding
    hb = data.get("services", {}).get("hibah_bansos")
    if hb is not None and "region_codes" in hb:
        prefix = domicile_prefix(region_code)
        hb["region_codes"] = [prefix] if prefix else []
    parse(copy.deepcopy(data), f"new tenant {slug}")  # the same schema as every tenant file
    return data


def to_yaml(data: dict[str, Any], template_slug: str) -> str:
    header = (
        f"# {data['name']}: replicated from the '{template_slug}' configuration.\n"
        "# Adapt categories, programmes and texts to local conditions; then "
        "`replika tenant apply` this file.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def write_new_tenant(
    tenants_dir: Path,
    template: TenantConfig | dict[str, Any],
    template_slug: str,
    *,
    slug: str,
    name: str,
    region_code: str,
    display_name: str | None = None,
    applications: list[str] | None = None,
) -> Path:
    """Write `<tenants_dir>/<slug>.yaml`; refuses to overwrite an existing tenant file."""
    source = template.data if isinstance(template, TenantConfig) else template
    data = new_tenant_data(
        source,
        slug=slug,
        name=name,
        region_code=region_code,
        display_name=display_name,
        applications=applications,
    )
    path = tenants_dir / f"{slug}.yaml"
    tenants_dir.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x") as f:  # "x": never overwrite, even if two runs race
            f.write(to_yaml(data, template_slug))
    except FileExistsError:
        raise TenantExists(str(path)) from None
    return path


def template_file(tenants_dir: Path, template_slug: str) -> TenantConfig:
    if not SLUG_RE.match(template_slug or ""):
        raise TenantConfigError("template", [("template", "not a tenant slug")])
    path = tenants_dir / f"{template_slug}.yaml"
    if not path.exists():
        raise TenantConfigError(str(path), [("template", "no such tenant file")])
    return load_file(path)
