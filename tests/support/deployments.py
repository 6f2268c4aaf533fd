"""Second deployments in one test (tests/integration/operations: tenant moves, linked cities).

A deployment is three databases of its own names in the same PostgreSQL server (the same roles:
migrations grant to them by name), its own keyring and tenants directory, selected by
environment variables the way every component reads its settings (`deployment(env)`).
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from unittest import mock

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from shared.settings import SERVICES, env_prefix


@contextmanager
def deployment(env: dict[str, str] | None):
    """Run the block as the deployment `env` describes (None: the sender, `make test`'s)."""
    if env is None:
        yield
        return
    with mock.patch.dict(os.environ, env):
        yield


def _create_databases(stack, tag: str) -> dict[str, str]:
    """Databases replika_<tag>_<service> owned by the service's owner role, with the grants
    infra/databases.py gives (it only knows the default names)."""
    first = make_url(stack["WHISTLEBLOWING_MIGRATION_DATABASE_URL"])
    admin = make_url(
        stack.get("DATABASE_URL") or f"postgresql://postgres@{first.host}:{first.port}/postgres"
    )
    env = {}
    for svc in SERVICES:
        owner_url = make_url(stack[f"{env_prefix(svc)}_MIGRATION_DATABASE_URL"])
        app_url = make_url(stack[f"{env_prefix(svc)}_DATABASE_URL"])
        owner, app, db = owner_url.username, app_url.username, f"replika_{tag}_{svc}"
        with psycopg.connect(
            admin.set(drivername="postgresql").render_as_string(False), autocommit=True
        ) as conn:
            conn.execute(
                sql.SQL("create database {} owner {}").format(
                    sql.Identifier(db), sql.Identifier(owner)
                )
            )
            conn.execute(
                sql.SQL("revoke all on database {} from public").format(sql.Identifier(db))
            )
            conn.execute(
                sql.SQL("grant connect, temporary on database {} to {}").format(
                    sql.Identifier(db), sql.Identifier(app)
                )
            )
        db_admin = admin.set(drivername="postgresql", database=db).render_as_string(False)
        with psycopg.connect(db_admin, autocommit=True) as conn:
            conn.execute("revoke create on schema public from public")
            conn.execute(sql.SQL("grant usage on schema public to {}").format(sql.Identifier(app)))
            conn.execute(
                sql.SQL("grant create, usage on schema public to {}").format(sql.Identifier(owner))
            )
            if svc != "audit":
                conn.execute(
                    sql.SQL(
                        "alter default privileges for role {} in schema public "
                        "grant select, insert, update, delete on tables to {}"
                    ).format(sql.Identifier(owner), sql.Identifier(app))
                )
                conn.execute(
                    sql.SQL(
                        "alter default privileges for role {} in schema public "
                        "grant usage, select on sequences to {}"
                    ).format(sql.Identifier(owner), sql.Identifier(app))
                )
        env[f"{env_prefix(svc)}_DATABASE_URL"] = app_url.set(database=db).render_as_string(False)
        env[f"{env_prefix(svc)}_MIGRATION_DATABASE_URL"] = owner_url.set(
            database=db
        ).render_as_string(False)
    env["_ADMIN"] = admin.set(drivername="postgresql").render_as_string(False)
    return env


def _drop_databases(env: dict[str, str]) -> None:
    from shared.db import engine_for

    for var, url in env.items():
        if var.endswith("DATABASE_URL"):
            engine_for(url).dispose()
    with psycopg.connect(env["_ADMIN"], autocommit=True) as conn:
        for svc in SERVICES:
            db = make_url(env[f"{env_prefix(svc)}_DATABASE_URL"]).database
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(db))
            )


def new_deployment_files(directory) -> dict[str, str]:
    from shared.keyring import new_keyring_data, write_keyring_file

    keyring_file = directory / "secrets" / "master-keys.json"
    write_keyring_file(keyring_file, new_keyring_data())
    return {
        "REPLIKA_MASTER_KEY_FILE": str(keyring_file),
        "REPLIKA_TENANTS_DIR": str(directory / "tenants"),
    }
