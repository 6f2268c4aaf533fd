"""Intake under load, served the production way.

Each target runs under gunicorn with the flags `make run` uses (infra.local.web_argv: 2 workers
x 4 threads, which fits 2 cores), and wrk (bench/wrk/post.lua) drives it from the same machine:
1. a closed-loop probe (16 connections, no pacing) gives a rough capacity X;
2. paced steps at rising fixed rates (fractions of X) give p50/p95/p99 per rate;
3. the highest rate sustained is the highest step with p99 < 200 ms, no errors, and at least
   95% of the offered rate delivered, below the first step that fails (the first failure of
   a curve is run once more, and counts by that repeat: bench.stats.sustained_rate);
4. the CPU time per request of the probe, of the server's processes and of PostgreSQL's (a
   steadier measure than throughput on a shared machine: each side's own work).
Targets: the bare baseline (bench/baseline_app.py) and whistleblowing report submission, then
the baseline again and bansos application submission (each baseline gets the same requests as
its target, so only the server's work differs). Only 127.0.0.1 is targeted; every step is
bounded in time (and so in requests).
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

from bench import machine, tools
from bench.stats import rate_ladder, ratio, step_ok, sustained_rate

HERE = Path(__file__).resolve().parent
# py-spy frames read "function (path:line)"; this repository's paths are relative or absolute
REPO_FRAME = re.compile(r"\((?:\S*/)?(?:shared|services)/[\w/]+\.py:\d+\)")
LUA = HERE / "wrk" / "post.lua"
HOST = "127.0.0.1"
WRK_THREADS = 2
PROBE_CONNECTIONS = 16
STEP_CONNECTIONS = 64
BANSOS_PROGRAMME = "BANSOS-DISABILITAS-2026"

CATEGORIES = [
    "korupsi",
    "gratifikasi",
    "pungutan_liar",
    "penyalahgunaan_wewenang",
    "benturan_kepentingan",
    "pelanggaran_disiplin_asn",
]
WORDS = (
    "kepala seksi meminta uang pelicin untuk penerbitan izin usaha di kantor kecamatan "
    "setiap pemohon diminta membayar tunai tanpa kuitansi dan pembayaran dilakukan di "
    "ruang belakang pada jam istirahat siang sejak awal tahun anggaran"
).split()


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def whistleblowing_bodies(n: int, seed: int = 9) -> list[str]:
    """Realistic reports (~1 kB): half confidential (an identity to seal), half anonymous."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        body = {
            "category": rng.choice(CATEGORIES),
            "what": _text(rng, 120),
            "reported_persons": [
                {
                    "name": "Budi Santoso",
                    "position": "Kepala Seksi",
                    "work_unit": "Kecamatan Cimahi Tengah",
                }
            ],
            "where": "Kantor Kecamatan Cimahi Tengah",
            "when": "Maret 2026",
            "how_known": _text(rng, 12),
        }
        if i % 2 == 0:
            body["identity"] = {
                "name": "Siti Rahmawati",
                "nik": "3277014509870001",
                "phone": "+6281234567890",
                "email": "siti@example.id",
            }
        out.append(json.dumps(body, ensure_ascii=False))
    return out


def bansos_body(rng: random.Random) -> str:
    amount = rng.choice([1_000_000, 1_500_000, 2_000_000, 2_500_000])
    return json.dumps(
        {
            "programme": BANSOS_PROGRAMME,
            "proposal": _text(rng, 120),
            "requested": amount,
            "rab": [{"item": "Alat bantu dengar dan kursi roda", "amount": amount}],
        }
    )


# --- applicants for bansos: generated with SQL, tokens minted like the service does ------------


