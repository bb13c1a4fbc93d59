"""The grid-to-EV loop check kind judges a synthetic capture of both links (the DER client's decrypted
HTTP and the ISO 15118-2 CurrentDemand loop): a DCPC that asks the EV for the commanded discharge in time
passes; one that asks too late, too little, too early or for too long fails, naming the frames."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from capture.timeline import TimelineEvent
from harness.verdict.checks.der_grid_loop import DEMAND, LATENCY, DerGridLoop
from harness.verdict.checks.schema import SpecError, validate_spec
from harness.verdict.expectations import evaluate
from harness.verdict.verdicts import Verdict
from tests.verdict.der_timelines import DUT, PARTIES, S0, SPEEDUP, TESTER, ClientTimeline, control, wall

MRID = "A" * 31 + "1"
START, DURATION = S0 + 600, 600
COMMANDED_W = 3600.0  # opModFixedW 5000 of setMaxDischargeRateW 7200
# The EV's CurrentDemand cycle: 0.1 s of wall time, 12 s on the lab clock.
CYCLE_S = 12
V2G_PORT, EV_PORT = 50376, 40000
EV_DISCHARGE_LIMIT_A = 100.0


def _physical(value: float, unit: str) -> dict[str, Any]:
    return {"Multiplier": 0, "Unit": unit, "Value": int(value)}


def _v2g(t: float, src: str, name: str, content: dict[str, Any]) -> TimelineEvent:
    dst = TESTER if src == DUT else DUT
    sport, dport = (V2G_PORT, EV_PORT) if src == DUT else (EV_PORT, V2G_PORT)
    fields = {"V2G_Message": {"Header": {"SessionID": "00"}, "Body": {name: content}}}
    return TimelineEvent(t, 0, src, dst, "ISO-2", name, fields, None, sport, dport)


def capture(
    demand_w: Any,
    *,
    until: int = START + DURATION + 300,
    current_a: float | None = None,
    first: int = S0 + 60,
) -> ClientTimeline:
    """The DCPC registered (DERSettings 7200 W), polled at S0+10 and S0+540 (the control published), and a
    CurrentDemand exchange every CYCLE_S from S0+60; ``demand_w(server_s)`` is the discharge each
    CurrentDemandRes asks for (0: none, the EVSE's positive limits); the first exchange at ``first``."""
    timeline = ClientTimeline()
    timeline.time(S0)
    timeline.settings(S0 + 5)
    timeline.programs(S0 + 10, ("/derp/1", 0), ("/derp/2", 1))
    timeline.default(S0 + 11, "/derp/1", opModEnergize="true")
    timeline.time(S0 + 540)
    modes = {"opModFixedW": {"disabled": "false", "value": 5000}}
    timeline.controls(S0 + 540, "/derp/2", control(MRID, START, DURATION, **modes))
    timeline.time(until)
    events = list(timeline.events)
    for at in range(first, until, CYCLE_S):
        asked = demand_w(at)
        events.append(
            _v2g(
                wall(at) - 0.002,
                TESTER,
                "CurrentDemandReq",
                {"EVMaximumCurrentLimit": _physical(-EV_DISCHARGE_LIMIT_A, "A")},
            )
        )
        if asked:
            amps = -(current_a if current_a is not None else asked / 400)
            limits = {
                "EVSEMaximumPowerLimit": _physical(-asked, "W"),
                "EVSEMaximumCurrentLimit": _physical(amps, "A"),
            }
        else:
            limits = {
                "EVSEMaximumPowerLimit": _physical(50_000, "W"),
                "EVSEMaximumCurrentLimit": _physical(125, "A"),
            }
        events.append(_v2g(wall(at), DUT, "CurrentDemandRes", limits))
    events.sort(key=lambda event: event.t)
    timeline.events = [replace(event, frame=i) for i, event in enumerate(events, 1)]
    return timeline


def judge(check: DerGridLoop, timeline: ClientTimeline) -> Any:
    spec = check.spec()
    validate_spec(spec)
    return evaluate(spec, timeline.events, PARTIES)


def demand(**extra: Any) -> DerGridLoop:
    return DerGridLoop(SPEEDUP, MRID, DEMAND, tolerance_w=200.0, **extra)


def latency(**extra: Any) -> DerGridLoop:
    return DerGridLoop(SPEEDUP, MRID, LATENCY, **extra)


def frames_of(timeline: ClientTimeline, predicate: Any) -> list[int]:
    return [
        e.frame
        for e in timeline.events
        if e.message == "CurrentDemandRes" and predicate(e.fields["V2G_Message"]["Body"]["CurrentDemandRes"])
    ]


def good(at: int, delay: int = 30) -> float:
    return COMMANDED_W if START + delay <= at <= START + DURATION + delay else 0.0


def test_a_dcpc_that_passes_the_control_on_in_time_passes_both():
    timeline = capture(good)
    outcome = judge(demand(), timeline)
    assert outcome.verdict == Verdict.PASS, outcome.reason
    assert "3600 W" in outcome.reason
    outcome = judge(latency(), timeline)
    assert outcome.verdict == Verdict.PASS, outcome.reason
    # The default bound: the pollRate (120 s) and 3 cycles of 12 s.
    assert "bound 156 s" in outcome.reason


def test_a_dcpc_that_never_asks_fails_with_the_responses_in_the_window():
    timeline = capture(lambda at: 0.0)
    outcome = judge(demand(), timeline)
    assert outcome.verdict == Verdict.FAIL and outcome.frames
    outcome = judge(latency(), timeline)
    assert outcome.verdict == Verdict.FAIL and outcome.frames
    assert "no CurrentDemandRes asks for discharge" in outcome.reason


def test_a_late_dcpc_fails_the_latency_with_the_pixit_bound():
    timeline = capture(lambda at: good(at, delay=200))
    outcome = judge(latency(), timeline)
    assert outcome.verdict == Verdict.FAIL and "after it" in outcome.reason
    assert judge(latency(max_latency_s=300.0), timeline).verdict == Verdict.PASS


def test_too_little_too_early_too_long_or_beyond_the_ev_fail_the_demand():
    weak = capture(lambda at: 2000.0 if good(at) else 0.0)
    outcome = judge(demand(), weak)
    assert outcome.verdict == Verdict.FAIL and "should ask for 3600 W" in outcome.reason
    assert set(outcome.frames) <= set(frames_of(weak, lambda c: c["EVSEMaximumPowerLimit"]["Value"] == -2000))
    early = capture(lambda at: COMMANDED_W if at >= START - 100 else 0.0)
    outcome = judge(demand(), early)
    assert outcome.verdict == Verdict.FAIL and "before the control's effective start" in outcome.reason
    endless = capture(lambda at: COMMANDED_W if at >= START + 30 else 0.0)
    outcome = judge(demand(), endless)
    assert outcome.verdict == Verdict.FAIL and "after the control ended" in outcome.reason
    greedy = capture(good, current_a=150.0)
    outcome = judge(demand(), greedy)
    assert outcome.verdict == Verdict.FAIL and "EV's limit" in outcome.reason


def test_server_time_known_to_a_second_allows_a_response_that_close_to_the_start():
    # Server time from the capture is known to 1 s plus the capture's jitter times the speedup (0.005 s:
    # 0.6 s here): a response 1 s before the start on the capture's clock may be after it on the server's.
    timeline = capture(lambda at: COMMANDED_W if at >= START - 1 else 0.0, until=START + 300, first=S0 + 59)
    assert judge(demand(jitter_s=0.005), timeline).verdict == Verdict.PASS
    outcome = judge(latency(jitter_s=0.005), timeline)
    assert outcome.verdict == Verdict.PASS and " 0 s after" in outcome.reason
    # Two seconds early is early, unless the capture's jitter at this speedup covers it.
    early = capture(lambda at: COMMANDED_W if at >= START - 2 else 0.0, until=START + 300, first=S0 + 58)
    outcome = judge(demand(), early)
    assert outcome.verdict == Verdict.FAIL and "before the control's effective start" in outcome.reason
    assert judge(demand(jitter_s=0.01), early).verdict == Verdict.PASS


def test_without_time_responses_or_a_session_through_the_control_nothing_is_judged():
    short = capture(good, until=START - 60)
    assert judge(latency(), short).verdict == Verdict.INCONCLUSIVE
    assert judge(demand(on_missing=Verdict.INCONCLUSIVE), short).verdict == Verdict.INCONCLUSIVE
    assert judge(demand(), ClientTimeline()).verdict == Verdict.FAIL


def test_the_spec_is_validated():
    with pytest.raises(SpecError, match="judge"):
        validate_spec({"kind": "der_grid_loop", "speedup": 1.0, "control": MRID, "judge": "speed"})
