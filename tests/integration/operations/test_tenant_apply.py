"""`replika tenant apply` and `replika tenant list` against every service database: applying
the same file twice changes nothing, and the list shows each tenant's state and services."""

from __future__ import annotations

from click.testing import CliRunner

from operations.cli import main
from tests.support import ROOT


def test_tenant_apply_is_idempotent_and_list_shows_the_tenants(stack, demo_tenants):
    path = ROOT / "tenants" / "cimahi.yaml"
    first = CliRunner().invoke(main, ["tenant", "apply", str(path)])
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(main, ["tenant", "apply", str(path)])
    assert again.output.strip() == "cimahi: unchanged"
    listed = CliRunner().invoke(main, ["tenant", "list"])
    assert listed.exit_code == 0
    lines = {line.split("\t")[0]: line.split("\t") for line in listed.output.splitlines()}
    assert lines["cimahi"][1:] == [
        "enabled",
        "hibah_bansos,whistleblowing",
        "Pemerintah Kota Cimahi",
    ]
    assert "bandung" in lines
