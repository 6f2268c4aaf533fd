"""Channels behind one port: e-mail over SMTP, and an HTTP gateway for WhatsApp/SMS providers.

Every channel takes an idempotency key (the notification row's id, stable across retries): an
e-mail carries it as its Message-ID, a gateway call as its `Idempotency-Key` header, so a
receiver that deduplicates sees one message even when a send is repeated after a crash
between sending and recording it.

Settings come from the environment:

| variable                  | meaning                                                       |
|---------------------------|---------------------------------------------------------------|
| REPLIKA_SMTP_HOST, _PORT  | the mail server (default port 587)                            |
| REPLIKA_SMTP_SECURITY     | `starttls` (default), `ssl` (implicit TLS, port 465) or `none` |
| REPLIKA_SMTP_USER, _PASSWORD | authentication, when the server asks for it                |
| REPLIKA_SMTP_FROM         | the sender address                                            |
| REPLIKA_SMTP_CAFILE       | PEM of the CA to trust (default: the system's)                |
| REPLIKA_GATEWAY_URL       | the WhatsApp/SMS provider's webhook                           |
| REPLIKA_GATEWAY_TOKEN     | sent as `Authorization: Bearer <token>`                       |
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

from services.notifications.domain.templates import Message


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
    host: str
    port: int = 587
    security: str = "starttls"
    sender: str = "noreply@replika.invalid"
    user: str | None = None
    password: str | None = None
    cafile: str | None = None
    timeout: float = 15.0
    name: str = "email"

    @classmethod
    def from_env(cls) -> SmtpChannel | None:
        host = os.environ.get("REPLIKA_SMTP_HOST", "").strip()
        if not host:
            return None
        security = os.environ.get("REPLIKA_SMTP_SECURITY", "starttls").strip().lower()
        if security not in ("starttls", "ssl", "none"):
            raise RuntimeError("REPLIKA_SMTP_SECURITY must be starttls, ssl or none")
        default_port = {"starttls": 587, "ssl": 465, "none": 25}[security]
        return cls(
            host=host,
            port=int(os.environ.get("REPLIKA_SMTP_PORT") or default_port),
            security=security,
            sender=os.environ.get("REPLIKA_SMTP_FROM") or "noreply@replika.invalid",
            user=os.environ.get("REPLIKA_SMTP_USER") or None,
            password=os.environ.get("REPLIKA_SMTP_PASSWORD") or None,
            cafile=os.environ.get("REPLIKA_SMTP_CAFILE") or None,
        )

    def _tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)

    def send(self, to: str, message: Message, key: str) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, to, message.subject
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = f"<{key}@replika.notifications>"
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
        mail.set_content(message.body)
        try:
            if self.security == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self._tls()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.security == "starttls":
                    client.starttls(context=self._tls())
                if self.user:
                    client.login(self.user, self.password or "")
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailed(
                f"SMTP recipient refused ({codes[0] if codes else '?'})",
                temporary=all(400 <= c < 500 for c in codes),
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(
                f"SMTP {exc.smtp_code}", temporary=400 <= exc.smtp_code < 500
            ) from None
        except (OSError, smtplib.SMTPException) as exc:  # unreachable, TLS, dropped
            raise DeliveryFailed(type(exc).__name__, temporary=True) from None


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
