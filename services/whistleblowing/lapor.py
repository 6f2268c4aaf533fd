"""SP4N-LAPOR! (the national public-service complaint channel) behind a port.

LAPOR! takes complaints about public services and refuses corruption reports; the WBS takes
corruption reports and refuses public-service complaints. The bridge goes both ways:

- a report the WBS triaged as a public-service complaint is forwarded, with the reporter's
  consent and only the text they approved (never their identity), as a LAPOR! complaint; the
  tracking ID and LAPOR!'s status updates are shown in the reporter's inbox;
- corruption reports LAPOR! refused and passes on to the city come in as new sealed WBS cases.

`HttpLapor` is the real client (stdlib HTTP, no new dependency), configured by
`REPLIKA_LAPOR_URL` and `REPLIKA_LAPOR_TOKEN` (a bearer token); `make run` and the tests point
it at `infra/lapor_stub.py`, whose docstring is the protocol. Without a URL the service uses
`NoLapor`, which is always unavailable: forwards then wait. A call that fails raises
`LaporUnavailable`; the job (`lapor_job.py`) retries later.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

TIMEOUT_SECONDS = 5.0
TRACKING = re.compile(r"^[A-Z0-9-]{4,40}$")
MAX_BODY = 1024 * 1024


class LaporUnavailable(Exception):
    """LAPOR! could not be reached, or answered something else than the protocol says."""


@dataclass(frozen=True)
class StatusUpdate:
    seq: int
    status: str
    at: str
    note: str


@dataclass(frozen=True)
class Referral:
    """A corruption report LAPOR! passes on: its text and, when its reporter gave one to
    LAPOR!, their identity (sealed to the custodian on arrival, like every identity)."""

    id: str
    text: str
    where: str
    when: str
    identity: dict[str, str] | None


class LaporGateway(Protocol):
    def file_complaint(self, agency: str, reference: str, text: str, category: str) -> str:
        """File a complaint; its LAPOR! tracking ID. `reference` is the idempotency key: the
        same reference twice is one complaint."""
        ...

    def updates(self, agency: str, tracking_id: str, after: int) -> list[StatusUpdate]:
        """The complaint's status updates after sequence number `after`."""
        ...

    def referrals(self, agency: str) -> list[Referral]:
        """Corruption reports waiting for the city's WBS (until acknowledged)."""
        ...

    def acknowledge(self, agency: str, referral_id: str, case_number: str, receipt: str) -> None:
        """Tell LAPOR! the referral is a WBS case; the receipt is for LAPOR! to hand to its
        reporter, who then follows the case in the WBS inbox."""
        ...


class NoLapor:
    """No LAPOR! configured: every call is unavailable (forwards wait, nothing comes in)."""

    def file_complaint(self, agency: str, reference: str, text: str, category: str) -> str:
        raise LaporUnavailable("SP4N-LAPOR! is not configured")

    def updates(self, agency: str, tracking_id: str, after: int) -> list[StatusUpdate]:
        raise LaporUnavailable("SP4N-LAPOR! is not configured")

    def referrals(self, agency: str) -> list[Referral]:
        return []

    def acknowledge(self, agency: str, referral_id: str, case_number: str, receipt: str) -> None:
        raise LaporUnavailable("SP4N-LAPOR! is not configured")


class HttpLapor:
    """LAPOR! at `base_url` (https in production; the fake is plain http on 127.0.0.1)."""

    def __init__(self, base_url: str, token: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.base = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _call(
        self, method: str, path: str, body: dict | None = None, headers: dict | None = None
    ) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body, ensure_ascii=False).encode() if body is not None else None,
            headers={
                "Accept": "application/json",
                "Authorization": f"Bearer {self.token}",
                **({"Content-Type": "application/json"} if body is not None else {}),
                **(headers or {}),
            },
            method=method,
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                return resp.status, json.loads(resp.read(MAX_BODY) or b"{}")
        except urllib.error.HTTPError as exc:
            raise LaporUnavailable(f"SP4N-LAPOR! answered {exc.code}") from None
        except (OSError, ValueError) as exc:
            raise LaporUnavailable(f"SP4N-LAPOR! unreachable: {type(exc).__name__}") from None

    @staticmethod
    def _agency(agency: str) -> str:
        return "/v1/agencies/" + urllib.parse.quote(agency, safe="")

    def file_complaint(self, agency: str, reference: str, text: str, category: str) -> str:
        _, body = self._call(
            "POST",
            self._agency(agency) + "/complaints",
            {"text": text, "category": category, "reference": reference},
            {"Idempotency-Key": reference},
        )
        tracking = body.get("tracking_id") if isinstance(body, dict) else None
        if not isinstance(tracking, str) or not TRACKING.match(tracking):
            raise LaporUnavailable("SP4N-LAPOR! answered without a tracking ID")
        return tracking

    def updates(self, agency: str, tracking_id: str, after: int) -> list[StatusUpdate]:
        path = f"{self._agency(agency)}/complaints/{urllib.parse.quote(tracking_id)}/updates"
        _, body = self._call("GET", f"{path}?after={int(after)}")
        items = body.get("updates") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise LaporUnavailable("SP4N-LAPOR! answered without updates")
        found = []
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("seq"), int):
                found.append(
                    StatusUpdate(
                        item["seq"],
                        str(item.get("status", ""))[:60],
                        str(item.get("at", ""))[:40],
                        str(item.get("note", ""))[:2000],
                    )
                )
        return sorted(found, key=lambda u: u.seq)

    def referrals(self, agency: str) -> list[Referral]:
        _, body = self._call("GET", self._agency(agency) + "/wbs-referrals")
        items = body.get("referrals") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise LaporUnavailable("SP4N-LAPOR! answered without referrals")
        found = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                continue
            identity = item.get("identity")
            found.append(
                Referral(
                    item["id"][:60],
                    str(item.get("text", "")),
                    str(item.get("where", ""))[:500],
                    str(item.get("when", ""))[:200],
                    {k: str(v) for k, v in identity.items() if v}
                    if isinstance(identity, dict)
                    else None,
                )
            )
        return found

    def acknowledge(self, agency: str, referral_id: str, case_number: str, receipt: str) -> None:
        path = f"{self._agency(agency)}/wbs-referrals/{urllib.parse.quote(referral_id)}/ack"
        self._call("POST", path, {"case_number": case_number, "receipt": receipt})


def from_settings() -> LaporGateway:
    url = os.environ.get("REPLIKA_LAPOR_URL", "").strip()
    if not url:
        return NoLapor()
    return HttpLapor(url, os.environ.get("REPLIKA_LAPOR_TOKEN", ""))
