"""No personal data in logs: the redaction filter masks what code should never log anyway."""

from __future__ import annotations

import io
import json
import logging

from shared.logging_setup import JsonFormatter, RedactingFilter


def capture():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(f"test.redaction.{id(stream)}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream


def test_nik_phone_email_receipt_and_personal_keys_are_masked():
    log, out = capture()
    log.info("lookup %s by %s", "3277011203870004", "0812-3456-7890")
    log.info("mail siti@example.org receipt 7K3QD-9WXYZ-ABCDE-FGHJK-MNPQR")
    log.info("applicant", extra={"applicant_name": "Siti Aminah", "case": "WBS-2026-AB12CD34"})
    try:
        raise ValueError("bad NIK 3277014502900003")
    except ValueError:
        log.exception("failed")
    text = out.getvalue()
    for secret in (
        "3277011203870004",
        "3456-7890",
        "siti@example.org",
        "Siti Aminah",
        "7K3QD-9WXYZ",
        "3277014502900003",
    ):
        assert secret not in text
    assert "WBS-2026-AB12CD34" in text  # ids stay: they are what operators need


def test_spaced_and_grouped_forms_and_nested_extras_are_masked():
    log, out = capture()
    log.info("call +62 812 3456 7890 or (+62) 812-3456-7890 or 62-812-3456-7890 or (022) 4201234")
    log.info("nik 3277 0112 0387 0004 / 3277-0112-0387-0004")
    log.info(
        "form",
        extra={
            "form": {"nama": "Budi Santoso", "kota": "Cimahi", "contact": "budi@example.org"},
            "alamat": "Jl. Mawar 1",
        },
    )
    text = out.getvalue()
    for secret in (
        "3456 7890",
        "3456-7890",
        "4201234",
        "0112 0387",
        "0112-0387",
        "Budi Santoso",
        "budi@example.org",
        "Mawar",
    ):
        assert secret not in text
    assert "Cimahi" in text  # not personal: kept
    for line in text.splitlines():
        json.loads(line)  # every line is one JSON object


def test_ids_times_and_durations_are_not_masked():
    from shared.logging_setup import redact

    kept = (
        "case WBS-2026-AB12CD34 report 5f0c2b1e-8d7a-4c1b-9e2f-0a1b2c3d4e5f "
        "at 2026-11-22T12:00:00Z took 0.812345678 s seq 1234567890123 port 41443"
    )
    assert redact(kept) == kept


def test_a_service_app_logs_json_lines_through_the_redaction_filter(monkeypatch, capsys):
    from sqlalchemy import create_engine

    from services.hibah_bansos.models import TenantRow
    from shared.web import ServiceModels, create_service_app

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])  # as in a fresh service process
    monkeypatch.setenv("REPLIKA_SECRET_KEY", "x" * 32)
    create_service_app(
        "hibah_bansos",
        "replika_logging_test",
        create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"),
        ServiceModels(TenantRow),
    )
    create_service_app(
        "hibah_bansos",
        "replika_logging_test_2",
        create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"),
        ServiceModels(TenantRow),
    )
    assert len(root.handlers) == 1  # installed once
    logging.getLogger("replika.test").warning(
        "applicant %s phone %s",
        "3277011203870004",
        "081234567890",
        extra={"nik": "3277011203870004"},
    )
    err = capsys.readouterr().err.strip().splitlines()
    entry = json.loads(err[-1])
    assert entry["logger"] == "replika.test" and entry["level"] == "WARNING"
    assert "3277011203870004" not in err[-1] and "081234567890" not in err[-1]
    assert entry["nik"] == "[redacted]"
