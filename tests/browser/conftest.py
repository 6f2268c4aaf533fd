"""Fixtures for end-to-end tests in a real headless Chromium: citizens and officials using both
services' pages as a browser does, each page checked by axe-core.

Chromium is Debian's package (`infra.browser.ensure_chromium()` installs it when missing, as
root), driven by the Python `playwright` package pointed at that binary: Playwright's own browser
download is never used. axe-core's `axe.min.js` comes from the `axe-playwright-python` wheel
(pinned in constraints.txt). If either cannot be had the tests fail, never skip.

Both Flask apps are served for real on 127.0.0.1 (werkzeug, one thread per request). Every page
visited is kept as a screenshot under .local/test-artifacts/browser/, with axe's findings next to
it as JSON.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from importlib import resources
from pathlib import Path

import pytest

from tests.support.browser import no_sideways_scroll

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / ".local" / "test-artifacts" / "browser"
BLOCKING_IMPACTS = ("serious", "critical")
_launched = False  # the directory is printed only by a run that used the browser


# --- Chromium, Playwright, axe-core ---------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    from infra.browser import ChromiumUnavailable, ensure_chromium

    try:
        return ensure_chromium()
    except ChromiumUnavailable as exc:
        pytest.fail(f"no Chromium for the browser tests: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def axe_source() -> str:
    try:
        source = resources.files("axe_playwright_python").joinpath("axe.min.js").read_text()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        pytest.fail(
            f"axe-core is missing ({exc}): install the dev extra with `make install`", pytrace=False
        )
    assert source.startswith("/*! axe v4."), "unexpected axe.min.js in axe-playwright-python"
    return source


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    from infra.browser import LAUNCH_FLAGS

    if ARTIFACTS.exists():  # only this run's pictures, so none of them is stale
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    pw = sync_playwright().start()
    try:
        # Playwright gives every launch a fresh, empty user-data-dir.
        chromium = pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=list(LAUNCH_FLAGS)
        )
    except Exception as exc:
        pw.stop()
        pytest.fail(f"Chromium at {chromium_path} did not start: {exc}", pytrace=False)
    global _launched
    _launched = True
    yield chromium
    chromium.close()
    pw.stop()


def pytest_terminal_summary(terminalreporter):
    for report in terminalreporter.stats.get("passed", []):
        for key, value in getattr(report, "user_properties", ()):
            if key == "journey":  # wall time and pages of a journey, for the note
                terminalreporter.write_line(f"journey: {value}")
    if _launched and ARTIFACTS.is_dir():
        shots = len(list(ARTIFACTS.glob("*.png")))
        terminalreporter.write_line(f"browser screenshots ({shots}) and axe results: {ARTIFACTS}")


# --- the real apps on localhost -------------------------------------------------------------


class LiveServer:
    """A Flask app behind werkzeug's threaded server on a free port of 127.0.0.1.

    Requests are seen as coming from a loopback address of this server's own: the receipt and
    sign-in throttles count failures per client address in the shared test database, and other
    tests' deliberate failures from 127.0.0.1 must not lock the browser out."""

    def __init__(self, app):
        import secrets

        from werkzeug.serving import make_server

        client = "127." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))

        def as_own_client(environ, start_response):
            environ["REMOTE_ADDR"] = client
            return app(environ, start_response)

        self.server = make_server("127.0.0.1", 0, as_own_client, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True, name=f"live-{app.name}"
        )
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_wb(wb_app):
    server = LiveServer(wb_app)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def live_hb(hb_app):
    server = LiveServer(hb_app)
    yield server
    server.stop()


# --- one visitor = one browser context ------------------------------------------------------


