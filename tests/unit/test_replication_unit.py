"""Replication, pure parts: a new tenant file from a template, slugs, instance secrets."""

from __future__ import annotations

import stat
from datetime import date

import pytest
import yaml
from click.testing import CliRunner

from operations.replication import instance, portal, template
from shared.problem import Refused
from shared.tenant_config import TenantConfigError, load_file, parse
from tests.support import ROOT


def cimahi() -> dict:
    return load_file(ROOT / "tenants" / "cimahi.yaml").data


def test_new_tenant_replaces_identity_and_keeps_the_configuration():
    src = cimahi()
    data = template.new_tenant_data(
        src, slug="garut", name="Pemerintah Kabupaten Garut", region_code="32.05"
    )
    assert (data["slug"], data["name"], data["region_code"]) == (
        "garut",
        "Pemerintah Kabupaten Garut",
        "32.05",
    )
    assert data["branding"]["display_name"] == "Kabupaten Garut"
    assert "id" not in data  # the new city gets the id of its own slug
    assert parse(data, "t").id != parse(src, "s").id
    assert (
        data["services"]["whistleblowing"]["categories"]
        == src["services"]["whistleblowing"]["categories"]
    )
    assert [p["code"] for p in data["services"]["hibah_bansos"]["programmes"]] == [
        p["code"] for p in src["services"]["hibah_bansos"]["programmes"]
    ]
    assert data["services"]["hibah_bansos"]["region_codes"] == ["3205"]  # NIK domicile
    assert src["slug"] == "cimahi" and src["services"]["hibah_bansos"]["region_codes"] == ["3277"]


def test_new_tenant_drops_host_and_suspension_flags():
    src = dict(cimahi(), replication_host=True, suspended=True)
    data = template.new_tenant_data(
        src, slug="garut", name="Kab Garut", region_code="32.05", display_name="Garut"
    )
    assert "replication_host" not in data and "suspended" not in data
    assert data["branding"]["display_name"] == "Garut"


@pytest.mark.parametrize(
    "field,kwargs",
    [
        ("slug", dict(slug="Garut!", name="x", region_code="32.05")),
        ("slug", dict(slug="", name="x", region_code="32.05")),
        ("name", dict(slug="garut", name="  ", region_code="32.05")),
        ("region_code", dict(slug="garut", name="x", region_code="3205x")),
        ("region_code", dict(slug="garut", name="x", region_code="32.5")),
    ],
)
def test_new_tenant_names_the_wrong_field(field, kwargs):
    with pytest.raises(TenantConfigError) as exc:
        template.new_tenant_data(cimahi(), **kwargs)
    assert field in [f for f, _ in exc.value.problems]


def test_a_province_code_leaves_no_domicile_prefix():
    data = template.new_tenant_data(
        cimahi(), slug="jabar", name="Provinsi Jawa Barat", region_code="32"
    )
    assert data["services"]["hibah_bansos"]["region_codes"] == []


@pytest.mark.parametrize(
    "name,slug",
    [
        ("Pemerintah Kabupaten Garut", "garut"),
        ("Kota Tasikmalaya", "tasikmalaya"),
        ("Pemerintah Kab. Bandung Barat", "bandung-barat"),
    ],
)
def test_slug_from_region_name(name, slug):
    assert template.slug_from_region_name(name) == slug


def test_written_file_validates_and_is_never_overwritten(tmp_path):
    (tmp_path / "cimahi.yaml").write_text((ROOT / "tenants" / "cimahi.yaml").read_text())
    src = template.template_file(tmp_path, "cimahi")
    path = template.write_new_tenant(
        tmp_path,
        src,
        "cimahi",
        slug="garut",
        name="Pemerintah Kabupaten Garut",
        region_code="32.05",
    )
    assert load_file(path).slug == "garut"
    before = path.read_text()
    with pytest.raises(template.TenantExists):
        template.write_new_tenant(
            tmp_path, src, "cimahi", slug="garut", name="Other", region_code="32.06"
        )
    assert path.read_text() == before


def test_cli_tenant_new(tmp_path):
    from operations.cli import main

    (tmp_path / "cimahi.yaml").write_text((ROOT / "tenants" / "cimahi.yaml").read_text())
    args = [
        "tenant",
        "new",
        "garut",
        "--from",
        "cimahi",
        "--name",
        "Pemerintah Kabupaten Garut",
        "--region-code",
        "32.05",
        "--dir",
        str(tmp_path),
    ]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((tmp_path / "garut.yaml").read_text())["region_code"] == "32.05"
    again = CliRunner().invoke(main, args)
    assert again.exit_code != 0 and "already exists" in again.output
    missing = CliRunner().invoke(main, args[:3] + ["--from", "nowhere"] + args[5:])
    assert missing.exit_code != 0 and "no such tenant file" in missing.output


