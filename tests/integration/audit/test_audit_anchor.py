"""Heads anchored outside the audit database: what the database's owner can rewrite, an
external list of signed heads and a pinned key still catch. Each attack is done as the audit
owner role would (its connection, its rights), after which `verify` alone says OK."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from tests.support.eventing import fresh_tenant, insert_ledger_entry


@pytest.fixture
def tenant(stack, demo_tenants):
    return fresh_tenant("an")


def cli(*args: str):
    from operations.cli import main

    return CliRunner().invoke(main, list(args))


def append(tenant, n: int) -> None:
    from services.audit import ledger
    from shared import events
    from shared.db import service_engine, session_factory

    evs = [
        events.build(
            "whistleblowing",
            "test.thing.changed.v1",
            tenant,
            f"WBS-H{i % 3}",
            "system",
            {"state": f"s{i}", "n": i},
        )
        for i in range(n)
    ]
    with session_factory(service_engine("audit"))() as session, session.begin():
        assert ledger.append_events(session, evs).appended == n


def checkpoint(tenant):
    from services.audit import ledger
    from shared.db import service_engine, session_factory

    with session_factory(service_engine("audit"))() as session, session.begin():
        return ledger.write_checkpoint(session, tenant.id)


def chain_of_ten_with_heads(tenant, tmp_path):
    """10 entries signed at seq 6 and 10; the auditors' copy of the heads in a file."""
    append(tenant, 6)
    assert checkpoint(tenant).seq == 6
    append(tenant, 4)
    assert checkpoint(tenant).seq == 10
    exported = cli("audit", "export-heads", "--tenant", tenant.slug)
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(line) for line in exported.output.splitlines()]
    assert [x["kind"] for x in lines] == ["key", "head", "head"]
    assert [x["seq"] for x in lines[1:]] == [6, 10]
    heads = tmp_path / f"{tenant.slug}.heads.jsonl"
    heads.write_text(exported.output)
    return heads, lines[0]["public_key"]


def owner():
    from shared.db import service_engine

    return service_engine("audit", migration=True)


def resign_every_checkpoint(conn, tenant, key: Ed25519PrivateKey) -> None:
    """What an owner can do: sign the heads the tables now hold with a key of their own,
    and publish that key as the tenant's."""
    from services.audit import chain, keys

    rows = conn.execute(
        text(
            "select c.seq, l.hash, c.time from audit_checkpoints c join audit_ledger l "
            "on l.tenant_id = c.tenant_id and l.seq = c.seq where c.tenant_id = :t"
        ),
        {"t": tenant.id},
    ).all()
    for seq, head_hash, at in rows:
        message = chain.checkpoint_message(str(tenant.id), seq, head_hash, chain.normalize_time(at))
        conn.execute(
            text(
                "update audit_checkpoints set head_hash = :h, signature = :s "
                "where tenant_id = :t and seq = :q"
            ),
            {"h": head_hash, "s": key.sign(message), "t": tenant.id, "q": seq},
        )
    conn.execute(
        text("update audit_keys set public_key = :p where tenant_id = :t"),
        {"p": keys.raw_public(key.public_key()), "t": tenant.id},
    )


def assert_plain_verify_is_fooled(tenant) -> None:
    result = cli("audit", "verify", "--tenant", tenant.slug)
    assert result.exit_code == 0 and "OK" in result.output, result.output


def test_an_untouched_chain_agrees_with_its_anchored_heads_and_pinned_key(tenant, tmp_path):
    heads, pinned = chain_of_ten_with_heads(tenant, tmp_path)
    ok = cli("audit", "verify", "--tenant", tenant.slug, "--heads", str(heads))
    assert ok.exit_code == 0, ok.output
    assert "OK, 10 entries, 2 checkpoints, 2 anchored heads, pinned key" in ok.output
    pem = tmp_path / "audit.pem"
    from services.audit import keys

    pem.write_text(keys.public_pem(base64.b64decode(pinned)))
    for given in (pinned, str(pem)):
        result = cli(
            "audit", "verify", "--tenant", tenant.slug, "--heads", str(heads), "--public-key", given
        )
        assert result.exit_code == 0, result.output
    other = base64.b64encode(Ed25519PrivateKey.generate().public_key().public_bytes_raw()).decode()
    wrong = cli(
        "audit", "verify", "--tenant", tenant.slug, "--heads", str(heads), "--public-key", other
    )
    assert wrong.exit_code == 1 and "key swapped" in wrong.output, wrong.output


