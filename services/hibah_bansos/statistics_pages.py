"""The statistics page of the hibah-bansos officials: per programme and OPD of a fiscal year
(`?year=2026`), with charts (SVG images from `.../statistik/<key>.svg`) beside their tables,
and the same figures as CSV or XLSX. Every official of the tenant (auditors too) reads it."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from services.hibah_bansos import office_pages, statistics
from services.hibah_bansos.domain.access import OFFICIALS
from shared import charts
from shared.auth import require_roles
from shared.problem import Refused
from shared.request_context import db
from shared.web import no_store

bp = Blueprint("hb_stats", __name__)
bp.after_request(no_store)
bp.context_processor(office_pages._office_menu)  # the same officials' menu on these pages
OFFICE = "/t/<tenant>/hibah-bansos/office/statistik"
FORMATS = ("csv", "xlsx")


@bp.get(OFFICE)
@require_roles(*OFFICIALS)
def page():
    year = statistics.fiscal_year(request.args)
    f = statistics.figures(db(), g.tenant, year)
    return render_template(
        "hibah_bansos/office/statistics.html",
        f=f,
        charts=statistics.charts(f),
        year=year,
        years=statistics.years(db(), g.tenant),
        args={"year": str(year)} if year else {},
    )


@bp.get(f"{OFFICE}/<key>.svg")
@require_roles(*OFFICIALS)
def chart(key: str):
    f = statistics.figures(db(), g.tenant, statistics.fiscal_year(request.args))
    found = next((c for c in statistics.charts(f) if c.key == key), None)
    if found is None:
        raise Refused(404, "No such chart.")
    return charts.svg_response(found)


@bp.get("/t/<tenant>/hibah-bansos/transparansi/<key>.svg")
def public_chart(key: str):
    """The transparency page's chart of public money (every fiscal year)."""
    f = statistics.figures(db(), g.tenant, None)
    found = next((c for c in statistics.public_charts(f) if c.key == key), None)
    if found is None:
        raise Refused(404, "No such chart.")
    return charts.svg_response(found)


@bp.get(f"{OFFICE}.<fmt>")
@require_roles(*OFFICIALS)
def download(fmt: str):
    if fmt not in FORMATS:
        raise Refused(404, "No such download.")
    year = statistics.fiscal_year(request.args)
    f = statistics.figures(db(), g.tenant, year)
    name = f"{g.tenant.slug}-statistik-hibah-bansos-{year or 'semua'}"
    return charts.download(name, statistics.tables(f), fmt)
