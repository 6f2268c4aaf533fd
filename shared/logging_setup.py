"""Structured (JSON-lines) logging with a redaction step: no personal data reaches a log.

Redaction is a backstop, not the plan: code logs ids and states, never personal fields. The
filter still masks anything shaped like a NIK or family-card number (16 digits), an Indonesian
phone number, an e-mail address, a receipt, or the value of a known personal key, in the
message, its arguments and any extra fields.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

PERSONAL_KEYS = {
    "name",
    "nama",
    "nik",
    "kk",
    "phone",
    "telepon",
    "email",
    "address",
    "alamat",
    "password",
    "passphrase",
    "otp",
    "receipt",
    "identity",
    "bank_account",
    "npwp",
    "chairperson",
    "what",
    "who",
    "where",
    "text",
    "body",
}
PATTERNS = [
    # NIK / family card: 16 digits, also written in groups of four
    (re.compile(r"(?<![\d.-])\d{4}(?:[ .-]?\d{4}){3}(?![\d])"), "[nik]"),
    # Indonesian phone numbers: +62 / 62 / 0 then a mobile 8xx, or +62 and any area code
    (
        re.compile(
            r"(?:\(?\+\s?62\)?[\s.-]*[1-9]|(?<![\w+])62[\s.-]?8|(?<![\w])0[\s-]?8)"
            r"(?:[\s.-]?\d){7,12}"
        ),
        "[phone]",
    ),
    # landlines with an area code: (022) 4201234, 022-4201234
    (
        re.compile(r"\(0\d{2,3}\)[\s.-]?\d{5,8}(?!\d)|(?<![\w-])0[2-9]\d{1,2}-\d{5,8}(?![\d-])"),
        "[phone]",
    ),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"\b[0-9A-HJKMNP-TV-Z]{5}(?:-[0-9A-HJKMNP-TV-Z]{5}){4}\b"), "[receipt]"),
]
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str) -> str:
    for pattern, mask in PATTERNS:
        text = pattern.sub(mask, text)
    return text


def _redact_value(key: str, value):
    if PERSONAL_KEYS.intersection(key.lower().split("_")):
        return "[redacted]"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(k, v) for k, v in value.items()}
    return value


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = (
            redact(record.getMessage())
            if record.args or isinstance(record.msg, str)
            else record.msg
        )
        record.args = None
        for key in set(vars(record)) - _STANDARD:
            setattr(record, key, _redact_value(key, getattr(record, key)))
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in set(vars(record)) - _STANDARD:
            entry[key] = getattr(record, key)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


def install(level: int = logging.INFO) -> None:
    """Idempotent: JSON lines to stderr; the redaction filter on the root handlers."""
    root = logging.getLogger()
    if any(isinstance(f, RedactingFilter) for h in root.handlers for f in h.filters):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("kafka").setLevel(logging.ERROR)  # reconnect noise hides our lines


@contextmanager
def kafka_quiet_while_closing() -> Iterator[None]:
    """kafka-python 3.0's I/O thread logs a traceback when `close()` shuts the socket it is
    reading (a race inside the library, seen on SIGTERM). Nothing is lost then: the relay
    marks only acknowledged rows, a consumer commits only what it wrote. So the library's log
    is muted for the close, and only for it."""
    log = logging.getLogger("kafka")
    level = log.level
    log.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        log.setLevel(level)
