"""Image files made on the spot for upload tests."""

from __future__ import annotations

import io

from PIL import Image


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (0, 90, 200)).save(out, "PNG")
    return out.getvalue()
