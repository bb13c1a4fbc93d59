"""reports.diff: verdict changes by direction, scenarios added/removed, answer times that moved."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.verdict.verdicts import Verdict
from reports.answer_times import Summary
from reports.diff import (
    CHANGE,
    IMPROVEMENT,
    REGRESSION,
    NotARunDirectory,
    compare_timing,
    diff_document,
    diff_runs,
    direction,
    format_text,
    load_run,
)
from reports.model import CheckResult, Results

EV, SECC = "fe80::2", "fe80::1"
MESSAGE = "DIN CurrentDemandReq -> CurrentDemandRes"


def _run(
    root: Path, name: str, kit: SimpleNamespace, verdicts: dict[str, Verdict], delays: list[float]
) -> Path:
    """A run whose scenarios have the given verdicts; the first one timed CurrentDemand answers."""
    run_dir = root / name
    run_dir.mkdir()
    events, frames = [], []
    for n, delay in enumerate(delays):
        t = n * 0.1
        events.append(kit.event(t, 2 * n + 1, EV, SECC, "DIN", "CurrentDemandReq"))
        events.append(kit.event(t + delay, 2 * n + 2, SECC, EV, "DIN", "CurrentDemandRes"))
        frames += [2 * n + 1, 2 * n + 2]
    check = CheckResult(
        spec={
            "kind": "response_time",
            "request": {"protocol": "DIN", "message": "CurrentDemandReq", "from": "tester"},
            "response": {"protocol": "DIN", "message": "CurrentDemandRes", "from": "dut"},
            "max_s": 0.025,
        },
        description="CurrentDemandRes within 25 ms",
        verdict=Verdict.PASS,
        reason="ok",
        frames=frames,
    )
    scenarios = []
    for index, (sid, verdict) in enumerate(verdicts.items()):
        timeline = kit.write_timeline(run_dir, sid, events) if index == 0 and delays else None
        scenarios.append(
            kit.scenario(
                sid, verdict, timeline=timeline, checks=[check] if timeline else [], reason=f"{sid} {verdict}"
            )
        )
    Results(run=kit.run_info(), scenarios=scenarios).save(run_dir)
    return run_dir


def test_direction() -> None:
    assert direction(Verdict.PASS, Verdict.FAIL) == REGRESSION
    assert direction(Verdict.NOT_APPLICABLE, Verdict.INCONCLUSIVE) == REGRESSION
    assert direction(Verdict.PASS, Verdict.ERROR) == REGRESSION
    assert direction(Verdict.FAIL, Verdict.PASS) == IMPROVEMENT
    assert direction(Verdict.ERROR, Verdict.NOT_APPLICABLE) == IMPROVEMENT
    assert direction(Verdict.FAIL, Verdict.ERROR) == CHANGE
    assert direction(Verdict.PASS, Verdict.NOT_APPLICABLE) == CHANGE


def test_same_run_twice_has_no_regression(tmp_path: Path, kit: SimpleNamespace) -> None:
    a = _run(tmp_path, "a", kit, {"S1": Verdict.PASS, "S2": Verdict.FAIL}, [0.001, 0.002, 0.003])
    diff = diff_runs(a, a, 50.0, 0.005)
    assert not diff.regressed and diff.changes == () and diff.added == () and diff.removed == ()
    assert [t.message for t in diff.timing] == [MESSAGE] and diff.timing[0].moves == ()
    assert format_text(diff).endswith("no regression\n")
    assert diff.dut_a == "Example <Charging> & Co DC-50, firmware 1.2.3, serial SN-0042" == diff.dut_b
    assert format_text(diff).startswith(f"A: {a} (2 scenarios; Example <Charging> & Co DC-50, firmware 1.2.3")


def test_verdicts_added_removed(tmp_path: Path, kit: SimpleNamespace) -> None:
    a = _run(
        tmp_path,
        "a",
        kit,
        {"S1": Verdict.PASS, "S2": Verdict.FAIL, "S3": Verdict.PASS, "GONE": Verdict.PASS},
        [0.001],
    )
    b = _run(
        tmp_path,
        "b",
        kit,
        {"S1": Verdict.PASS, "S2": Verdict.PASS, "S3": Verdict.INCONCLUSIVE, "NEW": Verdict.FAIL},
        [0.001],
    )
    diff = diff_runs(a, b, 50.0, 0.005)
    assert diff.added == ("NEW",) and diff.removed == ("GONE",)
    assert [(c.id, c.before, c.after, c.direction) for c in diff.changes] == [
        ("S2", "FAIL", "PASS", IMPROVEMENT),
        ("S3", "PASS", "INCONCLUSIVE", REGRESSION),
    ]
    assert diff.regressed and [c.id for c in diff.verdict_regressions] == ["S3"]
    text = format_text(diff)
    assert "  regression   S3: PASS -> INCONCLUSIVE (S3 INCONCLUSIVE)" in text
    assert "  added        NEW" in text and "  removed      GONE" in text
    assert text.endswith("REGRESSED\n")


def test_only_an_improvement_is_no_regression(tmp_path: Path, kit: SimpleNamespace) -> None:
    a = _run(tmp_path, "a", kit, {"S1": Verdict.FAIL}, [])
    b = _run(tmp_path, "b", kit, {"S1": Verdict.PASS}, [])
    assert not diff_runs(a, b, 50.0, 0.005).regressed


def test_slower_answers_move_beyond_both_thresholds(tmp_path: Path, kit: SimpleNamespace) -> None:
    a = _run(tmp_path, "a", kit, {"S1": Verdict.PASS}, [0.002] * 19 + [0.004])
    b = _run(tmp_path, "b", kit, {"S1": Verdict.PASS}, [0.002] * 19 + [0.020])
    diff = diff_runs(a, b, 50.0, 0.005)
    (timing,) = diff.timing
    assert [(m.statistic, m.slower) for m in timing.moves] == [("max", True)]
    move = timing.moves[0]
    assert move.before_s == pytest.approx(0.004, abs=1e-6) and move.after_s == pytest.approx(0.020, abs=1e-6)
    assert move.change_percent == pytest.approx(400.0, rel=1e-3)
    # Listed, but not gated by default: the verdicts did not change.
    assert not diff.regressed and len(diff.slower) == 1
    text = format_text(diff)
    assert f"  slower       {MESSAGE} max: 4.0 ms -> 20.0 ms (+400 %)" in text
    assert text.endswith("no regression (1 answer-time figure(s) slower, not gated: --fail-on-slower)\n")
    gated = diff_runs(a, b, 50.0, 0.005, fail_on_slower=True)
    assert gated.regressed and format_text(gated).endswith("REGRESSED\n")
    assert diff_document(gated)["answer_times"]["slower_is_regression"] is True
    # The same move under the absolute floor, or under the percentage, is no move.
    assert not diff_runs(a, b, 50.0, 0.020, fail_on_slower=True).regressed
    assert not diff_runs(a, b, 500.0, 0.005, fail_on_slower=True).regressed
    # Faster is listed but never a regression.
    back = diff_runs(b, a, 50.0, 0.005, fail_on_slower=True)
    assert [(m.statistic, m.slower) for m in back.timing[0].moves] == [("max", False)] and not back.regressed


def test_message_type_in_one_run_only(tmp_path: Path, kit: SimpleNamespace) -> None:
    a = _run(tmp_path, "a", kit, {"S1": Verdict.PASS}, [0.001])
    b = _run(tmp_path, "b", kit, {"S1": Verdict.PASS}, [])
    diff = diff_runs(a, b, 50.0, 0.005)
    assert diff.timing[0].after is None and not diff.regressed
    assert f"  only in A    {MESSAGE} (1 answer(s), max 1.0 ms)" in format_text(diff)


def test_from_zero_is_an_infinite_change() -> None:
    zero = Summary("m", 1, 0.0, 0.0, 0.0, ())
    slow = Summary("m", 1, 0.01, 0.01, 0.01, ())
    (timing,) = compare_timing({"m": zero}, {"m": slow}, 50.0, 0.005)
    assert all(math.isinf(m.change_percent) and m.slower for m in timing.moves) and len(timing.moves) == 3


def test_json_document(tmp_path: Path, kit: SimpleNamespace) -> None:
    a = _run(tmp_path, "a", kit, {"S1": Verdict.PASS}, [0.002])
    b = _run(tmp_path, "b", kit, {"S1": Verdict.FAIL}, [0.030])
    data = json.loads(json.dumps(diff_document(diff_runs(a, b, 50.0, 0.005))))
    assert data["regressed"] is True
    assert data["verdict_changes"] == [
        {"id": "S1", "before": "PASS", "after": "FAIL", "direction": "regression", "reason": "S1 FAIL"}
    ]
    (message,) = data["answer_times"]["messages"]
    assert (
        message["message"] == MESSAGE and message["a"]["count"] == 1 and message["a"]["limits_s"] == [0.025]
    )
    assert {m["statistic"] for m in message["moved"]} == {"p50", "p95", "max"}
    assert data["answer_times"]["threshold_percent"] == 50.0


def test_not_a_run_directory(tmp_path: Path) -> None:
    with pytest.raises(NotARunDirectory, match="not a directory"):
        load_run(tmp_path / "missing")
    with pytest.raises(NotARunDirectory, match="no results.json"):
        load_run(tmp_path)
    (tmp_path / "results.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(NotARunDirectory, match="not a results file"):
        load_run(tmp_path)
