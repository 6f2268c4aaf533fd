"""Receipts and case numbers.

A receipt is 25 Crockford base32 characters (125 random bits) in five groups of five, e.g.
`7K2QX-M0PZ4-...`: no I, L, O or U, so it can be read aloud and typed back without confusion.
The server keeps only its keyed hash; `normalise_receipt` makes the typed form canonical first.
A case number (`WBS-2026-8Q3KZ7MD`) is public and random, so it reveals no count of reports.
"""

from __future__ import annotations

import re
import secrets

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RECEIPT_GROUPS, GROUP_SIZE = 5, 5
RECEIPT_CHARS = RECEIPT_GROUPS * GROUP_SIZE
RECEIPT_BITS = RECEIPT_CHARS * 5  # 125
CASE_RANDOM_CHARS = 8  # 40 bits: unguessable enough for a public id; uniqueness is enforced
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})
CASE_NUMBER_RE = re.compile(rf"^WBS-\d{{4}}-[{CROCKFORD}]{{{CASE_RANDOM_CHARS}}}$")


def _random_chars(n: int) -> str:
    # one byte per character, its low 5 bits: uniform, as 256 is a multiple of 32 (one
    # urandom call instead of secrets.choice's several per character)
    return "".join(CROCKFORD[b & 31] for b in secrets.token_bytes(n))


def new_receipt() -> str:
    raw = _random_chars(RECEIPT_CHARS)
    return "-".join(raw[i : i + GROUP_SIZE] for i in range(0, RECEIPT_CHARS, GROUP_SIZE))


def normalise_receipt(typed: str) -> str | None:
    """The canonical grouped receipt, or None if `typed` cannot be one (never raises)."""
    if not isinstance(typed, str) or len(typed) > 100:
        return None
    raw = re.sub(r"[\s\-]", "", typed).upper().translate(_CONFUSABLE)
    if len(raw) != RECEIPT_CHARS or any(c not in CROCKFORD for c in raw):
        return None
    return "-".join(raw[i : i + GROUP_SIZE] for i in range(0, RECEIPT_CHARS, GROUP_SIZE))


def new_case_number(year: int) -> str:
    return f"WBS-{year:04d}-{_random_chars(CASE_RANDOM_CHARS)}"


def is_case_number(value: str) -> bool:
    return bool(CASE_NUMBER_RE.match(value or ""))
