"""Rules of the SP4N-LAPOR! bridge (pure): which case may be forwarded, the states of a
forward, what text may leave, and how long a failed forward waits before the next try.

    offered (an official proposed it) -> declined (the reporter said no)
                                      -> queued (the reporter consented to the text) -> sent
"""

from __future__ import annotations

import re
from datetime import timedelta

OFFERED, DECLINED, QUEUED, SENT = "offered", "declined", "queued", "sent"
STATES = (OFFERED, DECLINED, QUEUED, SENT)
CATEGORY = "pelayanan_publik"  # what LAPOR! files a forwarded complaint under
MAX_TEXT = 5000
MIN_TEXT = 10
# LAPOR! refuses corruption reports: forwarded are only cases triaged as not a WBS matter
FORWARDABLE = ("not_wbs_matter",)

# What would say who the reporter is: NIK-like numbers, phone numbers, e-mail addresses.
_NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
_PHONE = re.compile(r"(?<![\w])(?:\+?62[\s.-]?|0)8[\d\s.-]{7,15}\d")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")

# Waits after the 1st, 2nd, ... failed try; the last one repeats.
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2))


def is_news(seq: int) -> bool:
    """Whether LAPOR!'s status update number `seq` of a complaint is news to tell the reporter
    of: the first one is LAPOR!'s receipt ("diterima"), which the forward call itself already
    answered with (the tracking ID in the inbox); the later ones are its handling."""
    return seq > 1


def may_forward(status: str, outcome: str | None) -> bool:
    return outcome in FORWARDABLE and status in ("triaged", "archived")


def personal_data_in(text: str) -> list[str]:
    """The kinds of personal data found in `text` ("nik", "phone", "email"): the text that
    leaves for LAPOR! must hold none (the reporter is asked to remove them)."""
    return [
        kind
        for kind, pattern in (("nik", _NIK), ("phone", _PHONE), ("email", _EMAIL))
        if pattern.search(text)
    ]


def wait_after(failures: int) -> timedelta:
    """How long a forward waits after its `failures`-th failed try (failures >= 1)."""
    return BACKOFF[min(max(failures, 1), len(BACKOFF)) - 1]
