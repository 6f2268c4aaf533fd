"""Fixtures of the notifications tests: a real SMTP server (the mail catcher of `make run`)."""

from __future__ import annotations

import pytest

from infra.mail_catcher import MailCatcher


@pytest.fixture
def catcher(tmp_path):
    with MailCatcher(tmp_path / "mail") as c:
        yield c
