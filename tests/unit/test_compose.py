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


def test_compose_components_use_the_runner_s_environment_variable_names():
    env = COMPOSE["services"]["whistleblowing"]["environment"]
    assert set(ENV_VARS) <= set(env), set(ENV_VARS) - set(env)


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
