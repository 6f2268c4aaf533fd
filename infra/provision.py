"""Production-path provisioning, one shot (the compose `provision` step, or by hand):

    python -m infra.provision

Creates each service's database and roles on the server at `DATABASE_URL` (an admin URL), the
Kafka topics from infra/topics.yaml, migrates every database, and applies every tenant file in
`REPLIKA_TENANTS_DIR` (`replika tenant apply`, run as the operator command: infra imports
nothing from `operations`). Idempotent: safe to run on every deploy. Creates no demo accounts.
Role passwords come from `REPLIKA_DB_OWNER_PASSWORD` and `REPLIKA_DB_APP_PASSWORD`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infra import kafka, topics
from infra.databases import provision
from shared.migrations import upgrade_all


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
    bootstrap = os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    kafka.wait_ready(bootstrap, timeout=180)
    created = topics.ensure_topics(bootstrap)
    print("provision: topics created:", ", ".join(created) or "none (all existed)")
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
