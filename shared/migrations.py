"""Alembic, one environment per service, driven from code (`replika migrate`)."""

from __future__ import annotations

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, pool

from shared import settings

ROOT = settings.project_root()


def alembic_config(service: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "services" / service / "migrations"))
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
