"""Production-path provisioning, one shot (the compose `provision` step, or by hand):

    python -m infra.provision

Creates each service's database and roles on the server at `DATABASE_URL` (an admin URL), the
Kafka users and ACLs (infra/kafka_access.py) and topics (infra/topics.yaml, values of
`KAFKA_TOPICS_ENVIRONMENT`; drift is reported), migrates every database, and applies every
tenant file in `REPLIKA_TENANTS_DIR` (`replika tenant apply`, run as the operator command: infra imports
nothing from `operations`). Idempotent: safe to run on every deploy. Creates no demo
accounts. Role passwords come from `REPLIKA_DB_<SERVICE>_OWNER_PASSWORD` and
`REPLIKA_DB_<SERVICE>_APP_PASSWORD` (one pair per service), Kafka's from
`KAFKA_<ROLE>_PASSWORD` (the admin's was bootstrapped with the broker).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infra import kafka, kafka_access, topics
from infra.databases import password_env_var, provision
from shared.migrations import upgrade_all
from shared.settings import DATABASES, KAFKA_ROLES, kafka_client_config, kafka_password_var


def main() -> int:
    admin = os.environ["DATABASE_URL"]
    env = provision(
        admin,
        {
            f"{svc}_{kind}": os.environ[password_env_var(svc, kind)]
            for svc in DATABASES
            for kind in ("owner", "app")
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
    upgrade_all()
    print("provision: databases migrated")
    tenants_dir = Path(os.environ.get("REPLIKA_TENANTS_DIR", "tenants"))
    files = [str(path) for path in sorted(tenants_dir.glob("*.yaml"))]
    if files:  # all are validated before any is applied
        replika = str(Path(sys.executable).parent / "replika")
        subprocess.run([replika, "tenant", "apply", *files], check=True)
        print(f"provision: {len(files)} tenant files applied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
