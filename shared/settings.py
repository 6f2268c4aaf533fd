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
# Every database provisioned and migrated: the services' and the notifications consumer's
# (which holds no tenant configuration: tenant apply, moves and offboarding pass it by).
DATABASES = (*SERVICES, "notifications")

ENV_VARS = {
    "KAFKA_BOOTSTRAP_SERVERS": "Kafka brokers, comma separated",
    "KAFKA_SECURITY_PROTOCOL": "SASL_SSL (default), SASL_PLAINTEXT, or PLAINTEXT (no auth)",
    "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512 (default) or PLAIN",
    "KAFKA_SSL_CAFILE": "PEM file of the CA that signed the brokers' certificates",
    "WHISTLEBLOWING_DATABASE_URL": "whistleblowing app role (no table ownership, RLS applies)",
    "WHISTLEBLOWING_MIGRATION_DATABASE_URL": "whistleblowing owner role, used by migrations",
    "HIBAH_BANSOS_DATABASE_URL": "hibah_bansos app role",
    "HIBAH_BANSOS_MIGRATION_DATABASE_URL": "hibah_bansos owner role",
    "AUDIT_DATABASE_URL": "audit ledger role: INSERT and SELECT only",
    "AUDIT_MIGRATION_DATABASE_URL": "audit owner role",
    # (its owner role's URL, NOTIFICATIONS_MIGRATION_DATABASE_URL, is for migrations only: the
    # runner writes it, provisioning derives it; no container is given it)
    "NOTIFICATIONS_DATABASE_URL": "notifications consumer role (delivery records, no content)",
    "REPLIKA_MASTER_KEY_FILE": "keyring file with the master keys that wrap tenant data keys",
    "REPLIKA_SECRET_KEY": "signs page sessions and API tokens",
    "REPLIKA_TENANTS_DIR": "directory of tenant YAML files",
    # the notifications consumer (services/notifications/channels.py)
    "REPLIKA_SMTP_HOST": "mail server of notices (unset: no e-mail is sent)",
    "REPLIKA_SMTP_PORT": "its port (587 with starttls, 465 with ssl)",
    "REPLIKA_SMTP_SECURITY": "starttls (default), ssl, or none (loopback only)",
    "REPLIKA_SMTP_USER": "SMTP authentication user",
    "REPLIKA_SMTP_PASSWORD": "SMTP authentication password",
    "REPLIKA_SMTP_FROM": "sender address of notices",
    "REPLIKA_GATEWAY_URL": "WhatsApp/SMS provider webhook (unset: no such message is sent)",
    "REPLIKA_GATEWAY_TOKEN": "its bearer token",
    "WHISTLEBLOWING_URL": "public base URL of the whistleblowing pages (sign-in links)",
    "HIBAH_BANSOS_URL": "public base URL of the hibah-bansos pages (sign-in links)",
}

# Directories of the event signing keys and of the audit heads anchored outside the database,
# with their default under the runner's state directory (`.local/`). In compose each container
# gets only what it uses: the emitters REPLIKA_EVENT_KEYS_DIR (their private keys), the audit
# consumer its read-only `public/` part and REPLIKA_AUDIT_ANCHOR_DIR, the audit API neither.
LEDGER_DIRS = {
    "REPLIKA_EVENT_KEYS_DIR": "event-keys",
    "REPLIKA_AUDIT_ANCHOR_DIR": "audit-anchors",
}
ENV_VARS.update(
    {
        "REPLIKA_EVENT_KEYS_DIR": "event signing keys: <service>.key.json (private, 0600) and "
        "public/<service>/*.json (what the audit consumer trusts)",
        "REPLIKA_AUDIT_ANCHOR_DIR": "append-only files of signed audit heads, one per tenant, "
        "outside the audit database",
    }
)


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


