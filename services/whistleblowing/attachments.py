"""Evidence files: checked against the tenant's policy by their content, cleaned, never named.

The type comes from the bytes (magic numbers), not from the file name or the client's
Content-Type. Images are decoded and re-encoded from their pixels alone, which drops EXIF
(GPS, camera serial), XMP and ICC data. PDFs are rewritten by `shared.pdf_clean` (no
Info/XMP metadata, JavaScript, automatic actions or embedded files); one that cannot be
rewritten is refused. The file name a client sent is never stored or used.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import filetype
from PIL import Image, ImageOps, UnidentifiedImageError

from shared.pdf_clean import PdfNotCleanable, clean_pdf

DEFAULT_TYPES = ("application/pdf", "image/jpeg", "image/png")
DEFAULT_MAX_BYTES, DEFAULT_MAX_COUNT = 10 * 1024 * 1024, 10
MAX_PIXELS = 40_000_000  # refuse decompression bombs well before Pillow's own limit
PILLOW_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
}
EXTENSIONS = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
}


class AttachmentRejected(Exception):
    """`status` is the HTTP answer (413 too large, 415 wrong type, 422 otherwise)."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Policy:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_count: int = DEFAULT_MAX_COUNT
    types: tuple[str, ...] = DEFAULT_TYPES

    @classmethod
    def from_config(cls, service_config: dict) -> Policy:
        a = service_config.get("attachments", {}) or {}
        return cls(
            int(a.get("max_bytes", DEFAULT_MAX_BYTES)),
            int(a.get("max_count", DEFAULT_MAX_COUNT)),
            tuple(a.get("types", DEFAULT_TYPES)),
        )


@dataclass(frozen=True)
class CleanFile:
    media_type: str
    data: bytes

    @property
    def extension(self) -> str:
        return EXTENSIONS.get(self.media_type, "bin")


def check_count(existing: int, adding: int, policy: Policy) -> None:
    if existing + adding > policy.max_count:
        raise AttachmentRejected(422, f"At most {policy.max_count} attachments per report.")


def inspect(data: bytes, policy: Policy) -> CleanFile:
    if not data:
        raise AttachmentRejected(422, "The file is empty.")
    if len(data) > policy.max_bytes:
        raise AttachmentRejected(413, f"The file is larger than {policy.max_bytes} bytes.")
    kind = filetype.guess(data)
    media_type = kind.mime if kind else None
    if media_type not in policy.types:
        found = media_type or "unknown"
        raise AttachmentRejected(
            415, f"The file's content is {found}; allowed types are {', '.join(policy.types)}."
        )
    if media_type in PILLOW_FORMATS:
        data = strip_image_metadata(data, media_type)
    elif media_type == "application/pdf":
        try:
            data = clean_pdf(data)
        except PdfNotCleanable:
            raise AttachmentRejected(
                422,
                "The PDF cannot be cleaned of its metadata, scripts and embedded files "
                "(damaged, or locked with a password); send it unlocked, or as images.",
            ) from None
    if len(data) > policy.max_bytes:
        raise AttachmentRejected(413, f"The file is larger than {policy.max_bytes} bytes.")
    return CleanFile(media_type, data)


def strip_image_metadata(data: bytes, media_type: str) -> bytes:
    """Re-encode from pixels only (upright per EXIF orientation, which is then dropped)."""
    fmt = PILLOW_FORMATS[media_type]
    try:
        with Image.open(io.BytesIO(data)) as opened:
            img: Image.Image = opened
            if img.format != fmt:
                raise AttachmentRejected(415, f"The file's content is not a valid {media_type}.")
            if img.width * img.height > MAX_PIXELS:
                raise AttachmentRejected(422, "The image has too many pixels.")
            img = ImageOps.exif_transpose(img)
            if img.mode in ("P", "PA", "LA", "I;16"):
                img = img.convert("RGBA" if fmt != "JPEG" else "RGB")
            if fmt == "JPEG" and img.mode not in ("RGB", "L", "CMYK"):
                img = img.convert("RGB")
            clean = Image.frombytes(img.mode, img.size, img.tobytes())  # no info, no exif
    except AttachmentRejected:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise AttachmentRejected(415, f"The file's content is not a valid {media_type}.") from None
    out = io.BytesIO()
    clean.save(out, fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    return out.getvalue()
