"""Tenant configuration: validation errors name the file, the field and the reason; `replika
tenant apply` validates every file before it applies any."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from operations.cli import main
from shared.tenant_config import TenantConfigError, load_file, tenant_id_for
from tests.support import ROOT


def _write(tmp_path: Path, data, name="kota.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True))
    return path


def _cimahi() -> dict:
    return yaml.safe_load((ROOT / "tenants" / "cimahi.yaml").read_text())


@pytest.mark.parametrize("slug", ["bandung", "cimahi"])
def test_the_demo_tenants_are_valid(slug):
    config = load_file(ROOT / "tenants" / f"{slug}.yaml")
    assert config.slug == slug and config.id == tenant_id_for(slug)
    assert config.data["locale"] == "id" and config.data["timezone"] == "Asia/Jakarta"


def test_an_error_names_the_file_the_field_and_the_reason(tmp_path):
    data = _cimahi()
    data["branding"]["primary_color"] = "green"
    path = _write(tmp_path, data)
    with pytest.raises(TenantConfigError) as info:
        load_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: branding/primary_color: ")
    assert "does not match" in message and "'green'" in message
    assert info.value.problems == [("branding/primary_color", info.value.problems[0][1])]


def test_a_field_deep_in_a_service_is_named_by_its_path(tmp_path):
    data = _cimahi()
    data["services"]["whistleblowing"]["categories"][1]["code"] = "Not A Code"
    with pytest.raises(TenantConfigError) as info:
        load_file(_write(tmp_path, data))
    assert "services/whistleblowing/categories/1/code: " in str(info.value)


def test_a_missing_required_field_is_named_in_the_reason(tmp_path):
    data = _cimahi()
    del data["name"]
    with pytest.raises(TenantConfigError) as info:
        load_file(_write(tmp_path, data))
    assert "'name' is a required property" in str(info.value)


def test_every_problem_is_reported_at_once(tmp_path):
    data = _cimahi()
    data["locale"] = "fr"
    data["timezone"] = "Europe/Paris"
    with pytest.raises(TenantConfigError) as info:
        load_file(_write(tmp_path, data))
    assert {field for field, _ in info.value.problems} == {"locale", "timezone"}


def test_an_unknown_field_is_refused(tmp_path):
    data = _cimahi()
    data["mayor"] = "someone"
    with pytest.raises(TenantConfigError) as info:
        load_file(_write(tmp_path, data))
    assert "'mayor' was unexpected" in str(info.value)


def test_broken_yaml_names_the_file(tmp_path):
    path = _write(tmp_path, "slug: [unclosed\n")
    with pytest.raises(TenantConfigError) as info:
        load_file(path)
    assert str(info.value).startswith(f"{path}: (file): not valid YAML")


def test_tenant_apply_refuses_an_invalid_file_and_applies_nothing(tmp_path):
    good = _write(tmp_path, {**_cimahi(), "slug": "never-applied"}, "good.yaml")
    bad = _write(tmp_path, {**_cimahi(), "slug": "Bad Slug"}, "bad.yaml")
    result = CliRunner().invoke(main, ["tenant", "apply", str(good), str(bad)])
    assert result.exit_code != 0
    assert f"{bad}: slug: " in result.output
    assert "never-applied" not in result.output  # validated all before applying any


def test_problems_come_with_their_rule_for_the_pages_to_say_in_words():
    from shared.tenant_config import SchemaProblem, parse

    data = _cimahi()
    data["holidays"] = {"add": [{"annual": "13-40", "name": "Hari jadi"}]}
    del data["services"]["whistleblowing"]["categories"][0]["label"]
    data["branding"]["warna"] = "merah"
    data["services"]["whistleblowing"]["sla"]["feedback_days"] = 400
    with pytest.raises(TenantConfigError) as info:
        parse(data, "kota")
    details = set(
        (d.field, d.rule, tuple(d.limit) if isinstance(d.limit, list) else d.limit)
        for d in info.value.details
    )
    assert ("holidays/add/0/annual", "pattern", data_pattern()) in details  # the oneOf explained
    assert ("services/whistleblowing/categories/0/label", "required", None) in details
    assert ("branding", "additionalProperties", ("warna",)) in details
    assert ("services/whistleblowing/sla/feedback_days", "maximum", 365) in details
    assert all(isinstance(d, SchemaProblem) for d in info.value.details)


def data_pattern() -> str:
    import json

    schema = json.loads((ROOT / "shared" / "schemas" / "tenant.schema.json").read_text())
    add = schema["properties"]["holidays"]["oneOf"][1]["properties"]["add"]["items"]["oneOf"]
    return add[2]["properties"]["annual"]["pattern"]


@pytest.mark.parametrize(
    "where, value",
    [
        (("holidays",), ["2026-02-30"]),
        (("services", "hibah_bansos", "lpj_due"), "02-30"),
        (("services", "hibah_bansos", "lpj_due"), "13-01"),
        (("contact", "email"), "humas\x1f@cimahi.go.id"),
    ],
    ids=["a date that does not exist", "lpj_due 30 February", "lpj_due month 13", "a control"],
)
def test_what_a_pattern_alone_let_through_is_refused(tmp_path, where, value):
    data = _cimahi()
    node = data
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = value
    with pytest.raises(TenantConfigError) as info:
        load_file(_write(tmp_path, data))
    assert "/".join(where) in {d.field.rsplit("/0", 1)[0] for d in info.value.details}


def test_whole_number_floats_are_read_as_ints(tmp_path):
    data = _cimahi()
    data["services"]["whistleblowing"]["retention_days"] = 1825.0
    config = load_file(_write(tmp_path, data))
    assert type(config.data["services"]["whistleblowing"]["retention_days"]) is int


def test_a_json_schema_file_becomes_components_with_its_refs_rewritten():
    from shared.openapi import json_schema_components

    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.test/x.json",
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/a"}, "b": {"items": [{"$ref": "#/$defs/b"}]}},
        "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"type": "integer"}},
    }
    got = json_schema_components(schema, "X")
    assert set(got) == {"X", "X.a", "X.b"}
    assert "$defs" not in got["X"] and "$id" not in got["X"] and "$schema" not in got["X"]
    assert got["X"]["properties"]["a"] == {"$ref": "#/components/schemas/X.a"}
    assert got["X"]["properties"]["b"]["items"] == [{"$ref": "#/components/schemas/X.b"}]
    assert got["X.a"] == {"$ref": "#/components/schemas/X.b"}
    assert schema["$defs"]["a"] == {"$ref": "#/$defs/b"}  # the file's schema is left as it is
