"""The statistics pages' reads: the period in the URL, the officials' figures and the public
ones (small cells hidden), each as charts (shared/charts.py) and as download tables with
headers and values in the page's language and times in the tenant's zone.

No content and no identity ever: counts, durations, codes, case numbers and the names of
handlers (colleagues see those on the case pages anyway; the public page has none).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from services.whistleblowing import repository, views
from services.whistleblowing.domain import clocks
from services.whistleblowing.domain import stats as stats_rules
from shared.charts import Chart, Table, table_of
from shared.tenancy import Tenant, today

# The same message ids as the pages' macros (whistleblowing/_macros.html): one translation.
STATUS_LABELS = {
    "received": _l("Received"),
    "acknowledged": _l("Acknowledged"),
    "triaged": _l("Triaged"),
    "investigating": _l("Under investigation"),
    "concluded": _l("Concluded"),
    "archived": _l("Archived"),
}
OUTCOME_LABELS = {
    "accepted": _l("Accepted for handling"),
    "not_wbs_matter": _l("Not a whistleblowing matter"),
    "substantiated": _l("Substantiated"),
    "unsubstantiated": _l("Not substantiated"),
    "forwarded_law_enforcement": _l("Forwarded to law enforcement"),
    "forwarded_higher_apip": _l("Forwarded to a higher internal auditor (APIP)"),
}
CHANNEL_LABELS = {
    "online": _l("Online form"),
    "walk_in": _l("In person"),
    "phone": _l("Telephone"),
    "letter": _l("Letter"),
    "email": _l("E-mail"),
    "lapor": _l("From SP4N-LAPOR!"),
}
QUARTERS = ("q1", "q2", "q3", "q4")
MONTHS = tuple(f"{m:02d}" for m in range(1, 13))
EXPORT_LIMIT = 10_000  # cases in one download


def small_cell(tenant: Tenant) -> int:
    """Public counts below this are hidden (tenant setting `small_cell_threshold`)."""
    return int(views.config(tenant).get("small_cell_threshold", stats_rules.SMALL_CELL))


# --- the period in the URL ------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """`?year=2026&period=q2` (a quarter) or `period=05` (a month); no year: every case.
    Unknown values are ignored (the whole range), so a hand-edited URL still shows a page."""

    year: int | None = None
    part: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Period:
        raw = (args.get("year") or "").strip()
        year = int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2999 else None
        part = (args.get("period") or "").strip().lower()
        if year is None or part not in (*QUARTERS, *MONTHS):
            part = ""
        return cls(year, part)

    def bounds(self, tz: str) -> tuple[datetime | None, datetime | None]:
        """[start, end) as aware times: the period's first and next-after-last local midnight."""
        if self.year is None:
            return None, None
        if self.part in QUARTERS:
            first = 3 * QUARTERS.index(self.part) + 1
            months = (first, first + 3)
        elif self.part:
            months = (int(self.part), int(self.part) + 1)
        else:
            months = (1, 13)
        zone = ZoneInfo(tz)
        start = datetime(self.year, months[0], 1, tzinfo=zone)
        end_year, end_month = (self.year + 1, 1) if months[1] == 13 else (self.year, months[1])
        return start, datetime(end_year, end_month, 1, tzinfo=zone)

    def args(self) -> dict[str, str]:
        out = {}
        if self.year is not None:
            out["year"] = str(self.year)
            if self.part:
                out["period"] = self.part
        return out

    def name(self) -> str:
        """For file names: "2026", "2026-q2", "2026-05", or "semua"."""
        if self.year is None:
            return "semua"
        return f"{self.year}-{self.part}" if self.part else str(self.year)


def period_choices() -> list[tuple[str, str]]:
    from flask_babel import format_date

    quarters = [(q, _("Quarter %(n)s", n=i)) for i, q in enumerate(QUARTERS, start=1)]
    months = [(m, format_date(datetime(2000, int(m), 1), "MMMM")) for m in MONTHS]
    return [("", _("Whole year")), *quarters, *months]


def years(session: Session, tenant: Tenant) -> list[int]:
    found = repository.received_years(session, tenant.timezone)
    this = today(tenant).year
    return sorted({this, *found}, reverse=True)


# --- the officials' figures -----------------------------------------------------------------


def figures(session: Session, tenant: Tenant, period: Period) -> dict[str, Any]:
    start, end = period.bounds(tenant.timezone)
    f = repository.figures(session, today=today(tenant), tz=tenant.timezone, start=start, end=end)
    concluded = sum(n for o, n in f["by_outcome"].items() if o)
    substantiated = f["by_outcome"].get("substantiated", 0)
    f["substantiation_rate"] = round(100 * substantiated / concluded, 1) if concluded else None
    f["anonymous_share"] = round(100 * f["anonymous"] / f["total"], 1) if f["total"] else None
    names = repository.official_names(session)
    f["overdue_by_handler"] = {
        (names.get(k, str(k)) if k else _("Not assigned")): n
        for k, n in f["overdue_by_assignee"].items()
    }
    return f


def _counts(
    key: str,
    title: str,
    header: str,
    counts: Mapping[Any, int | None],
    labels: Mapping[str, Any] | None = None,
    *,
    horizontal: bool = True,
    hidden: str = "",
) -> Chart:
    labels = labels or {}
    return Chart(
        key,
        title,
        [str(labels.get(k, k)) for k in counts],
        [(_("Reports"), list(counts.values()))],
        horizontal=horizontal,
        label_header=header,
        hidden=hidden,
    )


