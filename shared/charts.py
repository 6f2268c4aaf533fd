"""Statistics as charts and tables: one `Chart` is drawn as SVG (pygal) and shown beside the
same numbers as an HTML table (the text alternative), and any list of `Table`s is downloaded
as CSV or as an XLSX workbook (openpyxl).

Charts are SVG documents of their own, served by a route as `image/svg+xml` and shown with
`<img>` (the pages' CSP allows no inline style; an image runs no script, and pygal's tooltip
script is switched off anyway). They carry a viewBox and no fixed size, so they shrink to a
360 px phone. pygal (pure Python, SVG only, no browser needed) was chosen over matplotlib
(a heavier stack of numpy and a raster engine) for a few bar charts.

Spreadsheet cells a spreadsheet would run as a formula are quoted (CSV injection), in both
formats; headers and values come in already translated by the caller.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import openpyxl
import pygal
from flask import Response
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from pygal.style import Style

Number = int | float | None
# a readable palette with enough contrast on white (the first series is the tenant-neutral blue)
COLOURS = ("#1f5fa8", "#c0392b", "#2e7d32", "#8e44ad", "#b9770e", "#34495e")
_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#222",
    foreground_strong="#111",
    foreground_subtle="#666",
    colors=COLOURS,
    font_family="system-ui, sans-serif",
    label_font_size=15,
    major_label_font_size=15,
    value_font_size=14,
    legend_font_size=15,
    title_font_size=17,
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@dataclass(frozen=True)
class Chart:
    """A bar chart: `labels` along one axis, one bar per series and label. `horizontal` for
    long labels (categories, names), which read better on a phone. A value None is a hidden
    (suppressed) cell: no bar, and `hidden` in the table."""

    key: str
    title: str
    labels: Sequence[str]
    series: Sequence[tuple[str, Sequence[Number]]]
    horizontal: bool = False
    label_header: str = ""
    hidden: str = ""  # how the table shows a None (e.g. "<5")
    money: bool = False  # integer rupiah: Rp1.500.000 in the table, millions on the chart
    unit_note: str = ""  # added to the chart's title, e.g. "millions of rupiah"

    def shown_rows(self) -> list[list[Any]]:
        """The table as the page shows it (rupiah formatted); `rows()` keeps the numbers."""
        if not self.money:
            return self.rows()
        return [
            [r[0], *(rupiah(v) if isinstance(v, int) else v for v in r[1:])] for r in self.rows()
        ]

    def rows(self) -> list[list[Any]]:
        """The table alternative: one row per label, one column per series."""
        return [
            [lab, *(self.hidden if s[i] is None else s[i] for _, s in self.series)]
            for i, lab in enumerate(self.labels)
        ]

    def headers(self) -> list[str]:
        return [self.label_header, *(name for name, _ in self.series)]


def rupiah(value: int | None) -> str:
    """Integer rupiah the Indonesian way: Rp12.500.000 (dots group thousands, no decimals)."""
    return "Rp" + f"{int(value or 0):,}".replace(",", ".")


def _plain(value: float) -> str:
    """A count as it is, a duration with at most one decimal (4.5, 10)."""
    if isinstance(value, float):
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return str(value)


def _millions(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".")


def _ticks(top: float) -> list[float]:
    """At most six round marks from 0 past `top` (steps of 1, 2 or 5 times a power of ten;
    whole numbers for counts), so the value axis never crowds a phone."""
    if top <= 0:
        return [0, 1]
    step = 1.0
    while top / step > 5:
        for factor in (2, 2.5, 2):  # 1 → 2 → 5 → 10 → 20 ...
            step *= factor
            if top / step <= 5:
                break
    count = int(-(-top // step))
    return [int(i * step) if step.is_integer() else round(i * step, 6) for i in range(count + 1)]


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def svg(chart: Chart) -> bytes:
    """The chart as a standalone SVG document (XML), scalable (viewBox, no fixed size). It is
    drawn 560 units wide, so its text stays readable when a phone shows it at 360 px. Money
    is drawn in millions of rupiah (`unit_note` says so in its title); the table keeps the
    rupiah."""
    kind = pygal.HorizontalBar if chart.horizontal else pygal.Bar
    bars = len(chart.labels) * max(1, len(chart.series))
    legend = 28 * len(chart.series) if len(chart.series) > 1 else 0
    height = max(300, 110 + 28 * bars + legend)
    scale = 1_000_000 if chart.money else 1
    values = [v / scale for _, vs in chart.series for v in vs if v is not None]
    whole = all(float(v).is_integer() for v in values)
    drawing = kind(
        title=f"{chart.title} ({chart.unit_note})" if chart.unit_note else chart.title,
        style=_STYLE,
        js=[],  # no script: the numbers are in the table beside it
        width=560,
        height=height if chart.horizontal else 380 + legend,
        explicit_size=False,
        legend_at_bottom=True,
        legend_at_bottom_columns=1,
        show_legend=len(chart.series) > 1,
        x_label_rotation=0 if chart.horizontal or len(chart.labels) <= 4 else 40,
        truncate_legend=-1,
        print_values=bars <= 24,
        y_labels=_ticks(max(values, default=0)) if whole or chart.money else None,
        no_data_text="—",
        margin=12,
        value_formatter=_millions if chart.money else _plain,
    )
    drawing.x_labels = [_short(str(x)) for x in chart.labels]  # the table has the whole name
    for name, series in chart.series:
        drawing.add(name, [None if v is None else v / scale if chart.money else v for v in series])
    return _without_script(drawing.render(is_unicode=True))


_SVG_NS = "http://www.w3.org/2000/svg"
ET.register_namespace("", _SVG_NS)
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")


def _without_script(document: str) -> bytes:
    """pygal writes its configuration as an inline script even with `js=[]`: drop it, so the
    chart is data and drawing only."""
    root = ET.fromstring(document)
    for parent in list(root.iter()):
        for child in list(parent):
            if child.tag == f"{{{_SVG_NS}}}script":
                parent.remove(child)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def svg_response(chart: Chart) -> Response:
    return Response(
        svg(chart),
        mimetype="image/svg+xml",
        headers={"Content-Security-Policy": SVG_CSP, "Cache-Control": "no-store"},
    )


# --- downloads ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    """A titled table for a download: headers and rows already in the page's language."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]] = field(default_factory=list)


