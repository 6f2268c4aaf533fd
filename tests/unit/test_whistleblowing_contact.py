"""The reporter's notice contact: what may be typed and its one stored form (domain/contact.py)."""

from __future__ import annotations

import pytest

from services.whistleblowing import schemas
from services.whistleblowing.domain import contact
from shared.problem import Problem


@pytest.mark.parametrize(
    "typed",
    [
        "0812 3456 7890",
        "0812-3456-7890",
        "+62 812 3456 7890",
        "+62-812-3456-7890",
        "6281234567890",
        "０８１２ ３４５６ ７８９０",  # fullwidth digits are ASCII digits after NFKC
    ],
)
def test_indonesian_mobile_numbers_have_one_form(typed):
    assert contact.read(typed) == contact.Contact("phone", "+6281234567890")


@pytest.mark.parametrize(
    "typed",
    [
        "021 555 1234",  # a landline: no SMS, no WhatsApp
        "+1 555 123 4567",  # not Indonesian
        "812345678",  # no 08 / +62 in front
        "0812 345",  # too short
        "0812 3456 7890 1234",  # too long
        "٠٨١٢٣٤٥٦٧٨٩٠",  # Arabic-Indic digits are not read as a number
        "0812.3456.7890x",
        "",
        "orang@",
        "@domain.id",
        "orang@domain",
        "a b@contoh.id",
        "x" * 300 + "@domain.id",
    ],
)
def test_what_is_neither_an_email_nor_a_mobile_number_is_refused(typed):
    with pytest.raises(contact.BadContact) as refused:
        contact.read(typed)
    assert typed not in str(refused.value) or not typed  # the reason never echoes the value


def test_an_email_keeps_its_local_part_and_lowers_its_domain():
    assert contact.read("  Nama.Saya@Contoh.ID ") == contact.Contact("email", "Nama.Saya@contoh.id")


def test_the_inbox_shows_a_masked_form_only():
    assert contact.masked(contact.Contact("email", "nama@contoh.id")) == "n***@contoh.id"
    assert contact.masked(contact.Contact("phone", "+6281234567890")) == "+62 812 **** 7890"


def test_the_report_body_takes_the_contact_apart_from_the_content():
    body = {
        "category": "korupsi",
        "what": "Uang kas dipakai pribadi.",
        "notify_contact": "08123456789",
    }
    form = schemas.parse(schemas.ReportIn, body)
    assert form.notify_contact == "+628123456789"
    assert "notify_contact" not in form.content()  # handlers read the content
    with pytest.raises(Problem) as refused:
        schemas.parse(schemas.ReportIn, {**body, "notify_contact": "021 555 1234"})
    assert [e["field"] for e in refused.value.errors] == ["notify_contact"]
    assert (
        schemas.parse(
            schemas.ReportIn, {k: v for k, v in body.items() if k != "notify_contact"}
        ).notify_contact
        is None
    )
