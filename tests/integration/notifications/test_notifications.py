"""The notifications consumer against the real stack: events from the services' outboxes,
through the relay and Kafka, become content-free e-mails in a real SMTP server (aiosmtpd, the
mail catcher of `make run`), each sent once; a refusing server delays them, a forged record
becomes a dead letter. Real PostgreSQL, real Kafka, no mocks."""

from __future__ import annotations

import email
import json
import os
import random
import signal
import subprocess
import sys
import uuid
from email import policy
from pathlib import Path

import pytest
from sqlalchemy import text

from infra.mail_catcher import MailCatcher
from shared import event_types as t
from tests.support import ROOT
from tests.support.applicant_mail import register_confirmed
from tests.support.eventing import fresh_tenant, in_thread, outbox_model, relay, wait_until
from tests.support.hibah_bansos import ORG_DOCUMENTS, PDF, organisation

WB_URL, HB_URL = "http://wbs.test", "http://hibah.test"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@pytest.fixture
def tenant(stack, demo_tenants):
    from operations import key_admin

    city = fresh_tenant("nt")
    key_admin.ensure_custodian(city.id, f"test-custodian-{city.slug}")
    return city


def notifier(catcher, **kwargs):
    from operations.notify_recipients import ServiceRecipients
    from services.notifications.channels import SmtpChannel
    from services.notifications.consumer import NotificationsConsumer
    from shared.db import service_engine

    return NotificationsConsumer(
        service_engine("notifications"),
        os.environ["KAFKA_BOOTSTRAP_SERVERS"],
        ServiceRecipients(),
        {"email": SmtpChannel("127.0.0.1", catcher.port, security="none", timeout=5)},
        {"whistleblowing": WB_URL, "hibah_bansos": HB_URL},
        **kwargs,
    )


def official_with_email(tenant, role: str) -> tuple[uuid.UUID, str]:
    from operations import official_admin

    address = f"{role}-{uuid.uuid4().hex[:8]}@{tenant.slug}.test"
    creds = official_admin.add(tenant.slug, f"n-{uuid.uuid4().hex[:10]}", [role], address)
    return creds.official_id, address


def mails_to(catcher, address: str) -> list[email.message.EmailMessage]:
    found = []
    for path in catcher.messages():
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        if message["To"] == address:
            found.append(message)
    return found


def body_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def case_number() -> str:
    return "WBS-2026-" + "".join(random.choice(CROCKFORD) for _ in range(8))


def emit_events(service: str, tenant, events: list[tuple[str, str, dict]]) -> list[str]:
    """Real, signed events through the service's outbox: [(type, subject, data)]."""
    from shared.db import service_engine, session_factory, tenant_session
    from shared.uow import UnitOfWork

    factory = session_factory(service_engine(service))
    with tenant_session(factory, tenant.id) as session:
        uow = UnitOfWork(session, tenant, service, outbox_model(service))
        ids = [uow.emit(type_, subject, "system", data)["id"] for type_, subject, data in events]
        uow.commit()
    return ids


def new_case_event() -> tuple[str, str, dict]:
    number = case_number()
    data = {
        "report_id": str(uuid.uuid4()),
        "case_number": number,
        "category": "korupsi",
        "status": "received",
        "confidential": False,
        "content_digest": "0" * 64,
        "attachment_count": 0,
        "acknowledge_by": "2026-01-10",
        "feedback_by": "2026-02-10",
    }
    return (t.WB_REPORT_SUBMITTED, number, data)


def rows_of(tenant) -> list:
    from shared.db import service_engine

    with service_engine("notifications").connect() as conn:
        return conn.execute(
            text(
                "select event_id, kind, recipient, channel, status, attempts, sent_at "
                "from notifications where tenant_id = :t order by id"
            ),
            {"t": tenant.id},
        ).all()


def test_a_filed_report_tells_the_intake_official_and_nothing_of_what_it_says(
    tenant, catcher, make_report
):
    intake, address = official_with_email(tenant, "wbs_intake")
    official_with_email(tenant, "wbs_investigator")  # not in the intake queue: not told
    secret = f"Bendahara-{uuid.uuid4().hex[:6]} memungut biaya di loket"
    filed = make_report(
        tenant,
        what=secret,
        identity={"name": "Rahmat Hidayat", "nik": "3277011203870004", "phone": "081234567890"},
    )
    with in_thread(relay("whistleblowing"), "relay-wb"), in_thread(notifier(catcher), "notify"):
        took = wait_until(lambda: mails_to(catcher, address), 60, "the intake official's e-mail")
    print(f"\nreport filed -> e-mail in the catcher in {took:.1f} s")
    [mail] = mails_to(catcher, address)
    text_of_mail = mail.as_string()
    body = body_of(mail)
    assert f"{WB_URL}/t/{tenant.slug}/whistleblowing/cases/{filed['case_number']}" in body
    assert "Ada laporan baru" in mail["Subject"]
    for leaked in (secret, "Bendahara", "Rahmat", "3277011203870004", "081234567890"):
        assert leaked not in text_of_mail
    [row] = [r for r in rows_of(tenant) if r.recipient == f"official:{intake}"]
    assert (row.kind, row.channel, row.status) == ("wbs_new_case", "email", "sent")
    assert len(mails_to(catcher, address)) == 1


