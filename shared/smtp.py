"""The one SMTP sender: settings from the environment, one message handed to the server.

Used by the notifications consumer's e-mail channel (services/notifications/channels.py) and
by hibah-bansos's mailer of one-time links (services/hibah_bansos/mailer.py), so TLS,
authentication and the reading of a refusal are written once.

| variable                  | meaning                                                       |
|---------------------------|---------------------------------------------------------------|
| REPLIKA_SMTP_HOST, _PORT  | the mail server (default port 587)                            |
| REPLIKA_SMTP_SECURITY     | `starttls` (default), `ssl` (implicit TLS, port 465) or `none` |
| REPLIKA_SMTP_USER, _PASSWORD | authentication, when the server asks for it                |
| REPLIKA_SMTP_FROM         | the sender address                                            |
| REPLIKA_SMTP_CAFILE       | PEM of the CA to trust (default: the system's)                |
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

DEFAULT_SENDER = "noreply@replika.invalid"


class SmtpRefused(Exception):
    """The message was not sent. `temporary`: try again later (4xx, unreachable, dropped);
    else the server refused the address or the message for good."""

    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.reason, self.temporary = reason[:200], temporary


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    security: str = "starttls"
    sender: str = DEFAULT_SENDER
    user: str | None = None
    password: str | None = None
    cafile: str | None = None
    timeout: float = 15.0

    @classmethod
    def from_env(cls) -> SmtpSettings | None:
        """The settings of REPLIKA_SMTP_*; None when no host is set."""
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
            sender=os.environ.get("REPLIKA_SMTP_FROM") or DEFAULT_SENDER,
            user=os.environ.get("REPLIKA_SMTP_USER") or None,
            password=os.environ.get("REPLIKA_SMTP_PASSWORD") or None,
            cafile=os.environ.get("REPLIKA_SMTP_CAFILE") or None,
        )


def send(settings: SmtpSettings, mail: EmailMessage) -> None:
    """Hand `mail` to the server (its From is the settings' sender when it has none); raises
    SmtpRefused when it was not accepted."""
    if mail["From"] is None:
        mail["From"] = settings.sender
    try:
        if settings.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=_tls(settings)
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=_tls(settings))
            if settings.user:
                client.login(settings.user, settings.password or "")
            client.send_message(mail)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        raise SmtpRefused(
            f"SMTP recipient refused ({codes[0] if codes else '?'})",
            temporary=all(400 <= c < 500 for c in codes),
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise SmtpRefused(f"SMTP {exc.smtp_code}", temporary=400 <= exc.smtp_code < 500) from None
    except (OSError, smtplib.SMTPException) as exc:  # unreachable, TLS, dropped
        raise SmtpRefused(type(exc).__name__, temporary=True) from None


def _tls(settings: SmtpSettings) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=settings.cafile)
