"""PDFs made for the tests: a hostile one (author and producer naming the reporter's computer,
XMP, JavaScript run on open and on page view, an embedded file) and a password-locked one."""

from __future__ import annotations

import io

import pikepdf
from pikepdf import Dictionary, Name, String

MARK = "RAHASIA"  # in every hostile part; none of it may survive cleaning


def hostile_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    pdf.docinfo["/Author"] = f"PC-{MARK}\\budi"
    pdf.docinfo["/Producer"] = f"Microsoft Word {MARK}"
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = [f"Budi {MARK}"]
    js = pdf.make_indirect(Dictionary(S=Name.JavaScript, JS=String(f"app.alert('{MARK}')")))
    pdf.Root.OpenAction = js
    pdf.Root.AA = Dictionary(WC=js)
    pdf.pages[0].obj.AA = Dictionary(O=js)
    pdf.attachments["bukti.txt"] = pikepdf.AttachedFileSpec(
        pdf, f"{MARK}-EMBEDDED".encode(), mime_type="text/plain"
    )
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def locked_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    out = io.BytesIO()
    pdf.save(out, encryption=pikepdf.Encryption(owner="o-secret", user="u-secret"))
    return out.getvalue()


def what_is_left(data: bytes) -> dict:
    """What a cleaned PDF still holds, read back with pikepdf (streams decompressed)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        text = b"".join(
            obj.read_bytes() if isinstance(obj, pikepdf.Stream) else repr(obj).encode()
            for obj in pdf.objects
        )
        return {
            "pages": len(pdf.pages),
            "info": dict(pdf.docinfo) if "/Info" in pdf.trailer else {},
            "attachments": list(pdf.attachments),
            "root": sorted(pdf.Root.keys()),
            "page": sorted(pdf.pages[0].obj.keys()),
            "mark": MARK.encode() in text,
        }


def minimal_pdf(text: str = "Bukti") -> bytes:
    """A small valid one-page PDF whose page shows `text`, already in the cleaned form (so an
    upload is stored byte for byte as it is here)."""
    from shared.pdf_clean import clean_pdf

    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(200, 200))
    page = pdf.pages[0]
    page.obj.Resources = Dictionary(
        Font=Dictionary(F1=Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica))
    )
    page.obj.Contents = pdf.make_stream(f"BT /F1 12 Tf 10 100 Td ({text}) Tj ET".encode())
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return clean_pdf(out.getvalue())
