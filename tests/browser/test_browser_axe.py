"""The accessibility check itself: it must not pass by finding nothing."""

from __future__ import annotations


def test_axe_finds_serious_problems_on_a_page_that_has_them(visitor):
    """A page with an unlabelled field, an image without text and no language gets serious or
    critical findings from the same axe-core run the citizen pages go through."""
    bad = visitor("control")
    bad.page.set_content(
        "<html><head><title>x</title></head><body><main>"
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<input type="text"></main></body></html>'
    )
    found = {v["id"]: v["impact"] for v in bad.axe()}
    assert {"image-alt", "label", "html-has-lang"} <= found.keys(), found
    assert {found["image-alt"], found["label"]} <= {"serious", "critical"}, found
