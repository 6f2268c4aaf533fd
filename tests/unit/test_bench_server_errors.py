"""bench/intake_bench.keep_log_of_server_errors: a target answered 5xx under load leaves its
server log outside the throw-away state (pure file handling, no stack)."""

from __future__ import annotations

from bench import intake_bench
from infra import local


def _curve(*statuses: list[str]) -> dict:
    probe, *steps = [{"statuses": s} for s in statuses]
    return {"probe": probe, "steps": steps}


def test_a_5xx_keeps_the_server_log_and_a_4xx_does_not(tmp_path, monkeypatch):
    monkeypatch.setattr(local, "LOCAL", tmp_path / "local")
    state = tmp_path / "state"
    (state / "logs").mkdir(parents=True)
    (state / "logs" / "hb.log").write_text("Traceback ...\n")

    assert intake_bench.keep_log_of_server_errors("hb", _curve([], ["409"]), state) is None
    kept = intake_bench.keep_log_of_server_errors("hb", _curve([], [], ["500"]), state)
    assert kept is not None and kept.startswith(str(tmp_path / "local" / "bench-server-errors"))
    assert open(kept).read() == "Traceback ...\n"
