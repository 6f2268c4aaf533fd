"""What text typed at the doors may hold: ASCII digits for numbers, no control characters.

Pure rules (standard library only), used by every service's schemas (`typed_number`,
`check_no_control_characters`); `shared.crypto.normalise` takes the same NFKC before a blind
index, and the beneficiary file reads its cells through NFKC too:

- `ascii_digits(value)`: a number people type (NIK, KK, bank account, phone, an amount) as
  ASCII digits. NFKC first (fullwidth `１２３` becomes `123`), then spaces and dashes go; what is
  left must be ASCII 0-9. `str.isdigit()` and `int()` also take Arabic-Indic `٣`, Devanagari
  `३` and many more: the same NIK written three ways would be three people.
- `control_character(value, multiline=...)`: the first control character (Unicode category
  Cc) in `value`, or None. Long text (`multiline`) may hold line feeds and tabs; a browser's
  CR LF is made LF first by `plain_lines`.
"""

from __future__ import annotations

import re
import unicodedata

# spaces (any Unicode space after NFKC), dashes and the dots people group digits with are
# separators, not digits; anything else that is not 0-9 makes the value no number
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_ASCII_DIGITS = re.compile(r"[0-9]*")
MULTILINE_ALLOWED = frozenset("\n\t")
# Unicode category Cc is exactly these 65 code points (a unit test checks every code point);
# one regex search instead of a category look-up per character (0.5 ms of a report's text)
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # LF and TAB allowed


class NotDigits(ValueError):
    """The value holds something other than digits, spaces and dashes."""


def ascii_digits(value: str, *, keep_plus: bool = False) -> str:
    """`value` as ASCII digits only (NFKC, spaces and dashes dropped), or NotDigits.

    `keep_plus`: a leading `+` (a phone number's international prefix) is kept."""
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    plus = ""
    if keep_plus and text.startswith("+"):
        plus, text = "+", text[1:]
    if not _ASCII_DIGITS.fullmatch(text):
        raise NotDigits("only the digits 0-9, spaces and dashes")
    return plus + text


def is_ascii_digits(value: str) -> bool:
    """The value is already nothing but ASCII 0-9 (and not empty)."""
    return bool(value) and value.isascii() and value.isdigit()


def plain_lines(value: str) -> str:
    """Line ends as LF (browsers send CR LF from a textarea)."""
    return value.replace("\r\n", "\n").replace("\r", "\n")


def control_character(value: str, *, multiline: bool = False) -> str | None:
    """The first control character in `value` (`\\x00` … `\\x1f`, `\\x7f` … `\\x9f`), or None;
    `multiline` text may hold LF and TAB."""
    found = (_CONTROL_MULTILINE if multiline else _CONTROL).search(value)
    return found.group() if found else None


def describe(ch: str) -> str:
    """A control character named without echoing it: `U+0000`."""
    return f"U+{ord(ch):04X}"


def check_no_control_characters(value: object, *, multiline: bool = False) -> object:
    """`value` (a string, or a list or dict of them, as a schema field holds) unchanged, or
    ValueError naming the first control character found (never the value itself). Multiline
    text has its CR LF made LF."""
    if isinstance(value, str):
        if multiline:
            value = plain_lines(value)
        ch = control_character(value, multiline=multiline)
        if ch is not None:
            raise ValueError(f"holds the control character {describe(ch)}; remove it")
        return value
    if isinstance(value, list):
        return [check_no_control_characters(v, multiline=multiline) for v in value]
    if isinstance(value, dict):
        for key in value:
            check_no_control_characters(key)
    return value


def typed_number(
    value: object, *, digits: tuple[int, int], keep_plus: bool = False, keep_format: bool = False
) -> str:
    """A schema's number field (NIK, KK, bank account, phone): ASCII digits after NFKC with
    spaces and dashes dropped, between `digits` (min, max) long, or ValueError. The input is
    capped before NFKC (which can make a string longer). `keep_format`: the value is checked
    the same way but kept as typed after NFKC (`+62 811 2222 3333`), for a number that is
    shown to a person and never indexed."""
    if not isinstance(value, str):
        raise ValueError("send the number as text")
    if len(value) > 4 * digits[1]:
        raise ValueError(f"has at most {digits[1]} digits")
    try:
        number = ascii_digits(value, keep_plus=keep_plus)
    except NotDigits as exc:
        raise ValueError(str(exc)) from None
    low, high = digits
    if not low <= len(number.lstrip("+")) <= high:
        raise ValueError(
            f"has exactly {low} digits" if low == high else f"has {low} to {high} digits"
        )
    return unicodedata.normalize("NFKC", value).strip() if keep_format else number
