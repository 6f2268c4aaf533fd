"""Reporter identity sealing: only the custodian's passphrase (or the recovery secret) opens it."""

from __future__ import annotations

import uuid

import pytest

from shared import identity
from shared.db import service_engine, session_factory, tenant_session

PERSON = {"name": "Siti Aminah", "nik": "3277014502900003", "phone": "+6281122223333"}


@pytest.fixture
def new_tenant(stack, demo_tenants):
    from operations import tenant_apply
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
    from operations import key_admin

    created = key_admin.ensure_custodian(new_tenant.id, "correct horse battery")
    assert created["recovery_secret"].startswith("RK-")
    report = uuid.uuid4()
    with session_for(new_tenant.id) as s:
        sealed = identity.seal_identity(s, new_tenant.id, report, PERSON)
        assert PERSON["name"].encode() not in sealed and PERSON["nik"].encode() not in sealed
        with pytest.raises(identity.WrongPassphrase):
            identity.open_identity(s, new_tenant.id, report, sealed, "wrong passphrase!!")
        assert (
            identity.open_identity(s, new_tenant.id, report, sealed, "correct horse battery")
            == PERSON
        )
        with pytest.raises(identity.IdentityDoesNotOpen):  # bound to its report
            identity.open_identity(s, new_tenant.id, uuid.uuid4(), sealed, "correct horse battery")


def test_a_lost_passphrase_is_recovered_with_the_offline_secret(new_tenant):
    from operations import key_admin

    created = key_admin.ensure_custodian(new_tenant.id, "first passphrase")
    report = uuid.uuid4()
    with session_for(new_tenant.id) as s, s.begin():
        sealed = identity.seal_identity(s, new_tenant.id, report, PERSON)
        with pytest.raises(identity.WrongRecoverySecret):
            identity.recover_custodian(s, new_tenant.id, "RK-AAAA", "a brand new passphrase")
        identity.recover_custodian(
            s, new_tenant.id, created["recovery_secret"], "a brand new passphrase"
        )
    with session_for(new_tenant.id) as s:
        with pytest.raises(identity.WrongPassphrase):
            identity.open_identity(s, new_tenant.id, report, sealed, "first passphrase")
        assert (
            identity.open_identity(s, new_tenant.id, report, sealed, "a brand new passphrase")
            == PERSON
        )


def test_sealing_without_a_custodian_is_a_clear_error(new_tenant):
    with session_for(new_tenant.id) as s:
        with pytest.raises(identity.NoCustodian):
            identity.seal_identity(s, new_tenant.id, uuid.uuid4(), PERSON)


def test_changing_the_passphrase_needs_the_old_one(new_tenant):
    from operations import key_admin

    key_admin.ensure_custodian(new_tenant.id, "old passphrase 1")
    report = uuid.uuid4()
    with session_for(new_tenant.id) as s, s.begin():
        sealed = identity.seal_identity(s, new_tenant.id, report, PERSON)
        with pytest.raises(identity.WrongPassphrase):
            identity.change_custodian_passphrase(
                s, new_tenant.id, "not the old one", "new passphrase 2"
            )
        identity.change_custodian_passphrase(
            s, new_tenant.id, "old passphrase 1", "new passphrase 2"
        )
    with session_for(new_tenant.id) as s:
        with pytest.raises(identity.WrongPassphrase):
            identity.open_identity(s, new_tenant.id, report, sealed, "old passphrase 1")
        assert (
            identity.open_identity(s, new_tenant.id, report, sealed, "new passphrase 2") == PERSON
        )


def test_a_sealed_identity_is_bound_to_its_tenant(new_tenant, demo_tenants, custodian_passphrase):
    """Sealed for one tenant, it does not open as another tenant's, even with that tenant's
    own custodian passphrase."""
    from operations import key_admin

    key_admin.ensure_custodian(new_tenant.id, "passphrase of new")
    report = uuid.uuid4()
    with session_for(new_tenant.id) as s:
        sealed = identity.seal_identity(s, new_tenant.id, report, PERSON)
    other = demo_tenants["cimahi"]
    with session_for(other.id) as s:
        with pytest.raises(identity.IdentityDoesNotOpen):
            identity.open_identity(s, other.id, report, sealed, custodian_passphrase(other))


def test_demo_custodian_is_created_once_with_a_random_passphrase(new_tenant):
    engine = service_engine("whistleblowing", migration=True)
    created = identity.ensure_demo_custodian(engine, new_tenant.id)
    assert len(created["passphrase"]) >= 20 and created["recovery_secret"].startswith("RK-")
    assert identity.ensure_demo_custodian(session_factory(engine), new_tenant.id) is None
    report = uuid.uuid4()
    with session_for(new_tenant.id) as s:
        sealed = identity.seal_identity(s, new_tenant.id, report, PERSON)
        assert (
            identity.open_identity(s, new_tenant.id, report, sealed, created["passphrase"])
            == PERSON
        )


def test_make_run_demo_seeding_stores_a_working_custodian_passphrase(new_tenant):
    """operations/demo.py: the passphrase (and recovery secret) land in the tenant's
    "identity_custodian" entry, other keys of the entry are kept, re-runs change nothing."""
    from operations import demo

    entry = {"username": "identity-custodian", "password": "kept"}
    demo.seed_custodian(new_tenant.id, entry)
    assert entry["username"] == "identity-custodian" and entry["password"] == "kept"
    first = dict(entry)
    demo.seed_custodian(new_tenant.id, entry)
    assert entry == first
    report = uuid.uuid4()
    with session_for(new_tenant.id) as s:
        sealed = identity.seal_identity(s, new_tenant.id, report, PERSON)
        assert (
            identity.open_identity(s, new_tenant.id, report, sealed, entry["passphrase"]) == PERSON
        )
    with session_for(new_tenant.id) as s, s.begin():
        identity.recover_custodian(s, new_tenant.id, entry["recovery_secret"], "after recovery")
