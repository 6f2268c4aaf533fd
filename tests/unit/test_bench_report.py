"""bench/report.py goals(): which benchmark goals (intake throughput, relay against a plain
producer, ledger latency held for 5 minutes and the highest rate under 1 s, 514 cities, the
notifications consumer, city-scale data) a result meets (pure logic, no stack)."""

from __future__ import annotations

import math

from bench import report


def _intake(wb_ratio, hb_ratio, *, wb_rps=300.0, hb_rps=200.0, base_rps=400.0):
    def target(ratio, rps, base):
        return {
            "sustained_rps": rps,
            "sustained_ratio_to_baseline": ratio,
            "baseline": base,
            "steps": [],
        }

    return {
        "targets": {
            "whistleblowing.submit_report": target(wb_ratio, wb_rps, "baseline.for_report"),
            "baseline.for_report": {"sustained_rps": base_rps, "steps": []},
            "hibah_bansos.submit_application": target(hb_ratio, hb_rps, "baseline.for_application"),
            "baseline.for_application": {"sustained_rps": base_rps, "steps": []},
        }
    }


def _pipeline(
    p99_ms, relay_ratio, *, achieved=1000.0, missing=0, seconds=300.0, max_eps=2000, base=5000.0
):
    return {
        "baseline_producer_max": {"events_per_s": base},
        "relay_max": {"events_per_s": relay_ratio * base, "ratio_to_baseline": relay_ratio},
        "ledger": [
            {
                "target_eps": 100,
                "seconds": 30.0,
                "achieved_eps": 100.0,
                "missing": 0,
                "latency_ms": {"p50": 20.0, "p99": 5000.0},
            },
            {
                "target_eps": 1000,
                "seconds": seconds,
                "achieved_eps": achieved,
                "missing": missing,
                "latency_ms": {"p50": 50.0, "p99": p99_ms},
            },
        ],
        "ledger_max_rate": {
            "steps": [{"target_eps": 1500, "held": True}, {"target_eps": 2000, "held": False}],
            "max_eps": max_eps,
        },
    }


def _cities(ratio, *, tenants=514, errors=0):
    return {
        "few": {"tenants": 2, "rps": 100.0, "rss_mib_per_worker": 90.0, "startup_s": 1.5},
        "many": {
            "tenants": tenants,
            "rps": 100.0 * ratio,
            "rss_mib_per_worker": 95.0,
            "startup_s": 1.6,
            "errors": errors,
        },
        "ratio": ratio,
    }


def _notifications(notices_per_s=300.0, events_per_s=100.0, audit_eps=2000.0):
    return {
        "recipients_per_event": 3,
        "notifications": {
            "notifications_per_s": notices_per_s,
            "events_per_s": events_per_s,
            "complete": True,
        },
        "audit": {"events_per_s": audit_eps},
    }


def _scale(dup_p99, summary_p99, page_p99, *, n=1_000_000, m=100_000):
    return {
        "beneficiaries": n,
        "applications": n,
        "cases": m,
        "duplicate_check": {"p99_ms": dup_p99},
        "programme_summary": {"ms": {"p50": summary_p99 / 2, "p99": summary_p99}},
        "case_list": {"worst_page": {"filter": "none", "page": "last", "p99_ms": page_p99}},
    }


def _by_section(goals):
    out = {}
    for g in goals:
        out.setdefault(g["section"], []).append(g)
    return out


# row order: 2 intake, relay, ledger p99, ledger max rate, 514/2 ratio, RSS, start-up,
# notifications, 3 scale
RELAY, LEDGER, MAX_RATE, CITIES, RSS, START, NOTIFY, DUP = 2, 3, 4, 5, 6, 7, 8, 9


