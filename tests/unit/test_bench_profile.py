"""The intake section's worker profile: py-spy's collapsed stacks of every worker, together."""

from __future__ import annotations

from bench.intake_bench import collapse_profile


def test_the_workers_samples_are_added_and_shares_are_of_all_of_them(tmp_path):
    one = tmp_path / "w1.txt"
    two = tmp_path / "w2.txt"
    one.write_text(
        "serve (gunicorn/x.py:1);commit (shared/uow.py:73);wait (psycopg/connection.py:495) 6\n"
    )
    two.write_text(
        "serve (gunicorn/x.py:1);commit (shared/uow.py:73);sign (shared/event_signing.py:9) 2\n"
        "serve (gunicorn/x.py:1);select (selectors.py:468) 2\n"
    )

    prof = collapse_profile([one, two])

    assert prof["samples"] == 10
    assert prof["workers"] == 2
    own = {f["function"]: f["share"] for f in prof["by_own_time"]}
    assert own == {
        "wait (psycopg/connection.py:495)": 0.6,
        "sign (shared/event_signing.py:9)": 0.2,
        "select (selectors.py:468)": 0.2,
    }
    inclusive = {f["function"]: f["share"] for f in prof["repo_inclusive"]}
    assert inclusive["commit (shared/uow.py:73)"] == 0.8
    assert "serve (gunicorn/x.py:1)" not in inclusive
