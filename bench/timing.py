"""timeit-style timing of one operation: warm-up, then `rounds` rounds of `number` calls, each
call timed on its own (perf_counter_ns; the garbage collector is off while timing, as timeit
does), so a median and a p99 per operation come from the same samples."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from bench.stats import summarize


def time_op(
    fn: Callable[[], object], *, number: int = 1000, rounds: int = 5, warmup: int = 50
) -> dict:
    for _ in range(warmup):
        fn()
    samples: list[int] = []
    clock = time.perf_counter_ns
    gc_was = gc.isenabled()
    try:
        for _ in range(rounds):
            gc.disable()
            for _ in range(number):
                t0 = clock()
                fn()
                samples.append(clock() - t0)
            if gc_was:
                gc.enable()
            gc.collect()
    finally:
        if gc_was:
            gc.enable()
    s = summarize(samples, scale=1e-3)  # ns -> µs
    return {
        "unit": "us",
        **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in s.items()},
        "ops_per_s": round(1e6 / s["mean"], 1) if s["mean"] else None,
    }
