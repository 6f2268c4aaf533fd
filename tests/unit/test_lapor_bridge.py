"""The SP4N-LAPOR! bridge without the stack: its rules, and the real HTTP client against the
local fake LAPOR! (infra/lapor_stub.py) run in this process on a free port."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from infra import lapor_stub
from services.whistleblowing import lapor
from services.whistleblowing.domain import lapor as rules


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("Antrean KTP di kelurahan 4 jam, loket 3 tutup sejak 2026.", []),
        ("NIK saya 3277014507900777.", ["nik"]),
        ("Hubungi 0812-9876-5432 ya.", ["phone"]),
        ("Hubungi +62 812 9876 5432 ya.", ["phone"]),
        ("Kirim ke warga@example.org.", ["email"]),
    ],
)
def test_personal_data_in_the_text_is_found(typed, found):
    assert rules.personal_data_in(typed) == found


def test_only_a_case_triaged_as_not_a_wbs_matter_may_be_forwarded():
    assert rules.may_forward("triaged", "not_wbs_matter")
    assert rules.may_forward("archived", "not_wbs_matter")
    assert not rules.may_forward("triaged", "accepted")
    assert not rules.may_forward("concluded", "substantiated")


def test_a_failed_forward_waits_longer_each_time_up_to_a_limit():
    waits = [rules.wait_after(n) for n in range(1, 7)]
    assert waits == sorted(waits) and waits[0] == timedelta(minutes=1)
    assert waits[-1] == waits[-2] == rules.BACKOFF[-1]


@pytest.fixture
def fake():
    server = lapor_stub.serve("127.0.0.1", 0, "secret-token")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_client_files_a_complaint_once_and_reads_its_updates(fake):
    client = lapor.HttpLapor(fake, "secret-token")
    tracking = client.file_complaint(
        "cimahi", "ref-1", "Antrean KTP terlalu lama.", "pelayanan_publik"
    )
    assert tracking.startswith("LPR-")
    assert client.file_complaint("cimahi", "ref-1", "Antrean KTP terlalu lama.", "x") == tracking
    [first] = client.updates("cimahi", tracking, 0)
    assert first.seq == 1 and first.status == "diterima"
    assert client.updates("cimahi", tracking, 1) == []
    with pytest.raises(lapor.LaporUnavailable):
        client.updates("bandung", tracking, 0)  # another agency's complaint is not found


def test_a_wrong_token_or_no_server_is_unavailable(fake):
    with pytest.raises(lapor.LaporUnavailable):
        lapor.HttpLapor(fake, "wrong").file_complaint("cimahi", "r", "Teks pengaduan.", "x")
    with pytest.raises(lapor.LaporUnavailable):
        lapor.NoLapor().file_complaint("cimahi", "r", "Teks pengaduan.", "x")
    assert lapor.NoLapor().referrals("cimahi") == []


def test_referrals_are_offered_until_acknowledged(fake):
    import json
    import urllib.request

    req = urllib.request.Request(
        fake + "/_fake/agencies/cimahi/wbs-referrals",
        data=json.dumps({"text": "Setoran proyek jalan.", "identity": {"name": "A"}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        ref = json.loads(resp.read())["id"]
    client = lapor.HttpLapor(fake, "secret-token")
    [found] = client.referrals("cimahi")
    assert found.id == ref and found.identity == {"name": "A"}
    client.acknowledge("cimahi", ref, "WBS-2026-ABCDEFGH", "RECEIPT")
    assert client.referrals("cimahi") == []
