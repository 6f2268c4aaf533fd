"""The social registry (DTKS/DTSEN) behind a port: is this NIK listed, and as of which data period.

The registry is run by the Ministry of Social Affairs, not by the city; Replika asks it one
question and keeps only the answer: listed yes/no and the data period the answer is from
(`Answer`). Whatever else the registry sends back (names, household data, welfare decile) is
dropped inside the client and never reaches the database, the events or the logs.

`HttpSocialRegistry` is the real client (stdlib HTTP, no new dependency): it POSTs the NIK in
a JSON body, never in the URL, so the NIK does not land in access logs on either side. For
`make run` and the tests, `infra/fake_registry.py` is a small real HTTP server speaking the
same protocol. Without a configured endpoint (`REPLIKA_SOCIAL_REGISTRY_URL`), the service uses
`NoSocialRegistry`, which answers "unavailable": citizens are then told to ask an official to
verify them, which always works.

Protocol: `POST <url>/v1/check` with `{"nik": "<16 digits>"}` answers
`{"listed": true|false, "period": "YYYY-MM", ...}` (other fields ignored).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from shared.settings import social_registry_url

PERIOD = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Answer:
    """Everything Replika keeps of a registry answer. `listed` is None when the registry could
    not be asked (down, not configured, or a malformed answer)."""

    listed: bool | None
    period: str | None = None  # "YYYY-MM": the registry's data release the answer is from

    @property
    def available(self) -> bool:
        return self.listed is not None


UNAVAILABLE = Answer(None, None)


class SocialRegistry(Protocol):
    def check(self, nik: str) -> Answer:
        """The registry's answer for `nik` (16 ASCII digits); UNAVAILABLE instead of raising."""
        ...


class NoSocialRegistry:
    """No registry configured: every answer is unavailable."""

    def check(self, nik: str) -> Answer:
        return UNAVAILABLE


class HttpSocialRegistry:
    """The registry at `base_url` (https in production; the fake is plain http on 127.0.0.1)."""

    def __init__(self, base_url: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.url = base_url.rstrip("/") + "/v1/check"
        self.timeout = timeout

    def check(self, nik: str) -> Answer:
        if not re.fullmatch(r"[0-9]{16}", nik):
            return UNAVAILABLE
        request = urllib.request.Request(
            self.url,
            data=json.dumps({"nik": nik}).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                if resp.status != 200:
                    return UNAVAILABLE
                body = json.loads(resp.read(64 * 1024))
        except (OSError, ValueError, urllib.error.URLError):
            return UNAVAILABLE
        return answer_of(body)


def answer_of(body: object) -> Answer:
    """The yes/no and the period of a registry response; the rest of the record is dropped."""
    if not isinstance(body, dict) or not isinstance(body.get("listed"), bool):
        return UNAVAILABLE
    period = body.get("period")
    return Answer(
        body["listed"], period if isinstance(period, str) and PERIOD.match(period) else None
    )


def from_settings() -> SocialRegistry:
    url = social_registry_url()
    return HttpSocialRegistry(url) if url else NoSocialRegistry()
