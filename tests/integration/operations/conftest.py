"""Fixtures of the operations tests: a fresh city with its own tenant file, and its admin."""

from __future__ import annotations

import shutil
import uuid

import pytest

from operations import tenant_apply
from operations.replication.template import template_file, write_new_tenant
from shared.tenant_config import load_file
from tests.support import ROOT


@pytest.fixture
def city(tmp_path, monkeypatch, demo_tenants):
    """A fresh tenant (copied from cimahi) whose file lives in a temporary tenants dir."""
    shutil.copy(ROOT / "tenants" / "cimahi.yaml", tmp_path / "cimahi.yaml")
    monkeypatch.setenv("REPLIKA_TENANTS_DIR", str(tmp_path))
    slug = f"kota-{uuid.uuid4().hex[:6]}"
    path = write_new_tenant(
        tmp_path,
        template_file(tmp_path, "cimahi"),
        "cimahi",
        slug=slug,
        name="Pemerintah Kota Uji",
        region_code="32.73",
    )
    config = load_file(path)
    tenant_apply.apply(config)
    return config, path


@pytest.fixture
def admin(wb, city, make_official, api_login):
    config, _ = city
    creds = make_official(config.slug, "tenant_admin")
    return {"Authorization": api_login(wb, config.slug, creds)}


@pytest.fixture
def second_admin(wb, city, make_official, api_login):
    """Another tenant admin of the same city: approves what `admin` proposes."""
    config, _ = city
    creds = make_official(config.slug, "tenant_admin")
    return {"Authorization": api_login(wb, config.slug, creds)}


@pytest.fixture
def two_cities(tmp_path, monkeypatch, demo_tenants):
    shutil.copy(ROOT / "tenants" / "cimahi.yaml", tmp_path / "cimahi.yaml")
    monkeypatch.setenv("REPLIKA_TENANTS_DIR", str(tmp_path))
    made = []
    for name in ("Kota Hulu", "Kota Hilir"):
        slug = f"kota-{uuid.uuid4().hex[:6]}"
        path = write_new_tenant(
            tmp_path,
            template_file(tmp_path, "cimahi"),
            "cimahi",
            slug=slug,
            name=f"Pemerintah {name}",
            region_code="32.77",
            display_name=name,
        )
        config = load_file(path)
        tenant_apply.apply(config)
        made.append(config)
    return made
