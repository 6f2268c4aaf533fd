"""Pure helpers: percentiles, summaries, ratios, and the sustained-rate finder (unit-tested)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) with linear interpolation between closest ranks
    (numpy's default "linear" method). Empty input gives NaN."""
    if not 0 <= p <= 100:
        raise ValueError("p must be within 0..100")
    xs = sorted(values)
    if not xs:
        return math.nan
    if len(xs) == 1:
        return float(xs[0])
    rank = (len(xs) - 1) * p / 100.0
    lo = math.floor(rank)
    hi = min(lo + 1, len(xs) - 1)
    return float(xs[lo] + (xs[hi] - xs[lo]) * (rank - lo))


def summarize(values: Iterable[float], scale: float = 1.0) -> dict[str, float]:
    """count, mean, p50, p95, p99, max of `values` multiplied by `scale` (e.g. 1e6 for µs)."""
    xs = [v * scale for v in values]
    if not xs:
        return {
            "count": 0,
            "mean": math.nan,
            "p50": math.nan,
            "p95": math.nan,
            "p99": math.nan,
            "max": math.nan,
        }
    return {
        "count": len(xs),
        "mean": sum(xs) / len(xs),
        "p50": percentile(xs, 50),
        "p95": percentile(xs, 95),
        "p99": percentile(xs, 99),
        "max": max(xs),
    }


def ratio(value: float, baseline: float) -> float | None:
    """value / baseline, or None when either is missing or the baseline is zero."""
    if value is None or baseline is None:
        return None
    if any(isinstance(v, float) and math.isnan(v) for v in (value, baseline)) or baseline == 0:
        return None
    return value / baseline


def step_ok(step: dict, *, p99_limit_ms: float = 200.0, min_achieved: float = 0.95) -> bool:
    """A load step is sustained when it had no errors, p99 under the limit, and the load
    generator actually delivered (nearly) the offered rate."""
    if step.get("errors", 0) or step.get("non_2xx", 0):
        return False
    if not step.get("requests"):
        return False
    if step.get("p99_ms") is None or step["p99_ms"] >= p99_limit_ms:
        return False
    target = step.get("target_rps") or 0
    return step.get("achieved_rps", 0) >= min_achieved * target


def counted_steps(steps: list[dict]) -> list[dict]:
    """The step that counts for each target rate, rising: a step that failed and was run
    again (`repeat`, see bench.intake_bench.load_curve) counts by its repeat."""
    final: dict[float, dict] = {}
    for step in steps:  # in the order they ran: a repeat replaces the attempt before it
        final[step.get("target_rps", 0)] = step
    return [final[target] for target in sorted(final)]


def sustained_rate(steps: list[dict], **kw) -> float | None:
    """The highest achieved rate among steps that pass `step_ok`, considering steps in order
    of target rate and stopping at the first failing step (a rate that passes only above a
    failing one is noise, not capacity). None when even the first step fails."""
    best = None
    for step in counted_steps(steps):
        if not step_ok(step, **kw):
            break
        best = step["achieved_rps"]
    return best


def rate_ladder(
    probe_rps: float, fractions: Sequence[float], *, floor: float = 10.0, ceiling: float = 20000.0
) -> list[int]:
    """Target rates for the load steps: fractions of a closed-loop probe's throughput, rounded
    to 2 significant figures, de-duplicated, rising, within [floor, ceiling]."""
    rates: list[int] = []
    for f in fractions:
        r = max(floor, min(ceiling, probe_rps * f))
        digits = max(0, int(math.floor(math.log10(r))) - 1)
        r = int(round(r / 10**digits) * 10**digits)
        if not rates or r > rates[-1]:
            rates.append(r)
    return rates