def official_charts(tenant: Tenant, f: dict[str, Any]) -> list[Chart]:
    categories = views.category_labels(tenant)
    d = (f["to_acknowledge"], f["to_first_reply"], f["to_conclude"])
    return [
        _counts("category", _("Reports by category"), _("Category"), f["by_category"], categories),
        _counts("status", _("Reports by status"), _("Status"), f["by_status"], STATUS_LABELS),
        _counts("month", _("Reports by month"), _("Month"), f["by_month"], horizontal=False),
        Chart(
            "durations",
            _("Days to acknowledge, to the first reply and to conclude"),
            [_("Acknowledged"), _("First reply"), _("Concluded")],
            [
                (_("Median"), [x["median"] for x in d]),
                (_("90th percentile"), [x["p90"] for x in d]),
            ],
            horizontal=True,
            label_header=_("Step"),
        ),
        _counts("overdue", _("Overdue cases per handler"), _("Handler"), f["overdue_by_handler"]),
        _counts(
            "outcome",
            _("Outcomes of concluded cases"),
            _("Outcome"),
            {k: n for k, n in f["by_outcome"].items() if k},
            OUTCOME_LABELS,
        ),
        _counts(
            "anonymity",
            _("Anonymous and confidential reports"),
            _("Kind"),
            {
                _("Anonymous"): f["anonymous"],
                _("Confidential (identity sealed)"): f["confidential"],
            },
            horizontal=False,
        ),
        _counts(
            "channel", _("Reports by intake channel"), _("Channel"), f["by_channel"], CHANNEL_LABELS
        ),
    ]


def _local(t: datetime, zone: ZoneInfo) -> datetime:
    return t.astimezone(zone).replace(tzinfo=None)


def case_table(session: Session, tenant: Tenant, period: Period) -> Table:
    """The cases of the period, one row each: no content, no identity; times in the tenant's
    zone (its abbreviation, e.g. WIB, in the header), labels in the page's language."""
    start, end = period.bounds(tenant.timezone)
    zone = ZoneInfo(tenant.timezone)
    abbrev = datetime.now(zone).tzname() or tenant.timezone
    names = repository.official_names(session)
    categories = views.category_labels(tenant)
    on = today(tenant)
    rows = []
    for r in repository.received_between(session, start, end, EXPORT_LIMIT):
        flags = clocks.flags(
            on, r.status, r.outcome, clocks.DueDates(r.acknowledge_by, r.feedback_by)
        )
        rows.append(
            [
                r.case_number,
                categories.get(r.category, r.category),
                str(STATUS_LABELS.get(r.status, r.status)),
                str(OUTCOME_LABELS.get(r.outcome, r.outcome)) if r.outcome else "",
                _local(r.received_at, zone),
                r.acknowledge_by,
                r.feedback_by,
                _("Yes") if flags.overdue else _("No"),
                names.get(r.assignee_id, "") if r.assignee_id else "",
                _("Anonymous") if r.sealed_identity is None else _("Confidential"),
            ]
        )
    return Table(
        _("Cases"),
        [
            _("Case number"),
            _("Category"),
            _("Status"),
            _("Outcome"),
            _("Received (%(zone)s)", zone=abbrev),
            _("Acknowledge by"),
            _("Feedback by"),
            _("Overdue"),
            _("Handler"),
            _("Identity"),
        ],
        rows,
    )


def summary_table(f: dict[str, Any]) -> Table:
    def pct(v: float | None) -> Any:
        return "" if v is None else v

    return Table(
        _("Summary"),
        [_("Figure"), _("Value")],
        [
            [_("Reports"), f["total"]],
            [_("Substantiated among concluded (percent)"), pct(f["substantiation_rate"])],
            [_("Anonymous reports (percent)"), pct(f["anonymous_share"])],
            [_("Overdue"), sum(f["overdue_by_assignee"].values())],
        ],
    )


def official_tables(session: Session, tenant: Tenant, period: Period) -> list[Table]:
    f = figures(session, tenant, period)
    return [
        summary_table(f),
        *(table_of(c) for c in official_charts(tenant, f)),
        case_table(session, tenant, period),
    ]


# --- the public figures ---------------------------------------------------------------------


def public_figures(session: Session, tenant: Tenant, period: Period) -> dict[str, Any]:
    """What anyone may read: counts by category, status and month with cells below the
    tenant's threshold hidden (None), medians only over enough cases."""
    threshold = small_cell(tenant)
    f = figures(session, tenant, period)

    def enough(x: dict[str, Any]) -> Any:
        return x["median"] if x["count"] >= threshold else None

    return {
        "total": stats_rules.suppress_total(f["total"], threshold),
        "by_category": stats_rules.suppress(f["by_category"], threshold),
        "by_status": stats_rules.suppress(f["by_status"], threshold),
        "by_month": stats_rules.suppress(f["by_month"], threshold),
        "median_days_to_acknowledge": enough(f["to_acknowledge"]),
        "median_days_to_conclude": enough(f["to_conclude"]),
        "small_cell_threshold": threshold,
    }


def public_charts(tenant: Tenant, p: dict[str, Any]) -> list[Chart]:
    hidden = f"<{p['small_cell_threshold']}"
    categories = views.category_labels(tenant)
    return [
        _counts(
            "category",
            _("Reports by category"),
            _("Category"),
            p["by_category"],
            categories,
            hidden=hidden,
        ),
        _counts(
            "status",
            _("Reports by status"),
            _("Status"),
            p["by_status"],
            STATUS_LABELS,
            hidden=hidden,
        ),
        _counts(
            "month",
            _("Reports by month"),
            _("Month"),
            p["by_month"],
            horizontal=False,
            hidden=hidden,
        ),
    ]
