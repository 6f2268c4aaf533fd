"""Channels behind one port: e-mail over SMTP, and an HTTP gateway for WhatsApp/SMS providers.

Every channel takes an idempotency key (the notification row's id, stable across retries): an
e-mail carries it as its Message-ID, a gateway call as its `Idempotency-Key` header, so a
receiver that deduplicates sees one message even when a send is repeated after a crash
between sending and recording it.

Settings come from the environment (REPLIKA_SMTP_*: shared/smtp.py, the one SMTP sender,
which hibah-bansos's mailer uses too):

| variable                  | meaning                                                       |
|---------------------------|---------------------------------------------------------------|
| REPLIKA_GATEWAY_URL       | the WhatsApp/SMS provider's webhook                           |
| REPLIKA_GATEWAY_TOKEN     | sent as `Authorization: Bearer <token>`                       |
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

from services.notifications.domain.templates import Message
from shared import smtp


class DeliveryFailed(Exception):
    """A send that did not happen. `temporary`: try again later (the server refused for now,
    or could not be reached); else the address or the message was refused for good."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.reason, self.temporary = reason[:200], temporary


class Channel(Protocol):
    name: str

    def send(self, to: str, message: Message, key: str) -> None: ...


@dataclass
class SmtpChannel:
    """E-mail over SMTP: the one SMTP sender of shared/smtp.py, with a notice's headers."""

    host: str
    port: int = 587
    security: str = "starttls"
    sender: str = smtp.DEFAULT_SENDER
    user: str | None = None
    password: str | None = None
    cafile: str | None = None
    timeout: float = 15.0
    name: str = "email"

    @classmethod
    def from_env(cls) -> SmtpChannel | None:
        found = smtp.SmtpSettings.from_env()
        if found is None:
            return None
        return cls(
            host=found.host,
            port=found.port,
            security=found.security,
            sender=found.sender,
            user=found.user,
            password=found.password,
            cafile=found.cafile,
        )

    def settings(self) -> smtp.SmtpSettings:
        return smtp.SmtpSettings(
            self.host,
            self.port,
            self.security,
            self.sender,
            self.user,
            self.password,
            self.cafile,
            self.timeout,
        )

    def send(self, to: str, message: Message, key: str) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, to, message.subject
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = f"<{key}@replika.notifications>"
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
        mail.set_content(message.body)
        try:
            smtp.send(self.settings(), mail)
        except smtp.SmtpRefused as exc:
            raise DeliveryFailed(exc.reason, temporary=exc.temporary) from None


@dataclass
class WebhookChannel:
    url: str
    token: str | None = None
    timeout: float = 15.0
    name: str = "gateway"

    @classmethod
    def from_env(cls) -> WebhookChannel | None:
        url = os.environ.get("REPLIKA_GATEWAY_URL", "").strip()
        if not url:
            return None
        return cls(url=url, token=os.environ.get("REPLIKA_GATEWAY_TOKEN") or None)

    def send(self, to: str, message: Message, key: str) -> None:
        body = json.dumps({"to": to, "text": f"{message.subject}\n{message.body}"}).encode()
        headers = {"Content-Type": "application/json", "Idempotency-Key": key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(
                f"gateway HTTP {exc.code}", temporary=exc.code == 429 or exc.code >= 500
            ) from None
        except OSError as exc:
            raise DeliveryFailed(type(exc).__name__, temporary=True) from None


# which channel carries a contact of each kind
CHANNEL_OF_CONTACT = {"email": "email", "phone": "gateway"}


def from_env() -> dict[str, Channel]:
    """The channels configured in the environment, by name."""
    found: dict[str, Channel] = {}
    for channel in (SmtpChannel.from_env(), WebhookChannel.from_env()):
        if channel is not None:
            found[channel.name] = channel
    return found
