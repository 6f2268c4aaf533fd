"""Outgoing e-mail behind a port. There is no SMTP yet: the local implementation writes each
message as an `.eml` file under `.local/mail/` (open it with any mail program), which is what
`make run` and the tests read. A real SMTP client implements the same `send`.

Messages carry what the person must act on (a reset link) and nothing else of the account.
"""

from __future__ import annotations

import secrets
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from shared.files import write_private
from shared.settings import project_root

MAIL_DIR = project_root() / ".local" / "mail"
SENDER = "no-reply@replika.invalid"


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


class EmlDirectory:
    """Writes every message to `directory` as `<time>-<random>.eml` (mode 0600)."""

    def __init__(self, directory: Path = MAIL_DIR) -> None:
        self.directory = directory

    def send(self, to: str, subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = SENDER, to, subject
        msg.set_content(body)
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(4)}.eml"
        write_private(self.directory / name, msg.as_string())


def from_settings() -> Mailer:
    return EmlDirectory()
