"""Statistics rules: medians of durations, and small-cell suppression for public figures.

A public count between 1 and SMALL_CELL-1 could point at a person (one report from a small
unit in one month), so it is hidden. If a dimension then has exactly one hidden cell, its
total would give it away, so the next-smallest visible cell is hidden too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from statistics import median

SMALL_CELL = 5


def median_or_none(values: Iterable[float]) -> float | None:
    values = list(values)
    return round(float(median(values)), 1) if values else None


def suppress(counts: Mapping[str, int], threshold: int = SMALL_CELL) -> dict[str, int | None]:
    shown: dict[str, int | None] = dict(counts)
    hidden = [k for k, v in counts.items() if 0 < v < threshold]
    for k in hidden:
        shown[k] = None
    if len(hidden) == 1:
        rest = sorted((v, k) for k, v in counts.items() if v >= threshold)
        if rest:
            shown[rest[0][1]] = None
    return shown


def suppress_total(total: int, threshold: int = SMALL_CELL) -> int | None:
    return None if 0 < total < threshold else total
