"""Separation of duties: the same official cannot do two named steps of one case.

One mechanism for every service. A rule is a set of steps that must all be done by different
officials, e.g. `frozenset({"evaluate", "verify", "approve"})` for a hibah proposal. The caller
passes who did which step of the case so far (pseudonymous official ids) and who is about to
do `step`; a violation raises `SeparationOfDutiesViolation`, which the web layer answers with
409 problem (shared/auth_routes.py). Pure domain logic: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class SeparationOfDutiesViolation(Exception):
    """`actor` already did `earlier_step` of this case, so may not do `step`."""

    def __init__(self, step: str, earlier_step: str) -> None:
        self.step, self.earlier_step = step, earlier_step
        super().__init__(
            f"The official who did '{earlier_step}' on this case may not also do '{step}'."
        )


def check_separation(
    previous_actors: Mapping[str, str], step: str, actor: str, rules: Iterable[frozenset[str]]
) -> None:
    """Raise if `actor` did another step that shares a rule with `step`.

    `previous_actors` maps step name -> the actor who did it. Steps not named in any rule
    with `step` are ignored; re-doing the same step (e.g. a corrected evaluation) is allowed.
    """
    for rule in rules:
        if step not in rule:
            continue
        for earlier in sorted(rule - {step}):  # sorted: the same case always names the same step
            if previous_actors.get(earlier) == actor:
                raise SeparationOfDutiesViolation(step, earlier)


def allowed(
    previous_actors: Mapping[str, str], step: str, actor: str, rules: Iterable[frozenset[str]]
) -> bool:
    """The same rule as a question (for showing or hiding an action on a page)."""
    try:
        check_separation(previous_actors, step, actor, rules)
    except SeparationOfDutiesViolation:
        return False
    return True
