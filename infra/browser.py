"""Headless Chromium for the browser tests (tests/browser).

The browser comes from Debian's `chromium` package, never from a test tool's own download
(Playwright's CDN is not reachable here). `ensure_chromium()` returns the binary's path and, when
it is missing and we run as root, installs it with apt-get.

    python -m infra.browser      # install if needed, print the path
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


if __name__ == "__main__":
    try:
        print(ensure_chromium())
    except ChromiumUnavailable as exc:
        sys.exit(str(exc))
