"""The officials' application page offers one small form per step (issue 18): only the steps
this role may take at this status, each with its own fields, and a confirmation that says
what happened. Walks every role x status."""

from __future__ import annotations

import re

from sqlalchemy import text

from services.hibah_bansos.domain import workflow
from services.hibah_bansos.domain.access import OFFICIALS
from tests.integration.hibah_bansos.test_hibah_bansos_pages import OFFICE, move, office
from tests.support.hibah_bansos import application, organisation

STEP_TARGET = re.compile(r'<input type="hidden" name="to" value="([a-z_]+)">')


def _application(hb_app) -> str:
    client = hb_app.test_client()
    registered = client.post("/t/cimahi/api/v1/applicants", json=organisation())
    assert registered.status_code == 201
    bearer = {"Authorization": f"Bearer {registered.json['access_token']}"}
    created = client.post("/t/cimahi/api/v1/applications", json=application(), headers=bearer)
    assert created.status_code == 201, created.json
    return created.json["application_number"]


def test_no_step_is_offered_to_a_role_that_may_not_take_it(
    hb_app, make_official, csrf_token, hb_owner_db
):
    number = _application(hb_app)
    clients = {role: office(hb_app, make_official, csrf_token, role) for role in OFFICIALS}
    offered_somewhere = set()
    for status in workflow.Status:
        _set_status(hb_owner_db, number, status.value)
        for role, client in clients.items():
            page = client.get(f"{OFFICE}/applications/{number}")
            assert page.status_code == 200
            html = page.get_data(as_text=True)
            offered = STEP_TARGET.findall(html)
            allowed = {
                e.target.value
                for e in workflow.EDGES
                if e.source == status and e.role == role and e.role != workflow.APPLICANT
            }
            assert set(offered) == allowed, (status, role, offered)
            assert len(offered) == len(set(offered))  # one form per step
            assert "<select" not in html  # no generic "move to" chooser
            offered_somewhere |= {(status.value, t) for t in offered}
    # every officials' edge of the workflow was offered to its role somewhere
    assert offered_somewhere == {
        (e.source.value, e.target.value) for e in workflow.EDGES if e.role != workflow.APPLICANT
    }


def _set_status(hb_owner_db, number: str, status: str) -> None:
    with hb_owner_db.begin() as c:
        c.execute(
            text("UPDATE applications SET status = :s WHERE number = :n"),
            {"s": status, "n": number},
        )


def test_each_step_form_has_its_own_fields_and_says_what_happened(
    hb_app, make_official, csrf_token, hb_owner_db
):
    number = _application(hb_app)
    _set_status(hb_owner_db, number, "submitted")
    evaluator = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    html = evaluator.get(f"{OFFICE}/applications/{number}").get_data(as_text=True)
    assert "Diajukan" in html and "hari menunggu" in html  # status and days waiting
    forms = html.split('<form method="post" class="step"')[1:]
    evaluate = next(f for f in forms if 'value="evaluated"' in f)
    ret = next(f for f in forms if 'value="returned"' in f)
    assert 'name="amount"' in evaluate and 'name="reason"' in evaluate
    assert 'name="amount"' not in ret and 'name="reason"' in ret
    assert 'name="reference"' not in evaluate + ret and 'name="date"' not in evaluate + ret
    # a refused step comes back beside its own form's field
    resp = move(evaluator, csrf_token, number, "evaluated", 422, reason="Layak")
    refused = resp.get_data(as_text=True)
    assert 'id="amount-error"' in refused and refused.count('id="amount"') == 1
    resp = move(evaluator, csrf_token, number, "evaluated", amount="90000000", reason="Layak")
    done = evaluator.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Rp90.000.000 direkomendasikan" in done and "verifikasi TAPD" in done