class ApplicantPool:
    """Eligible individual applicants (NIK region of the city, in the social registry),
    generated directly in the database; each is used for one application only (a NIK may
    apply to a programme once)."""

    def __init__(self, tenant) -> None:
        self.tenant = tenant
        self.generated = 0
        self.free: list[str] = []

    def grow(self, n: int) -> None:
        from sqlalchemy import text

        from shared.db import service_engine

        start = self.generated
        with service_engine("hibah_bansos", migration=True).begin() as conn:
            ids = conn.execute(
                text("""
                insert into applicants (id, tenant_id, kind, nik_index, nik_region,
                                        in_social_registry, personal, created_at)
                select gen_random_uuid(), :t, 'individual',
                       encode(sha256(convert_to('bench-intake-' || g, 'UTF8')), 'hex'), '3277',
                       true, decode(repeat(md5(g::text), 10), 'hex'), now()
                from generate_series(cast(:a as integer), cast(:b as integer)) g
                returning id"""),
                {"t": self.tenant.id, "a": start + 1, "b": start + n},
            ).scalars()
            self.free += [str(i) for i in ids]
        self.generated += n

    def take(self, n: int) -> list[str]:
        if len(self.free) < n:
            self.grow(n - len(self.free))
        taken, self.free = self.free[:n], self.free[n:]
        return taken


def applicant_tokens(tenant, applicant_ids: list[str]) -> list[str]:
    from itsdangerous import URLSafeTimedSerializer

    from services.hibah_bansos import applicant_auth

    s = URLSafeTimedSerializer(os.environ["REPLIKA_SECRET_KEY"], salt=applicant_auth.SALT)
    return [s.dumps({"a": a, "t": str(tenant.id)}) for a in applicant_ids]


# --- servers ------------------------------------------------------------------------------------


def start_server(name: str, app_spec: str, state: Path, env: dict) -> tuple[subprocess.Popen, str]:
    from infra import local

    port = local.free_port()
    argv = local.web_argv("x", HOST, port)[:-1] + [app_spec]
    proc = local.start_process(name, argv, state, env)
    url = f"http://{HOST}:{port}"
    if not local.wait_http(url + "/healthz", timeout=60):
        stop_server(state, name, proc)
        raise RuntimeError(f"{name} did not start; see {state / 'logs' / (name + '.log')}")
    return proc, url


def stop_server(state: Path, name: str, proc: subprocess.Popen) -> None:
    from infra import local

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # gunicorn and its workers (own session)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    pids = local.Pids(state)
    data = pids.load()
    data.pop(name, None)
    pids.path.write_text(json.dumps(data, indent=2))


# --- wrk -------------------------------------------------------------------------------------


