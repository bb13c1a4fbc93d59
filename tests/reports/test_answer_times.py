"""Answer times per message type, from the response_time checks' frame pairs and the timelines."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from capture.timeline import TimelineEvent
from harness.verdict.verdicts import Verdict
from reports.answer_times import (
    answer_times,
    message_type,
    percentile,
    scenario_answer_times,
    summarise,
)
from reports.model import CheckResult, Results

SETUP = "V2GTP SessionSetupReq -> SessionSetupRes"


def timed(frames: list[int], max_s: float = 0.025, request: str = "SessionSetupReq") -> CheckResult:
    return CheckResult(
        requirement="DIN-V2G-DC-001",
        spec={
            "kind": "response_time",
            "request": {"protocol": "V2GTP", "message": request, "from": "tester"},
            "response": {"protocol": "V2GTP", "message": request.replace("Req", "Res"), "from": "dut"},
            "max_s": max_s,
        },
        description="answer in time",
        verdict=Verdict.PASS,
        reason="ok",
        frames=frames,
    )


def test_message_type() -> None:
    assert message_type(timed([]).spec) == SETUP
    assert message_type({"kind": "response_time", "request": {"message": "X"}}) is None
    assert message_type({"request": {"protocol": "SDP"}, "response": {}}) == "SDP any message -> any message"


def test_pairs_from_frames_and_timeline(make_run, kit: SimpleNamespace) -> None:
    run_dir = make_run([])
    relative = kit.write_timeline(run_dir, "S1", kit.handshake)
    checks = [
        timed([4, 5], request="SupportedAppProtocolReq"),
        timed([7, 8]),
        timed([7, 8], max_s=0.05),  # the same pair judged again, against a looser limit
        timed([7]),  # an unanswered request: nothing to time
        CheckResult(
            spec={"kind": "present"}, description="d", verdict=Verdict.PASS, reason="r", frames=[1, 2]
        ),
    ]
    results = Results.load(run_dir)
    results.scenarios = [kit.scenario("S1", Verdict.PASS, timeline=relative, checks=checks)]
    times = answer_times(results, run_dir)
    assert [(t.message, t.request_frame, t.answer_frame, t.limit_s) for t in times] == [
        ("V2GTP SupportedAppProtocolReq -> SupportedAppProtocolRes", 4, 5, 0.025),
        (SETUP, 7, 8, 0.025),
    ]
    assert times[1].seconds == pytest.approx(0.0312, abs=1e-6)
    assert times[0].seconds == pytest.approx(0.0042, abs=1e-6)


def test_looser_limit_first_then_tighter(kit: SimpleNamespace) -> None:
    events = [kit.event(0.0, 7, "fe80::2", "fe80::1", "V2GTP", "SessionSetupReq")]
    events.append(kit.event(0.002, 8, "fe80::1", "fe80::2", "V2GTP", "SessionSetupRes"))
    loaded = [TimelineEvent.from_json(e) for e in events]
    (only,) = scenario_answer_times("S", [timed([7, 8], max_s=2.0), timed([7, 8], max_s=0.025)], loaded)
    assert only.limit_s == 0.025


def test_frame_with_two_messages_picks_the_selected_one(kit: SimpleNamespace) -> None:
    raw = [
        kit.event(0.000, 3, "fe80::2", "fe80::1", "V2GTP", "SessionSetupReq"),
        kit.event(0.001, 4, "fe80::1", "fe80::2", "TCP", "ACK"),
        kit.event(0.009, 4, "fe80::1", "fe80::2", "V2GTP", "SessionSetupRes"),
    ]
    (only,) = scenario_answer_times("S", [timed([3, 4])], [TimelineEvent.from_json(e) for e in raw])
    assert only.seconds == pytest.approx(0.009, abs=1e-6)


def test_missing_timeline_gives_no_times(make_run, kit: SimpleNamespace) -> None:
    run_dir = make_run([])
    results = Results.load(run_dir)
    results.scenarios = [
        kit.scenario("S1", Verdict.PASS, timeline="timelines/gone.json", checks=[timed([7, 8])])
    ]
    assert answer_times(results, Path(run_dir)) == []


def test_percentile_nearest_rank() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 95) == 5.0
    assert percentile(values, 20) == 1.0
    assert percentile(list(range(1, 101)), 95) == 95
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summarise(make_run, kit: SimpleNamespace) -> None:
    run_dir = make_run([])
    relative = kit.write_timeline(run_dir, "S1", kit.handshake)
    results = Results.load(run_dir)
    results.scenarios = [
        kit.scenario("S1", Verdict.PASS, timeline=relative, checks=[timed([7, 8])]),
        kit.scenario("S2", Verdict.PASS, timeline=relative, checks=[timed([7, 8], max_s=2.0)]),
    ]
    summary = summarise(answer_times(results, run_dir))
    assert list(summary) == [SETUP]
    assert summary[SETUP].count == 2 and summary[SETUP].limits == (0.025, 2.0)
    assert summary[SETUP].max == pytest.approx(0.0312, abs=1e-6)