def test_a_reporter_who_left_a_contact_is_told_of_a_reply_and_nothing_of_it(
    tenant, catcher, make_report, wb_app, official_token
):
    address = f"pelapor-{uuid.uuid4().hex[:8]}@contoh.id"
    told = make_report(tenant, notify_contact=address)
    silent = make_report(tenant)  # no contact given: nobody to tell
    headers = {"Authorization": official_token(wb_app, tenant, "wbs_intake")}
    words = f"Mohon lampirkan kuitansi {uuid.uuid4().hex[:6]}"
    client = wb_app.test_client()
    for case in (told, silent):
        sent = client.post(
            f"/t/{tenant.slug}/api/v1/reports/{case['case_number']}/messages",
            json={"body": words},
            headers=headers,
        )
        assert sent.status_code == 201, sent.get_data(as_text=True)
    with in_thread(relay("whistleblowing"), "relay-wb"), in_thread(notifier(catcher), "notify"):
        wait_until(lambda: mails_to(catcher, address), 60, "the reporter's notice")
        wait_until(
            lambda: len([r for r in rows_of(tenant) if r.kind == "wbs_reply"]) == 2,
            30,
            "both replies planned",
        )
    [mail] = mails_to(catcher, address)
    assert "Ada balasan baru" in mail["Subject"]
    assert f"{WB_URL}/t/{tenant.slug}/whistleblowing/inbox" in body_of(mail)
    for leaked in (words, told["receipt"], told["case_number"]):
        assert leaked not in mail.as_string()
    replies = sorted(r.status for r in rows_of(tenant) if r.kind == "wbs_reply")
    assert replies == ["sent", "skipped"]


def test_an_identity_request_tells_the_custodians(tenant, catcher):
    official_with_email(tenant, "wbs_intake")
    custodian, address = official_with_email(tenant, "identity_custodian")
    number = case_number()
    data = {"report_id": str(uuid.uuid4()), "case_number": number, "request_id": str(uuid.uuid4())}
    emit_events("whistleblowing", tenant, [(t.WB_IDENTITY_REQUESTED, number, data)])
    with in_thread(relay("whistleblowing"), "relay-wb"), in_thread(notifier(catcher), "notify"):
        wait_until(lambda: mails_to(catcher, address), 60, "the custodian's e-mail")
    [mail] = mails_to(catcher, address)
    assert "Permintaan identitas menunggu" in mail["Subject"]
    assert f"{WB_URL}/t/{tenant.slug}/whistleblowing/identity-requests" in body_of(mail)
    assert number not in mail.as_string()  # the custodians' page, not the case


def test_returning_an_application_tells_its_applicant(
    hb, catcher, demo_tenants, official_token, make_application, stack
):
    base = "/t/cimahi/api/v1"
    org = organisation()
    me = {"Authorization": "Bearer " + register_confirmed(hb, "cimahi", org)}
    from tests.support.hibah_bansos import application

    created = hb.post(f"{base}/applications", json=application(), headers=me)
    assert created.status_code == 201
    number = created.json["application_number"]
    for code in ORG_DOCUMENTS:
        resp = hb.post(
            f"{base}/applications/{number}/documents",
            headers=me,
            data={"code": code, "file": (__import__("io").BytesIO(PDF), "x.pdf")},
            content_type="multipart/form-data",
        )
        assert resp.status_code == 201
    assert hb.post(f"{base}/applications/{number}/submit", headers=me).status_code == 200
    evaluator = {
        "Authorization": official_token(hb.application, demo_tenants["cimahi"], "bansos_evaluator")
    }
    returned = hb.post(
        f"{base}/applications/{number}/transitions",
        json={"to": "returned", "reason": "RAB belum rinci"},
        headers=evaluator,
    )
    assert returned.status_code == 200
    with in_thread(relay("hibah_bansos"), "relay-hb"), in_thread(notifier(catcher), "notify"):
        wait_until(lambda: len(mails_to(catcher, org["email"])) >= 2, 90, "two status notices")
    mails = mails_to(catcher, org["email"])
    assert len(mails) == 2  # submitted, then returned: one notice each
    for mail in mails:
        body = body_of(mail)
        assert f"{HB_URL}/t/cimahi/hibah-bansos/applications/{number}" in body
        for leaked in (org["name"], org["chairperson"], org["phone"], "RAB belum rinci"):
            assert leaked not in mail.as_string()
        assert "100000000" not in mail.as_string() and "100.000.000" not in mail.as_string()