def test_truncation_is_caught(tenant, tmp_path):
    heads, _ = chain_of_ten_with_heads(tenant, tmp_path)
    with owner().begin() as conn:  # the last entries and their checkpoints go
        conn.execute(
            text("delete from audit_ledger where tenant_id = :t and seq > 6"), {"t": tenant.id}
        )
        conn.execute(
            text("delete from audit_checkpoints where tenant_id = :t and seq > 6"), {"t": tenant.id}
        )
    assert_plain_verify_is_fooled(tenant)
    result = cli("audit", "verify", "--tenant", tenant.slug, "--heads", str(heads))
    assert result.exit_code == 1, result.output
    assert (
        "BROKEN at seq 7: truncated: an anchored head is at seq 10 but the chain ends at seq 6"
        in result.output
    ), result.output


def test_a_rewritten_entry_with_rehashed_chain_resigned_heads_and_replaced_key_is_caught(
    tenant, tmp_path
):
    from services.audit import chain, ledger
    from shared.db import session_factory

    heads, pinned = chain_of_ten_with_heads(tenant, tmp_path)
    with session_factory(owner())() as session, session.begin():
        stored = ledger.load_chain(session, tenant.id)
        conn = session.connection()
        conn.execute(
            text("delete from audit_ledger where tenant_id = :t and seq >= 4"), {"t": tenant.id}
        )
        prev = stored.entries[2]
        for old in stored.entries[3:]:
            event = dict(stored.events[old.event_id])
            if old.seq == 4:
                event = dict(event, data={"state": "forged", "n": 0})
            prev = chain.next_entry(str(tenant.id), prev, event)
            insert_ledger_entry(conn, tenant.id, prev, event)
        resign_every_checkpoint(conn, tenant, Ed25519PrivateKey.generate())
    assert_plain_verify_is_fooled(tenant)
    result = cli("audit", "verify", "--tenant", tenant.slug, "--heads", str(heads))
    assert result.exit_code == 1, result.output
    out = result.output
    assert "key swapped: the database's audit public key is not the pinned key" in out, out
    assert "BROKEN at seq 6: rewritten: the entry's hash is not the anchored head's" in out, out
    assert "BROKEN at seq 10: rewritten" in out
    # the same with the key pinned on the command line (e.g. from the auditors' records)
    again = cli(
        "audit", "verify", "--tenant", tenant.slug, "--heads", str(heads), "--public-key", pinned
    )
    assert again.exit_code == 1 and "rewritten" in again.output and "key swapped" in again.output


def test_a_swapped_key_with_resigned_checkpoints_is_caught(tenant, tmp_path):
    heads, pinned = chain_of_ten_with_heads(tenant, tmp_path)
    with owner().begin() as conn:
        resign_every_checkpoint(conn, tenant, Ed25519PrivateKey.generate())
    assert_plain_verify_is_fooled(tenant)
    result = cli("audit", "verify", "--tenant", tenant.slug, "--public-key", pinned)
    assert result.exit_code == 1, result.output
    assert "key swapped: the database's audit public key is not the pinned key" in result.output
    assert "checkpoint signature is invalid" in result.output
    with_heads = cli("audit", "verify", "--tenant", tenant.slug, "--heads", str(heads))
    assert with_heads.exit_code == 1 and "key swapped" in with_heads.output


def test_each_checkpoint_is_appended_to_the_tenant_s_heads_file_before_it_commits(tenant):
    from services.audit import anchor

    append(tenant, 3)
    cp = checkpoint(tenant)
    path = anchor.heads_path(tenant.slug)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines[0]["kind"] == "key" and lines[0]["tenant_id"] == str(tenant.id)
    assert lines[-1] == anchor.head_line(tenant.slug, cp, lines[0]["key_id"])
    assert (
        not cli("audit", "export-heads", "--tenant", f"none-{uuid.uuid4().hex[:6]}").exit_code == 0
    )
