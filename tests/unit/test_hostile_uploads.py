"""Hostile uploads: zip bomb, SVG with script, polyglots, pixel bombs, oversize.
Each is refused, or neutralised so that what is stored can do nothing but be what it claims."""

from __future__ import annotations

import io
import zipfile
import zlib

import pytest
from PIL import Image

from services.whistleblowing import attachments as a
from tests.support.images import png

POLICY = a.Policy()


def refused(data: bytes, policy: a.Policy = POLICY) -> int:
    with pytest.raises(a.AttachmentRejected) as exc:
        a.inspect(data, policy)
    return exc.value.status


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bukti.txt", b"\x00" * 20_000_000)  # 20 MB of zeros in a few kB
    return out.getvalue()


def test_a_zip_bomb_is_refused_without_being_unpacked():
    bomb = zip_bomb()
    assert len(bomb) < 100_000
    assert refused(bomb) == 415


def test_an_svg_with_script_is_refused():
    svg = (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">'
        b"<script>alert(document.cookie)</script></svg>"
    )
    assert refused(svg) == 415
    # even a tenant that allows images of every kind gets no SVG through: its type is text
    assert refused(svg, a.Policy(types=("image/jpeg", "image/png", "image/svg+xml"))) == 415


def test_an_html_page_named_like_an_image_is_refused():
    assert refused(b"<html><body><script>alert(1)</script></body></html>") == 415


def test_a_jpeg_zip_polyglot_is_stored_as_pixels_only():
    jpeg = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 10)).save(jpeg, "JPEG")
    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as z:
        z.writestr("evil.js", "fetch('/steal')")
    polyglot = jpeg.getvalue() + payload.getvalue()
    clean = a.inspect(polyglot, POLICY)
    assert clean.media_type == "image/jpeg"
    assert b"PK\x03\x04" not in clean.data and b"evil.js" not in clean.data


def test_a_gif_javascript_polyglot_is_refused():
    # "GIF89a=..." is the classic GIF/JS polyglot; GIF is not in the default policy
    assert refused(b"GIF89a=alert(1)//" + b"\x00" * 64) == 415


def test_a_pixel_bomb_png_is_refused_before_decoding_its_pixels():
    raw = b"\x00" + b"\x00" * (3 * 8000)  # one filter byte + one black row
    rows = raw * 6000  # 8000 x 6000 = 48 Mpx, compresses to ~50 kB
    ihdr = (8000).to_bytes(4, "big") + (6000).to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
        )

    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )
    assert len(bomb) < 1_000_000
    assert refused(bomb) in (415, 422)


def test_an_oversized_file_is_refused_by_size_before_its_type_is_read():
    assert refused(png(64, 64), a.Policy(max_bytes=100)) == 413
