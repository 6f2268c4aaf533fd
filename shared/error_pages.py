"""HTML error pages for people, and the trailing-slash redirect.

A browser that asks for a page (`Accept: text/html`, not under `/t/<tenant>/api/`) gets a
localized page for 403, 404, 405, 410, 429 (with when to retry), 500 and 503, never a problem
document and never a stack trace or any internal detail; API clients keep problem+json.
`shared/web.py`'s error handlers ask `page_for(status, headers)` first.
"""

from __future__ import annotations

from flask import Response, current_app, g, redirect, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from shared.auth import is_api_request

HTML_STATUSES = frozenset({403, 404, 405, 410, 429, 500, 503})


def wants_html() -> bool:
    """A person's browser asking for a page (API paths and non-HTML clients excluded)."""
    if is_api_request():
        return False
    accept = request.accept_mimetypes
    return accept.accept_html and accept.quality("text/html") >= accept.quality("application/json")


def _retry_minutes(headers: dict[str, str] | None) -> int | None:
    value = (headers or {}).get("Retry-After", "")
    if not value.isdigit():
        return None
    return max(1, -(-int(value) // 60))


def _texts(status: int, retry_minutes: int | None) -> tuple[str, str]:
    if status == 403:
        return _("You may not open this page"), _(
            "Your account does not have the role this page needs. If you think it should, ask "
            "your administrator."
        )
    if status == 404:
        return _("Page not found"), _(
            "The address may be mistyped, or the page no longer exists. Check the address, or "
            "start again from the city's home page."
        )
    if status == 405:
        return _("This page cannot be opened this way"), _(
            "Go back and use the page's own buttons and links."
        )
    if status == 410:
        return _("No longer available"), _("This was available only once, and it has been used.")
    if status == 429:
        when = (
            _("Please try again in %(n)s minute(s).", n=retry_minutes)
            if retry_minutes
            else _("Please try again later.")
        )
        return _("Too many attempts"), when
    if status == 503:
        return _("Service temporarily unavailable"), _("Please try again in a few minutes.")
    return _("Something went wrong"), _(
        "The error was recorded. Please try again in a few minutes; if it keeps happening, "
        "contact the city's office."
    )


def page_for(status: int, headers: dict[str, str] | None = None) -> Response | None:
    """The HTML page for an error of `status`, or None (not a page request, or a status the
    page does not cover: the caller answers problem+json)."""
    if status not in HTML_STATUSES or not wants_html():
        return None
    minutes = _retry_minutes(headers) if status in (429, 503) else None
    title, explanation = _texts(status, minutes)
    try:
        html = render_template(
            "errors/error.html", status=status, title=title, explanation=explanation
        )
    except Exception:  # a page must never fail in turn: a bare page, still no internals
        current_app.logger.exception("error page for %s could not be rendered", status)
        html = f"<!doctype html><html lang='id'><title>{status}</title><h1>{status}</h1></html>"
    resp = Response(html, status=status, mimetype="text/html")
    for name in ("Retry-After", "Allow"):
        if headers and name in headers:
            resp.headers[name] = headers[name]
    resp.headers["Cache-Control"] = "no-store"
    return resp


def slash_redirect(exc: HTTPException) -> Response | None:
    """`/t/cimahi/hibah-bansos/` → `/t/cimahi/hibah-bansos`: a GET for a path that exists
    without its trailing slash is sent there (308, the query kept)."""
    path = request.path
    if exc.code != 404 or request.method not in ("GET", "HEAD") or not path.endswith("/"):
        return None
    stripped = path.rstrip("/")
    if not stripped:
        return None
    adapter = current_app.url_map.bind("localhost", script_name=request.script_root or "/")
    try:
        adapter.match(stripped, method="GET")
    except RequestRedirect:
        return None
    except HTTPException:
        return None
    query = request.query_string.decode()
    target = request.script_root + stripped + (f"?{query}" if query else "")
    return redirect(target, code=308)


def tenant_home() -> str | None:
    """The front door of the request's tenant, for the error page's way back."""
    tenant = g.get("tenant")
    if tenant is not None:
        return f"{request.script_root}/t/{tenant.slug}/"
    parts = request.path.split("/")
    if len(parts) > 2 and parts[1] == "t" and parts[2]:
        known = current_app.extensions["replika"]["tenants"].get(parts[2])
        if known is not None:
            return f"{request.script_root}/t/{known.slug}/"
    return None
