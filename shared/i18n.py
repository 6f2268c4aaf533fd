"""Internationalisation with Flask-Babel: Bahasa Indonesia first, English second.

Message ids in code and templates are English; each service keeps its catalogue in
`services/<svc>/translations/<lang>/LC_MESSAGES/messages.po` and shared texts live in
`shared/translations`. Catalogues are compiled to `.mo` at start-up when stale, so the
repository holds only the reviewable `.po` text.
Language: `?lang=` (remembered in a cookie), else the cookie, else the tenant's locale.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, g, request
from flask_babel import Babel, get_locale
from jinja2 import ChoiceLoader, FileSystemLoader

LANGUAGES = ("id", "en")
SHARED = Path(__file__).parent


def label(mapping: dict[str, str] | str | None, fallback: str = "") -> str:
    """A localized label from tenant configuration (`{"id": ..., "en": ...}`): the page's
    language, else Indonesian, else any, else `fallback`. A plain string is its own label."""
    if isinstance(mapping, str):
        return mapping
    if not mapping:
        return fallback
    lang = str(get_locale() or "id") if request else "id"
    return mapping.get(lang) or mapping.get("id") or next(iter(mapping.values()), fallback)


def compile_catalogues(directory: Path) -> None:
    for po in directory.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as src:
                catalog = read_po(src)
            # a temporary file of this writer's own: gunicorn's workers boot at the same time
            # and, on a fresh checkout, each compiles; with one shared ".mo.tmp" name the
            # second worker's replace found the file gone and the worker failed to boot
            # (seen on the first `make bench` in a new worktree)
            with tempfile.NamedTemporaryFile(
                "wb", dir=mo.parent, prefix=mo.name + ".", suffix=".tmp", delete=False
            ) as out:
                write_mo(out, catalog)
            Path(out.name).replace(mo)


def select_locale() -> str:
    lang = request.args.get("lang") or request.cookies.get("lang")
    if lang in LANGUAGES:
        return lang
    tenant = getattr(g, "tenant", None)
    return tenant.locale if tenant is not None else "id"


def select_timezone() -> str:
    tenant = getattr(g, "tenant", None)
    return tenant.timezone if tenant is not None else "Asia/Jakarta"


def init_app(app: Flask, service_dir: Path) -> None:
    dirs = [service_dir / "translations", SHARED / "translations"]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
        compile_catalogues(d)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(d) for d in dirs)
    app.config["BABEL_DEFAULT_LOCALE"] = "id"
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.globals["get_locale"] = get_locale  # base.html's <html lang>
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(str(service_dir / "templates")),
            FileSystemLoader(str(SHARED / "templates")),
        ]
    )

    @app.after_request
    def remember_language(resp):
        lang = request.args.get("lang")
        if lang in LANGUAGES:
            resp.set_cookie(
                "lang",
                lang,
                max_age=365 * 24 * 3600,
                samesite="Lax",
                secure=app.config.get("SESSION_COOKIE_SECURE", True),
                httponly=True,
            )
        return resp
