"""Numbers typed at the doors are ASCII digits; text holds no control characters (issue 16,
items 2 and 8). Pure rules and the schemas that use them: no stack needed."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from services.hibah_bansos import schemas as hb_schemas
from services.whistleblowing import schemas as wb_schemas
from shared import crypto
from shared.plain_text import MULTILINE_ALLOWED, NotDigits, ascii_digits, control_character
from shared.problem import Problem
from tests.support.hibah_bansos import person

ASCII = "3277011203870004"
FULLWIDTH = "".join(chr(0xFF10 + int(d)) for d in ASCII)  # ３２７７…
ARABIC_INDIC = "".join(chr(0x0660 + int(d)) for d in ASCII)  # ٣٢٧٧…
DEVANAGARI = "".join(chr(0x0966 + int(d)) for d in ASCII)


def test_str_isdigit_and_int_take_other_scripts_digits_which_is_the_hole():
    assert (
        ARABIC_INDIC.isdigit() and int(ARABIC_INDIC) == int(ASCII) and int(FULLWIDTH) == int(ASCII)
    )


def test_fullwidth_digits_are_the_ascii_digits_they_look_like():
    assert ascii_digits(FULLWIDTH) == ASCII
    assert ascii_digits("3277-0112 0387\u30000004") == ASCII  # dash, space, ideographic space
    assert ascii_digits("+62 812-3456-7890", keep_plus=True) == "+6281234567890"


@pytest.mark.parametrize("other", [ARABIC_INDIC, DEVANAGARI, "3277O11203870004", "12.5", "+62"])
def test_other_scripts_digits_and_letters_are_no_number(other):
    with pytest.raises(NotDigits):
        ascii_digits(other)


def test_the_blind_index_normal_form_is_ascii():
    assert crypto.normalise("nik", FULLWIDTH) == ASCII
    assert crypto.normalise("bank_account", "１２３-４５６") == "123456"
    assert crypto.normalise("phone", "０８１２ ３４５６ ７８９０") == "+6281234567890"
    # \d would have kept them (a second index for one number): ASCII only
    assert crypto.normalise("nik", ARABIC_INDIC) == ""


def _refusal(model, body) -> Problem:
    with pytest.raises(Problem) as info:
        (hb_schemas.parse_applicant if model is None else lambda b: hb_schemas.parse(model, b))(
            body
        )
    return info.value


def test_hibah_schema_stores_one_form_of_each_number():
    form = hb_schemas.parse_applicant(
        person(
            nik=FULLWIDTH,
            kk="３２７７-０１０１-０１２０-０００１",
            phone="０８１２-３４５６-７８９０",
        )
    )
    assert (form.nik, form.kk, form.phone) == (ASCII, "3277010101200001", "081234567890")


@pytest.mark.parametrize("field", ["nik", "kk", "bank_account", "phone"])
def test_hibah_schema_refuses_other_scripts_digits_naming_the_field(field):
    exc = _refusal(None, person(**{field: ARABIC_INDIC}))
    assert exc.status == 422
    assert [e["field"] for e in exc.errors] == [field]
    assert ARABIC_INDIC not in str(exc.errors)  # never echoed


def test_whistleblowing_identity_nik_is_ascii_after_normalising():
    body = {"category": "x", "what": "sesuatu terjadi", "identity": {"name": "A"}}
    ok = wb_schemas.parse(
        wb_schemas.ReportIn, {**body, "identity": {"name": "A", "nik": FULLWIDTH}}
    )
    assert ok.identity.nik == ASCII
    with pytest.raises(Problem) as info:
        wb_schemas.parse(
            wb_schemas.ReportIn, {**body, "identity": {"name": "A", "nik": ARABIC_INDIC}}
        )
    assert [e["field"] for e in info.value.errors] == ["identity.nik"]


def test_control_characters_are_found_and_long_text_keeps_its_lines():
    assert control_character("a\x00b") == "\x00"
    assert control_character("line\nnext\ttab") == "\n"
    assert control_character("line\nnext\ttab", multiline=True) is None
    assert control_character("ok\u0085", multiline=True) == "\u0085"  # C1 NEL too
    assert control_character("Budi Santoso") is None


def test_the_control_characters_are_exactly_unicode_category_cc_at_every_code_point():
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        cc = unicodedata.category(ch) == "Cc"
        assert (control_character(ch) == ch) is cc, f"U+{code:04X}"
        allowed = ch in MULTILINE_ALLOWED
        assert (control_character(ch, multiline=True) == ch) is (cc and not allowed), code


@pytest.mark.parametrize(
    "model, body, field",
    [
        (wb_schemas.ReportIn, {"category": "x", "what": "sesuatu\x00terjadi"}, "what"),
        (wb_schemas.ReportIn, {"category": "x\x1b", "what": "sesuatu terjadi"}, "category"),
        (
            wb_schemas.ReportIn,
            {"category": "x", "what": "sesuatu terjadi", "reported_persons": [{"name": "a\x07"}]},
            "reported_persons.0.name",
        ),
        (wb_schemas.MessageIn, {"body": "halo\x00"}, "body"),
        (hb_schemas.TransitionIn, {"to": "rejected", "reason": "alasan\x00"}, "reason"),
        (hb_schemas.LpjIn, {"summary": "x\x00", "lines": [{"item": "a", "amount": 1}]}, "summary"),
        (hb_schemas.TokenIn, {"email": "a@b.id", "password": "pw\x00"}, "password"),
    ],
)
def test_a_control_character_is_refused_with_422_naming_the_field(model, body, field):
    with pytest.raises(Problem) as info:
        (wb_schemas.parse if model.__module__.startswith("services.whistle") else hb_schemas.parse)(
            model, body
        )
    assert info.value.status == 422
    errors = info.value.errors
    assert [e["field"] for e in errors] == [field]
    assert "U+00" in errors[0]["reason"]


def test_long_text_may_hold_lines_and_tabs_and_crlf_becomes_lf():
    form = wb_schemas.parse(
        wb_schemas.ReportIn, {"category": "x", "what": "baris satu\r\nbaris\tdua"}
    )
    assert form.what == "baris satu\nbaris\tdua"
    with pytest.raises(Problem):  # a one-line field takes no line feed
        wb_schemas.parse(wb_schemas.ReportIn, {"category": "x\ny", "what": "sesuatu terjadi"})
