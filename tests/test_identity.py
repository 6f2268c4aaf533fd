"""Reporter identity sealing: only the custodian's passphrase (or the recovery secret) opens it."""
from __future__ import annotations

import uuid

import pytest

from shared import identity
from shared.db import service_engine, session_factory, tenant_session

PERSON = {"name": "Siti Aminah", "nik": "3277014502900003", "phone": "+6281122223333"}


@pytest.fixture
def new_tenant(stack, demo_tenants):
    from shared import tenant_apply
    from shared.tenant_config import parse
    data = dict(demo_tenants["cimahi"].data)
    data.pop("id")
    data["slug"] = f"idt-{uuid.uuid4().hex[:8]}"
    config = parse(data, "test")
    tenant_apply.apply(config)
    return config


def session_for(tenant_id):
    return tenant_session(session_factory(service_engine("whistleblowing")), tenant_id)


def test_sealed_identity_opens_only_with_the_right_passphrase(new_tenant):
    from shared import key_admin
    created = key_admin.ensure_custodian(new_tenant.id, "correct horse battery")
    assert created["recovery_secret"].startswith("RK-")
    report = uuid.uuid4()
    with session_for(new_tenant.id) as s:
        sealed = identity.seal_identity(s, new_tenant.id, report, PERSON)
        assert PERSON["name"].encode() not in sealed and PERSON["nik"].encode() not in sealed
        with pytest.raises(identity.WrongPassphrase):
            identity.open_identity(s, new_tenant.id, report, sealed, "wrong passphrase!!")
        assert identity.open_identity(s, new_tenant.id, report, sealed,
                                      "correct horse battery") == PERSON
        with pytest.raises(identity.IdentityDoesNotOpen):  # bound to its report
            identity.open_identity(s, new_tenant.id, uuid.uuid4(), sealed, "correct horse battery")


def test_a_lost_passphrase_is_recovered_with_the_offline_secret(new_tenant):
    from shared import key_admin
    created = key_admin.ensure_custodian(new_tenant.id, "first passphrase")
    report = uuid.uuid4()
    with session_for(new_tenant.id) as s, s.begin():
        sealed = identity.seal_identity(s, new_tenant.id, report, PERSON)
        with pytest.raises(identity.WrongRecoverySecret):
            identity.recover_custodian(s, new_tenant.id, "RK-AAAA", "a brand new passphrase")
        identity.recover_custodian(s, new_tenant.id, created["recovery_secret"],
                                   "a brand new passphrase")
    with session_for(new_tenant.id) as s:
        with pytest.raises(identity.WrongPassphrase):
            identity.open_identity(s, new_tenant.id, report, sealed, "first passphrase")
        assert identity.open_identity(s, new_tenant.id, report, sealed,
                                      "a brand new passphrase") == PERSON


def test_sealing_without_a_custodian_is_a_clear_error(new_tenant):
    with session_for(new_tenant.id) as s:
        with pytest.raises(identity.NoCustodian):
            identity.seal_identity(s, new_tenant.id, uuid.uuid4(), PERSON)
