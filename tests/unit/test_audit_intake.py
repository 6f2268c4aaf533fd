"""What the audit ledger accepts (services/audit/intake.py) and the event signatures it checks
(shared/event_signing.py), without a database or broker."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
import uuid

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from services.audit import intake
from shared import event_signing, events
from shared.tenancy import Tenant

TENANT = Tenant(uuid.uuid4(), "cimahi")


@pytest.fixture
def keys_dir(tmp_path):
    return tmp_path / "event-keys"


@pytest.fixture
def signer(keys_dir):
    return event_signing.load_signer("whistleblowing", keys_dir)


@pytest.fixture
def trusted(keys_dir, signer):
    return event_signing.TrustedKeys(keys_dir, reload_seconds=0)


def built(service="whistleblowing", type_="test.thing.changed.v1", **changes):
    event = events.build(service, type_, TENANT, "WBS-1", "system", {"state": "a", "n": 1})
    event.update(changes)
    return event


def encoded(event: dict) -> bytes:
    return json.dumps(event).encode()


def test_a_signed_event_of_the_topic_s_service_is_accepted(signer, trusted):
    event = signer.sign(built())
    assert event["sigkey"].startswith("ed25519:") and len(base64.b64decode(event["sig"])) == 64
    assert events.problems(event) == []  # sig and sigkey are declared in the envelope schema
    assert intake.check("whistleblowing.events", encoded(event), trusted) == event


def reason(value: bytes | None, trusted, topic="whistleblowing.events") -> str:
    verdict = intake.check(topic, value, trusted)
    assert isinstance(verdict, intake.Rejected), verdict
    return verdict.reason


def test_every_reason_for_a_dead_letter(signer, trusted, keys_dir, tmp_path):
    signed = signer.sign(built())
    assert reason(b"not json {", trusted) == "not_json"
    assert reason(b"[1, 2]", trusted) == "not_json"
    assert reason(None, trusted) == "not_json"
    assert reason(encoded(signed), trusted, topic="other.events") == "unknown_topic"
    assert reason(encoded(built()), trusted) == "missing_signature"
    forged = dict(signed, actor="official:0123456789abcdef")  # edited after signing
    assert reason(encoded(forged), trusted) == "bad_signature"
    assert reason(encoded(dict(signed, sig="!!")), trusted) == "bad_signature"
    # signed by a key nobody published, or by another service's key
    stranger = event_signing.load_signer("whistleblowing", tmp_path / "elsewhere")
    assert reason(encoded(stranger.sign(built())), trusted) == "unknown_key"
    assert reason(encoded(signed), trusted, topic="hibah_bansos.events") == "unknown_key"
    hb = event_signing.load_signer("hibah_bansos", keys_dir)
    wrong_source = hb.sign(built("whistleblowing"))
    assert reason(encoded(wrong_source), trusted, topic="hibah_bansos.events") == "wrong_source"
    other_tenant = signer.sign(built(tenant="bandung"))
    assert reason(encoded(other_tenant), trusted) == "wrong_source"
    # hibah_bansos may not emit whistleblowing's types (nor platform events)
    hb_wb_type = hb.sign(built("hibah_bansos", type="whistleblowing.report.expired.v1"))
    assert reason(encoded(hb_wb_type), trusted, topic="hibah_bansos.events") == "wrong_type"
    hb_platform = hb.sign(built("hibah_bansos", type="platform.tenant.suspended.v1"))
    assert reason(encoded(hb_platform), trusted, topic="hibah_bansos.events") == "wrong_type"
    unknown = signer.sign(built(type="whistleblowing.report.deleted.v1"))
    assert reason(encoded(unknown), trusted) == "unknown_type"
    naive = signer.sign(built(time="2026-11-22T10:00:00.000001"))
    assert reason(encoded(naive), trusted) == "naive_time"
    assert reason(encoded(signer.sign(built(time="yesterday"))), trusted) == "naive_time"
    bad_data = signer.sign(built(data={"state": "a", "n": "one", "name": "Budi Santoso"}))
    verdict = intake.check("whistleblowing.events", encoded(bad_data), trusted)
    assert isinstance(verdict, intake.Rejected) and verdict.reason == "schema"
    assert "Budi" not in verdict.detail and "one" not in verdict.detail  # names, not values
    assert "data" in verdict.detail


def test_the_signature_covers_every_attribute_but_itself(signer, trusted):
    signed = signer.sign(built())
    for attribute, value in (
        ("time", "2020-01-01T00:00:00.000000+00:00"),
        ("subject", "WBS-2"),
        ("sigkey", "ed25519:0000000000000000"),
        ("data", {"state": "b", "n": 1}),
    ):
        assert reason(encoded(dict(signed, **{attribute: value})), trusted) in (
            "bad_signature",
            "unknown_key",
        ), attribute
    # key order and spacing do not matter (RFC 8785)
    reordered = json.dumps(dict(reversed(list(signed.items()))), indent=3).encode()
    assert intake.check("whistleblowing.events", reordered, trusted) == signed


def test_key_files_are_created_once_private_0600_and_shared_by_racing_processes(keys_dir):
    found: list[event_signing.Signer] = []

    def load():
        found.append(event_signing.load_signer("hibah_bansos", keys_dir))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({s.key_id for s in found}) == 1
    private = keys_dir / "hibah_bansos.key.json"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    (public,) = (keys_dir / "public" / "hibah_bansos").glob("*.json")
    assert "private" not in json.loads(public.read_text())
    assert not [p for p in keys_dir.rglob("*") if p.name.endswith(".new")]
    os.chmod(private, 0o644)
    with pytest.raises(event_signing.EventKeyError, match="readable by others"):
        event_signing.load_signer("hibah_bansos", keys_dir)


def test_a_public_key_file_others_may_write_is_not_trusted(signer, keys_dir):
    (public,) = (keys_dir / "public" / "whistleblowing").glob("*.json")
    os.chmod(public, 0o666)
    trusted = event_signing.TrustedKeys(keys_dir)
    event = signer.sign(built())
    assert reason(encoded(event), trusted) == "unknown_key"


def test_the_consumer_needs_only_the_public_keys(signer, keys_dir, tmp_path):
    only_public = tmp_path / "audit-side"
    (only_public / "public").mkdir(parents=True)
    for path in (keys_dir / "public").rglob("*.json"):
        target = only_public / "public" / path.relative_to(keys_dir / "public")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    trusted = event_signing.TrustedKeys(only_public)
    event = signer.sign(built())
    assert intake.check("whistleblowing.events", encoded(event), trusted) == event


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.text(st.characters(blacklist_categories=("Cs",))),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(blacklist_categories=("Cs",)), max_size=6), children, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(value=_json)
def test_the_fast_canonical_form_is_rfc8785(value):
    assert event_signing.canonical(value) == rfc8785.dumps(value)


def test_the_canonical_form_falls_back_to_rfc8785_for_floats_and_astral_keys():
    for value in ({"a": 1.5, "b": [1e21, -0.0]}, {"\U0001f600": 1, "\uffff": 2}, {"x": 2**60}):
        try:
            expected = rfc8785.dumps(value)
        except rfc8785.CanonicalizationError:
            with pytest.raises(rfc8785.CanonicalizationError):
                event_signing.canonical(value)
        else:
            assert event_signing.canonical(value) == expected


def test_the_canonical_form_of_enum_members_is_that_of_their_values():
    import enum

    class Status(enum.StrEnum):
        RECEIVED = "received"

    class Level(enum.IntEnum):
        HIGH = 3

    value = {"status": Status.RECEIVED, "level": Level.HIGH, "nested": [{"b": Status.RECEIVED}]}
    plain = {"status": "received", "level": 3, "nested": [{"b": "received"}]}
    assert event_signing.canonical(value) == rfc8785.dumps(plain)
