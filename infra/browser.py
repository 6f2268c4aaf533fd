"""Headless Chromium for the browser tests (tests/browser).

The browser comes from Debian's `chromium` package, never from a test tool's own download
(Playwright's CDN is not reachable here). `ensure_chromium()` returns the binary's path and, when
it is missing and we run as root, installs it with apt-get.

    python -m infra.browser      # install if needed, print the path
    python -m infra.browser vnu  # resolve the W3C Nu HTML checker, print its classpath

The W3C Nu HTML checker (vnu) comes from Maven Central (`nu.validator:validator`, resolved by
`infra/vnu/pom.xml` into `.local/cache/vnu/`, once); `check_html(documents)` runs it on the
Java of the machine (the same Java and Maven as the local Kafka broker).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
APT_PACKAGE = "chromium"
# Without the background-networking flags Chromium keeps trying to reach Google's hosts, which
# this machine's closed network refuses; as root it refuses to start without --no-sandbox.
LAUNCH_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)

HOW_TO_INSTALL = (
    "Chromium is needed for the browser tests and is not installed. Install Debian's package as "
    "root: `apt-get update && apt-get install -y --no-install-recommends chromium` "
    "(or set REPLIKA_CHROMIUM to the path of a Chromium binary)."
)


class ChromiumUnavailable(RuntimeError):
    pass


def find_chromium() -> str | None:
    explicit = os.environ.get("REPLIKA_CHROMIUM")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for path in CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return None


def _apt(*args: str, env: dict[str, str]) -> None:
    # stdin closed: CI has none, and apt must never wait for an answer.
    # Wait for another apt/dpkg run (another engineer's install) instead of failing at once.
    proc = subprocess.run(
        ["apt-get", "-o", "DPkg::Lock::Timeout=300", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise ChromiumUnavailable(
            f"`apt-get {' '.join(args)}` failed (exit {proc.returncode}):\n"
            f"{proc.stderr[-2000:] or proc.stdout[-2000:]}\n{HOW_TO_INSTALL}"
        )


def _apt_lists_present() -> bool:
    lists = Path("/var/lib/apt/lists")
    return lists.is_dir() and any(p.name.endswith("_Packages") for p in lists.iterdir())


def install_chromium() -> None:
    if os.geteuid() != 0:
        raise ChromiumUnavailable(HOW_TO_INSTALL + " (not running as root, so not installing)")
    if not shutil.which("apt-get"):
        raise ChromiumUnavailable(HOW_TO_INSTALL + " (no apt-get on this machine)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_lists_present():
        _apt("update", env=env)
    try:
        _apt("install", "-y", "--no-install-recommends", APT_PACKAGE, env=env)
    except ChromiumUnavailable:
        # Stale package lists name versions the mirror no longer has: refresh once and retry.
        _apt("update", env=env)
        _apt("install", "-y", "--no-install-recommends", APT_PACKAGE, env=env)


def ensure_chromium() -> str:
    """The path of a Chromium binary, installing Debian's package first when needed."""
    path = find_chromium()
    if path:
        return path
    if os.environ.get("REPLIKA_CHROMIUM"):
        raise ChromiumUnavailable(
            f"REPLIKA_CHROMIUM={os.environ['REPLIKA_CHROMIUM']} is not an executable file"
        )
    install_chromium()
    path = find_chromium()
    if not path:
        raise ChromiumUnavailable(
            f"apt-get installed {APT_PACKAGE} but no binary is at "
            f"{' or '.join(CANDIDATES)}. {HOW_TO_INSTALL}"
        )
    return path


# --- the W3C Nu HTML checker -----------------------------------------------------------------

VNU_POM = Path(__file__).resolve().parent / "vnu" / "pom.xml"
VNU_CACHE = Path(__file__).resolve().parents[1] / ".local" / "cache" / "vnu"
VNU_MAIN = "nu.validator.client.SimpleCommandLineValidator"


class VnuUnavailable(RuntimeError):
    pass


def ensure_vnu(cache: Path = VNU_CACHE) -> str:
    """The Java classpath of the Nu checker, resolving its jars with Maven on first use."""
    from infra import kafka  # the one Maven resolver of the repository

    if not kafka.java_available():
        raise VnuUnavailable(
            "The W3C Nu HTML checker needs Java and Maven: "
            "`apt-get install -y --no-install-recommends default-jre-headless maven`."
        )
    libs = kafka.ensure_jars(cache, VNU_POM)
    return str(libs / "*")


def check_html(documents: dict[str, str], cache: Path = VNU_CACHE) -> list[dict]:
    """Run the Nu checker once over `documents` ({name: HTML source}); its messages of type
    "error" (and fatal ones), each with the document's `name` added."""
    classpath = ensure_vnu(cache)
    with tempfile.TemporaryDirectory(prefix="replika-vnu-") as tmp:
        names = {}
        for i, (name, html) in enumerate(documents.items()):
            path = Path(tmp) / f"{i:03d}.html"
            path.write_text(html, encoding="utf-8")
            names[path.name] = name
        proc = subprocess.run(
            [
                "java",
                "-cp",
                classpath,
                VNU_MAIN,
                "--format",
                "json",
                "--exit-zero-always",
                *sorted(str(Path(tmp) / p) for p in os.listdir(tmp)),
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=600,
        )
    # the report is one line of JSON on stderr; the other lines are Jetty's log
    output = proc.stderr + "\n" + proc.stdout
    lines = [line for line in output.splitlines() if line.startswith('{"messages"')]
    if proc.returncode != 0 or not lines:
        raise VnuUnavailable(
            f"the Nu checker failed (exit {proc.returncode}): {proc.stderr[-2000:]}"
        )
    messages = json.loads(lines[-1])["messages"]
    out = []
    for m in messages:
        if m.get("type") == "error" or m.get("subType") == "fatal":
            url = m.get("url", "")
            out.append({**m, "name": names.get(url.rsplit("/", 1)[-1], url)})
    return out


if __name__ == "__main__":
    try:
        print(ensure_vnu() if sys.argv[1:] == ["vnu"] else ensure_chromium())
    except (ChromiumUnavailable, VnuUnavailable) as exc:
        sys.exit(str(exc))
