"""Every event type constant names a schema file, and every schema file has its constant."""

from pathlib import Path

from shared import event_types

SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "schemas" / "events"


def test_constants_and_schema_files_are_the_same_set():
    files = {p.name.removesuffix(".json") for p in SCHEMAS.glob("*.json")}
    files.discard("test.thing.changed.v1")  # the schema the event tests build with
    assert event_types.ALL == files