def test_every_benchmark_goal_is_listed_and_none_measured_without_sections():
    goals = report.goals({"sections": {}})
    assert len(goals) == 14  # 2 intake, 3 pipeline, 3 cities, 1 notifications, 3 + 2 scale
    assert all(g["met"] is None and g["measured"] is None for g in goals)
    assert {tuple(sorted(g)) for g in goals} == {
        ("goal", "measured", "met", "note", "section", "target", "unit")
    }
    assert {k: len(v) for k, v in _by_section(goals).items()} == {
        "intake": 2,
        "pipeline": 3,
        "cities": 3,
        "notifications": 1,
        "scale": 3,
        "scale_national": 2,
    }


def _all(**over):
    sections = {
        "intake": _intake(0.8, 0.7),
        "pipeline": _pipeline(200.0, 0.95),
        "cities": _cities(0.97),
        "notifications": _notifications(),
        "scale": _scale(2.0, 300.0, 60.0),
    }
    return report.goals({"sections": {**sections, **over}})


def test_all_met_and_the_reported_rows_are_measured_not_judged():
    goals = _all()
    judged = [True, True, True, True, None, True, None, None, None, True, True, True]
    assert [g["met"] for g in goals] == judged + [None, None]  # no national run given
    assert all("bench-scale" in g["note"] for g in goals[-2:])
    for i in (MAX_RATE, RSS, START, NOTIFY):
        assert goals[i]["target"] == report.REPORTED and goals[i]["measured"] is not None
    assert goals[MAX_RATE]["measured"] == 2000
    assert goals[RSS]["measured"] == 95.0 and "90.0" in goals[RSS]["note"]
    assert goals[START]["measured"] == 1.6
    assert goals[NOTIFY]["measured"] == 300.0 and "0.05" in goals[NOTIFY]["note"]


def test_each_threshold_is_strict_where_the_goal_says_under():
    goals = _all(
        intake=_intake(0.69, 0.7),
        pipeline=_pipeline(250.0, 0.899),
        cities=_cities(0.949),
        scale=_scale(5.0, 500.0, 100.0),
    )
    met = [g["met"] for g in goals]
    # 69% misses, exactly 70% meets ("at least"); relay 89.9% misses ("at least 90%"); exactly
    # 250 ms, 5 ms, 500 ms, 100 ms miss ("under"); 94.9% of intake with 2 misses (95%)
    assert met[:12] == [False, True, False, False, None, False, None, None, None] + [False] * 3
    assert goals[LEDGER]["measured"] == 250.0 and goals[RELAY]["measured"] == 0.899
    goals = _all(pipeline=_pipeline(249.0, 0.90), cities=_cities(0.95))
    assert goals[RELAY]["met"] is True and goals[LEDGER]["met"] is True
    assert goals[CITIES]["met"] is True


def test_relay_ratio_computed_from_the_producer_when_missing():
    pipeline = _pipeline(100.0, 0.5)
    del pipeline["relay_max"]["ratio_to_baseline"]
    goals = report.goals({"sections": {"pipeline": pipeline}})
    assert math.isclose(goals[RELAY]["measured"], 0.5) and goals[RELAY]["met"] is False


def test_relay_goal_takes_two_relays_when_they_publish_more():
    pipeline = _pipeline(100.0, 0.5)
    pipeline["relay_max_two_relays"] = {"events_per_s": 4750.0}  # the producer: 5,000
    goal = report.goals({"sections": {"pipeline": pipeline}})[RELAY]
    assert math.isclose(goal["measured"], 0.95) and goal["met"] is True
    assert goal["note"].startswith("two relays: 4750.0 events/s")


def test_intake_ratio_computed_when_missing_and_zero_when_nothing_sustained():
    intake = _intake(None, None, wb_rps=280.0, hb_rps=None, base_rps=400.0)
    goals = report.goals({"sections": {"intake": intake}})
    wb, hb = goals[0], goals[1]
    assert math.isclose(wb["measured"], 0.7) and wb["met"] is True
    assert hb["measured"] == 0.0 and hb["met"] is False


