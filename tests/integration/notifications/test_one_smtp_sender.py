"""One SMTP sender (shared/smtp.py): hibah-bansos's one-time links go through the same code
as the notifications consumer's e-mail channel, to a real SMTP server (the mail catcher)."""

from __future__ import annotations

import pytest

from shared import smtp
from shared.problem import Refused
from tests.integration.notifications.test_notifications import mails_to
from tests.support.applicant_mail import post_registration
from tests.support.hibah_bansos import organisation


def settings_of(catcher) -> smtp.SmtpSettings:
    return smtp.SmtpSettings("127.0.0.1", catcher.port, "none", "hibah@replika.test", timeout=5)


def test_hibah_s_mailer_is_the_smtp_sender_when_a_server_is_configured(monkeypatch, catcher):
    from services.hibah_bansos import mailer

    monkeypatch.setenv("REPLIKA_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("REPLIKA_SMTP_PORT", str(catcher.port))
    monkeypatch.setenv("REPLIKA_SMTP_SECURITY", "none")
    sender = mailer.from_settings()
    assert isinstance(sender, mailer.SmtpMailer)
    sender.send("warga@contoh.id", "Aktifkan akun Anda", "Buka tautan ini:\nhttps://x/confirm\n")
    [mail] = mails_to(catcher, "warga@contoh.id")
    assert mail["Auto-Submitted"] == "auto-generated" and mail["Message-ID"]
    assert "https://x/confirm" in mail.get_body(("plain",)).get_content()
    monkeypatch.delenv("REPLIKA_SMTP_HOST")
    assert isinstance(mailer.from_settings(), mailer.EmlDirectory)


def test_a_refusing_server_is_a_503_to_retry_not_a_lost_link(catcher):
    from services.hibah_bansos.mailer import SmtpMailer

    catcher.refusing = True
    with pytest.raises(Refused) as refused:
        SmtpMailer(settings_of(catcher)).send("warga@contoh.id", "s", "b")
    assert refused.value.status == 503
    assert catcher.handler.refused == 1 and mails_to(catcher, "warga@contoh.id") == []


def test_a_registration_s_link_reaches_the_smtp_server(hb_app, monkeypatch, catcher):
    from services.hibah_bansos.mailer import SmtpMailer

    monkeypatch.setitem(hb_app.extensions, "hb_mailer", SmtpMailer(settings_of(catcher)))
    org = organisation()
    resp = post_registration(hb_app.test_client(), "cimahi", org)
    assert resp.status_code == 202, resp.get_data(as_text=True)
    [mail] = mails_to(catcher, org["email"])
    assert mail["From"] == "hibah@replika.test"
    assert "confirm?token=" in mail.get_body(("plain",)).get_content()
    assert org["name"] not in mail.as_string()
