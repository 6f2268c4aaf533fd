"""LPJ (Laporan Pertanggungjawaban, the recipient's accountability report): due date, overdue
flag and the spending lines, which must stay within what was paid out."""

from __future__ import annotations

from datetime import date

DEFAULT_DUE = "01-10"  # 10 January of the year after the fiscal year (Permendagri 32/2011)


def due_date(fiscal_year: int, lpj_due: str | None = None) -> date:
    month, day = (int(p) for p in (lpj_due or DEFAULT_DUE).split("-"))
    return date(fiscal_year + 1, month, day)


def is_overdue(status: str, due: date | None, today: date) -> bool:
    """Money paid out, no report filed, past the deadline."""
    return status in ("agreement_signed", "disbursed") and due is not None and today > due


def spending_problems(lines: list[tuple[str, int]], disbursed: int) -> list[tuple[str, str]]:
    problems = []
    if not lines:
        return [("lines", "an LPJ lists at least one spending line")]
    for i, (item, amount) in enumerate(lines):
        if not item.strip():
            problems.append((f"lines.{i}.item", "each line names what was bought or paid"))
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            problems.append((f"lines.{i}.amount", "must be a whole, positive number of rupiah"))
    if not problems and sum(a for _, a in lines) > disbursed:
        problems.append(
            (
                "lines",
                f"spending of {sum(a for _, a in lines)} is more than the "
                f"{disbursed} rupiah disbursed",
            )
        )
    return problems


def unspent(disbursed: int, spent: int) -> int:
    """What must go back to the kas daerah: paid out and not spent."""
    return max(disbursed - spent, 0)


def refund_problems(
    amount: int, on: date, disbursed: int, spent: int, today: date
) -> list[tuple[str, str]]:
    """A return of the unspent balance is of the whole balance, on a day that has come."""
    problems = []
    balance = unspent(disbursed, spent)
    if balance == 0:
        problems.append(("refund.amount", "nothing is unspent: there is no balance to return"))
    elif amount != balance:
        problems.append(
            ("refund.amount", f"the unspent balance is {balance}: return all of it, not {amount}")
        )
    if on > today:
        problems.append(("refund.date", "the date of the return is in the future"))
    return problems


def actual_by_line(lines: list[tuple[int | None, int]], rab_lines: int) -> list[tuple[str, str]]:
    """Spending lines that name a budget-plan line must name one the plan has."""
    return [
        (f"lines.{i}.rab_line", f"the budget plan has lines 0 to {rab_lines - 1}")
        for i, (line, _) in enumerate(lines)
        if line is not None and line >= rab_lines
    ]
