"""Events: every schema is a valid JSON Schema; events are checked when built and stored."""

from __future__ import annotations

import json
import uuid

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import select

from shared import events
from shared.tenancy import Tenant

SCHEMAS = sorted(events.SCHEMA_DIR.glob("*.json"))


def test_there_are_event_schemas():
    assert SCHEMAS and "test.thing.changed.v1" in events.known_types()


@pytest.mark.parametrize(
    "path", SCHEMAS + [events.SCHEMA_DIR.parent / "cloudevent.schema.json"], ids=lambda p: p.name
)
def test_every_schema_file_is_a_valid_json_schema(path):
    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema.get("$schema", "").startswith("https://json-schema.org/draft/2020-12")
    if path.parent == events.SCHEMA_DIR:
        assert schema.get("type") == "object"  # `data` is always an object
        assert schema.get("additionalProperties") is False, (
            "data must not grow unreviewed fields (a place for personal data to slip in)"
        )


def test_event_ids_are_unique_and_time_ordered():
    ids = [events.new_event_id() for _ in range(2000)]
    assert len(set(ids)) == 2000
    assert [i[:13] for i in ids] == sorted(i[:13] for i in ids)  # the millisecond prefix


def test_a_built_event_is_a_valid_cloudevent():
    tenant = Tenant(uuid.uuid4(), "cimahi")
    event = events.build(
        "whistleblowing",
        "test.thing.changed.v1",
        tenant,
        "WBS-1",
        "system",
        {"state": "new", "n": 1},
    )
    assert events.problems(event) == []
    assert event["tenant"] == "cimahi" and event["source"] == "/replika/whistleblowing/cimahi"


def test_invalid_data_or_unknown_type_is_refused_when_emitted():
    tenant = Tenant(uuid.uuid4(), "cimahi")
    with pytest.raises(events.InvalidEvent):
        events.build(
            "whistleblowing",
            "test.thing.changed.v1",
            tenant,
            "S",
            "system",
            {"state": "x", "n": 1, "name": "Budi"},
        )
    with pytest.raises(events.UnknownEventType):
        events.build("whistleblowing", "no.such.thing.v1", tenant, "S", "system", {})


def test_problems_names_a_bad_envelope():
    tenant = Tenant(uuid.uuid4(), "cimahi")
    event = events.build(
        "whistleblowing", "test.thing.changed.v1", tenant, "S", "system", {"state": "x", "n": 1}
    )
    bad = {**event, "actor": "Budi Santoso", "time": "yesterday"}
    found = " ".join(events.problems(bad))
    assert "actor" in found and "time" in found


def test_the_outbox_row_is_written_in_the_state_change_transaction(stack, demo_tenants):
    """A rolled-back unit of work leaves no event; a committed one leaves exactly its events."""
    from services.whistleblowing.models import OutboxRow
    from shared.db import service_engine, session_factory, tenant_session
    from shared.uow import UnitOfWork

    cfg = demo_tenants["cimahi"]
    tenant = Tenant(cfg.id, cfg.slug, cfg.data)
    factory = session_factory(service_engine("whistleblowing"))
    subject = f"T-{uuid.uuid4().hex[:8]}"
    with tenant_session(factory, tenant.id) as session:
        uow = UnitOfWork(session, tenant, "whistleblowing", OutboxRow)
        uow.emit("test.thing.changed.v1", subject, "system", {"state": "a", "n": 1})
        uow.rollback()
        uow.emit("test.thing.changed.v1", subject, "system", {"state": "b", "n": 2})
        uow.emit("test.thing.changed.v1", subject, "system", {"state": "c", "n": 3})
        uow.commit()
    with service_engine("whistleblowing", migration=True).connect() as conn:
        rows = conn.execute(
            select(OutboxRow.key, OutboxRow.payload)
            .where(OutboxRow.key == f"cimahi:{subject}")
            .order_by(OutboxRow.seq)
        ).all()
    assert [r.payload["data"]["state"] for r in rows] == ["b", "c"]
    assert all(events.problems(r.payload) == [] for r in rows)
