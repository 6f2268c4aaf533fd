"""Signed requests between deployments (operations/links/remote.py), without a stack."""

from __future__ import annotations

import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from operations.links import remote
from operations.tenant_move import _raw_public
from shared.problem import Refused


def test_a_signature_holds_for_its_path_body_and_key_only():
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    path, body = "/t/kota/api/v1/links/remote/x/tokens", b'{"tokens":[]}'
    headers = remote.signed_headers(path, body, signer=key)
    signer, nonce = remote.check_signature(path, headers, body, _raw_public(key))
    assert signer.startswith("sha256:") and len(nonce) == 32
    for bad_path, bad_body, bad_key in (
        ("/t/other/api/v1/links/remote/x/tokens", body, key),  # another tenant
        (path, b'{"tokens":[1]}', key),  # another body
        (path, body, other),  # the key the agreement names is another
    ):
        with pytest.raises(Refused) as exc:
            remote.check_signature(bad_path, headers, bad_body, _raw_public(bad_key))
        assert exc.value.status == 401
    with pytest.raises(Refused):
        remote.check_signature(path, headers, body, _raw_public(key), now=time.time() + 3600)
    with pytest.raises(Refused):
        remote.check_signature(path, {**headers, remote.H_SIG: "AAAA"}, body, _raw_public(key))


def test_partner_addresses_are_https_except_on_loopback():
    assert remote.check_base_url("https://wbs.cimahikota.go.id/") == "https://wbs.cimahikota.go.id"
    assert remote.check_base_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000"
    for bad in ("http://example.org", "ftp://x", "https://x/?a=1", "", "https://"):
        with pytest.raises(Refused):
            remote.check_base_url(bad)


def test_the_aid_key_opens_only_for_its_agreement(tmp_path, monkeypatch):
    from shared.keyring import new_keyring_data, write_keyring_file

    keyring = tmp_path / "master-keys.json"
    write_keyring_file(keyring, new_keyring_data())
    monkeypatch.setenv("REPLIKA_MASTER_KEY_FILE", str(keyring))
    from operations.tenant_move import deployment_public_key

    agreement, key = uuid.uuid4(), b"k" * 32
    sealed = remote.seal_key(key, deployment_public_key(), agreement)
    assert remote.open_key(sealed, agreement) == key
    with pytest.raises(Refused):
        remote.open_key(sealed, uuid.uuid4())