def table_of(chart: Chart) -> Table:
    return Table(chart.title, chart.headers(), chart.rows())


def _safe(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return _safe(value)


def csv_bytes(tables: Iterable[Table]) -> bytes:
    """One table, or several one after another (title row, header row, rows, a blank row).
    UTF-8 with a byte-order mark, so that Excel opens the Indonesian text right."""
    tables = list(tables)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for n, t in enumerate(tables):
        if len(tables) > 1:
            if n:
                writer.writerow([])
            writer.writerow([_safe(t.title)])
        writer.writerow([_safe(h) for h in t.headers])
        for row in t.rows:
            writer.writerow([_csv_text(c) for c in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_name(title: str, taken: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", title).strip()[:28] or "Sheet"
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base[:25]} {n}", n + 1
    taken.add(name.lower())
    return name


def xlsx_bytes(tables: Iterable[Table]) -> bytes:
    """One sheet per table, its headers in bold on the first row; numbers stay numbers,
    dates and times stay Excel dates (times already in the tenant's zone, without zone)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    taken: set[str] = set()
    for t in tables:
        ws = book.create_sheet(_sheet_name(t.title, taken))
        ws.append([_safe(h) for h in t.headers])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in t.rows:
            ws.append([_safe(c) for c in row])
        for i, header in enumerate(t.headers, start=1):
            width = max([len(str(header))] + [len(str(r[i - 1])) for r in t.rows[:200]])
            ws.column_dimensions[get_column_letter(i)].width = min(60, width + 2)
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                elif isinstance(cell.value, date):
                    cell.number_format = "yyyy-mm-dd"
    if not book.worksheets:
        book.create_sheet("Sheet")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(name: str, tables: Sequence[Table], fmt: str) -> Response:
    """`tables` as `<name>.csv` or `<name>.xlsx` (fmt "csv" or "xlsx"), never cached."""
    safe = "".join(ch for ch in name if ch.isalnum() or ch in "-_") or "statistik"
    if fmt == "xlsx":
        body, mimetype = xlsx_bytes(tables), XLSX
    else:
        body, mimetype, fmt = csv_bytes(tables), "text/csv; charset=utf-8", "csv"
    return Response(
        body,
        content_type=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )
