"""A reporter's contact for "ada balasan baru" notices: what may be typed, and its one form.

Pure rules (standard library and `shared.plain_text` only). A contact is an e-mail address or
an Indonesian mobile number; anything with an `@` is read as an e-mail, anything else as a
phone number. Phone numbers are read through `shared.plain_text.ascii_digits` (NFKC: fullwidth
digits are ASCII digits; spaces and dashes dropped; other scripts' digits refused) and kept in
one form, E.164 `+628…`, whichever way they were written (`0812…`, `62812…`, `+62 812…`), so
the notifications consumer has one address to send to. Landlines are refused: a notice goes by
SMS or WhatsApp, which reach mobile numbers only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from shared.plain_text import NotDigits, ascii_digits

EMAIL = "email"
PHONE = "phone"
KINDS = (EMAIL, PHONE)

MAX_TYPED = 254  # the longest e-mail address SMTP carries; longer input is refused before NFKC
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")
# the national significant number of an Indonesian mobile line: 8, then 8 to 11 digits
_MOBILE = re.compile(r"^8[0-9]{8,11}$")


class BadContact(ValueError):
    """Neither an e-mail address nor an Indonesian mobile number (the reason names which)."""


@dataclass(frozen=True)
class Contact:
    kind: str  # EMAIL or PHONE
    address: str  # the one stored form: the e-mail as typed (after NFKC), or +62…


def read(value: str) -> Contact:
    """The contact a person typed, in its one form, or BadContact with a reason in English
    (never echoing the value)."""
    if len(value) > MAX_TYPED:
        raise BadContact(f"has at most {MAX_TYPED} characters")
    typed = unicodedata.normalize("NFKC", value).strip()
    if "@" in typed:
        if len(typed) > MAX_TYPED or not _EMAIL.fullmatch(typed):
            raise BadContact("is not an e-mail address such as nama@contoh.id")
        local, _, domain = typed.rpartition("@")
        return Contact(EMAIL, f"{local}@{domain.lower()}")
    return Contact(PHONE, mobile_number(typed))


def mobile_number(typed: str) -> str:
    """An Indonesian mobile number as E.164 (`+628…`), from `08…`, `628…` or `+628…`."""
    try:
        digits = ascii_digits(typed, keep_plus=True)
    except NotDigits:
        raise BadContact("write an e-mail address, or a phone number in digits") from None
    if digits.startswith("+62"):
        national = digits[3:]
    elif digits.startswith("+"):
        raise BadContact("only Indonesian numbers (+62 or 08) are accepted")
    elif digits.startswith("62"):
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        raise BadContact("write the number with 08 or +62 in front")
    if not _MOBILE.fullmatch(national):
        raise BadContact("is not an Indonesian mobile number (08xx, 10 to 13 digits)")
    return "+62" + national


def masked(contact: Contact) -> str:
    """How the reporter's own inbox shows the contact: enough to recognise it, not to read it
    over a shoulder (`n***@contoh.id`, `+62 812 **** 7890`)."""
    if contact.kind == EMAIL:
        local, _, domain = contact.address.rpartition("@")
        return f"{local[:1]}***@{domain}"
    national = contact.address[3:]
    return f"+62 {national[:3]} **** {national[-4:]}"
