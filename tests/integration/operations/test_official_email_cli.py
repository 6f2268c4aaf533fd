"""Issue 20: `replika official email` records an address change as the officials page does
(`platform.official.contact_changed.v1`, without the address), so the city's tenant admins are
told whichever path changed it; setting the same address again records nothing."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import text

from shared.db import service_engine


def contact_events(official_id) -> list[dict]:
    with service_engine("whistleblowing", migration=True).connect() as conn:
        rows = conn.execute(
            text(
                "select payload from outbox where type = 'platform.official.contact_changed.v1' "
                "order by seq"
            )
        ).scalars()
        return [p for p in rows if p["data"]["official_id"] == str(official_id)]


def email_cmd(username: str, email: str):
    from operations.cli import main

    return CliRunner().invoke(
        main, ["official", "email", "--tenant", "cimahi", "--username", username, "--email", email]
    )


def test_the_cli_emits_the_contact_changed_event_the_page_emits(make_official):
    creds = make_official("cimahi", "wbs_intake")
    address = f"{creds.username}@example.go.id"

    done = email_cmd(creds.username, address)
    assert done.exit_code == 0, done.output
    [event] = contact_events(creds.official_id)
    assert event["data"] == {"official_id": str(creds.official_id), "has_email": True}
    assert event["actor"] == "system"  # the operator, not an official
    assert address not in str(event)  # never the address itself

    again = email_cmd(creds.username, address)  # the same address: nothing changed
    assert again.exit_code == 0, again.output
    assert len(contact_events(creds.official_id)) == 1

    removed = email_cmd(creds.username, "")
    assert removed.exit_code == 0, removed.output
    first, second = contact_events(creds.official_id)
    assert second["data"] == {"official_id": str(creds.official_id), "has_email": False}
    assert first["data"]["has_email"] is True