# Kafka principals: role -> SASL user name. The broker's ACLs (infra/kafka_access.py) let each
# relay write its own topic only, the audit consumer (group "audit") and the notifications
# consumer (group "notifications") read both topics, the
# health role only connect (readiness checks), and the admin (a super user) provision topics
# and ACLs. Each role's password is in KAFKA_<ROLE>_PASSWORD; a process is given only its own.
KAFKA_ROLES = {
    "admin": "replika-admin",
    "relay-whistleblowing": "replika-relay-whistleblowing",
    "relay-hibah_bansos": "replika-relay-hibah-bansos",
    "audit-consumer": "replika-audit-consumer",
    "notifications": "replika-notifications",
    "health": "replika-health",
}
KAFKA_PROTOCOLS = ("SASL_SSL", "SASL_PLAINTEXT", "PLAINTEXT")


def kafka_password_var(role: str) -> str:
    """KAFKA_ADMIN_PASSWORD, KAFKA_RELAY_WHISTLEBLOWING_PASSWORD, ..."""
    if role not in KAFKA_ROLES:
        raise ValueError(f"unknown Kafka role {role!r} (one of {', '.join(KAFKA_ROLES)})")
    return "KAFKA_" + role.upper().replace("-", "_") + "_PASSWORD"


ENV_VARS.update(
    {
        kafka_password_var(role): f"SASL password of the Kafka principal {user}"
        for role, user in KAFKA_ROLES.items()
    }
)


def kafka_client_config(role: str, bootstrap: str | None = None) -> dict[str, object]:
    """The settings of every kafka-python client (producer, consumer, admin) acting as `role`:
    bootstrap servers, security protocol, SASL user and password, the CA to trust. Unpack it
    into the client: `KafkaProducer(**kafka_client_config("relay-whistleblowing"), acks=...)`.

    A missing password under a SASL protocol is an error naming the variable, so that no
    client is ever left without credentials by accident."""
    protocol = os.environ.get("KAFKA_SECURITY_PROTOCOL", "SASL_SSL").strip().upper()
    if protocol not in KAFKA_PROTOCOLS:
        raise RuntimeError(f"KAFKA_SECURITY_PROTOCOL must be one of {', '.join(KAFKA_PROTOCOLS)}")
    var = kafka_password_var(role)
    config: dict[str, object] = {
        "bootstrap_servers": bootstrap or kafka_bootstrap(),
        "security_protocol": protocol,
    }
    if protocol.startswith("SASL_"):
        password = os.environ.get(var)
        if not password:
            raise RuntimeError(f"{var} is not set (run `make run`, or source .local/run.env)")
        config.update(
            sasl_mechanism=os.environ.get("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
            sasl_plain_username=KAFKA_ROLES[role],
            sasl_plain_password=password,
        )
    if protocol.endswith("_SSL"):
        cafile = os.environ.get("KAFKA_SSL_CAFILE")
        if cafile:  # else the system's trust store
            config["ssl_cafile"] = cafile
        config["ssl_check_hostname"] = True
    return config


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


@dataclass(frozen=True)
class FilingBudgets:
    """How many anonymous reports may be filed (API and page): per client address per hour,
    and per tenant per minute (a flood from many addresses). Beyond either: 429, Retry-After.
    REPLIKA_FILING_PER_ADDRESS_HOUR and REPLIKA_FILING_PER_TENANT_MINUTE override the defaults
    (the test stack raises both: the suite files hundreds of reports from few addresses)."""

    per_address_hour: int = 20
    per_tenant_minute: int = 120

    @classmethod
    def from_env(cls) -> FilingBudgets:
        values = {}
        for field, var in (
            ("per_address_hour", "REPLIKA_FILING_PER_ADDRESS_HOUR"),
            ("per_tenant_minute", "REPLIKA_FILING_PER_TENANT_MINUTE"),
        ):
            raw = os.environ.get(var, "").strip()
            if raw:
                if not raw.isdigit() or int(raw) < 1:
                    raise RuntimeError(f"{var} must be a whole number of reports, at least 1")
                values[field] = int(raw)
        return cls(**values)
