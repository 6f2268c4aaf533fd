"""The per-programme status counter (migration h013): the triggers on `applications` keep it
equal to a count of the applications, through bulk and single inserts, status moves, updates
that move nothing, deletes and concurrent writers; its rows stay few (the fold), and a
programme summary reads it. Writes go through the application role, so row-level security
binds the triggers' own statements too."""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import text

from services.hibah_bansos import repository
from shared.db import service_engine, session_factory, tenant_session
from tests.support.hibah_bansos import add_programme

FOLD_AFTER = 64  # migration h013


def _programme_id(hb_owner_db, code: str) -> uuid.UUID:
    with hb_owner_db.connect() as c:
        return c.execute(text("select id from programmes where code = :c"), {"c": code}).scalar()


def _as_tenant(conn, tenant_id) -> None:
    conn.execute(text("select set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})


def _insert(conn, tenant_id, programme_id, applicant_id, status: str, n: int) -> None:
    """`n` applications in one statement."""
    conn.execute(
        text(
            "insert into applications (id, tenant_id, number, programme_id, applicant_id, status,"
            " requested, disbursed, proposal, actors, version, created_at, updated_at)"
            " select gen_random_uuid(), :t, 'HB-CNT-' || substr(md5(random()::text), 1, 12),"
            " :p, :a, :s, 1000, 0, '\\x00', cast('{}' as json), 1, now(), now()"
            " from generate_series(1, :n)"
        ),
        {"t": tenant_id, "p": programme_id, "a": applicant_id, "s": status, "n": n},
    )


def _applicant(conn, tenant_id) -> uuid.UUID:
    applicant_id = uuid.uuid4()
    conn.execute(
        text(
            "insert into applicants (id, tenant_id, kind, personal, in_social_registry,"
            " created_at) values (:i, :t, 'organisation', '\\x00', false, now())"
        ),
        {"i": applicant_id, "t": tenant_id},
    )
    return applicant_id


def _counted(tenant_id, programme_id) -> dict[str, int]:
    with tenant_session(session_factory(service_engine("hibah_bansos")), tenant_id) as s:
        return repository.status_counts(s, programme_id)


def _grouped(hb_owner_db, programme_id) -> dict[str, int]:
    with hb_owner_db.connect() as c:
        rows = c.execute(
            text(
                "select status, count(*) from applications where programme_id = :p group by status"
            ),
            {"p": programme_id},
        ).all()
    return {status: n for status, n in rows}


def _counter_rows(hb_owner_db, programme_id) -> int:
    with hb_owner_db.connect() as c:
        return c.execute(
            text("select count(*) from programme_status_counts where programme_id = :p"),
            {"p": programme_id},
        ).scalar_one()


def _move_one(conn, programme_id, source: str, to: str) -> None:
    conn.execute(
        text(
            "update applications set status = :to, version = version + 1 where id = ("
            " select id from applications where programme_id = :p and status = :s"
            " limit 1 for update skip locked)"
        ),
        {"p": programme_id, "s": source, "to": to},
    )


def _programme_of_submitted(hb_owner_db, tenant_id, prefix: str, n: int):
    """A programme of the test's own with `n` submitted applications of one applicant, written
    in one statement through the application role: (programme id, applicant id)."""
    programme = _programme_id(hb_owner_db, add_programme(hb_owner_db, tenant_id, prefix))
    with service_engine("hibah_bansos").begin() as c:
        _as_tenant(c, tenant_id)
        applicant = _applicant(c, tenant_id)
        _insert(c, tenant_id, programme, applicant, "submitted", n)
    return programme, applicant


def test_the_counter_equals_a_count_of_the_applications_and_stays_a_few_rows(
    hb_owner_db, demo_tenants
):
    tenant = demo_tenants["cimahi"].id
    programme, applicant = _programme_of_submitted(hb_owner_db, tenant, "TEST-COUNT", 500)
    app_db = service_engine("hibah_bansos")
    for _ in range(20):  # single inserts, one transaction each
        with app_db.begin() as c:
            _as_tenant(c, tenant)
            _insert(c, tenant, programme, applicant, "draft", 1)
    assert _counted(tenant, programme) == {"submitted": 500, "draft": 20}

    for i in range(150):  # more statements than FOLD_AFTER rows: the fold must run
        with app_db.begin() as c:
            _as_tenant(c, tenant)
            _move_one(c, programme, "submitted", "evaluated" if i % 3 else "rejected")
    with app_db.begin() as c:  # an update that moves no status adds nothing
        _as_tenant(c, tenant)
        c.execute(
            text("update applications set requested = requested + 1 where programme_id = :p"),
            {"p": programme},
        )
        c.execute(
            text("delete from applications where programme_id = :p and status = 'draft'"),
            {"p": programme},
        )
    expected = {"submitted": 350, "evaluated": 100, "rejected": 50}
    assert _grouped(hb_owner_db, programme) == expected
    assert _counted(tenant, programme) == expected
    # 171 write statements, yet the rows were folded: at most the fold's threshold plus one
    # row per status left by the last fold
    assert _counter_rows(hb_owner_db, programme) <= FOLD_AFTER + 1 + len(expected)

    # the worklist's head counts the tenant's applications over every programme from it too
    statuses = ["submitted", "evaluated", "rejected", "draft"]
    with hb_owner_db.connect() as c:
        tenant_wide = dict(
            c.execute(
                text(
                    "select status, count(*) from applications where tenant_id = :t"
                    " and status = any(:s) group by status"
                ),
                {"t": tenant, "s": statuses},
            ).all()
        )
    with tenant_session(session_factory(app_db), tenant) as s:
        assert repository.counts_by_status(s, statuses) == tenant_wide

    # another tenant reads nothing of it (row-level security on the counter as well)
    assert _counted(demo_tenants["bandung"].id, programme) == {}


def test_concurrent_writers_of_one_programme_keep_the_counter_exact(hb_owner_db, demo_tenants):
    tenant = demo_tenants["cimahi"].id
    programme, applicant = _programme_of_submitted(hb_owner_db, tenant, "TEST-COUNT-C", 400)
    app_db = service_engine("hibah_bansos")
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def writer(k: int) -> None:
        try:
            barrier.wait()
            for _ in range(40):
                with app_db.begin() as c:
                    _as_tenant(c, tenant)
                    _move_one(c, programme, "submitted", "evaluated")
                    _insert(c, tenant, programme, applicant, "draft", 1)
        except BaseException as exc:  # a deadlock or a lost update fails the test below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    expected = {"submitted": 80, "evaluated": 320, "draft": 320}
    assert _grouped(hb_owner_db, programme) == expected
    assert _counted(tenant, programme) == expected
    assert _counter_rows(hb_owner_db, programme) <= FOLD_AFTER + 1 + 8 * 3 + len(expected)
