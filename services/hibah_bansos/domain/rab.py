"""RAB (Rencana Anggaran Biaya, the budget plan): lines of item, volume, unit and unit price,
each line's total computed here (integer rupiah), which must add up to the request.

A line may also give only its total (`amount`, the API's first shape: volume 1, no unit); a
line that gives volume and unit price and a total that is not their product is refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.hibah_bansos.domain.money import InvalidAmount, rupiah

MAX_VOLUME = 10**9


@dataclass(frozen=True)
class BudgetLine:
    item: str
    amount: int  # the line total, integer rupiah
    volume: int | None = None
    unit: str | None = None
    unit_price: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "volume": self.volume,
            "unit": self.unit,
            "unit_price": self.unit_price,
            "amount": self.amount,
        }


def build_line(
    i: int,
    item: str,
    *,
    volume: int | None = None,
    unit: str | None = None,
    unit_price: int | None = None,
    amount: int | None = None,
) -> tuple[BudgetLine | None, list[tuple[str, str]]]:
    """One line from what was typed, its total computed; or the [(field, reason)] at fault."""
    problems: list[tuple[str, str]] = []
    if not item.strip():
        problems.append((f"rab.{i}.item", "each line names what the money is for"))
    if volume is None and unit_price is None:
        if amount is None:
            problems.append((f"rab.{i}.unit_price", "give a volume and a unit price"))
        return (None if problems else BudgetLine(item, amount or 0)), problems
    if volume is None:
        problems.append((f"rab.{i}.volume", "give the volume (how many units)"))
    elif isinstance(volume, bool) or not isinstance(volume, int) or not 0 < volume <= MAX_VOLUME:
        problems.append((f"rab.{i}.volume", "must be a whole number of units, more than zero"))
    if unit_price is None:
        problems.append((f"rab.{i}.unit_price", "give the price of one unit"))
    else:
        try:
            rupiah(unit_price)
        except InvalidAmount as exc:
            problems.append((f"rab.{i}.unit_price", str(exc)))
    if problems:
        return None, problems
    assert volume is not None and unit_price is not None
    total = volume * unit_price
    try:
        rupiah(total)
    except InvalidAmount as exc:
        return None, [(f"rab.{i}.amount", str(exc))]
    if amount is not None and amount != total:
        return None, [
            (f"rab.{i}.amount", f"volume x unit price is {total}, not the {amount} given")
        ]
    return BudgetLine(item, total, volume, (unit or "").strip() or None, unit_price), []


def total(lines: list[BudgetLine]) -> int:
    return sum(line.amount for line in lines)


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
    if not problems and total(lines) != requested:
        problems.append(
            (
                "rab",
                f"the lines add up to {total(lines)}, not to the requested {requested}",
            )
        )
    return problems


def lines_of(raw: list[Any]) -> tuple[list[BudgetLine], list[tuple[str, str]]]:
    """Budget lines from the parsed request lines (schemas.RabLineIn), totals computed."""
    lines, problems = [], []
    for i, r in enumerate(raw):
        line, wrong = build_line(
            i, r.item, volume=r.volume, unit=r.unit, unit_price=r.unit_price, amount=r.amount
        )
        problems += wrong
        if line is not None:
            lines.append(line)
    return lines, problems
