"""The sustained rate of a load curve: the highest step held, stopping at the first failure,
where a failed step that was run again counts by its repeat."""

from __future__ import annotations

from bench.stats import counted_steps, sustained_rate


def _step(rate: int, *, ok: bool, repeat: bool = False) -> dict:
    step = {
        "target_rps": rate,
        "achieved_rps": rate * 0.99,
        "requests": rate * 15,
        "errors": 0,
        "non_2xx": 0,
        "p99_ms": 80.0 if ok else 450.0,
    }
    if repeat:
        step["repeat"] = True
    return step


def test_the_rate_stops_at_the_first_failing_step():
    steps = [_step(100, ok=True), _step(200, ok=False), _step(300, ok=True)]

    assert sustained_rate(steps) == 99.0


def test_a_failed_step_run_again_counts_by_its_repeat():
    steps = [
        _step(100, ok=True),
        _step(200, ok=False),
        _step(200, ok=True, repeat=True),
        _step(300, ok=True),
        _step(400, ok=False),
    ]

    assert sustained_rate(steps) == 297.0
    assert [s["target_rps"] for s in counted_steps(steps)] == [100, 200, 300, 400]
    assert counted_steps(steps)[1]["repeat"] is True


def test_a_repeat_that_fails_again_still_stops_the_rate():
    steps = [_step(100, ok=True), _step(200, ok=False), _step(200, ok=False, repeat=True)]

    assert sustained_rate(steps) == 99.0


def test_nothing_sustained_when_the_first_step_fails_twice():
    assert sustained_rate([_step(100, ok=False), _step(100, ok=False, repeat=True)]) is None
