"""Round trips to PostgreSQL per request on the intake paths (issue 22): each path has a budget,
and a change that adds a statement to it fails here, with the list of what was sent.

Counted with shared.db.count_round_trips on the service's engine, after one warm-up request
(the tenant row, tenant keys, the custodian's public key and the handler profiles are cached per
worker for seconds; a cold worker pays for them once). A round trip is one message exchange
with the server: BEGIN with the tenant setting and the transaction's first statement (one
pipeline), each further statement, COMMIT."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from psycopg import _queries as psycopg_queries

from shared.db import count_round_trips
from tests.support.applicant_mail import register_confirmed
from tests.support.change_feeds import settled
from tests.support.hibah_bansos import BANSOS, person
from tests.support.whistleblowing import P

# The filing, 2 round trips:
# 1. BEGIN, the tenant setting (set_config(..., true), so row-level security applies) and the
#    one write statement (report, history, record key, outbox, Idempotency-Key, pg_notify, the
#    filing budgets' upserts and the handler profiles' fingerprint), in one psycopg pipeline
#    sent together and answered in order (shared/db.py `_set_tenant_setting`);
# 2. COMMIT: after the write statement's answer, because what it read decides (a spent filing
#    budget refuses with 429 and rolls back; changed handler profiles add recusals first).
# No pool pre-ping: a pooled connection's socket is checked at checkout without a round trip
# (shared/db.py `_discard_if_dead`). The anonymous filing budget (issue 16) is counted inside
# the write statement (a refused filing is rolled back and its count committed apart).
REPORT_BUDGET = 2
CONFIDENTIAL_REPORT_BUDGET = 2
IDEMPOTENT_REPORT_BUDGET = 2
REPORT_PAGE_BUDGET = 2
# 1. BEGIN and the tenant setting with what the application reads, one statement: the
#    applicant, the programme and the applicant's standing in it (last year's funding and the
#    registry checks for eligibility, and the one-person-per-programme check, whose answer
#    names the earlier application): hibah_bansos/repository.py `intake_read`;
# 2. the one write statement (draft, budget lines, record key, outbox);
# 3. COMMIT.
APPLICATION_BUDGET = 3


def _report(**over) -> dict:
    return {
        "category": "korupsi",
        "what": f"Pungutan di loket pelayanan {uuid.uuid4().hex}.",
        "reported_persons": [{"name": "Pak X", "position": "Staf", "work_unit": "Disdukcapil"}],
        **over,
    }


def _engine(app):
    return app.extensions["replika"]["engine"]


@pytest.fixture(autouse=True)
def _change_feeds_settled(wb_app, hb_app):
    """The warm-up request must come after the feeds listen and earlier tests' notifications
    arrived, or the counted one loads the tenant keys again (seen when this module ran
    first)."""
    for app in (wb_app, hb_app):
        settled(_engine(app))


@contextmanager
def _parsed_by_the_driver() -> Iterator[list[bytes]]:
    """The queries psycopg converts to $n placeholders without its cache, inside the block
    (its cached path keeps its own reference to the function, so only misses of the cache's
    size rules come here: shared/db.py raises them for the write statement)."""
    parsed: list[bytes] = []
    real = psycopg_queries._query2pg_nocache

    def counting(query: bytes, encoding: str):
        parsed.append(query)
        return real(query, encoding)

    psycopg_queries._query2pg_nocache = counting
    try:
        yield parsed
    finally:
        psycopg_queries._query2pg_nocache = real


def _counted(app, client, *args, **kwargs):
    """POST, counting round trips; the tenant cache is refreshed just before (it lives 5 s,
    and a busy machine can take longer between the warm-up and the counted request)."""
    assert client.get("/t/cimahi/api/v1/tenant").status_code == 200
    with count_round_trips(_engine(app)) as trips, _parsed_by_the_driver() as parsed:
        resp = client.post(*args, **kwargs)
    assert resp.status_code == 201, resp.get_data(as_text=True)
    trips.parsed = parsed
    return resp, trips


def _within(trips, budget: int, what: str) -> None:
    assert trips.count <= budget, f"{what}: {trips.count} round trips, budget {budget}:\n{trips}"
    # warm, every statement's compiled form comes from SQLAlchemy's cache (compiling the
    # write statement anew on each request was a fifth of a worker's time)
    assert not trips.compiled, f"{what}: compiled anew on a warm path:\n" + "\n".join(
        s[:200] for s in trips.compiled
    )
    # and psycopg's conversion of it to $n placeholders from psycopg's cache (0.6 ms a report)
    assert not trips.parsed, f"{what}: parsed anew by psycopg on a warm path:\n" + "\n".join(
        q[:200].decode() for q in trips.parsed
    )


def test_filing_a_report_through_the_api_stays_within_its_round_trip_budget(wb_app):
    client = wb_app.test_client()
    assert client.post("/t/cimahi/api/v1/reports", json=_report()).status_code == 201  # warm
    resp, trips = _counted(wb_app, client, "/t/cimahi/api/v1/reports", json=_report())
    _within(trips, REPORT_BUDGET, "anonymous report")
    # the tenant setting (row-level security) still goes first, with BEGIN
    assert trips.sent[0].startswith("BEGIN + tenant setting + WITH "), trips
    assert trips.sent[-1] == "COMMIT", trips


def test_a_confidential_report_stays_within_its_round_trip_budget(wb_app):
    identity = {"name": "Siti Rahmawati", "nik": "3277014509870001"}
    client = wb_app.test_client()
    warm = client.post("/t/cimahi/api/v1/reports", json=_report(identity=identity))
    assert warm.status_code == 201, warm.get_data(as_text=True)
    resp, trips = _counted(
        wb_app, client, "/t/cimahi/api/v1/reports", json=_report(identity=identity)
    )
    _within(trips, CONFIDENTIAL_REPORT_BUDGET, "confidential report")


def test_a_report_with_an_idempotency_key_stays_within_its_round_trip_budget(wb_app):
    client = wb_app.test_client()

    def post(key, body):
        return client.post("/t/cimahi/api/v1/reports", json=body, headers={"Idempotency-Key": key})

    assert post(uuid.uuid4().hex, _report()).status_code == 201
    key, body = uuid.uuid4().hex, _report()
    resp, trips = _counted(
        wb_app, client, "/t/cimahi/api/v1/reports", json=body, headers={"Idempotency-Key": key}
    )
    _within(trips, IDEMPOTENT_REPORT_BUDGET, "report with an Idempotency-Key")
    # no pre-check any more: the key's unique index finds the replay, and it still works
    again = post(key, body)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == resp.json
    assert post(key, _report()).status_code == 422  # the key for another report: refused


def test_filing_a_report_by_page_stays_within_its_round_trip_budget(wb_app, csrf_token):
    client = wb_app.test_client()

    def form() -> dict:
        return {
            "csrf_token": csrf_token(client, f"{P}/report"),
            "submission": uuid.uuid4().hex,  # the form's Idempotency-Key
            "category": "pungutan_liar",
            "what": f"Ada pungutan liar di loket pelayanan. {uuid.uuid4().hex}",
            "person_0_name": "Pak X",
            "person_0_position": "Staf",
            "person_0_work_unit": "Disdukcapil",
        }

    assert client.post(f"{P}/report", data=form()).status_code == 201
    resp, trips = _counted(wb_app, client, f"{P}/report", data=form())
    _within(trips, REPORT_PAGE_BUDGET, "report by page")


def test_a_bansos_application_stays_within_its_round_trip_budget(
    hb_app, demo_tenants, official_token
):
    client = hb_app.test_client()
    evaluator = {
        "Authorization": official_token(hb_app, demo_tenants["cimahi"], "bansos_evaluator")
    }

    def applicant() -> dict:
        # entered by an official (who confirms the social registry entry), activated by the
        # applicant through the mailed link
        token = register_confirmed(client, "cimahi", person(), headers=evaluator)
        return {"Authorization": f"Bearer {token}"}

    body = {
        "programme": BANSOS,
        "proposal": "Alat bantu dengar untuk anggota keluarga.",
        "requested": 1_000_000,
        "rab": [{"item": "Alat bantu dengar", "amount": 1_000_000}],
    }
    # all before: the warm-up is just before. Two warm ones: SQLAlchemy compiles the read
    # statement (intake_read) twice in a process before its cached form is used, whatever
    # the tenant after that
    *warm_ones, headers = applicant(), applicant(), applicant()
    for first in warm_ones:
        warm = client.post("/t/cimahi/api/v1/applications", json=body, headers=first)
        assert warm.status_code == 201, warm.get_data(as_text=True)
    resp, trips = _counted(
        hb_app, client, "/t/cimahi/api/v1/applications", json=body, headers=headers
    )
    _within(trips, APPLICATION_BUDGET, "bansos application")


def test_a_handler_profile_another_worker_set_still_recuses_from_the_next_report(
    wb_app, demo_tenants, official_token, make_official
):
    """The handler profiles a report is matched against are cached per worker; a profile set
    through another worker (whose change this worker's cache has not seen) still recuses its
    handler from the next report, because the write statement checks the cache."""
    from services.whistleblowing import cases

    client = wb_app.test_client()
    supervisor_creds = make_official("cimahi", "wbs_supervisor")
    supervisor = {
        "Authorization": official_token(
            wb_app,
            demo_tenants["cimahi"],
            "wbs_supervisor",
            official_id=supervisor_creds.official_id,
            username=supervisor_creds.username,
        )
    }
    investigator = make_official("cimahi", "wbs_investigator")
    unit = f"Dinas Cache {uuid.uuid4().hex[:6]}"
    assert client.post("/t/cimahi/api/v1/reports", json=_report()).status_code == 201  # cached
    cimahi_id = demo_tenants["cimahi"].id
    stale = cases._profile_cache.get(cimahi_id)
    assert stale, "the first report loads the handler profiles into the cache"
    set_profile = client.put(
        f"/t/cimahi/api/v1/handlers/{investigator.official_id}/profile",
        headers=supervisor,
        json={"work_unit": unit},
    )
    assert set_profile.status_code == 200, set_profile.get_data(as_text=True)
    cases._profile_cache.clear()
    cases._profile_cache[cimahi_id] = stale  # as in a worker that did not make the change
    filed = client.post(
        "/t/cimahi/api/v1/reports",
        json=_report(reported_persons=[{"name": "Y", "work_unit": unit}]),
    )
    assert filed.status_code == 201, filed.get_data(as_text=True)
    detail = client.get(
        f"/t/cimahi/api/v1/reports/{filed.json['case_number']}", headers=supervisor
    ).json
    assert [(r["official_id"], r["kind"]) for r in detail["recusals"]] == [
        (str(investigator.official_id), "reported_unit")
    ]
