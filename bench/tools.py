"""The load generator, fetched through Debian's package registry when it is not installed.

`apt-get download` + `dpkg -x` need no root and install nothing system-wide: wrk and LuaJIT
(its script engine) are unpacked under .local/cache/wrk and run with LD_LIBRARY_PATH."""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import lru_cache

from infra.local import CACHE

PACKAGES = ("wrk", "libluajit-5.1-2")


@lru_cache(maxsize=1)
def wrk() -> tuple[str, dict[str, str]]:
    """(path of a wrk binary, extra environment to run it with)."""
    if found := shutil.which("wrk"):
        return found, {}
    root = CACHE / "wrk"
    binary = root / "usr" / "bin" / "wrk"
    libs = root / "usr" / "lib" / "x86_64-linux-gnu"
    if not binary.exists():
        debs = root / "debs"
        debs.mkdir(parents=True, exist_ok=True)
        if not shutil.which("apt-get"):
            raise RuntimeError(
                "wrk is needed for the intake benchmark: install it "
                "(Debian/Ubuntu: apt-get install wrk) and rerun"
            )
        print("bench: fetching wrk from the Debian archive (first run only)", flush=True)
        subprocess.run(
            ["apt-get", "download", *PACKAGES], cwd=debs, check=True, capture_output=True
        )
        for deb in sorted(debs.glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return str(binary), {"LD_LIBRARY_PATH": str(libs)}


def wrk_version() -> str:
    path, env = wrk()
    out = subprocess.run(
        [path, "--version"], capture_output=True, text=True, env={**os.environ, **env}
    )
    return (out.stdout or out.stderr).splitlines()[0].strip()
