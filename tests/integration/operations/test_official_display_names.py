"""Officials get a display name (officials admin: add and edit, page and API), and colleagues
read it on case pages instead of the username; a wrong name is refused beside its field in
Indonesian and changes nothing; the event says only whether a name is set, never the name."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from shared.db import service_engine
from tests.integration.whistleblowing.test_whistleblowing_workspace_pages import (
    new_case,
    signed_in,
    token_of,
)
from tests.support.whistleblowing import P

PAGE = "/t/cimahi/admin/officials"


def renamed_events(official_id) -> list[dict]:
    with service_engine("whistleblowing", migration=True).connect() as conn:
        return [
            r[0]
            for r in conn.execute(
                text(
                    "select payload from outbox where type = 'platform.official.renamed.v1' "
                    "and payload->'data'->>'official_id' = :o order by seq"
                ),
                {"o": str(official_id)},
            )
        ]


def stored_names(official_id) -> set:
    names = set()
    for service in ("whistleblowing", "hibah_bansos"):
        with service_engine(service, migration=True).connect() as conn:
            names.add(
                conn.execute(
                    text("select display_name from officials where id = :i"), {"i": official_id}
                ).scalar_one()
            )
    return names


def test_colleagues_read_the_display_name_on_the_case_page(
    wb, wb_app, make_official, api_login, csrf_token
):
    admin = {"Authorization": api_login(wb, "cimahi", make_official("cimahi", "tenant_admin"))}
    case = new_case(wb_app, csrf_token)
    intake = signed_in(wb_app, make_official, csrf_token, "wbs_intake")
    investigator = signed_in(wb_app, make_official, csrf_token, "wbs_investigator")
    oid = investigator.creds.official_id
    name = f"Budi Santoso {uuid.uuid4().hex[:4]} (Inspektorat)"

    saved = wb.post(f"{PAGE}/{oid}/name", headers=admin, data={"display_name": f"  {name} "})
    assert saved.status_code == 303
    listing = wb.get(PAGE, headers=admin).get_data(as_text=True)
    assert f'value="{name}"' in listing
    assert stored_names(oid) == {name}  # in every service database
    [event] = renamed_events(oid)
    assert event["data"] == {"official_id": str(oid), "named": True}
    assert "Budi" not in str(event)  # the name is personal data

    page = intake.get(f"{P}/cases/{case}").get_data(as_text=True)
    assert f">{name}</option>" in page  # the assign choice names them
    token = token_of(page)
    intake.post(f"{P}/cases/{case}/transitions", data={"csrf_token": token, "to": "acknowledged"})
    resp = intake.post(
        f"{P}/cases/{case}/assignments", data={"csrf_token": token, "official_id": str(oid)}
    )
    assert resp.status_code == 303
    page = intake.get(f"{P}/cases/{case}").get_data(as_text=True)
    assert f"Kasus ditugaskan kepada {name}." in page
    assert f'<dd id="assignee">{name}</dd>' in page
    assert investigator.creds.username not in page

    # emptied: colleagues read the username again
    assert (
        wb.post(f"{PAGE}/{oid}/name", headers=admin, data={"display_name": ""}).status_code == 303
    )
    assert stored_names(oid) == {None}
    page = intake.get(f"{P}/cases/{case}").get_data(as_text=True)
    assert f'<dd id="assignee">{investigator.creds.username}</dd>' in page
    assert [e["data"]["named"] for e in renamed_events(oid)] == [True, False]


def test_a_wrong_display_name_is_refused_beside_the_field_and_kept(wb, make_official, api_login):
    admin = {"Authorization": api_login(wb, "cimahi", make_official("cimahi", "tenant_admin"))}
    other = make_official("cimahi", "wbs_intake")
    too_long = "N" * 101
    bad = wb.post(
        f"{PAGE}/{other.official_id}/name", headers=admin, data={"display_name": too_long}
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert f'id="display_name-{other.official_id}-error">Paling banyak 100 karakter' in html
    assert f'value="{too_long}" aria-invalid="true"' in html  # what was typed is kept
    assert stored_names(other.official_id) == {None} and renamed_events(other.official_id) == []

    typed = {
        "username": f"t-{uuid.uuid4().hex[:8]}",
        "display_name": "Siti\x07",
        "roles": "wbs_intake",
    }
    refused = wb.post(PAGE, headers=admin, data=typed)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="display_name-error">Paling banyak 100 karakter, tanpa karakter kendali.' in html
    assert f'value="{typed["username"]}"' in html
    listing = wb.get("/t/cimahi/api/v1/admin/officials", headers=admin).json["items"]
    assert typed["username"] not in {o["username"] for o in listing}


def test_the_api_adds_and_changes_display_names(wb, make_official, api_login):
    admin = {"Authorization": api_login(wb, "cimahi", make_official("cimahi", "tenant_admin"))}
    username = f"t-{uuid.uuid4().hex[:8]}"
    api = "/t/cimahi/api/v1/admin/officials"
    added = wb.post(
        api,
        headers=admin,
        json={"username": username, "roles": ["wbs_intake"], "display_name": "Siti Aminah"},
    )
    assert added.status_code == 201, added.get_data(as_text=True)
    oid = added.json["official_id"]
    [row] = [o for o in wb.get(api, headers=admin).json["items"] if o["official_id"] == oid]
    assert row["display_name"] == "Siti Aminah"
    changed = wb.patch(f"{api}/{oid}", headers=admin, json={"display_name": "Siti A."})
    assert changed.status_code == 200 and changed.json["display_name"] == "Siti A."
    wrong = wb.patch(f"{api}/{oid}", headers=admin, json={"display_name": 7})
    assert wrong.status_code == 422 and wrong.json["errors"][0]["field"] == "display_name"
    assert (
        wb.patch(f"{api}/{oid}", headers=admin, json={"display_name": None}).json["display_name"]
        is None
    )
