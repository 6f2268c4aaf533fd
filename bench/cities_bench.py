"""514 cities on one deployment (issue 22, goal 4).

1. With the two demo tenants only: a whistleblowing server (gunicorn, `make run`'s flags) is
   started (start-up timed to its first answered report), loaded closed-loop for a while with
   a random tenant of the two per request, and its workers' RSS read.
2. The other cities are provisioned from the `cimahi` template the way an operator does it:
   `replika tenant new --from cimahi` (operations.replication.template.write_new_tenant),
   `replika tenant apply` (operations.tenant_apply.apply), the provisioning's key step
   (operations.replication.provisioning._step_keys) and a custodian key each (as the bench's
   demo tenants have one: half the reports are confidential and seal an identity).
3. A fresh server at 514 tenants: start-up timed again; then closed-loop runs alternate
   between a random tenant of the two and a random tenant of all 514 per request (same
   server, same minute, so the machine's other load falls on both sides alike); a paced step
   each gives p99; the workers' RSS is read after every tenant was touched.

The ratio is of the closed-loop medians: intake(514) / intake(2).
"""

from __future__ import annotations

import json
import multiprocessing
import random
import shutil
import statistics
import time
import urllib.request
from pathlib import Path

from bench import intake_bench as ib

CITIES = 514
QUICK_CITIES = 64
TEMPLATE = "cimahi"
FEW = ("bandung", "cimahi")


def city_slug(i: int) -> str:
    return f"kota-{i:03d}"


def city_region_code(i: int) -> str:
    """A valid BPS-shaped code per city (two digits, a dot, two digits): 90.01 ... 95.19 for
    the 514 (99 cities per made-up province; 3-digit provinces do not parse)."""
    if not 0 <= i < 99 * 10:
        raise ValueError("at most 990 bench cities")
    return f"{90 + i // 99:02d}.{i % 99 + 1:02d}"


def _provision_chunk(tenants_dir: str, indices: list[int]) -> list[dict[str, float]]:
    """Run in a child process: provision each city of `indices`; seconds per city and step."""
    from bench import stack
    from operations import key_admin, tenant_apply
    from operations.replication import provisioning
    from operations.replication.template import TenantExists, template_file, write_new_tenant
    from shared.tenant_config import load_file

    directory = Path(tenants_dir)
    took = []
    for i in indices:
        t0 = time.monotonic()
        steps: dict[str, float] = {}
        slug = city_slug(i)
        try:
            path = write_new_tenant(
                directory,
                template_file(directory, TEMPLATE),
                TEMPLATE,
                slug=slug,
                name=f"Pemerintah Kota Bench {i:03d}",
                region_code=city_region_code(i),
            )
        except TenantExists:
            path = directory / f"{slug}.yaml"
        config = load_file(path)
        steps["tenant_file"] = time.monotonic() - t0
        tenant_apply.apply(config)
        steps["applied"] = time.monotonic() - t0 - sum(steps.values())
        provisioning._step_keys(config.id)
        steps["keys"] = time.monotonic() - t0 - sum(steps.values())
        key_admin.ensure_custodian(config.id, stack.CUSTODIAN_PASSPHRASE)
        steps["custodian"] = time.monotonic() - t0 - sum(steps.values())
        steps["total"] = time.monotonic() - t0
        took.append(steps)
    return took


def provision(tenants_dir: Path, count: int, processes: int = 2) -> dict:
    """`count` new cities from the template, in `processes` processes (the custodian key's
    Argon2id derivation is most of a city's cost)."""
    indices = list(range(count))
    chunks = [indices[k::processes] for k in range(processes)]
    ctx = multiprocessing.get_context("spawn")
    started = time.monotonic()
    with ctx.Pool(processes) as pool:
        parts = pool.starmap(_provision_chunk, [(str(tenants_dir), c) for c in chunks])
    seconds = time.monotonic() - started
    per = [t for part in parts for t in part]
    return {
        "ms_per_step_in_a_process_p50": {
            k: round(statistics.median(t[k] for t in per) * 1000, 1) for k in per[0]
        }
        if per
        else {},
        "tenants": count,
        "template": TEMPLATE,
        "processes": processes,
        "seconds": round(seconds, 1),
        "ms_per_tenant": round(seconds * 1000 / max(1, count), 1),
        "ms_per_tenant_in_a_process_p50": (
            round(statistics.median(t["total"] for t in per) * 1000, 1) if per else None
        ),
    }


