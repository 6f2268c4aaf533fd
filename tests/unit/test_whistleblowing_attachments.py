"""Evidence files (pure): type from content, size and count limits, image metadata stripped."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from services.whistleblowing import attachments as a
from tests.support.pdfs import minimal_pdf


def jpeg_with_gps() -> bytes:
    img = Image.new("RGB", (40, 30), (200, 10, 10))
    exif = Image.Exif()
    exif[271] = "SecretCam"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "S", (6.0, 53.0, 0.0)
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_jpeg_exif_and_gps_are_stripped():
    original = jpeg_with_gps()
    assert b"SecretCam" in original and Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    clean = a.inspect(original, a.Policy())
    assert clean.media_type == "image/jpeg" and clean.extension == "jpg"
    assert b"SecretCam" not in clean.data
    assert dict(Image.open(io.BytesIO(clean.data)).getexif()) == {}
    assert Image.open(io.BytesIO(clean.data)).size == (40, 30)


def test_png_text_chunks_are_stripped():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "Budi Santoso")
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "PNG", pnginfo=info)
    clean = a.inspect(out.getvalue(), a.Policy())
    assert clean.media_type == "image/png" and b"Budi" not in clean.data


@pytest.mark.parametrize(
    "data,status",
    [
        (b"MZ\x90\x00" + b"\x00" * 100, 415),  # a Windows program named bukti.pdf
        (b"just some text pretending to be a pdf", 415),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, 415),  # PNG magic, not a PNG
        (b"", 422),
    ],
)
def test_disguised_or_broken_files_are_refused(data, status):
    with pytest.raises(a.AttachmentRejected) as exc:
        a.inspect(data, a.Policy())
    assert exc.value.status == status


def test_type_must_be_allowed_by_the_tenant():
    with pytest.raises(a.AttachmentRejected) as exc:
        a.inspect(jpeg_with_gps(), a.Policy(types=("application/pdf",)))
    assert exc.value.status == 415 and "image/jpeg" in str(exc.value)


def test_size_and_count_limits():
    with pytest.raises(a.AttachmentRejected) as exc:
        a.inspect(b"%PDF-1.4\n" + b"x" * 2000, a.Policy(max_bytes=1024))
    assert exc.value.status == 413
    assert a.inspect(minimal_pdf(), a.Policy()).media_type == "application/pdf"
    a.check_count(9, 1, a.Policy(max_count=10))
    with pytest.raises(a.AttachmentRejected):
        a.check_count(10, 1, a.Policy(max_count=10))
    assert a.Policy.from_config({"attachments": {"max_bytes": 2048}}).max_bytes == 2048
