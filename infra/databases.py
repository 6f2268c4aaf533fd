"""Create each service's database and its two roles on a PostgreSQL server we administer.

- `replika_<svc>_owner` owns the tables and runs migrations.
- `replika_<svc>_app` is what the running service connects as: it owns nothing and is not a
  superuser, so row-level security policies apply to it. For the audit ledger it may only
  INSERT and SELECT (granted by the audit migration).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from shared.settings import DATABASES, env_prefix


def database_name(service: str) -> str:
    return f"replika_{service}"


def _url_for(admin_url: str, user: str, password: str, dbname: str) -> str:
    parts = urlsplit(admin_url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user)}:{quote(password)}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(("postgresql+psycopg", netloc, f"/{dbname}", parts.query, ""))


def _ensure_role(cur, name: str, password: str) -> None:
    cur.execute("select 1 from pg_roles where rolname = %s", (name,))
    verb = "alter" if cur.fetchone() else "create"
    cur.execute(
        sql.SQL(
            verb + " role {} login nosuperuser nocreatedb nocreaterole "
            "noinherit nobypassrls password {}"
        ).format(sql.Identifier(name), sql.Literal(password))
    )


def role_password(passwords: dict[str, str], service: str, kind: str) -> str:
    """The password of `service`'s `kind` ("owner" or "app") role: `passwords["<service>_<kind>"]`,
    else the deployment-wide `passwords[kind]` (older set-ups)."""
    return passwords.get(f"{service}_{kind}") or passwords[kind]


def password_env_var(service: str, kind: str) -> str:
    """REPLIKA_DB_WHISTLEBLOWING_OWNER_PASSWORD, ... (the compose `provision` step's input)."""
    return f"REPLIKA_DB_{env_prefix(service)}_{kind.upper()}_PASSWORD"


def provision(admin_url: str, passwords: dict[str, str]) -> dict[str, str]:
    """Idempotently create databases and roles; returns the env vars naming their URLs.

    `passwords` holds "<service>_owner" and "<service>_app" for each service (distinct secrets,
    so that one service's credentials open no other database), or "owner"/"app" as a fallback.
    """
    env: dict[str, str] = {}
    with psycopg.connect(admin_url, autocommit=True) as conn:
        cur = conn.cursor()
        for svc in DATABASES:
            owner, app, db = f"replika_{svc}_owner", f"replika_{svc}_app", database_name(svc)
            owner_pw = role_password(passwords, svc, "owner")
            app_pw = role_password(passwords, svc, "app")
            _ensure_role(cur, owner, owner_pw)
            _ensure_role(cur, app, app_pw)
            cur.execute("select 1 from pg_database where datname = %s", (db,))
            if not cur.fetchone():
                cur.execute(
                    sql.SQL("create database {} owner {}").format(
                        sql.Identifier(db), sql.Identifier(owner)
                    )
                )
            cur.execute(sql.SQL("revoke all on database {} from public").format(sql.Identifier(db)))
            cur.execute(
                sql.SQL("grant connect, temporary on database {} to {}").format(
                    sql.Identifier(db), sql.Identifier(app)
                )
            )
            env[f"{env_prefix(svc)}_DATABASE_URL"] = _url_for(admin_url, app, app_pw, db)
            env[f"{env_prefix(svc)}_MIGRATION_DATABASE_URL"] = _url_for(
                admin_url, owner, owner_pw, db
            )
    for svc in DATABASES:
        db_admin = urlunsplit(urlsplit(admin_url)._replace(path=f"/{database_name(svc)}"))
        with psycopg.connect(db_admin, autocommit=True) as conn:
            owner, app = f"replika_{svc}_owner", f"replika_{svc}_app"
            conn.execute(sql.SQL("revoke create on schema public from public"))
            conn.execute(sql.SQL("grant usage on schema public to {}").format(sql.Identifier(app)))
            conn.execute(
                sql.SQL("grant create, usage on schema public to {}").format(sql.Identifier(owner))
            )
            if svc != "audit":  # the ledger's grants are narrower and live in its migration
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
    return env
