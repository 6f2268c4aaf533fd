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
