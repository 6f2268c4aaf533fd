"""The statistics page's reads: per programme and per OPD of a fiscal year, the ceiling
(pagu), what is allocated and disbursed (integer rupiah), applications and overdue LPJs, as
charts (shared/charts.py) and as download tables in the page's language.

No person appears: amounts and counts per programme and OPD only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from services.hibah_bansos import repository
from services.hibah_bansos.pages import KIND_LABELS, STATUS_LABELS
from services.hibah_bansos.views import programme_name
from shared.charts import Chart, Table, table_of
from shared.tenancy import Tenant, today

SMALL_CELL = 5  # as the whistleblowing public figures: fewer people than this are not shown


def fiscal_year(args: Mapping[str, str]) -> int | None:
    """`?year=2026`; anything else: every year."""
    raw = (args.get("year") or "").strip()
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2999 else None


def years(session: Session, tenant: Tenant) -> list[int]:
    return sorted({today(tenant).year, *repository.fiscal_years(session)}, reverse=True)


def figures(session: Session, tenant: Tenant, year: int | None) -> dict[str, Any]:
    programmes = repository.programmes_of_year(session, year)
    ids = [p.id for p in programmes]
    counts = repository.application_counts(session, ids, today(tenant)) if ids else {}
    none = {"applications": 0, "funded": 0, "lpj_overdue": 0}
    rows = [
        {
            "code": p.code,
            "name": programme_name(p),
            "kind": p.kind,
            "opd": p.config.get("opd") or _("No OPD"),
            "fiscal_year": p.fiscal_year,
            "ceiling": int(p.ceiling),
            "allocated": int(p.allocated),
            "disbursed": int(p.disbursed),
            **counts.get(p.id, none),
        }
        for p in programmes
    ]
    by_opd: dict[str, dict[str, Any]] = {}
    for r in rows:
        o = by_opd.setdefault(
            r["opd"],
            {"opd": r["opd"], "programmes": 0, **dict.fromkeys(AMOUNTS, 0), **dict(none)},
        )
        o["programmes"] += 1
        for k in (*AMOUNTS, *none):
            o[k] += r[k]
    return {
        "programmes": rows,
        "opds": sorted(by_opd.values(), key=lambda o: o["opd"]),
        "by_status": repository.status_counts_of(session, ids) if ids else {},
        "total": {k: sum(r[k] for r in rows) for k in (*AMOUNTS, *none)},
    }


AMOUNTS = ("ceiling", "allocated", "disbursed")


def _amount_series(rows: list[dict[str, Any]]) -> list[tuple[str, list[Any]]]:
    names = {
        "ceiling": _("Budget ceiling"),
        "allocated": _("Allocated"),
        "disbursed": _("Disbursed"),
    }
    return [(names[k], [r[k] for r in rows]) for k in AMOUNTS]


def charts(f: dict[str, Any]) -> list[Chart]:
    programmes, opds = f["programmes"], f["opds"]
    order = [s for s in STATUS_LABELS if s in f["by_status"]]
    return [
        Chart(
            "programmes",
            _("Budget per programme"),
            [r["name"] for r in programmes],
            _amount_series(programmes),
            horizontal=True,
            label_header=_("Programme"),
            money=True,
            unit_note=_("millions of rupiah"),
        ),
        Chart(
            "opd",
            _("Budget per OPD"),
            [o["opd"] for o in opds],
            _amount_series(opds),
            horizontal=True,
            label_header=_("OPD"),
            money=True,
            unit_note=_("millions of rupiah"),
        ),
        Chart(
            "lpj",
            _("Accountability reports overdue per programme"),
            [r["name"] for r in programmes],
            [(_("Accountability reports overdue"), [r["lpj_overdue"] for r in programmes])],
            horizontal=True,
            label_header=_("Programme"),
        ),
        Chart(
            "status",
            _("Applications by status"),
            [str(STATUS_LABELS[s]) for s in order],
            [(_("Number of applications"), [f["by_status"][s] for s in order])],
            horizontal=True,
            label_header=_("Status"),
        ),
    ]


def public_charts(f: dict[str, Any]) -> list[Chart]:
    """The transparency page's chart: public money per programme (no person in it)."""
    return [c for c in charts(f) if c.key == "programmes"]


def public_recipients(n: int) -> str | None:
    """A bansos programme's recipient count as the public reads it: below the small-cell
    threshold it is hidden (None), since the total approved would then show what one or two
    named neighbours received."""
    return None if 0 < n < SMALL_CELL else str(n)


def tables(f: dict[str, Any]) -> list[Table]:
    """The download: every programme with its figures, then each chart's table."""
    programme_table = Table(
        _("Programmes"),
        [
            _("Code"),
            _("Programme"),
            _("Kind"),
            _("OPD"),
            _("Fiscal year"),
            _("Budget ceiling (Rp)"),
            _("Allocated (Rp)"),
            _("Disbursed (Rp)"),
            _("Applications"),
            _("Funded"),
            _("Accountability reports overdue"),
        ],
        [
            [
                r["code"],
                r["name"],
                str(KIND_LABELS.get(r["kind"], r["kind"])),
                r["opd"],
                r["fiscal_year"],
                r["ceiling"],
                r["allocated"],
                r["disbursed"],
                r["applications"],
                r["funded"],
                r["lpj_overdue"],
            ]
            for r in f["programmes"]
        ],
    )
    return [programme_table, *(table_of(c) for c in charts(f))]
