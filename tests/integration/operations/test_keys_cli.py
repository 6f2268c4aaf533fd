"""`replika keys rotate-master` and `replika keys shred-tenant`, through the real CLI and databases."""

from __future__ import annotations

import threading
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from operations.cli import main
from shared import crypto, identity
from shared.db import service_engine, session_factory, tenant_session
from shared.keyring import keyring

KEYED = ("whistleblowing", "hibah_bansos")


def session(service, tenant_id):
    return tenant_session(session_factory(service_engine(service)), tenant_id)


def write(service, tenant_id, row, value: bytes) -> bytes:
    with session(service, tenant_id) as s, s.begin():
        return crypto.encrypt_field(s, tenant_id, "applicants", row, "nik", value)


def read(service, tenant_id, row, blob: bytes) -> bytes:
    with session(service, tenant_id) as s:
        return crypto.decrypt_field(s, tenant_id, "applicants", row, "nik", blob)


def new_tenant(demo_tenants, prefix: str):
    from operations import tenant_apply
    from shared.tenant_config import parse

    data = dict(demo_tenants["cimahi"].data)
    data.pop("id")
    data["slug"] = f"{prefix}-{uuid.uuid4().hex[:8]}"
    config = parse(data, "test")
    tenant_apply.apply(config)
    return config


def test_rotate_master_rewraps_every_key_while_writes_go_on(demo_tenants):
    from services.audit import keys as audit_keys

    tid = demo_tenants["cimahi"].id
    with session_factory(service_engine("audit"))() as s, s.begin():
        audit_keys.signing_key(s, tid)  # an audit signing key exists, wrapped by the master key
    before = {svc: (uuid.uuid4(),) for svc in KEYED}
    old_blobs = {svc: write(svc, tid, before[svc][0], b"3277011203870004") for svc in KEYED}
    old_master = keyring().current_key_id()

    # a "running service" keeps writing and reading during the rotation
    written, errors, stop = [], [], threading.Event()

    def busy():
        while not stop.is_set():
            try:
                row = uuid.uuid4()
                written.append((row, write("hibah_bansos", tid, row, b"during")))
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(repr(exc))

    worker = threading.Thread(target=busy)
    worker.start()
    try:
        result = CliRunner().invoke(main, ["keys", "rotate-master"])
    finally:
        stop.set()
        worker.join()
    assert result.exit_code == 0, result.output
    assert "re-wrapped tenant keys" in result.output
    assert not errors, errors[:3]
    assert written

    new_master = keyring().current_key_id()
    assert new_master != old_master
    for svc in KEYED:
        with service_engine(svc, migration=True).connect() as conn:
            masters = {
                r[0]
                for r in conn.execute(
                    text("select master_key_id from tenant_keys where wrapped is not null")
                )
            }
        assert masters == {new_master}, svc
    with service_engine("audit", migration=True).connect() as conn:
        wrappings = {r[0] for r in conn.execute(text("select wrapping from audit_keys"))}
    assert wrappings == {"keyring:" + new_master}
    with session_factory(service_engine("audit"))() as s:
        assert audit_keys.signing_key(s, tid).private is not None  # still unwraps

    # old data (and what was written during the rotation) stays readable ...
    for svc in KEYED:
        assert read(svc, tid, before[svc][0], old_blobs[svc]) == b"3277011203870004"
    for row, blob in written:
        assert read("hibah_bansos", tid, row, blob) == b"during"
    # ... and new writes carry a new data key id, wrapped by the new master key
    for svc in KEYED:
        blob = write(svc, tid, uuid.uuid4(), b"after")
        assert crypto.ciphertext_key_id(blob) != crypto.ciphertext_key_id(old_blobs[svc])
        with service_engine(svc, migration=True).connect() as conn:
            master = conn.execute(
                text("select master_key_id from tenant_keys where key_id = :k"),
                {"k": crypto.ciphertext_key_id(blob)},
            ).scalar()
        assert master == new_master


def test_shred_tenant_needs_confirmation_then_makes_all_its_data_unreadable(demo_tenants):
    doomed = new_tenant(demo_tenants, "shred")
    kept = demo_tenants["bandung"]
    created = identity.ensure_demo_custodian(
        service_engine("whistleblowing", migration=True), doomed.id
    )
    report = uuid.uuid4()
    with session("whistleblowing", doomed.id) as s:
        sealed = identity.seal_identity(s, doomed.id, report, {"name": "Siti Aminah"})
    rows = {svc: uuid.uuid4() for svc in KEYED}
    blobs = {svc: write(svc, doomed.id, rows[svc], b"doomed") for svc in KEYED}
    kept_row = uuid.uuid4()
    kept_blob = write("hibah_bansos", kept.id, kept_row, b"kept")

    refused = CliRunner().invoke(main, ["keys", "shred-tenant", doomed.slug])
    assert refused.exit_code != 0 and "--yes" in refused.output
    assert (
        read("whistleblowing", doomed.id, rows["whistleblowing"], blobs["whistleblowing"])
        == b"doomed"
    )

    result = CliRunner().invoke(main, ["keys", "shred-tenant", doomed.slug, "--yes"])
    assert result.exit_code == 0, result.output
    for svc in KEYED:
        with pytest.raises(crypto.DecryptionError):
            read(svc, doomed.id, rows[svc], blobs[svc])
        with pytest.raises(crypto.TenantShredded):  # and no fresh key is made for it
            write(svc, doomed.id, uuid.uuid4(), b"new")
        with service_engine(svc, migration=True).connect() as conn:
            assert (
                conn.execute(
                    text(
                        "select count(*) from tenant_keys where tenant_id = :t "
                        "and wrapped is not null"
                    ),
                    {"t": doomed.id},
                ).scalar()
                == 0
            )
    with session("whistleblowing", doomed.id) as s:
        with pytest.raises(identity.NoCustodian):
            identity.open_identity(s, doomed.id, report, sealed, created["passphrase"])
    assert read("hibah_bansos", kept.id, kept_row, kept_blob) == b"kept"
