"""One page of a list: the same parameters, defaults and 422 rule in every API and office list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from shared.problem import Refused

# The same in both services: API lists, and the officials' list pages.
API_DEFAULT, API_MAXIMUM = 20, 100
LIST_PAGE_SIZE = 25


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @classmethod
    def from_args(cls, args: Mapping[str, str], default: int, maximum: int) -> Page:
        """`page` (from 1) and `per_page` (1..maximum) from query arguments; anything else is
        a 422 naming the parameter, never a silent clamp."""
        raw_page, raw_size = args.get("page", "1"), args.get("per_page", str(default))
        errors = []
        if not _whole(raw_page) or int(raw_page) < 1:
            errors.append({"field": "page", "reason": "a whole number from 1"})
        if not _whole(raw_size) or not 1 <= int(raw_size) <= maximum:
            errors.append({"field": "per_page", "reason": f"a whole number from 1 to {maximum}"})
        if errors:
            raise Refused(422, "page and per_page are whole numbers.", errors=errors)
        return cls(int(raw_page), int(raw_size))


def _whole(value: str) -> bool:
    # ASCII digits only: str.isdigit() also takes fullwidth and other scripts' digits
    return value.isascii() and value.isdigit() and len(value) <= 9
