"""`make bench`: Replika's benchmark harness (issue 9).

    python -m bench [--quick] [--only crypto,pipeline,intake,scale]

It provisions its own throw-away PostgreSQL + Kafka (infra.local.up on free ports under
.local/bench-runs/), measures every figure next to a baseline taken in the same run, writes
bench/results/<timestamp>.json and latest.json, charts, and docs/benchmarks.md.
"""
