"""The hibah-bansos officials' workspace (issue 18): sign-in lands on the worklist with the
menu and the counts at the official's step; an application is found by its number or its
organisation's name in any status, with applicant, date and days waiting."""

from __future__ import annotations

from tests.integration.hibah_bansos.test_hibah_bansos_pages import office
from tests.support.applicant_mail import register_confirmed
from tests.support.hibah_bansos import application, organisation

H = "/t/cimahi/hibah-bansos/office"


def test_an_evaluator_lands_on_the_worklist_and_finds_an_application(
    hb_app, make_official, csrf_token
):
    org = organisation()
    client = hb_app.test_client()
    bearer = {"Authorization": f"Bearer {register_confirmed(client, 'cimahi', org)}"}
    created = client.post("/t/cimahi/api/v1/applications", json=application(), headers=bearer)
    number = created.json["application_number"]

    evaluator = office(hb_app, make_official, csrf_token, "bansos_evaluator")
    page = evaluator.get(H).get_data(as_text=True)
    assert "Permohonan pada tahap Anda" in page and "Menu petugas" in page
    assert ">Keluar</button>" in page
    by_number = evaluator.get(H, query_string={"q": number.lower()}).get_data(as_text=True)
    assert number in by_number and org["name"] in by_number and "hari" in by_number
    by_name = evaluator.get(H, query_string={"q": org["name"][-6:]}).get_data(as_text=True)
    assert number in by_name
    nobody = evaluator.get(H, query_string={"q": "%"}).get_data(as_text=True)
    assert number not in nobody  # "%" is text, not a wildcard
    detail = evaluator.get(f"{H}/applications/{number}").get_data(as_text=True)
    assert "Menu petugas" in detail
