"""Separation of duties: the same official cannot do two named steps of one case.

One mechanism for every service. A rule is a set of steps that must all be done by different
officials, e.g. `frozenset({"evaluate", "verify", "approve"})` for a hibah proposal. The caller
passes who did which step of the case so far (pseudonymous official ids) and who is about to
do `step`; a violation raises `SeparationOfDutiesViolation`, which the web layer answers with
409 problem (shared/auth_routes.py). Pure domain logic: no Flask, no database.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

# step name -> who did it: one actor, or every actor who ever did it (a step done again after
# a return keeps its earlier actors: whoever evaluated the first round may not verify the
# second)
Actors = Mapping[str, str | Collection[str]]


class SeparationOfDutiesViolation(Exception):
    """`actor` already did `earlier_step` of this case, so may not do `step`."""

    def __init__(self, step: str, earlier_step: str) -> None:
        self.step, self.earlier_step = step, earlier_step
        super().__init__(
            f"The official who did '{earlier_step}' on this case may not also do '{step}'."
        )


def _did(previous_actors: Actors, step: str, actor: str) -> bool:
    done = previous_actors.get(step)
    if done is None:
        return False
    return done == actor if isinstance(done, str) else actor in done


def check_separation(
    previous_actors: Actors, step: str, actor: str, rules: Iterable[frozenset[str]]
) -> None:
    """Raise if `actor` did another step that shares a rule with `step`.

    `previous_actors` maps step name -> the actor who did it, or every actor who did it
    (`actors_by_step`). Steps not named in any rule with `step` are ignored; re-doing the same
    step (e.g. a corrected evaluation) is allowed.
    """
    for rule in rules:
        if step not in rule:
            continue
        for earlier in sorted(rule - {step}):  # sorted: the same case always names the same step
            if _did(previous_actors, earlier, actor):
                raise SeparationOfDutiesViolation(step, earlier)


def actors_by_step(done: Iterable[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """(step, actor) pairs of a case's whole history -> every actor of every step."""
    out: dict[str, set[str]] = {}
    for step, actor in done:
        out.setdefault(step, set()).add(actor)
    return {step: frozenset(actors) for step, actors in out.items()}


def allowed(
    previous_actors: Actors, step: str, actor: str, rules: Iterable[frozenset[str]]
) -> bool:
    """The same rule as a question (for showing or hiding an action on a page)."""
    try:
        check_separation(previous_actors, step, actor, rules)
    except SeparationOfDutiesViolation:
        return False
    return True
