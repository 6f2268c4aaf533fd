"""RAB (Rencana Anggaran Biaya, the budget plan): lines that must add up to the request."""

from __future__ import annotations

from dataclasses import dataclass

from services.hibah_bansos.domain.money import InvalidAmount, rupiah


@dataclass(frozen=True)
class BudgetLine:
    item: str
    amount: int


def check_rab(lines: list[BudgetLine], requested: int) -> list[tuple[str, str]]:
    """[(field, reason)] for every problem; empty when the plan is sound."""
    problems = []
    if not lines:
        return [("rab", "a budget plan (RAB) needs at least one line")]
    for i, line in enumerate(lines):
        if not line.item.strip():
            problems.append((f"rab.{i}.item", "each line names what the money is for"))
        try:
            rupiah(line.amount)
        except InvalidAmount as exc:
            problems.append((f"rab.{i}.amount", str(exc)))
    if not problems and sum(line.amount for line in lines) != requested:
        problems.append(
            (
                "rab",
                f"the lines add up to {sum(line.amount for line in lines)}, "
                f"not to the requested {requested}",
            )
        )
    return problems
