"""PDFs cleaned like images: rewritten with pikepdf (qpdf) so what identifies the author's
computer or could run in a reader is gone, before the file is encrypted and stored.

Dropped: the document information dictionary (Author, Creator, Producer, dates) and every XMP
`/Metadata` stream; JavaScript (name tree, `/JS`, JavaScript actions), `/OpenAction` and
additional actions (`/AA`), launch/submit/import actions; embedded files (name tree, file
attachment annotations, `/EF` streams of file specifications); `/PieceInfo` (application
private data). The pages, their content and the fonts and images they use stay.
A file that does not open as a PDF (damaged past repair, or encrypted with a password) is
refused: `PdfNotCleanable`, which the services answer with 422 naming the file.
"""

from __future__ import annotations

import io

import pikepdf
from pikepdf import Array, Dictionary

# keys whose values are removed wherever they appear
DROP_KEYS = (
    "/Metadata",
    "/OpenAction",
    "/AA",
    "/JS",
    "/JavaScript",
    "/EmbeddedFiles",
    "/EF",
    "/AF",
    "/PieceInfo",
    "/RichMediaContent",
)
# actions that run code, start programs or send data: replaced by no action at all
ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData", "/Rendition"}
DROPPED_ANNOTATIONS = {"/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound"}
MAX_OBJECTS = 200_000  # a 10 MB PDF with more objects than this is not a scanned document


class PdfNotCleanable(ValueError):
    """The file cannot be opened and rewritten as a PDF."""


def clean_pdf(data: bytes) -> bytes:
    """`data` rewritten without metadata, scripts, automatic actions or embedded files."""
    try:
        with pikepdf.open(io.BytesIO(data)) as pdf:
            if len(pdf.objects) > MAX_OBJECTS:
                raise PdfNotCleanable("too many objects")
            if "/Info" in pdf.trailer:
                del pdf.trailer["/Info"]
            seen: set[tuple[int, int]] = set()
            _scrub(pdf.Root, seen)
            for page in pdf.pages:
                _scrub_annotations(page.obj)
            for obj in pdf.objects:  # indirect objects the tree walk did not reach
                if isinstance(obj, (Dictionary, pikepdf.Stream)):
                    _scrub(obj, seen)
            out = io.BytesIO()
            pdf.save(
                out,
                encryption=False,
                compress_streams=False,  # as they came: a page is not re-encoded
                fix_metadata_version=False,
                deterministic_id=True,
                object_stream_mode=pikepdf.ObjectStreamMode.preserve,
            )
            return out.getvalue()
    except PdfNotCleanable:
        raise
    except (pikepdf.PdfError, pikepdf.PasswordError, ValueError, RecursionError) as exc:
        raise PdfNotCleanable(type(exc).__name__) from None


def _scrub(obj: object, seen: set[tuple[int, int]], depth: int = 0) -> None:
    if depth > 100:
        raise PdfNotCleanable("nested too deep")
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        if obj.objgen in seen:
            return
        seen.add(obj.objgen)
    if isinstance(obj, (Dictionary, pikepdf.Stream)):
        target = obj.stream_dict if isinstance(obj, pikepdf.Stream) else obj
        for key in DROP_KEYS:
            if key in target:
                del target[key]
        if str(target.get("/S", "")) in ACTIVE_ACTIONS:
            for key in list(target.keys()):
                del target[key]
            return
        for key in list(target.keys()):
            _scrub(target[key], seen, depth + 1)
    elif isinstance(obj, Array):
        for item in obj:
            _scrub(item, seen, depth + 1)


def _scrub_annotations(page: Dictionary) -> None:
    annots = page.get("/Annots")
    if not isinstance(annots, Array):
        return
    keep = Array([a for a in annots if str(a.get("/Subtype", "")) not in DROPPED_ANNOTATIONS])
    if len(keep) != len(annots):
        page["/Annots"] = keep