class Visitor:
    """A person in their own browser context. `seen(label)` keeps a screenshot of the page,
    asserts axe-core finds nothing serious or critical on it (citizens' and officials' pages
    alike) and that it does not scroll sideways. `pages` counts the documents loaded."""

    def __init__(self, context, prefix: str, axe_source: str, *, javascript: bool = True):
        self.context = context
        self.javascript = javascript
        self._twin = None  # scripts off: the page axe runs in (see `axe`)
        self.page = context.new_page()
        self.prefix = prefix
        self.axe_source = axe_source
        self.count = 0
        self.pages = 0
        self.page.on("load", self._loaded)

    def _loaded(self, _page) -> None:
        self.pages += 1

    def goto(self, url: str):
        resp = self.page.goto(url)
        assert resp is not None and resp.ok, f"GET {url}: {resp.status if resp else 'no response'}"
        return resp

    def fill_sign_in(self, url: str, creds) -> None:
        """Open an officials' sign-in page and type the credentials and a current TOTP code
        (the caller presses "Masuk", so it can look at the filled form first)."""
        import pyotp

        self.goto(url)
        self.page.get_by_label("Nama pengguna").fill(creds.username)
        self.page.get_by_label("Kata sandi").fill(creds.password)
        self.page.get_by_label("Kode autentikator").fill(pyotp.TOTP(creds.totp_secret).now())

    def seen(self, label: str, *, citizen: bool = True) -> list[dict]:
        self.count += 1
        stem = ARTIFACTS / f"{self.prefix}-{self.count:02d}-{label}"
        self.page.screenshot(path=f"{stem}.png", full_page=True)
        violations = self.axe()
        stem.with_suffix(".axe.json").write_text(
            json.dumps(
                {"url": self.page.url, "citizen_page": citizen, "violations": violations},
                indent=2,
                ensure_ascii=False,
            )
        )
        blocking = [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]
        assert not blocking, f"axe-core on {label} ({self.page.url}):\n" + "\n".join(
            f"- {v['impact']} {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
            for v in blocking
        )
        no_sideways_scroll(self.page, f"{label} ({self.page.url})")
        return violations

    def axe(self) -> list[dict]:
        # Evaluated through the DevTools protocol, so the pages' CSP (script-src 'self') stays
        # on and untouched: the browser sees exactly what a citizen's browser sees.
        if self.javascript:
            return self._axe(self.page)
        # Scripts off: axe's own promises and timers would never run in this page. It checks
        # a twin instead: the same document (as this page shows it, no script of its own having
        # run) at the same address and width, in a page with scripts on for axe alone (the
        # twin's CSP lets none of the document's own scripts run).
        if self._twin is None:
            self._twin = self.context.browser.new_context(locale="id-ID").new_page()
        twin, url, html = self._twin, self.page.url, self.page.content()
        twin.set_viewport_size(self.page.viewport_size)

        def serve(route) -> None:
            route.fulfill(
                status=200,
                body=html,
                headers={
                    "Content-Type": "text/html; charset=utf-8",
                    "Content-Security-Policy": "script-src 'none'",
                },
            )

        def same(address: str) -> bool:
            return address == url

        twin.route(same, serve)
        try:
            twin.goto(url)
        finally:
            twin.unroute(same, serve)
        return self._axe(twin)

    def _axe(self, page) -> list[dict]:
        page.evaluate(self.axe_source)
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        assert result["passes"], "axe-core ran no check at all"  # an empty run proves nothing
        return [
            {
                "id": v["id"],
                "impact": v.get("impact"),
                "help": v["help"],
                "nodes": [{"target": n["target"], "html": n["html"][:300]} for n in v["nodes"]],
            }
            for v in result["violations"]
        ]


@pytest.fixture
def visitor(browser, axe_source, request):
    """visitor("citizen") -> a Visitor with its own cookies; closed after the test.
    `javascript=False` turns scripts off in its browser; `locale` is its browser's language."""
    contexts, visitors = [], []
    test = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name).removeprefix("test_")[:60]

    def make(who: str, *, javascript: bool = True, locale: str = "id-ID") -> Visitor:
        # Indonesian by default, in Cimahi's zone: the city's residents are the audience.
        context = browser.new_context(
            locale=locale,
            timezone_id="Asia/Jakarta",
            viewport={"width": 1024, "height": 768},
            java_script_enabled=javascript,
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        visitors.append(Visitor(context, f"{test}-{who}", axe_source, javascript=javascript))
        return visitors[-1]

    started = time.monotonic()
    yield make
    for context in contexts:
        context.close()
    for v in visitors:
        if v._twin is not None:
            v._twin.context.close()
    request.node.user_properties.append(("browser_seconds", round(time.monotonic() - started, 1)))
