"""The local fake social registry the test stack runs (infra/fake_registry.py, started by
`make test` with its URL in REPLIKA_SOCIAL_REGISTRY_URL), and resident test data for the
bansos path: people the registry lists or not, registered by the pages without e-mail."""

from __future__ import annotations

import json
import os
import urllib.request

from tests.support.hibah_bansos import cimahi_nik


def registry_url() -> str:
    url = os.environ.get("REPLIKA_SOCIAL_REGISTRY_URL")
    assert url, "REPLIKA_SOCIAL_REGISTRY_URL is not set: run the tests through `make test`"
    return url


def list_in_registry(nik: str, period: str = "2026-03") -> None:
    """The fake registry lists `nik` from now on (as of data period `period`)."""
    req = urllib.request.Request(
        registry_url() + "/_fake/people",
        data=json.dumps({"nik": nik, "period": period}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 201


def resident_form(**over) -> dict:
    """The page's registration form of a resident with no e-mail address (phone and NIK)."""
    form = {
        "nik": cimahi_nik(),
        "kk": "3277010101200001",
        "name": "Euis Kurniasih",
        "address": "Jl. Sriwijaya 12, Cimahi Tengah",
        "phone": "0812-3456-7890",
        "bank_account": "0123456789",
        "password": "kata-sandi-yang-panjang",
        "password_confirm": "kata-sandi-yang-panjang",
    }
    form.update(over)
    return form
