"""The receipt lock keys on (client address, receipt prefix) and on the address (issue 16)."""

from __future__ import annotations

import secrets

from services.whistleblowing import cases
from services.whistleblowing.domain import codes
from tests.support.whistleblowing import addr

T = "/t/cimahi/api/v1"
REPORT = {
    "category": "pungutan_liar",
    "what": "Petugas meminta uang tambahan untuk KTP.",
    "how_known": "Saya mengalaminya",
}


def _receipt_with_prefix(prefix: str) -> str:
    rest = "".join(secrets.choice(codes.CROCKFORD) for _ in range(codes.RECEIPT_CHARS - 5))
    raw = prefix + rest
    return "-".join(raw[i : i + 5] for i in range(0, codes.RECEIPT_CHARS, 5))


def _inbox(client, receipt, who):
    return client.get(
        f"{T}/inbox", headers={"Authorization": f"Receipt {receipt}"}, environ_base=who
    )


def _other_prefix(than: str) -> str:
    while (prefix := "".join(secrets.choice(codes.CROCKFORD) for _ in range(5))) == than:
        pass
    return prefix


def test_guessing_one_prefix_does_not_lock_a_reporter_behind_the_same_address(wb):
    filed = wb.post(f"{T}/reports", json=REPORT, environ_base=addr())
    assert filed.status_code == 201
    receipt = filed.json["receipt"]
    attacked = _other_prefix(receipt[:5])
    shared_address = addr()  # the attacker and the reporter behind one NAT
    for _ in range(cases.RECEIPT_PREFIX_FAILURES_ALLOWED):
        assert _inbox(wb, _receipt_with_prefix(attacked), shared_address).status_code == 401
    locked = _inbox(wb, _receipt_with_prefix(attacked), shared_address)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    # the reporter, from the same address, with their own receipt: opens their inbox
    assert _inbox(wb, receipt, shared_address).status_code == 200
    # and from anywhere else, of course
    assert _inbox(wb, receipt, addr()).status_code == 200


def test_a_flood_of_different_prefixes_from_one_address_is_locked_per_address(wb):
    filed = wb.post(f"{T}/reports", json=REPORT, environ_base=addr())
    receipt = filed.json["receipt"]
    flooder = addr()
    statuses = []
    for _ in range(cases.RECEIPT_FAILURES_ALLOWED + 1):
        guess = _receipt_with_prefix(_other_prefix(receipt[:5]))
        statuses.append(_inbox(wb, guess, flooder).status_code)
    assert statuses == [401] * cases.RECEIPT_FAILURES_ALLOWED + [429], statuses
    # the flooding address waits for every prefix, even the right receipt's
    assert _inbox(wb, receipt, flooder).status_code == 429
    # the reporter elsewhere is not locked out by the flood
    assert _inbox(wb, receipt, addr()).status_code == 200
