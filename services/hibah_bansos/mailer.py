"""Outgoing e-mail behind a port: the applicants' one-time links (activation, confirmation,
password reset).

With an SMTP server configured (REPLIKA_SMTP_HOST and the rest: shared/smtp.py, the one SMTP
sender, which the notifications consumer's e-mail channel uses too) each message goes to it;
`make run` points it at the local mail catcher, which writes every message it accepts as an
`.eml` file under `.local/mail/`. Without one (the tests, a bare `flask run`), `EmlDirectory`
writes the same `.eml` files itself.

Messages carry what the person must act on (a link) and nothing else of the account.
"""

from __future__ import annotations

import logging
import secrets
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol

from shared import smtp
from shared.files import write_private
from shared.problem import Refused
from shared.settings import project_root

log = logging.getLogger(__name__)

MAIL_DIR = project_root() / ".local" / "mail"
SENDER = "no-reply@replika.invalid"


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


def _message(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = make_msgid(domain="replika.hibah-bansos")
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to this
    msg.set_content(body)
    return msg


class EmlDirectory:
    """Writes every message to `directory` as `<time>-<random>.eml` (mode 0600)."""

    def __init__(self, directory: Path = MAIL_DIR) -> None:
        self.directory = directory

    def send(self, to: str, subject: str, body: str) -> None:
        msg = _message(SENDER, to, subject, body)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}.eml"
        write_private(self.directory / name, msg.as_string())


class SmtpMailer:
    """Sends over SMTP (shared/smtp.py). A server that does not take the message now is a 503
    the person can retry (a new link is issued each time), never a link silently lost."""

    def __init__(self, settings: smtp.SmtpSettings) -> None:
        self.settings = settings

    def send(self, to: str, subject: str, body: str) -> None:
        try:
            smtp.send(self.settings, _message(self.settings.sender, to, subject, body))
        except smtp.SmtpRefused as exc:
            log.warning("hibah-bansos mail not sent: %s", exc.reason)
            raise Refused(
                503,
                "the e-mail could not be sent now; try again in a minute",
                headers={"Retry-After": "60"},
            ) from None


def from_settings() -> Mailer:
    settings = smtp.SmtpSettings.from_env()
    return SmtpMailer(settings) if settings is not None else EmlDirectory()
