"""The tenant's colours as a small stylesheet (the pages' CSP allows styles from 'self' only,
so no inline style): `GET /t/<tenant>/branding.css`, linked from the header of base.html.
A primary colour with too little contrast against white text (WCAG AA, 4.5:1) is darkened
text-wise: the header then uses black text instead. The secondary colour is the header's stripe.

The logo uploaded on the branding settings page lives in the settings themselves
(`branding.logo_data`, cleaned like an attachment), so every service serves it:
`GET /t/<tenant>/branding/logo`."""

from __future__ import annotations

import base64

from flask import Blueprint, Response, abort, g

bp = Blueprint("branding", __name__)


def _luminance(hex_colour: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g_, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g_) + 0.0722 * channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_colour_on(background: str) -> str:
    """White when it reads well on `background` (4.5:1), else black."""
    return "#ffffff" if contrast(background, "#ffffff") >= 4.5 else "#000000"


@bp.get("/t/<tenant>/branding.css")
def stylesheet() -> Response:
    branding = g.tenant.config.get("branding", {})
    primary, secondary = branding.get("primary_color"), branding.get("secondary_color")
    css = ""
    if primary:
        css = (
            f"header.site {{ background: {primary}; color: {text_colour_on(primary)}; }}\n"
            f"header.site a {{ color: {text_colour_on(primary)}; }}\n"
        )
    if secondary:
        css += f"header.site {{ border-bottom: 4px solid {secondary}; }}\n"
    resp = Response(css, mimetype="text/css")
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


@bp.get("/t/<tenant>/branding/logo")
def logo() -> Response:
    branding = g.tenant.config.get("branding", {})
    if not branding.get("logo_data") or branding.get("logo_type") not in (
        "image/png",
        "image/jpeg",
    ):
        abort(404)
    resp = Response(base64.b64decode(branding["logo_data"]), mimetype=branding["logo_type"])
    resp.headers["Cache-Control"] = "public, max-age=300"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
