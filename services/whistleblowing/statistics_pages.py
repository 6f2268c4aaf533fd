"""The statistics pages: the officials' figures (handlers and auditors, a page session) with
charts, their CSV/XLSX downloads, and the public page's charts (small cells hidden).

Charts are SVG images from their own routes (`.../statistik/<key>.svg`, same filters), each
beside its numbers as a table; the period filter is in the URL (`?year=2026&period=q2`).
"""

from __future__ import annotations

from flask import Blueprint, g, render_template, request
from flask_babel import gettext as _

from services.whistleblowing import office_pages, statistics, views
from services.whistleblowing.domain import access
from shared import charts
from shared.auth import require_roles
from shared.problem import Refused
from shared.web import db, no_store

bp = Blueprint("wb_stats", __name__)
bp.after_request(no_store)
bp.context_processor(office_pages._office_menu)  # the same officials' menu on these pages
OFFICE = "/t/<tenant>/whistleblowing/office/statistik"
PUBLIC = "/t/<tenant>/whistleblowing/statistik"
FORMATS = ("csv", "xlsx")


def _chart(found: list[charts.Chart], key: str):
    chart = next((c for c in found if c.key == key), None)
    if chart is None:
        raise Refused(404, "No such chart.")
    return charts.svg_response(chart)


@bp.get(OFFICE)
@require_roles(*access.STATS_READERS)
def page():
    period = statistics.Period.from_args(request.args)
    f = statistics.figures(db(), g.tenant, period)
    return render_template(
        "whistleblowing/office/statistics.html",
        f=f,
        charts=statistics.official_charts(g.tenant, f),
        period=period,
        years=statistics.years(db(), g.tenant),
        periods=statistics.period_choices(),
    )


@bp.get(f"{OFFICE}/<key>.svg")
@require_roles(*access.STATS_READERS)
def chart(key: str):
    period = statistics.Period.from_args(request.args)
    f = statistics.figures(db(), g.tenant, period)
    return _chart(statistics.official_charts(g.tenant, f), key)


@bp.get(f"{OFFICE}.<fmt>")
@require_roles(*access.STATS_READERS)
def download(fmt: str):
    """The page's tables and its cases (no content, no identity) as CSV or XLSX."""
    if fmt not in FORMATS:
        raise Refused(404, "No such download.")
    period = statistics.Period.from_args(request.args)
    tables = statistics.official_tables(db(), g.tenant, period)
    return charts.download(f"{g.tenant.slug}-statistik-{period.name()}", tables, fmt)


def public_page():
    """The public statistics page (wb_pages.statistics): small cells hidden as "<5"."""
    period = statistics.Period.from_args(request.args)
    figures = statistics.public_figures(db(), g.tenant, period)
    return render_template(
        "whistleblowing/statistics.html",
        stats=figures,
        charts=statistics.public_charts(g.tenant, figures),
        categories=views.category_labels(g.tenant),
        period=period,
        years=statistics.years(db(), g.tenant),
        periods=statistics.period_choices(),
        hidden=f"<{figures['small_cell_threshold']}",
        chart_endpoint="wb_stats.public_chart",
        title=_("Report statistics"),
    )


@bp.get(f"{PUBLIC}/<key>.svg")
def public_chart(key: str):
    period = statistics.Period.from_args(request.args)
    figures = statistics.public_figures(db(), g.tenant, period)
    return _chart(statistics.public_charts(g.tenant, figures), key)