def test_an_smtp_server_that_refuses_for_a_while_delays_notices_but_loses_none(tenant, catcher):
    _, address = official_with_email(tenant, "wbs_intake")
    catcher.refusing = True
    emit_events("whistleblowing", tenant, [new_case_event() for _ in range(3)])
    worker = notifier(catcher, first_retry_seconds=0.5)
    with in_thread(relay("whistleblowing"), "relay-wb"), in_thread(worker, "notify"):
        wait_until(
            lambda: len(rows_of(tenant)) == 3 and all(r.attempts >= 2 for r in rows_of(tenant)),
            60,
            "three notices refused twice each",
        )
        assert mails_to(catcher, address) == [] and catcher.handler.refused >= 6
        assert {r.status for r in rows_of(tenant)} == {"pending"}
        catcher.refusing = False
        wait_until(lambda: len(mails_to(catcher, address)) == 3, 60, "the three e-mails")
    rows = rows_of(tenant)
    assert {r.status for r in rows} == {"sent"} and all(r.attempts >= 3 for r in rows)


def test_a_forged_or_unsigned_record_is_a_dead_letter_and_the_stream_goes_on(tenant, catcher):
    from kafka import KafkaProducer

    from shared import event_signing, events
    from shared.db import service_engine
    from shared.settings import kafka_client_config

    _, address = official_with_email(tenant, "wbs_intake")
    type_, subject, data = new_case_event()
    unsigned = events.build("whistleblowing", type_, tenant, subject, "system", data)
    forged = event_signing.sign("whistleblowing", dict(unsigned))
    forged["data"] = {**forged["data"], "case_number": case_number()}  # changed after signing
    producer = KafkaProducer(**kafka_client_config("relay-whistleblowing"), acks="all")
    try:
        places = [
            producer.send(
                "whistleblowing.events",
                key=f"{tenant.slug}:x".encode(),
                value=json.dumps(e).encode(),
            ).get(timeout=30)
            for e in (unsigned, forged)
        ]
    finally:
        producer.close(timeout=5)
    emit_events("whistleblowing", tenant, [new_case_event()])  # a good one after them

    def letters():
        with service_engine("notifications").connect() as conn:
            return conn.execute(
                text(
                    "select kafka_partition, kafka_offset, reason from notification_dead_letters "
                    "where topic = 'whistleblowing.events'"
                )
            ).all()

    with in_thread(relay("whistleblowing"), "relay-wb"), in_thread(notifier(catcher), "notify"):
        wait_until(lambda: len(mails_to(catcher, address)) == 1, 60, "the good event's e-mail")
        wanted = {(p.partition, p.offset) for p in places}
        wait_until(
            lambda: wanted <= {(r.kafka_partition, r.kafka_offset) for r in letters()},
            30,
            "both dead letters",
        )
    reasons = {(r.kafka_partition, r.kafka_offset): r.reason for r in letters()}
    assert reasons[(places[0].partition, places[0].offset)] == "missing_signature"
    assert reasons[(places[1].partition, places[1].offset)] == "bad_signature"
    assert len(rows_of(tenant)) == 1  # neither record was acted on


def test_killing_the_consumer_mid_stream_and_restarting_sends_each_notice_once(tenant, tmp_path):
    _, address = official_with_email(tenant, "wbs_intake")
    mail_dir = tmp_path / "killed-mail"
    count = 120
    emit_events("whistleblowing", tenant, [new_case_event() for _ in range(count)])
    with MailCatcher(mail_dir) as catcher:
        env = {
            **os.environ,
            "REPLIKA_SMTP_HOST": "127.0.0.1",
            "REPLIKA_SMTP_PORT": str(catcher.port),
            "REPLIKA_SMTP_SECURITY": "none",
            "WHISTLEBLOWING_URL": WB_URL,
        }
        argv = [str(Path(sys.executable).parent / "replika"), "notifications", "consume"]

        def start() -> subprocess.Popen:
            return subprocess.Popen(
                argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )

        with in_thread(relay("whistleblowing"), "relay-wb"):
            kills = 0
            for threshold in (10, 60):
                proc = start()
                try:
                    wait_until(
                        lambda n=threshold: len(mails_to(catcher, address)) >= n,
                        120,
                        "some e-mails",
                    )
                finally:
                    proc.send_signal(signal.SIGKILL)  # no clean shutdown: mid-stream
                    proc.wait(timeout=30)
                kills += 1
            proc = start()
            try:
                wait_until(lambda: len(mails_to(catcher, address)) >= count, 180, "every e-mail")
                wait_until(
                    lambda: all(r.status == "sent" for r in rows_of(tenant)), 30, "all recorded"
                )
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    rows = rows_of(tenant)
    assert len(rows) == count and len({r.event_id for r in rows}) == count  # one row per event
    delivered = list(catcher.handler.delivered)
    assert len(mails_to(catcher, address)) == count  # one message per event in the mailbox
    # a kill can catch at most the one notice in flight between its send and its record: it is
    # sent again under the same Message-ID, which the mailbox shows once
    repeats = len(delivered) - len(set(delivered))
    print(f"\n{count} notices, {kills} kills: {repeats} repeated sends (same Message-ID)")
    assert repeats <= kills
