"""A local mail catcher for `make run` and the tests: a real SMTP server (aiosmtpd) that
writes each message it accepts as an `.eml` file, and sends nothing on.

    python -m infra.mail_catcher --port 8025 --dir .local/mail

Files are named after the message's Message-ID (its SHA-256, first 32 hex digits), so a
message sent again with the same id (the notifications consumer's idempotency key, after a
crash between sending and recording) replaces its file instead of adding one: the folder holds
what a recipient's deduplicating mail client would show. `refusing` (tests) makes it answer
every message with `451 4.3.0` (try again later), as a server under load does.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from pathlib import Path
from typing import Any


class CatcherHandler:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.refusing = False
        self.refused = 0
        self.delivered: list[str] = []  # every accepted Message-ID, repeats included
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusing:
            with self.lock:
                self.refused += 1
            return "451 4.3.0 Mail catcher refusing for now, try again later"
        data: bytes = envelope.original_content or envelope.content
        message_id = message_from_bytes(data).get("Message-ID") or f"{time.time_ns()}"
        with self.lock:
            self.delivered.append(message_id.strip())
        name = hashlib.sha256(message_id.strip().encode()).hexdigest()[:32] + ".eml"
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{name}.{os.getpid()}.tmp"
        rcpts = ", ".join(envelope.rcpt_tos)
        tmp.write_bytes(f"X-Envelope-To: {rcpts}\r\n".encode() + data)
        tmp.replace(self.folder / name)  # whole files only: a reader never sees half a message
        return "250 2.0.0 OK: caught"


class MailCatcher:
    """The catcher in this process (tests): `with MailCatcher(folder) as c: c.port ...`."""

    def __init__(self, folder: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        from aiosmtpd.controller import Controller

        self.handler = CatcherHandler(Path(folder))
        if port == 0:
            from infra.local import free_port

            port = free_port()
        self.host, self.port = host, port
        self.controller = Controller(self.handler, hostname=host, port=port)

    @property
    def refusing(self) -> bool:
        return self.handler.refusing

    @refusing.setter
    def refusing(self, value: bool) -> None:
        self.handler.refusing = value

    def messages(self) -> list[Path]:
        return sorted(self.handler.folder.glob("*.eml"))

    def __enter__(self) -> MailCatcher:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def start(port: int, folder: Path, log: Path, cwd: Path) -> subprocess.Popen:
    """The catcher as its own process (infra/local.py records and stops its pid)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "infra.mail_catcher", "--port", str(port), "--dir", str(folder)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=cwd,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.mail_catcher")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", default=".local/mail")
    args = parser.parse_args(argv)
    catcher = MailCatcher(Path(args.dir), args.host, args.port)
    with catcher:
        print(f"mail catcher on smtp://{args.host}:{args.port}, writing {args.dir}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
