"""Money is integer rupiah, always: no floats, no decimal strings."""

from __future__ import annotations

from typing import Any


class InvalidAmount(ValueError):
    pass


def rupiah(value: Any, *, allow_zero: bool = False) -> int:
    """A whole, positive number of rupiah, or InvalidAmount naming why not."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount("must be a whole number of rupiah (an integer, not a decimal)")
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidAmount("must be more than zero rupiah")
    if value > 10**15:
        raise InvalidAmount("is larger than any city budget")
    return value
