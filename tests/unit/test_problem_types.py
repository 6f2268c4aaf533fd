"""Problem types (RFC 9457 §3.1.1): `about:blank` carries nothing beyond the status, so every
extension member the code puts in a problem belongs to a registered type (shared/problem.py),
found from the source so that a new member without a type fails here, not in production."""

from __future__ import annotations

import ast

import pytest

from shared.problem import (
    BLANK,
    PROBLEM_TYPES,
    Problem,
    Refused,
    problem_of,
    type_of,
)
from tests.support import ROOT

# calls whose keyword arguments beyond these become problem members
PROBLEM_BUILDERS = {"Problem", "Refused", "ReceiptRejected", "FileRefused"}
NOT_MEMBERS = {"field", "errors", "headers", "type_", "title", "detail"}


def _extension_members_in_the_code() -> list[tuple[str, int, int, frozenset[str]]]:
    """(file, line, status, members) of each problem built with extension members."""
    found = []
    for folder in ("services", "shared", "operations"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                members = {k.arg for k in node.keywords if k.arg and k.arg not in NOT_MEMBERS}
                if name not in PROBLEM_BUILDERS or not members:
                    continue
                status = (
                    node.args[0].value
                    if node.args and isinstance(node.args[0], ast.Constant)
                    else None
                )
                found.append((str(path.relative_to(ROOT)), node.lineno, status, frozenset(members)))
    # domain errors that say their members in an `extra` property
    for cls in _domain_errors_with_extra():
        found.append(cls)
    return found


def _domain_errors_with_extra() -> list[tuple[str, int, int, frozenset[str]]]:
    from services.whistleblowing.domain import lifecycle

    out = []
    for name in ("IllegalTransition", "TransitionNotPermitted"):
        cls = getattr(lifecycle, name)
        instance = cls("a", "b") if name == "IllegalTransition" else cls("b", frozenset({"r"}))
        out.append((f"lifecycle.{name}", 0, cls.status, frozenset(instance.extra)))
    return out


def test_the_scan_finds_the_members_in_use():
    members = set().union(*(m for *_, m in _extension_members_in_the_code()))
    assert {"required_roles", "retry_after", "ceiling", "failed", "step"} <= members


@pytest.mark.parametrize(
    "where,line,status,members",
    _extension_members_in_the_code(),
    ids=lambda v: str(v) if isinstance(v, str) else None,
)
def test_every_extension_member_in_the_code_has_a_registered_type(where, line, status, members):
    if status is None:  # a status computed at run time (FileRefused passes its own on)
        assert any(members <= set(t.members) for t in PROBLEM_TYPES.values()), (where, line)
        return
    assert type_of(status, members) != BLANK, (where, line, status, sorted(members))


def test_a_problem_takes_the_type_of_its_members():
    assert Problem(403, required_roles=["x"]).to_dict()["type"] == "/problems/role-required"
    assert Problem(404).to_dict() == {"type": BLANK, "title": "Not Found", "status": 404}
    refused = Refused(422, "too long", "what").to_problem().to_dict()
    assert refused["type"] == "/problems/invalid-fields" and refused["errors"]
    # errors beside the members of a type: that type
    dup = Refused(409, "taken", "nik", existing_application="HB-1").to_problem().to_dict()
    assert dup["type"] == "/problems/duplicate-application"
    assert Problem(418, type_="https://example.org/teapot").to_dict()["type"].endswith("teapot")


def test_domain_errors_take_their_types_too():
    from services.whistleblowing.domain.lifecycle import IllegalTransition

    assert (
        problem_of(IllegalTransition("received", "closed")).type == "/problems/illegal-transition"
    )


def test_an_unregistered_member_falls_back_to_blank_and_is_caught_here():
    assert type_of(409, {"surprise"}) == BLANK


def test_every_type_describes_its_members_and_has_a_distinct_name():
    uris = [t.uri for t in PROBLEM_TYPES.values()]
    assert len(set(uris)) == len(uris)
    for t in PROBLEM_TYPES.values():
        described = t.describe()
        assert described["type"].startswith("/problems/") and described["description"]
        assert "errors" in described["members"]