def test_intake_goal_names_the_cpu_per_request_of_both_sides_when_measured():
    intake = _intake(0.3, 0.3)
    report_target = intake["targets"]["whistleblowing.submit_report"]
    report_target["probe"] = {"cpu_ms_per_request": {"server": 6.1, "postgres": 1.2}}
    report_target["cpu_ratio_to_baseline"] = 1.84 / 7.3
    intake["targets"]["baseline.for_report"]["probe"] = {
        "cpu_ms_per_request": {"server": 1.56, "postgres": 0.28}
    }
    wb, hb = report.goals({"sections": {"intake": intake}})[:2]
    assert wb["note"].endswith("CPU per request 6.10 + 1.20 ms vs 1.56 + 0.28 (ratio 0.25)")
    assert "CPU" not in hb["note"]  # not measured: not shown
    table = "\n".join(report._md_intake(intake))
    assert "| 6.10 + 1.20 | 1.56 + 0.28 | 0.25 |" in table


def test_failed_section_gives_none_with_the_error():
    goals = report.goals({"sections": {"pipeline": {"error": "RuntimeError: broker gone"}}})
    pipe = _by_section(goals)["pipeline"]
    assert len(pipe) == 3 and all(g["met"] is None for g in pipe)
    assert "broker gone" in pipe[0]["note"]


def test_ledger_events_missing_is_a_miss_and_unreached_rate_or_short_step_is_unverified():
    goals = report.goals({"sections": {"pipeline": _pipeline(100.0, 0.95, missing=3)}})
    assert goals[LEDGER]["met"] is False and "3 events" in goals[LEDGER]["note"]
    goals = report.goals({"sections": {"pipeline": _pipeline(100.0, 0.95, achieved=600.0)}})
    assert goals[LEDGER]["met"] is None and "600" in goals[LEDGER]["note"]
    assert goals[RELAY]["met"] is True  # the relay goal stands on its own
    goals = report.goals({"sections": {"pipeline": _pipeline(100.0, 0.95, seconds=8.0)}})
    assert goals[LEDGER]["met"] is None and "quick" in goals[LEDGER]["note"]
    assert goals[LEDGER]["measured"] == 100.0


def test_ledger_goal_uses_the_1000_per_second_step_not_the_100_one():
    goals = report.goals({"sections": {"pipeline": _pipeline(200.0, 0.95)}})
    assert goals[LEDGER]["measured"] == 200.0 and goals[LEDGER]["met"] is True  # 100/s had 5 s


def test_max_rate_none_held_is_reported_as_such():
    goals = report.goals({"sections": {"pipeline": _pipeline(1200.0, 0.95, max_eps=None)}})
    assert goals[MAX_RATE]["measured"] is None and "none held" in goals[MAX_RATE]["note"]


def test_max_rate_falls_back_to_the_fixed_rate_step_that_held_under_a_second():
    goals = report.goals({"sections": {"pipeline": _pipeline(600.0, 0.95, max_eps=None)}})
    assert goals[MAX_RATE]["measured"] == 1000
    assert goals[MAX_RATE]["note"].startswith("1000/s held (a fixed-rate step)")


def test_cities_with_fewer_tenants_are_not_judged_and_errors_miss():
    goals = report.goals({"sections": {"cities": _cities(0.99, tenants=64)}})
    assert goals[CITIES]["met"] is None and "64" in goals[CITIES]["note"]
    goals = report.goals({"sections": {"cities": _cities(0.99, errors=2)}})
    assert goals[CITIES]["met"] is False and "2 requests" in goals[CITIES]["note"]


def test_unfinished_notifications_run_says_so():
    n = _notifications()
    n["notifications"]["complete"] = False
    goals = report.goals({"sections": {"notifications": n}})
    assert "did not finish" in goals[NOTIFY]["note"]


def test_quick_scale_is_reported_but_not_judged():
    goals = report.goals({"sections": {"scale": _scale(1.0, 10.0, 500.0, n=100_000, m=10_000)}})
    scale = _by_section(goals)["scale"]
    assert [g["measured"] for g in scale] == [1.0, 10.0, 500.0]
    assert all(g["met"] is None and "quick" in g["note"] for g in scale)


