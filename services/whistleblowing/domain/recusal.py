"""Conflicts of interest: a handler who works in a reported unit, or is reported, is excluded.

Matching works on normalised marks (`unit:<name>`, `person:<name>`), which the service stores
only as keyed hashes, so conflicts are found without decrypting reports or keeping handlers'
units in the clear. Matching is exact after normalisation: "Dinas PUPR" does not match
"Dinas Pekerjaan Umum"; a handler can always recuse themselves by hand.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

_PUNCT = re.compile(r"[^\w\s]")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return _SPACE.sub(" ", _PUNCT.sub(" ", text)).strip()


def marks(work_units: Iterable[str] = (), names: Iterable[str] = ()) -> set[str]:
    """The marks of a set of units and people (empty values mark nothing)."""
    out = {f"unit:{n}" for n in map(normalise, work_units) if n}
    out |= {f"person:{n}" for n in map(normalise, names) if n}
    return out


def report_marks(reported_persons: Iterable[dict[str, Any]]) -> set[str]:
    persons = list(reported_persons)
    return marks((p.get("work_unit", "") for p in persons), (p.get("name", "") for p in persons))


def conflict(handler: set[str], report: set[str]) -> str | None:
    """'reported_unit' | 'reported_person' | None (a person match wins: it is the stronger)."""
    common = handler & report
    if any(m.startswith("person:") for m in common):
        return "reported_person"
    if common:
        return "reported_unit"
    return None
