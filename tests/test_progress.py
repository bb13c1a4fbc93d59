"""The per-scenario progress line of `vgi run` and its estimate of the time left."""

from __future__ import annotations

from harness.progress import Progress, format_duration
from harness.verdict.results import ScenarioResult
from harness.verdict.verdicts import Verdict


def _result(sid: str, verdict: Verdict = Verdict.PASS) -> ScenarioResult:
    return ScenarioResult(
        id=sid,
        feature="f",
        name="a scenario",
        interfaces=[4],
        tags=[],
        requirements=[],
        verdict=verdict,
        reason="why",
        duration_s=1.5,
    )


def test_estimate_is_wall_time_per_finished_scenario_times_those_left() -> None:
    now = [100.0]
    progress = Progress(clock=lambda: now[0])
    progress.start(4)
    now[0] = 110.0
    first = progress.line(_result("TC_1"))
    assert first.startswith("[1/4] PASS") and "TC_1  a scenario  (1.50 s)" in first
    assert first.endswith("~30 s left")  # 10 s for one, three left
    now[0] = 130.0
    assert progress.line(_result("TC_2", Verdict.FAIL)).splitlines() == [
        "[2/4] FAIL           TC_2  a scenario  (1.50 s)  ~30 s left",
        "        why",
    ]
    progress.line(_result("TC_3"))
    assert "left" not in progress.line(_result("TC_4"))


def test_durations_read_naturally() -> None:
    assert [format_duration(s) for s in (0.4, 59, 61, 3599, 3720)] == [
        "0 s",
        "59 s",
        "1 min 01 s",
        "59 min 59 s",
        "1 h 02 min",
    ]
