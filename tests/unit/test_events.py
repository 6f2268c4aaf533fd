"""Events: every schema is a valid JSON Schema; events are checked when built and stored."""

from __future__ import annotations

import json
import uuid

import pytest
from jsonschema import Draft202012Validator

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
