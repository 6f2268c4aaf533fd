"""The master keyring file (0600 only, rotation keeps old keys, processes creating it at once
agree) and blind-index normalisation; no database."""

from __future__ import annotations

import json
import os
import stat

import pytest
from cryptography.exceptions import InvalidTag

from shared import crypto
from shared.keyring import FileKeyring, KeyringError


def test_keyring_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "keys.json"
    ring = FileKeyring(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    blob = ring.wrap(ring.current_key_id(), b"k", b"aad")
    os.chmod(path, 0o644)
    with pytest.raises(KeyringError):
        ring.unwrap(ring.current_key_id(), blob, b"aad")


def test_processes_creating_the_keyring_at_once_agree_on_one_master_key(tmp_path):
    """Workers starting together on a fresh deployment: one file wins, every process uses it
    (a check-then-write once left workers wrapping tenant keys under different master keys)."""
    import multiprocessing

    path = tmp_path / "keys.json"
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(8) as pool:
        seen = pool.map(_current_master_of, [str(path)] * 32)
    assert len(set(seen)) == 1
    assert seen[0] == json.loads(path.read_text())["current"]
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]  # no temporary file left


def _current_master_of(path: str) -> str:
    from pathlib import Path

    return FileKeyring(Path(path)).current_key_id()


def test_normalisation_of_blind_index_kinds():
    assert crypto.normalise("nik", " 3277-0112-0387-0004 ") == "3277011203870004"
    assert crypto.normalise("phone", "0812 3456 7890") == "+6281234567890"
    assert crypto.normalise("phone", "+62 812-3456-7890") == "+6281234567890"
    assert crypto.normalise("phone", "812 3456 7890") == "+6281234567890"
    assert crypto.normalise("email", "  Siti@Example.ORG ") == "siti@example.org"
    assert crypto.normalise("bank_account", "123-456.789 0") == "1234567890"
    assert crypto.normalise("name", "  Siti  ") == "Siti"


def test_keyring_rotation_keeps_old_keys_and_a_fresh_keyring_is_private(tmp_path):
    path = tmp_path / "new" / "keys.json"
    ring = FileKeyring(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    old_id = ring.current_key_id()
    blob = ring.wrap(old_id, b"tenant key", b"aad")
    new_id = ring.add_key()
    assert ring.current_key_id() == new_id != old_id
    assert FileKeyring(path).unwrap(old_id, blob, b"aad") == b"tenant key"  # another process
    assert set(json.loads(path.read_text())["keys"]) == {old_id, new_id}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(InvalidTag):
        ring.unwrap(old_id, blob, b"other aad")
    with pytest.raises(KeyringError):
        ring.unwrap("mk-unknown", blob, b"aad")