def test_instance_init_env_has_every_example_variable_and_no_placeholder(tmp_path):
    written = instance.init_instance(tmp_path)
    env = dict(
        line.split("=", 1)
        for line in (tmp_path / ".env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    example = dict(instance.example_variables())
    assert set(example) == set(env)
    for name, value in env.items():
        assert value and "change-me" not in value, name
        if instance.SECRET_NAME.search(name):
            assert value != example[name] and len(value) >= 32, name
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
    keyring_path = tmp_path / "secrets" / "master-keys.json"
    assert keyring_path in written and stat.S_IMODE(keyring_path.stat().st_mode) == 0o600
    from shared.keyring import FileKeyring

    ring = FileKeyring(keyring_path, create=False)  # the format shared/keyring.py reads
    blob = ring.wrap(ring.current_key_id(), b"k" * 32, b"aad")
    assert ring.unwrap(ring.current_key_id(), blob, b"aad") == b"k" * 32


def test_instance_init_refuses_to_replace_and_never_replaces_the_keyring(tmp_path):
    instance.init_instance(tmp_path)
    keys = (tmp_path / "secrets" / "master-keys.json").read_text()
    with pytest.raises(instance.InstanceExists):
        instance.init_instance(tmp_path)
    old_env = (tmp_path / ".env").read_text()
    instance.init_instance(tmp_path, force=True)
    assert (tmp_path / ".env").read_text() != old_env
    assert (tmp_path / "secrets" / "master-keys.json").read_text() == keys


# --- request validation (operations/replication/portal.py) --------------------------------------


TEMPLATES = {
    "cimahi": {
        "name": "Pemerintah Kota Cimahi",
        "services": {"whistleblowing": {}, "hibah_bansos": {}},
    },
    "kecil": {"name": "Kota Kecil", "services": {"whistleblowing": {}}},
}


def good(**overrides) -> dict:
    return {
        "region_name": "Pemerintah Kabupaten Garut",
        "region_code": "32.05",
        "contact_name": "Dewi",
        "contact_email": "dewi@garutkab.go.id",
        "applications": ["hibah_bansos", "whistleblowing"],
        "agreement_number": "PKS/1/2026",
        "agreement_date": "2026-01-15",
        "template": "cimahi",
        **overrides,
    }


def test_a_good_request_parses_and_derives_the_slug():
    form = portal.parse_request(good(), TEMPLATES, date(2026, 2, 1))
    assert form.slug == "garut" and form.applications == ("hibah_bansos", "whistleblowing")
    assert form.agreement_date == date(2026, 1, 15)


@pytest.mark.parametrize(
    "overrides,field",
    [
        ({"region_code": "32-05"}, "region_code"),
        ({"region_code": "32.05.01.0001.9"}, "region_code"),
        ({"contact_email": "dewi at garut"}, "contact_email"),
        ({"contact_name": ""}, "contact_name"),
        ({"applications": []}, "applications"),
        ({"applications": ["whistleblowing", "whistleblowing"]}, "applications"),
        ({"applications": "whistleblowing"}, "applications"),
        ({"agreement_date": "15/01/2026"}, "agreement_date"),
        ({"agreement_date": "2026-03-01"}, "agreement_date"),  # after "today"
        ({"agreement_number": " "}, "agreement_number"),
        ({"template": "atlantis"}, "template"),
        ({"template": "kecil"}, "template"),  # it does not run hibah_bansos
        ({"slug": "Garut Kab"}, "slug"),
    ],
)
def test_each_wrong_field_is_named(overrides, field):
    with pytest.raises(Refused) as exc:
        portal.parse_request(good(**overrides), TEMPLATES, date(2026, 2, 1))
    assert exc.value.status == 422 and [e["field"] for e in exc.value.errors] == [field]


def test_a_non_object_body_names_every_required_field():
    with pytest.raises(Refused) as exc:
        portal.parse_request(["x"], TEMPLATES, date(2026, 2, 1))
    assert {"region_name", "region_code", "contact_email", "applications", "template"} <= {
        e["field"] for e in exc.value.errors
    }


def test_catalogue_offers_both_applications_in_both_languages():
    cat = portal.catalogue(TEMPLATES)
    assert [a["code"] for a in cat["applications"]] == ["whistleblowing", "hibah_bansos"]
    for app in cat["applications"]:
        assert app["name"]["id"] and app["name"]["en"] and app["description"]["id"]
    assert cat["templates"][1] == {
        "slug": "kecil",
        "name": "Kota Kecil",
        "applications": ["whistleblowing"],
    }


def test_new_tenant_keeps_only_the_applications_asked_for():
    data = template.new_tenant_data(
        cimahi(),
        slug="garut",
        name="Kab Garut",
        region_code="32.05",
        applications=["whistleblowing"],
    )
    assert list(data["services"]) == ["whistleblowing"]