def run_wrk(
    url: str,
    bodies: Path,
    tokens: Path | None,
    rate: float,
    duration: float,
    connections: int,
    paths: Path | None = None,
) -> dict:
    """One wrk run; `paths` (one request path per body line) sends each request to its own
    path, e.g. a random tenant per request."""
    rate_per_thread = rate / WRK_THREADS if rate else 0
    binary, wrk_env = tools.wrk()
    argv = [
        binary,
        "-t",
        str(WRK_THREADS),
        "-c",
        str(connections),
        "-d",
        f"{duration:g}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA),
        url,
        "--",
        str(bodies),
        str(tokens) if tokens else "-",
        f"{rate_per_thread:g}",
        str(WRK_THREADS),
        str(paths) if paths else "-",
    ]
    out = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration + 60, env={**os.environ, **wrk_env}
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result: {out.stdout[-500:]} {out.stderr[-500:]}")
    r = json.loads(line.split(" ", 1)[1])
    seconds = r["duration_us"] / 1e6
    errors = r["connect"] + r["read"] + r["write"] + r["timeout"]
    return {
        "target_rps": rate or None,
        "connections": connections,
        "seconds": round(seconds, 2),
        "requests": r["requests"],
        "achieved_rps": round(r["requests"] / seconds, 1) if seconds else 0.0,
        "errors": errors,
        "non_2xx": r["non2xx"],
        "statuses": sorted(set(r["statuses"].split()))[:10],
        "p50_ms": r["p50_us"] / 1000,
        "p90_ms": r["p90_us"] / 1000,
        "p95_ms": r["p95_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "max_ms": r["max_us"] / 1000,
        "mean_ms": round(r["mean_us"] / 1000, 3),
    }


def step_connections(rate: float) -> int:
    """Open connections for a paced step: enough for the rate, not many idle ones.

    Measured here: at 33 requests/s over 64 keep-alive connections, gunicorn's gthread
    workers left some requests waiting 1.5 s (p99 1,553 ms, p50 14 ms), over 8 connections
    p99 was 22 ms, for the same server and rate. Production puts a proxy in front that keeps
    a few busy upstream connections, so the same rule serves every target and baseline."""
    return max(8, min(STEP_CONNECTIONS, int(rate // 5)))


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def load_curve(
    name: str,
    url: str,
    path: str,
    work: Path,
    quick: bool,
    requests_for,
    ladder: list[int] | None = None,
    cpu_of: dict[str, int] | None = None,
) -> dict:
    """Probe, then paced steps at rising rates. `requests_for(n)` -> (bodies, tokens|None) for
    n requests. A given `ladder` is used as it is (so a baseline and its target can share
    rates); otherwise it comes from the probe. `cpu_of` (name: pid): processes whose CPU time
    per request of the probe is reported, with their children."""
    probe_s, step_s = (3, 5) if quick else (5, 15)
    fractions = (
        (0.3, 0.6, 0.8, 0.95, 1.1, 1.3)
        if quick
        else (0.2, 0.4, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.25, 1.5)
    )
    full_url = url + path
    bodies, tokens = requests_for(4000 if quick else 15000)
    bf = _write_lines(work / f"{name}-probe-bodies.txt", bodies)
    tf = _write_lines(work / f"{name}-probe-tokens.txt", tokens) if tokens else None
    run_wrk(full_url, bf, tf, 0, 1, PROBE_CONNECTIONS)  # warm-up (workers, pools, key caches)
    bodies, tokens = requests_for(4000 if quick else 15000)
    bf = _write_lines(work / f"{name}-probe-bodies.txt", bodies)
    tf = _write_lines(work / f"{name}-probe-tokens.txt", tokens) if tokens else None
    before = machine.cpu_seconds(cpu_of or {})
    probe = run_wrk(full_url, bf, tf, 0, probe_s, PROBE_CONNECTIONS)
    if cpu_of and probe["requests"]:
        after = machine.cpu_seconds(cpu_of)
        probe["cpu_ms_per_request"] = {
            k: round(1000 * (after[k] - before[k]) / probe["requests"], 2) for k in cpu_of
        }
    cpu = probe.get("cpu_ms_per_request") or {}
    print(
        f"bench:   {name}: probe {probe['achieved_rps']:.0f} req/s closed loop "
        f"(p99 {probe['p99_ms']:.0f} ms, errors {probe['errors'] + probe['non_2xx']}"
        + "".join(f", {k} CPU {v} ms/request" for k, v in cpu.items())
        + ")",
        flush=True,
    )
    rates = ladder or rate_ladder(probe["achieved_rps"], fractions)
    # open the steps' connections before measuring (the first paced step otherwise pays for
    # 64 fresh connections and the probe's tail at once), then let the server go idle
    time.sleep(2)
    bodies, tokens = requests_for(200)
    bf = _write_lines(work / f"{name}-warm-bodies.txt", bodies)
    tf = _write_lines(work / f"{name}-warm-tokens.txt", tokens) if tokens else None
    run_wrk(full_url, bf, tf, max(5, rates[0] // 2), 2, step_connections(rates[0]))
    time.sleep(2)
    steps = []
    failures = 0
    repeated = False
    queue = list(rates)
    while queue:
        rate = queue.pop(0)
        n = int(rate * step_s * 1.1) + 100
        bodies, tokens = requests_for(n)
        bf = _write_lines(work / f"{name}-{rate}-bodies.txt", bodies)
        tf = _write_lines(work / f"{name}-{rate}-tokens.txt", tokens) if tokens else None
        step = run_wrk(full_url, bf, tf, rate, step_s, step_connections(rate))
        step["ok"] = step_ok(step)
        again = not step["ok"] and not repeated and failures == 0
        if steps and steps[-1]["target_rps"] == rate:
            step["repeat"] = True
        steps.append(step)
        print(
            f"bench:   {name}: {rate} req/s offered, {step['achieved_rps']:.0f} delivered, "
            f"p50 {step['p50_ms']:.1f} p95 {step['p95_ms']:.1f} p99 {step['p99_ms']:.1f} ms, "
            f"errors {step['errors'] + step['non_2xx']} {' '.join(step['statuses'])}"
            f"{'' if step['ok'] else '  <- not sustained'}"
            f"{', once more' if again else ''}",
            flush=True,
        )
        if again:
            # the first failure is run once more, after a rest: on a shared machine one
            # 15 s step can be unlucky (20261204T142839Z: 350/s failed, 390/s passed), and
            # the rule stops at the first failure (bench.stats.counted_steps). Baseline and
            # target run this same loop, so both get the second chance.
            repeated = True
            queue.insert(0, rate)
            time.sleep(3)
            continue
        failures += 0 if step["ok"] else 1
        if failures >= 2:  # well past capacity: stop loading the machine
            break
        time.sleep(1)
    return {
        "probe": probe,
        "steps": steps,
        "sustained_rps": sustained_rate(steps),
        "step_seconds": step_s,
    }


def keep_log_of_server_errors(name: str, curve: dict, state: Path) -> str | None:
    """A copy of the server's log (outside the throw-away state, under .local/) when the probe
    or a step was answered 5xx: a 500 under load is a defect to read, not only a number. The
    log holds paths and tracebacks (statements without their values), no request bodies."""
    runs = [curve["probe"], *curve["steps"]]
    if not any(s.startswith("5") for r in runs for s in r.get("statuses", [])):
        return None
    from infra import local

    source = state / "logs" / f"{name}.log"
    if not source.exists():
        return None
    kept = local.LOCAL / "bench-server-errors" / f"{time.strftime('%Y%m%dT%H%M%S')}-{name}.log"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_bytes(source.read_bytes())
    print(f"bench:   {name}: answered 5xx; its server log is kept in {kept}", flush=True)
    return str(kept)


def profile_target(
    name: str,
    url: str,
    path: str,
    work: Path,
    requests_for,
    state: Path,
    proc: subprocess.Popen,
    seconds: float = 8.0,
) -> dict | None:
    """Where a worker's time goes under closed-loop load: py-spy (when installed) samples the
    gunicorn workers; top functions by own time."""
    import shutil
    import sys

    # the bench extra installs it into the venv, whose bin/ need not be on PATH
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(pyspy).exists():
        return None
    import psutil

    workers = [c.pid for c in psutil.Process(proc.pid).children()]
    if not workers:
        return None
    # every worker, not one: a single sampler on a saturated 2-core machine sometimes got
    # a few dozen samples only (full run 20261204T165743Z: 18 of the report's worker)
    outs = [work / f"{name}-pyspy-{pid}.txt" for pid in workers]
    logs = [out.with_suffix(".log").open("wb") for out in outs]
    spies = [
        subprocess.Popen(
            [
                pyspy,
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(int(seconds)),
                "--format",
                "raw",
                "--output",
                str(out),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,  # its errors, kept with the run
        )
        for pid, out, log in zip(workers, outs, logs, strict=True)
    ]
    bodies, tokens = requests_for(6000)
    bf = _write_lines(work / f"{name}-profile-bodies.txt", bodies)
    tf = _write_lines(work / f"{name}-profile-tokens.txt", tokens) if tokens else None
    run_wrk(url + path, bf, tf, 0, seconds, PROBE_CONNECTIONS)
    for spy in spies:
        try:
            spy.wait(seconds + 30)
        except subprocess.TimeoutExpired:
            spy.kill()
    for log in logs:
        log.close()  # the child has its own copy
    found = [out for out in outs if out.exists()]
    return collapse_profile(found) if found else None


def collapse_profile(paths: list[Path], top: int = 20) -> dict:
    """From py-spy's collapsed stacks (one file per worker): share of samples per function
    (self, and inclusive), restricted to frames of this repository for the inclusive view."""
    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    lines = [line for path in paths for line in path.read_text().splitlines()]
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        own[frames[-1]] = own.get(frames[-1], 0) + n
        for f in set(frames):
            if REPO_FRAME.search(f):
                incl[f] = incl.get(f, 0) + n

    def pct(d):
        return [
            {"function": k, "share": round(v / total, 3)}
            for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]
        ]

    return {
        "samples": total,
        "workers": len(paths),
        "by_own_time": pct(own),
        "repo_inclusive": pct(incl),
    }


def run(quick: bool, state: Path, env: dict) -> dict:
    from bench import stack
    from bench.baseline_app import create_table
    from shared.settings import database_url

    tenant = stack.tenant()
    work = state / "intake"
    work.mkdir(parents=True, exist_ok=True)
    baseline_url = database_url("whistleblowing", migration=True)
    create_table(baseline_url)
    base_env = {**env, "BENCH_BASELINE_DATABASE_URL": baseline_url}
    path_wb = f"/t/{tenant.slug}/api/v1/reports"
    path_hb = f"/t/{tenant.slug}/api/v1/applications"
    wb_bodies = whistleblowing_bodies(400)

    def wb_requests(n):
        return ([wb_bodies[i % len(wb_bodies)] for i in range(n)], None)

    pool = ApplicantPool(tenant)
    rng = random.Random(99)

    def hb_requests(n: int):
        ids = pool.take(n)
        return [bansos_body(rng) for _ in ids], applicant_tokens(tenant, ids)

    out: dict = {
        "server": " ".join(
            __import__("infra.local", fromlist=["x"]).web_argv("SERVICE", HOST, 0)[1:-1]
        ),
        "load_generator": f"{tools.wrk_version()}, {WRK_THREADS} threads, "
        f"{PROBE_CONNECTIONS} connections (probe) / rate/5 within [8, {STEP_CONNECTIONS}] "
        "(paced steps)",
        "targets": {},
    }
    plan = [
        (
            "whistleblowing.submit_report",
            "operations.apps:whistleblowing()",
            path_wb,
            wb_requests,
            "baseline.for_report",
        ),
        (
            "hibah_bansos.submit_application",
            "operations.apps:hibah_bansos()",
            path_hb,
            hb_requests,
            "baseline.for_application",
        ),
    ]
    postgres = machine.postmaster_pid(str(state / "pgdata"))

    def cpu(server: subprocess.Popen) -> dict[str, int]:
        return {"server": server.pid} | ({"postgres": postgres} if postgres else {})

    for name, spec, path, requests_for, base_name in plan:
        proc, url = start_server(name, spec, state, env)
        try:
            if name.startswith("hibah_bansos"):  # programmes are synced on first use
                import urllib.request

                urllib.request.urlopen(url + f"/t/{tenant.slug}/api/v1/programmes").read()
            target = load_curve(name, url, path, work, quick, requests_for, cpu_of=cpu(proc))
            target["server_log_kept"] = keep_log_of_server_errors(name, target, state)
            target["profile"] = profile_target(
                name, url, path, work, requests_for, state, proc, seconds=5 if quick else 10
            )
        finally:
            stop_server(state, name, proc)
        bproc, burl = start_server(base_name, "bench.baseline_app:create_app()", state, base_env)
        try:
            # the baseline at its own rising rates (it is faster): its own probe and ladder
            base = load_curve(base_name, burl, path, work, quick, requests_for, cpu_of=cpu(bproc))
        finally:
            stop_server(state, base_name, bproc)
        target["baseline"] = base_name
        target["sustained_ratio_to_baseline"] = ratio(
            target["sustained_rps"], base["sustained_rps"]
        )
        target["probe_ratio_to_baseline"] = ratio(
            target["probe"]["achieved_rps"], base["probe"]["achieved_rps"]
        )
        base_cpu = sum((base["probe"].get("cpu_ms_per_request") or {}).values())
        mine_cpu = sum((target["probe"].get("cpu_ms_per_request") or {}).values())
        target["cpu_ratio_to_baseline"] = ratio(base_cpu, mine_cpu) if base_cpu else None
        target["request_bytes_mean"] = round(sum(len(b) for b in requests_for(50)[0]) / 50)
        out["targets"][name] = target
        out["targets"][base_name] = base
        print(
            f"bench:   {name}: sustained {target['sustained_rps']} req/s vs baseline "
            f"{base['sustained_rps']} req/s (ratio {target['sustained_ratio_to_baseline']})",
            flush=True,
        )
    return out
