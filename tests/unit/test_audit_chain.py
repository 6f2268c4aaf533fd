"""The audit hash chain as pure domain logic (no database, no broker)."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.audit import chain

TENANT = str(uuid.uuid4())


def event(n: int, subject: str = "case-1") -> dict:
    return {
        "specversion": "1.0",
        "id": f"evt-{n:04d}",
        "source": "/replika/test/t",
        "type": "test.thing.changed.v1",
        "subject": subject,
        "time": f"2026-01-02T03:04:{n % 60:02d}.000001+00:00",
        "tenant": "t",
        "actor": "system",
        "data": {"state": f"s{n}", "n": n},
    }


def build(n: int) -> tuple[list[chain.Entry], dict[str, dict]]:
    entries, events, prev = [], {}, None
    for i in range(1, n + 1):
        e = event(i, subject=f"case-{i % 3}")
        prev = chain.next_entry(TENANT, prev, e)
        entries.append(prev)
        events[e["id"]] = e
    return entries, events


def test_canonical_digest_ignores_key_order_and_spacing():
    a = {"b": 1, "a": [1, 2, {"y": "é", "x": 1.0}]}
    b = {"a": [1, 2, {"x": 1, "y": "é"}], "b": 1}
    assert chain.canonical(a) == b'{"a":[1,2,{"x":1,"y":"\xc3\xa9"}],"b":1}'
    assert chain.event_digest(a) == chain.event_digest(b)


def test_entries_link_from_genesis_with_consecutive_seqs():
    entries, _ = build(3)
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].prev_hash == chain.GENESIS_HASH
    assert entries[1].prev_hash == entries[0].hash and entries[2].prev_hash == entries[1].hash
    assert len({e.hash for e in entries}) == 3


def test_times_are_one_spelling_whatever_the_offset():
    assert chain.normalize_time("2026-01-02T10:04:05.5+07:00") == "2026-01-02T03:04:05.500000+00:00"
    assert chain.normalize_time("2026-01-02T03:04:05Z") == "2026-01-02T03:04:05.000000+00:00"


def test_untouched_chain_verifies():
    entries, events = build(10)
    assert chain.verify(TENANT, entries, events) is None
    assert chain.verify(TENANT, [], {}) is None


@pytest.mark.parametrize(
    "field,value",
    [
        ("type", "x.v1"),
        ("subject", "other"),
        ("actor", "official:x"),
        ("digest", "0" * 64),
        ("time", "2020-01-01T00:00:00.000000+00:00"),
    ],
)
def test_an_edited_field_breaks_that_seq(field, value):
    entries, events = build(6)
    entries[3] = dataclasses.replace(entries[3], **{field: value})
    problem = chain.verify(TENANT, entries, events)
    assert problem.seq == 4, problem


def test_an_edited_event_body_breaks_its_digest():
    entries, events = build(6)
    events["evt-0002"] = {**events["evt-0002"], "data": {"state": "forged", "n": 2}}
    assert chain.verify(TENANT, entries, events).seq == 2


def test_an_edit_with_the_hash_recomputed_breaks_the_next_link():
    entries, events = build(6)
    e = dataclasses.replace(entries[2], type="x.v1")
    entries[2] = dataclasses.replace(e, hash=chain.entry_hash(e.hashed_fields()))
    assert chain.verify(TENANT, entries).seq == 4


def test_a_removed_entry_is_named():
    entries, events = build(6)
    del entries[2]
    problem = chain.verify(TENANT, entries, events)
    assert problem.seq == 3 and "expected seq 3" in problem.reason


def test_an_inserted_entry_breaks_the_chain_where_it_stops_linking():
    entries, events = build(6)
    forged = chain.next_entry(TENANT, entries[1], event(99))  # a well-formed seq 3
    tail = [dataclasses.replace(e, seq=e.seq + 1) for e in entries[2:]]
    events["evt-0099"] = event(99)
    problem = chain.verify(TENANT, entries[:2] + [forged] + tail, events)
    assert problem.seq == 4  # the forged entry links to 2, but the old 3 no longer links to it


def test_two_swapped_entries_break_at_the_first():
    entries, events = build(6)
    a, b = entries[2], entries[3]
    entries[2], entries[3] = dataclasses.replace(b, seq=3), dataclasses.replace(a, seq=4)
    assert chain.verify(TENANT, entries, events).seq == 3


def test_an_entry_of_another_tenant_does_not_verify():
    entries, events = build(3)
    assert chain.verify(str(uuid.uuid4()), entries, events).seq == 1


def test_signed_checkpoints_verify_and_catch_a_rewritten_chain_and_a_cut_tail():
    key = Ed25519PrivateKey.generate()
    entries, events = build(10)
    cps = [
        chain.sign_checkpoint(key, TENANT, entries[4], "2026-01-02T00:00:00+00:00"),
        chain.sign_checkpoint(key, TENANT, entries[9], "2026-01-02T00:01:00+00:00"),
    ]
    assert chain.verify(TENANT, entries, events, cps, key.public_key()) is None

    # whoever can write the table rewrites seq 7 onwards consistently: only the signature knows
    rewritten, prev = entries[:6], entries[5]
    for i in range(7, 11):
        e = event(i)
        e["data"] = {"state": "forged", "n": i}
        prev = chain.next_entry(TENANT, prev, e)
        rewritten.append(prev)
        events[e["id"]] = e
    problem = chain.verify(TENANT, rewritten, events, cps, key.public_key())
    assert problem.seq == 10 and "after seq 5" in problem.reason

    entries, events = build(10)
    problem = chain.verify(TENANT, entries[:8], events, cps, key.public_key())
    assert problem.seq == 9 and "chain ends at seq 8" in problem.reason


def test_a_checkpoint_signed_by_another_key_or_altered_fails():
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    entries, events = build(4)
    cp = chain.sign_checkpoint(other, TENANT, entries[3], "2026-01-02T00:00:00+00:00")
    assert chain.verify(TENANT, entries, events, [cp], key.public_key()).seq == 4
    cp = chain.sign_checkpoint(key, TENANT, entries[3], "2026-01-02T00:00:00+00:00")
    moved = dataclasses.replace(cp, seq=2, head_hash=entries[1].hash)
    assert "signature" in chain.verify(TENANT, entries, events, [moved], key.public_key()).reason
