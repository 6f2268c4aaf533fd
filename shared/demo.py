"""Demo data for `make run`: the tenants under `tenants/` and one official per role.

Credentials are random each time they are created and written to
`.local/demo-credentials.json` (mode 0600). The production path never calls this.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from shared import tenant_apply
from shared.tenant_config import load_file

DEMO_TENANTS = ("bandung", "cimahi")


def seed(state: Path) -> dict:
    tenants_dir = Path(os.environ.get("REPLIKA_TENANTS_DIR", "tenants"))
    creds_path = state / "demo-credentials.json"
    creds: dict = json.loads(creds_path.read_text()) if creds_path.exists() else {}
    for slug in DEMO_TENANTS:
        config = load_file(tenants_dir / f"{slug}.yaml")
        tenant_apply.apply(config)
        creds.setdefault(slug, {})
    from infra.local import write_private
    write_private(creds_path, json.dumps(creds, indent=2))
    return creds
