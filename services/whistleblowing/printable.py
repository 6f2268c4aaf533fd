"""Printable proof for reporters: the receipt and the signed acknowledgement as PDF, and the
acknowledgement's QR code (fpdf2 for the PDF, segno for the QR: both pure Python).

The texts come in already translated (the page's language); the PDF uses the core Helvetica
font, so text is reduced to Latin-1 (Indonesian and English need nothing more). A receipt PDF
is made on request and streamed, never stored.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import segno
from fpdf import FPDF


def qr_svg_data_uri(payload: str) -> str:
    """The QR code of `payload` as an SVG data: URI (the CSP allows `img-src data:`)."""
    return segno.make(payload, error="m").svg_data_uri(scale=4, border=2)


def _latin1(text: str) -> str:
    return text.replace("\u2014", "-").replace("\u2013", "-").encode("latin-1", "replace").decode()


def _pdf(title: str, author: str) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(title))
    pdf.set_author(_latin1(author))
    pdf.set_creator("Replika")
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_margins(18, 18, 18)
    pdf.set_xy(18, 18)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 6, _latin1(author), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 18)
    pdf.multi_cell(0, 9, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    return pdf


def _rows(pdf: FPDF, rows: Sequence[tuple[str, str]], *, mono: bool = False) -> None:
    for label, value in rows:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 6, _latin1(label), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Courier" if mono else "Helvetica", "", 10)
        pdf.multi_cell(0, 5, _latin1(value), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)


def _paragraphs(pdf: FPDF, paragraphs: Sequence[str]) -> None:
    pdf.set_font("Helvetica", "", 11)
    for text in paragraphs:
        pdf.multi_cell(0, 6, _latin1(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)


def receipt_pdf(
    *,
    authority: str,
    title: str,
    code_label: str,
    receipt: str,
    rows: Sequence[tuple[str, str]],
    paragraphs: Sequence[str],
) -> bytes:
    """The receipt hand-off on paper: the code large and in its groups, then the case number,
    the date, what to do next and when to check back."""
    pdf = _pdf(title, authority)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 6, _latin1(code_label), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Courier", "B", 20)
    pdf.set_draw_color(11, 83, 148)
    pdf.multi_cell(0, 14, receipt, border=1, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    _rows(pdf, rows)
    _paragraphs(pdf, paragraphs)
    return bytes(pdf.output())


def acknowledgement_pdf(
    *,
    authority: str,
    title: str,
    rows: Sequence[tuple[str, str]],
    technical: Sequence[tuple[str, str]],
    paragraphs: Sequence[str],
    qr_payload: str,
    qr_caption: str,
) -> bytes:
    """The signed acknowledgement on paper: its fields, the digest and signature in full, and a
    QR code that opens the verification page with the document."""
    pdf = _pdf(title, authority)
    _rows(pdf, rows)
    _paragraphs(pdf, paragraphs)
    png = io.BytesIO()
    segno.make(qr_payload, error="m").save(png, kind="png", scale=4, border=2)
    png.seek(0)
    y = pdf.get_y()
    pdf.image(png, x=18, y=y, w=55, h=55)
    pdf.set_xy(78, y)
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 5, _latin1(qr_caption), new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(y + 60)
    _rows(pdf, technical, mono=True)
    return bytes(pdf.output())
