"""No personal data in logs: the redaction filter masks what code should never log anyway."""
from __future__ import annotations

import io
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
    for secret in ("3277011203870004", "3456-7890", "siti@example.org", "Siti Aminah",
                   "7K3QD-9WXYZ", "3277014502900003"):
        assert secret not in text
    assert "WBS-2026-AB12CD34" in text  # ids stay: they are what operators need
