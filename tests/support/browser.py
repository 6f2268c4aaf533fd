"""Checks the browser tests (tests/browser) make on every page they look at."""

from __future__ import annotations


def no_sideways_scroll(page, label: str) -> None:
    """The page itself never scrolls sideways (a wide table scrolls inside its own box)."""
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{label} scrolls sideways: {width[0]} > {width[1]} px"
