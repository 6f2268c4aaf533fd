"""Every setting comes from the environment, so one image runs anywhere (local, compose, k8s).

Names used here are the contract between the local runner (`infra/local.py`, which writes
`.local/run.env`), `docker-compose.yml` and `.env.example`; a test checks they agree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# Each service owns one database; the audit ledger has its own too.
SERVICES = ("whistleblowing", "hibah_bansos", "audit")

ENV_VARS = {
    "KAFKA_BOOTSTRAP_SERVERS": "Kafka brokers, comma separated",
    "WHISTLEBLOWING_DATABASE_URL": "whistleblowing app role (no table ownership, RLS applies)",
    "WHISTLEBLOWING_MIGRATION_DATABASE_URL": "whistleblowing owner role, used by migrations",
    "HIBAH_BANSOS_DATABASE_URL": "hibah_bansos app role",
    "HIBAH_BANSOS_MIGRATION_DATABASE_URL": "hibah_bansos owner role",
    "AUDIT_DATABASE_URL": "audit ledger role: INSERT and SELECT only",
    "AUDIT_MIGRATION_DATABASE_URL": "audit owner role",
    "REPLIKA_MASTER_KEY_FILE": "keyring file with the master keys that wrap tenant data keys",
    "REPLIKA_SECRET_KEY": "signs page sessions and API tokens",
    "REPLIKA_TENANTS_DIR": "directory of tenant YAML files",
}


def env_prefix(service: str) -> str:
    return service.upper()


def database_url(service: str, *, migration: bool = False) -> str:
    name = f"{env_prefix(service)}_{'MIGRATION_' if migration else ''}DATABASE_URL"
    url = os.environ.get(name)
    if not url and migration:
        url = os.environ.get(f"{env_prefix(service)}_DATABASE_URL")
    if not url:
        raise RuntimeError(f"{name} is not set (run `make run`, or source .local/run.env)")
    return url


def kafka_bootstrap() -> str:
    return os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")


def social_registry_url() -> str | None:
    """The social registry (DTKS/DTSEN) endpoint hibah_bansos asks by NIK; None: not configured
    (citizens are then verified by an official). `make run` and `make test` point it at the
    local fake registry (infra/fake_registry.py)."""
    return os.environ.get("REPLIKA_SOCIAL_REGISTRY_URL", "").strip() or None


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class WebSettings:
    secret_key: str
    secure_cookies: bool
    # Reverse proxies in front of the service whose X-Forwarded-For/-Proto are trusted (0:
    # none). Behind a proxy, throttles must count the client, not the proxy's one address.
    trusted_proxies: int = 0

    @classmethod
    def from_env(cls) -> WebSettings:
        secret = os.environ.get("REPLIKA_SECRET_KEY")
        if not secret:
            raise RuntimeError("REPLIKA_SECRET_KEY is not set")
        proxies = os.environ.get("REPLIKA_TRUSTED_PROXIES", "0").strip() or "0"
        if not proxies.isdigit() or int(proxies) > 5:
            raise RuntimeError("REPLIKA_TRUSTED_PROXIES must be a number of proxies from 0 to 5")
        return cls(
            secret_key=secret,
            secure_cookies=os.environ.get("REPLIKA_INSECURE_COOKIES") != "1",
            trusted_proxies=int(proxies),
        )
