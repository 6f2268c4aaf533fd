"""Alembic, one environment per service, driven from code (`replika migrate`).

The two case services (whistleblowing, hibah_bansos) hold the same tenants, outbox and
officials tables: those revisions are written once, in `shared/revisions/`, and each of the two
runs them in its own database (its own `alembic_version`) before its own revisions."""

from __future__ import annotations

import os

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool

from shared import settings

ROOT = settings.project_root()


SHARED_REVISIONS = ROOT / "shared" / "revisions"
# the services whose revisions build on shared/revisions (their own start from its 0001)
CASE_SERVICES = ("whistleblowing", "hibah_bansos")


def alembic_config(service: str) -> Config:
    cfg = Config()
    migrations = ROOT / "services" / service / "migrations"
    cfg.set_main_option("script_location", str(migrations))
    locations = [migrations / "versions"]
    if service in CASE_SERVICES:
        locations.append(SHARED_REVISIONS)
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    cfg.set_main_option("service", service)
    return cfg


def upgrade(service: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(service), revision)


def upgrade_all() -> None:
    for service in settings.DATABASES:
        upgrade(service)


def run_env(metadata: MetaData) -> None:
    """Body of each service's `migrations/env.py`."""
    service = context.config.get_main_option("service")
    assert service, "alembic.ini names the service"
    url = settings.database_url(service, migration=True)
    engine = create_engine(url, poolclass=pool.NullPool, hide_parameters=True)
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=metadata, version_table="alembic_version"
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
