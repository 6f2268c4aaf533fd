"""Production-path provisioning, one shot (the compose `provision` step, or by hand):

    python -m infra.provision

Creates each service's database and roles on the server at `DATABASE_URL` (an admin URL), the
Kafka topics from infra/topics.yaml, migrates every database, and applies every tenant file in
`REPLIKA_TENANTS_DIR`. Idempotent: safe to run on every deploy. Creates no demo accounts.
Role passwords come from `REPLIKA_DB_OWNER_PASSWORD` and `REPLIKA_DB_APP_PASSWORD`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from infra import kafka, kafka_access, topics
from infra.databases import provision
from shared.settings import KAFKA_ROLES, kafka_client_config, kafka_password_var


def main() -> int:
    admin = os.environ["DATABASE_URL"]
    env = provision(
        admin,
        {
            "owner": os.environ["REPLIKA_DB_OWNER_PASSWORD"],
            "app": os.environ["REPLIKA_DB_APP_PASSWORD"],
        },
    )
    for key, value in env.items():
        os.environ.setdefault(key, value)
    admin_config = kafka_client_config("admin")
    kafka.wait_ready(admin_config, timeout=180)
    granted = kafka_access.ensure_access(
        admin_config,
        {r: os.environ[v] for r in KAFKA_ROLES if (v := kafka_password_var(r)) in os.environ},
    )
    print("provision: Kafka users set; ACLs created:", "; ".join(granted) or "none (all existed)")
    report = topics.ensure_topics(admin_config)
    print("provision: topics created:", ", ".join(report.created) or "none (all existed)")
    for line in report.drift:
        print(f"provision: WARNING: topic drift: {line}", file=sys.stderr)
    from shared.migrations import upgrade_all

    upgrade_all()
    print("provision: databases migrated")
    from shared import tenant_apply
    from shared.tenant_config import load_file

    tenants_dir = Path(os.environ.get("REPLIKA_TENANTS_DIR", "tenants"))
    for path in sorted(tenants_dir.glob("*.yaml")):
        config = load_file(path)
        tenant_apply.apply(config)
        print(f"provision: tenant {config.slug} applied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
