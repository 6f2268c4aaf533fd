"""Account recovery for applicants: a one-time, expiring reset code, sent by e-mail to the
address the account was registered with, or handed over at the counter by an official who
checked the person's identity (KTP) when the account has no e-mail address. Spending a code
also confirms a registration that waits for it (cases.register_applicant): for a resident
without e-mail, the counter code is how the account is confirmed.

Only a keyed hash of the code is stored; a code works once, before it expires; setting a new
password spends every other open code of the account. The e-mail address itself is not stored
(only its blind index), so the message goes to the address the person typed, once it matches.
Use cases run in the caller's unit of work, like cases.py; each is audited (an event).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from services.hibah_bansos import repository
from services.hibah_bansos.models import Applicant, PasswordReset
from shared import event_types as ev
from shared.actor import APPLICANT_KIND, Actor
from shared.crypto import blind_index, keyed_hash
from shared.problem import Refused
from shared.uow import UnitOfWork

EMAIL_TTL = timedelta(minutes=30)
COUNTER_TTL = timedelta(hours=24)
RESEND_AFTER = timedelta(minutes=5)  # one e-mail per account per 5 minutes: no mail bombing
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 20  # 100 bits


@dataclass(frozen=True)
class Issued:
    code: str  # shown once (counter) or mailed; never stored
    expires_at: datetime
    applicant_id: uuid.UUID


def new_code() -> str:
    return "".join(secrets.choice(CROCKFORD) for _ in range(CODE_LENGTH))


def grouped(code: str) -> list[str]:
    """The code in groups of four, as it is shown and printed (typed with or without dashes)."""
    return [code[i : i + 4] for i in range(0, len(code), 4)]


def normalise_code(typed: str) -> str:
    return "".join(ch for ch in typed.upper() if ch.isalnum()).replace("O", "0").replace("I", "1")


def _hash(uw: UnitOfWork, code: str) -> str:
    return keyed_hash(uw.session, uw.tenant.id, "applicant-password-reset", code)


def _issue(uw: UnitOfWork, applicant: Applicant, channel: str, issued_by: str) -> Issued:
    code = new_code()
    now = datetime.now(UTC)
    expires = now + (EMAIL_TTL if channel == "email" else COUNTER_TTL)
    uw.session.add(
        PasswordReset(
            tenant_id=uw.tenant.id,
            applicant_id=applicant.id,
            code_hash=_hash(uw, code),
            issued_by=issued_by,
            expires_at=expires,
        )
    )
    uw.session.flush()
    uw.emit(
        ev.HB_APPLICANT_PASSWORD_RESET_ISSUED,
        subject=str(applicant.id),
        actor=issued_by if channel == "counter" else APPLICANT_KIND,
        data={
            "applicant_id": str(applicant.id),
            "channel": channel,
            "expires_at": expires.isoformat(),
        },
    )
    return Issued(code, expires, applicant.id)


def request_by_email(uw: UnitOfWork, email: str) -> Issued | None:
    """A code for the account registered with `email`, or None (no such account, or one was
    sent less than RESEND_AFTER ago). The caller answers the same either way."""
    found = repository.applicant_by_email_index(
        uw.session, blind_index(uw.session, uw.tenant.id, "email", email)
    )
    if found is None:
        return None
    last = repository.latest_password_reset(uw.session, found.id)
    if last is not None and last.at > datetime.now(UTC) - RESEND_AFTER:
        return None
    return _issue(uw, found, "email", "email")


def issue_at_counter(
    uw: UnitOfWork, official: Actor, nik: str, *, identity_checked: bool
) -> Issued:
    """An official at the counter, having seen the person's KTP, gives them a reset code."""
    if not identity_checked:
        raise Refused(
            422, "Confirm that you checked the person's identity card (KTP).", "identity_checked"
        )
    nik = "".join(nik.split())
    applicant = (
        repository.applicant_by_nik_index(
            uw.session, blind_index(uw.session, uw.tenant.id, "nik", nik)
        )
        if nik.isascii() and nik.isdigit()
        else None
    )
    if applicant is None:
        raise Refused(404, "No account with this NIK.", "nik")
    return _issue(uw, applicant, "counter", official.pseudonym)


def reset_password(uw: UnitOfWork, code: str, password: str) -> Applicant:
    """Spend the code: the new password is set, every other open code of the account too."""
    from shared.officials import hash_password

    if len(password) < 12 or len(password) > 200:
        raise Refused(422, "Use a password of at least 12 characters.", "password")
    row = repository.password_reset_by_code(
        uw.session, _hash(uw, normalise_code(code)), for_update=True
    )
    now = datetime.now(UTC)
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise Refused(410, "This reset code is not valid any more: ask for a new one.", "code")
    applicant = uw.session.get_one(Applicant, row.applicant_id)
    applicant.password_hash = hash_password(password)
    # spending a code proves the person: one mailed to the account's address, or one an
    # official handed over after checking the KTP. So it also confirms a registration that
    # was waiting (an account without e-mail is confirmed only this way; a squatter's
    # password is gone with it)
    confirms = applicant.confirmed_at is None
    if confirms:
        applicant.confirmed_at = now
        applicant.link_hash = applicant.link_expires_at = None
    uw.session.execute(
        update(PasswordReset)
        .where(PasswordReset.applicant_id == applicant.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    uw.session.flush()
    uw.emit(
        ev.HB_APPLICANT_PASSWORD_RESET,
        subject=str(applicant.id),
        actor=APPLICANT_KIND,
        data={
            "applicant_id": str(applicant.id),
            "channel": "email" if row.issued_by == "email" else "counter",
        },
    )
    if confirms:
        uw.emit(
            ev.HB_APPLICANT_CONFIRMED,
            subject=str(applicant.id),
            actor=APPLICANT_KIND,
            data={"applicant_id": str(applicant.id), "how": "reset_code"},
        )
    return applicant
