"""What the tests share beside fixtures: `ROOT` (the repository), data builders and helpers per
area (`hibah_bansos`, `whistleblowing`, `images`), the event pipeline's test rig (`eventing`:
fresh tenants, relay and consumer threads, the broker restarted) and the fault tests' gunicorn
under load (`faults`). Fixtures live in the conftest files; test modules never import each
other, only this package."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