def test_scale_goal_misses_at_full_scale():
    goals = report.goals({"sections": {"scale": _scale(7.5, 120.0, 450.0)}})
    assert [g["met"] for g in _by_section(goals)["scale"]] == [False, True, False]


def test_nan_measurement_is_not_judged():
    goals = report.goals({"sections": {"scale": _scale(float("nan"), 10.0, 10.0)}})
    assert goals[DUP]["measured"] is None and goals[DUP]["met"] is None


def test_national_scale_rows_judged_only_at_ten_million():
    national = {**_scale(4.0, 600.0, 50.0, n=10_000_000), "national": True}
    goals = report.goals({"sections": {"scale": national}})
    assert [g["met"] for g in goals[-2:]] == [True, False]  # 4 ms < 5 ms; 600 ms >= 500 ms
    assert "10,000,000" in goals[-1]["note"]
    quick = {**_scale(4.0, 100.0, 50.0, n=1_000_000), "national": True}
    goals = report.goals({"sections": {"scale_national": quick}})
    assert [g["met"] for g in goals[-2:]] == [None, None] and "quick" in goals[-1]["note"]


def test_a_national_run_does_not_replace_the_city_scale_section(tmp_path):
    import json

    city = {
        "started_at": "20260101T000000Z",
        "mode": "full",
        "sections": {"scale": _scale(1, 1, 1)},
    }
    national = {
        "started_at": "20260102T000000Z",
        "mode": "full",
        "sections": {"scale": {**_scale(2, 2, 2, n=10_000_000), "national": True}},
    }
    for r in (city, national):
        (tmp_path / f"{r['started_at']}.json").write_text(json.dumps(r))
    got = report.gather_sections({"started_at": "x", "sections": {}}, tmp_path)
    assert got["scale"]["started_at"] == "20260101T000000Z"
    assert got["scale_national"]["started_at"] == "20260102T000000Z"


def test_markdown_takes_missing_sections_from_the_newest_earlier_run(tmp_path):
    import json

    older = {
        "started_at": "20260101T000000Z",
        "mode": "full",
        "sections": {"scale": _scale(9.0, 900.0, 900.0), "pipeline": _pipeline(1.0, 0.1)},
    }
    newer = {
        "started_at": "20260102T000000Z",
        "mode": "full",
        "sections": {"scale": {"error": "boom"}, "pipeline": _pipeline(100.0, 0.95)},
    }
    for r in (older, newer):
        (tmp_path / f"{r['started_at']}.json").write_text(json.dumps(r))
    current = {
        "started_at": "20260103T000000Z",
        "mode": "quick",
        "machine": {"cores": 2},
        "sections": {"crypto": {"ops": {}}},
    }
    got = report.gather_sections(current, tmp_path)
    assert got["crypto"]["started_at"] == "20260103T000000Z"
    assert got["pipeline"]["started_at"] == "20260102T000000Z"  # newest, not the older one
    assert got["scale"]["started_at"] == "20260101T000000Z"  # the newer one failed
    doc = tmp_path / "benchmarks.md"
    report.write_markdown(current, [], path=doc, results_dir=tmp_path)
    text = doc.read_text()
    assert "**missed**" in text and "**met**" in text and "## Intake" in text
    assert "## Cities" in text and "## Notifications" in text and "shared" in text


def test_console_summary_takes_the_national_run_as_the_page_does(tmp_path):
    import json

    national = {
        "started_at": "20260102T000000Z",
        "mode": "full",
        "sections": {"scale": {**_scale(2, 2, 2, n=10_000_000), "national": True}},
    }
    (tmp_path / f"{national['started_at']}.json").write_text(json.dumps(national))
    regular = {"started_at": "20260103T000000Z", "mode": "full", "sections": {}}
    alone = report.console_summary(regular)
    merged = report.console_summary(regular, tmp_path)
    assert "no `make bench-scale` run yet" in alone
    assert "no `make bench-scale` run yet" not in merged
    assert "[run 20260102T000000Z]" in merged
