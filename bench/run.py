"""The `make bench` driver: provision, run each section, write results, docs and charts."""

from __future__ import annotations

import argparse
import json
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

SECTIONS = ("crypto", "pipeline", "notifications", "cities", "intake", "scale")
RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="shorter steps and 10x smaller city-scale data (< 5 minutes)",
    )
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections among {', '.join(SECTIONS)}",
    )
    parser.add_argument(
        "--keep-state",
        action="store_true",
        help="keep .local/bench-runs/<pid>/ (logs, data) after the run",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument(
        "--national",
        action="store_true",
        help="the scale section at national size: 10,000,000 beneficiaries and applications "
        "(`make bench-scale`; 1,000,000 with --quick)",
    )
    args = parser.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")

    from bench import machine, report, stack

    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result: dict = {"started_at": stamp, "mode": "quick" if args.quick else "full", "sections": {}}
    with stack.throwaway_stack(keep=args.keep_state) as (state, env):
        result["machine"] = machine.describe(env)
        for name in only:
            t0 = time.monotonic()
            print(f"bench: {name} ...", flush=True)
            try:
                module = __import__(f"bench.{name}_bench", fromlist=["run"])
                kwargs = (
                    {"national": True} if args.national and _takes(module.run, "national") else {}
                )
                section = (
                    module.run(args.quick, state=state, env=env, **kwargs)
                    if _takes_state(module.run)
                    else module.run(args.quick, **kwargs)
                )
            except Exception as exc:  # one broken section must not lose the others
                traceback.print_exc()
                section = {"error": f"{type(exc).__name__}: {exc}"}
            section["seconds"] = round(time.monotonic() - t0, 1)
            result["sections"][name] = section
            print(f"bench: {name} done in {section['seconds']}s", flush=True)
            result["machine"]["load_avg_at_end"] = machine.load_average()
            _save_partial(result, stamp, args)  # a run cut short keeps its finished sections
    result["seconds"] = round(time.monotonic() - started, 1)
    result["goals"] = report.goals(result)
    RESULTS.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, default=str)
    suffix = _suffix(args)
    (RESULTS / f"{stamp}{suffix}.json").write_text(text + "\n")
    if not args.national:  # the regular run's results; the scale run keeps its own file
        (RESULTS / "latest.json").write_text(text + "\n")
    charts = report.charts(result, RESULTS)
    if not args.no_docs:
        report.write_markdown(result, charts)
    print(report.console_summary(result, RESULTS))
    print(f"bench: finished in {result['seconds']}s; results in {RESULTS / 'latest.json'}")
    return 0


def _suffix(args) -> str:
    return ("-national" if args.national else "") + ("-quick" if args.quick else "")


def _save_partial(result: dict, stamp: str, args) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    partial = {**result, "partial": True}
    path = RESULTS / f"{stamp}{_suffix(args)}.json"
    path.write_text(json.dumps(partial, indent=2, default=str) + "\n")


def _takes_state(fn) -> bool:
    return _takes(fn, "state")


def _takes(fn, name: str) -> bool:
    import inspect

    return name in inspect.signature(fn).parameters