def _post_report(url: str, slug: str, body: str) -> int:
    req = urllib.request.Request(
        f"{url}/t/{slug}/api/v1/reports",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status


def start_timed(name: str, state: Path, env: dict, slug: str, body: str):
    """Start the whistleblowing server; (proc, url, seconds to /healthz, seconds to the first
    answered report)."""
    from infra import local

    port = local.free_port()
    argv = local.web_argv("x", ib.HOST, port)[:-1] + ["operations.apps:whistleblowing()"]
    url = f"http://{ib.HOST}:{port}"
    t0 = time.monotonic()
    proc = local.start_process(name, argv, state, env)
    ready = None
    deadline = t0 + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    ready = time.monotonic() - t0
                    break
        except OSError:
            time.sleep(0.05)
    if ready is None:
        ib.stop_server(state, name, proc)
        raise RuntimeError(f"{name} did not start; see {state / 'logs' / (name + '.log')}")
    status = _post_report(url, slug, body)
    first = time.monotonic() - t0
    if status != 201:
        ib.stop_server(state, name, proc)
        raise RuntimeError(f"{name}: the first report got {status}")
    return proc, url, round(ready, 3), round(first, 3)


def worker_rss_mib(proc) -> list[float]:
    import psutil

    return [round(c.memory_info().rss / 2**20, 1) for c in psutil.Process(proc.pid).children()]


class Requests:
    """Bodies and, aligned with them, paths to a random tenant of `slugs` per request."""

    def __init__(self, work: Path, bodies: list[str], seed: int = 514) -> None:
        self.work, self.bodies, self.rng = work, bodies, random.Random(seed)
        self.touched: dict[str, set[str]] = {}

    def files(self, label: str, slugs: list[str], n: int) -> tuple[Path, Path]:
        picks = [self.rng.choice(slugs) for _ in range(n)]
        self.touched.setdefault(label, set()).update(picks)
        bf = ib._write_lines(
            self.work / f"{label}-bodies.txt", [self.bodies[i % len(self.bodies)] for i in range(n)]
        )
        pf = ib._write_lines(
            self.work / f"{label}-paths.txt", [f"/t/{s}/api/v1/reports" for s in picks]
        )
        return bf, pf


def closed_loop(url: str, req: Requests, label: str, slugs: list[str], seconds: float) -> dict:
    bf, pf = req.files(label, slugs, 20000)
    r = ib.run_wrk(url, bf, None, 0, seconds, ib.PROBE_CONNECTIONS, paths=pf)
    print(
        f"bench:   cities {label}: {r['achieved_rps']:.0f} req/s closed loop over "
        f"{len(slugs)} tenants (p99 {r['p99_ms']:.0f} ms, errors {r['errors'] + r['non_2xx']})",
        flush=True,
    )
    return r


def paced(url: str, req: Requests, label: str, slugs: list[str], rate: int, seconds: float):
    n = int(rate * seconds * 1.1) + 100
    bf, pf = req.files(label, slugs, n)
    r = ib.run_wrk(url, bf, None, rate, seconds, ib.step_connections(rate), paths=pf)
    print(
        f"bench:   cities {label}: {rate} req/s offered, {r['achieved_rps']:.0f} delivered, "
        f"p99 {r['p99_ms']:.1f} ms, errors {r['errors'] + r['non_2xx']}",
        flush=True,
    )
    return r


def run(quick: bool, state: Path, env: dict) -> dict:
    from infra import local

    count = (QUICK_CITIES if quick else CITIES) - len(FEW)
    run_s, step_s, rounds = (5, 5, 2) if quick else (15, 15, 3)
    work = state / "cities"
    work.mkdir(parents=True, exist_ok=True)
    tenants_dir = work / "tenants"
    tenants_dir.mkdir(exist_ok=True)
    for slug in FEW:  # the template city's file, as `replika tenant new --from` reads it
        shutil.copy(local.ROOT / "tenants" / f"{slug}.yaml", tenants_dir / f"{slug}.yaml")
    bodies = ib.whistleblowing_bodies(400, seed=514)
    req = Requests(work, bodies)
    few = list(FEW)
    out: dict = {
        "load": f"wrk closed loop, {ib.PROBE_CONNECTIONS} connections, {run_s} s per run, "
        f"{rounds} alternating runs per side; whistleblowing report submission (half "
        "confidential); a random tenant per request",
        "notes": [],
    }

    # 1. two tenants in the deployment
    name = "cities-wb-2"
    proc, url, ready, first = start_timed(name, state, env, "cimahi", bodies[0])
    try:
        closed_loop(url, req, "warm-2", few, 2)
        before = closed_loop(url, req, "before-2", few, run_s)
        rss_few = worker_rss_mib(proc)
    finally:
        ib.stop_server(state, name, proc)
    few_out: dict = {
        "tenants": len(FEW),
        "ready_s": ready,
        "startup_s": first,
        "rss_mib_workers": rss_few,
        "rss_mib_per_worker": round(statistics.mean(rss_few), 1) if rss_few else None,
        "before_provisioning": before,
    }

    # 2. provisioning
    print(f"bench:   cities: provisioning {count} tenants from {TEMPLATE} ...", flush=True)
    out["provisioning"] = provision(tenants_dir, count)
    print(
        f"bench:   cities: provisioned in {out['provisioning']['seconds']} s "
        f"({out['provisioning']['ms_per_tenant']} ms per tenant; per step in a process "
        f"{out['provisioning']['ms_per_step_in_a_process_p50']})",
        flush=True,
    )
    everyone = few + [city_slug(i) for i in range(count)]

    # 3. all tenants in the deployment
    name = "cities-wb-all"
    proc, url, ready_m, first_m = start_timed(name, state, env, city_slug(count - 1), bodies[1])
    runs: dict[str, list[dict]] = {"few": [], "many": []}
    try:
        closed_loop(url, req, "warm-many", everyone, 3)
        for k in range(rounds):
            order = (("few", few), ("many", everyone))
            for label, slugs in order if k % 2 == 0 else reversed(order):
                runs[label].append(closed_loop(url, req, f"{label}-{k}", slugs, run_s))
        rps_few = statistics.median(r["achieved_rps"] for r in runs["few"])
        rate = max(10, int(0.6 * rps_few))
        paced_few = paced(url, req, "paced-few", few, rate, step_s)
        paced_many = paced(url, req, "paced-many", everyone, rate, step_s)
        rss_many = worker_rss_mib(proc)
    finally:
        ib.stop_server(state, name, proc)

    def errors(rs: list[dict]) -> int:
        return sum(r["errors"] + r["non_2xx"] for r in rs)

    rps_many = statistics.median(r["achieved_rps"] for r in runs["many"])
    few_out.update(
        {
            "rps": rps_few,
            "runs_rps": [r["achieved_rps"] for r in runs["few"]],
            "runs": runs["few"],
            "paced": paced_few,
            "errors": errors(runs["few"]) + paced_few["errors"] + paced_few["non_2xx"],
            "tenants_cached": len(req.touched.get("paced-few", set())),
        }
    )
    out["few"] = few_out
    out["many"] = {
        "tenants": len(everyone),
        "ready_s": ready_m,
        "startup_s": first_m,
        "rss_mib_workers": rss_many,
        "rss_mib_per_worker": round(statistics.mean(rss_many), 1) if rss_many else None,
        "rps": rps_many,
        "runs_rps": [r["achieved_rps"] for r in runs["many"]],
        "runs": runs["many"],
        "paced": paced_many,
        "errors": errors(runs["many"]) + paced_many["errors"] + paced_many["non_2xx"],
        "tenants_cached": len(
            set().union(*(req.touched.get(f"many-{k}", set()) for k in range(rounds)))
        ),
    }
    out["ratio"] = round(rps_many / rps_few, 3) if rps_few else None
    out["notes"].append(
        "RSS at 2 tenants is read from a server that served only the two; at "
        f"{len(everyone)} from a fresh server after every tenant was served (caches bounded: "
        "shared/bounded_cache.py)."
    )
    out["notes"].append(
        "Start-up is from starting gunicorn to the first report answered 201 (the worker "
        "that answers it has resolved its tenant, keys and custodian key)."
    )
    print(
        f"bench:   cities: {rps_many:.0f} req/s over {len(everyone)} tenants vs "
        f"{rps_few:.0f} over 2 (ratio {out['ratio']}); RSS per worker "
        f"{few_out['rss_mib_per_worker']} -> {out['many']['rss_mib_per_worker']} MiB; "
        f"start-up {first} -> {first_m} s",
        flush=True,
    )
    json.dumps(out)  # fail here, not in the writer, if something is not serialisable
    return out
