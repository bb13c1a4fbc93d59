"""DIN SPEC 70121 Table 75/77 timers on the simulated clock: exact expiry, just-under and just-over."""

from __future__ import annotations

from typing import Any

import pytest

from harness.devices.models.dc_charger import ChargerParameters
from harness.protocol.din70121.events import StopResult
from harness.protocol.din70121.faults import delay, drop
from harness.protocol.din70121.messages import DIN_REQUESTS, REQUEST_TO_RESPONSE
from harness.protocol.din70121.secc import SeccConfig
from harness.protocol.din70121.timing import (
    CABLE_CHECK_TIMER,
    COMMUNICATION_SETUP_TIMER,
    MSG_TIMER,
    PRE_CHARGE_TIMER,
    READY_TO_CHARGE_TIMER,
    SEQUENCE_TIMER,
    V2G_EVCC_CABLE_CHECK_TIMEOUT_S,
    V2G_EVCC_COMMUNICATION_SETUP_TIMEOUT_S,
    V2G_EVCC_MSG_TIMEOUT_CURRENT_DEMAND_S,
    V2G_EVCC_MSG_TIMEOUT_S,
    V2G_EVCC_PRE_CHARGE_TIMEOUT_S,
    V2G_EVCC_READY_TO_CHARGE_TIMEOUT_S,
    V2G_SECC_SEQUENCE_TIMEOUT_S,
    DinTimings,
)

ALL_REQUESTS = ["supportedAppProtocolReq", *DIN_REQUESTS]
EPSILON = 1e-3  # 1 ms either side of a limit


def table_75_timeout(request: str) -> float:
    return V2G_EVCC_MSG_TIMEOUT_CURRENT_DEMAND_S if request == "CurrentDemandReq" else V2G_EVCC_MSG_TIMEOUT_S


def fired(sim: Any, side: str, name: str) -> Any:
    timers = [e for e in sim.timers_fired(side) if e.name == name]
    assert len(timers) == 1, f"{name} fired {len(timers)} times on {side}"
    return timers[0]


def test_table_values() -> None:
    # DIN SPEC 70121 Tables 75 and 77 as REFERENCE.md section 5 gives them.
    assert V2G_EVCC_MSG_TIMEOUT_S == 2.0
    assert V2G_EVCC_MSG_TIMEOUT_CURRENT_DEMAND_S == 0.25
    assert V2G_SECC_SEQUENCE_TIMEOUT_S == 60.0
    assert V2G_EVCC_READY_TO_CHARGE_TIMEOUT_S == 150.0
    assert V2G_EVCC_COMMUNICATION_SETUP_TIMEOUT_S == 20.0
    assert V2G_EVCC_CABLE_CHECK_TIMEOUT_S == 40.0
    assert V2G_EVCC_PRE_CHARGE_TIMEOUT_S == 7.0
    assert DinTimings().secc_performance_time_current_demand_s == 0.025


@pytest.mark.parametrize("request_name", ALL_REQUESTS)
def test_missing_response_times_out_at_exactly_the_table_value(make_session, request_name: str) -> None:
    occurrence = 3 if request_name == "CurrentDemandReq" else 1
    sim = make_session(secc_faults=[drop(REQUEST_TO_RESPONSE[request_name], occurrence)])
    sim.run()
    sent = [e for e in sim.messages("EVCC") if e.name == request_name][occurrence - 1]
    timer = fired(sim, "EVCC", MSG_TIMER)
    assert timer.time - sent.time == pytest.approx(table_75_timeout(request_name), abs=1e-9)
    assert sim.stopped["EVCC"].result is StopResult.TIMEOUT
    assert sim.messages("EVCC")[-1] is sent  # nothing sent after the timeout


@pytest.mark.parametrize("request_name", ALL_REQUESTS)
def test_response_just_under_the_timeout_is_accepted(make_session, request_name: str) -> None:
    delay_s = table_75_timeout(request_name) - EPSILON
    sim = make_session(secc_faults=[delay(REQUEST_TO_RESPONSE[request_name], delay_s)])
    sim.run()
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED
    assert sim.requests_collapsed()[-1] == "SessionStopReq"


@pytest.mark.parametrize("request_name", ALL_REQUESTS)
def test_response_just_over_the_timeout_is_a_timeout(make_session, request_name: str) -> None:
    delay_s = table_75_timeout(request_name) + EPSILON
    sim = make_session(secc_faults=[delay(REQUEST_TO_RESPONSE[request_name], delay_s)])
    sim.run()
    sent = next(e for e in sim.messages("EVCC") if e.name == request_name)
    timer = fired(sim, "EVCC", MSG_TIMER)
    assert timer.time - sent.time == pytest.approx(table_75_timeout(request_name), abs=1e-9)
    assert sim.stopped["EVCC"].result is StopResult.TIMEOUT
    # The late response never reaches the EVCC: it closed the connection at the timeout.
    assert REQUEST_TO_RESPONSE[request_name] not in sim.evcc.responses


@pytest.mark.parametrize(("delay_s", "ok"), [(0.024, True), (0.026, False)])
def test_current_demand_performance_time_is_checked(make_session, delay_s: float, ok: bool) -> None:
    sim = make_session(secc_faults=[delay("CurrentDemandRes", delay_s, 4)])
    sim.run()
    notes = [n for n in sim.notes("EVCC") if n.name == "V2G_SECC_Msg_Performance_Time"]
    assert len(notes) == sim.message_names("EVCC").count("CurrentDemandReq")
    assert [n.ok for n in notes].count(False) == (0 if ok else 1)
    assert notes[3].ok is ok
    # Late but within the EVCC's 250 ms timeout: the session goes on either way.
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED


def test_secc_sequence_timeout(make_session) -> None:
    # The EV waits longer than the SECC allows between two requests (its own timers relaxed by PIXIT).
    timings = DinTimings(evcc_msg_timeout_s=100.0, evcc_ready_to_charge_timeout_s=500.0)
    sim = make_session(timings=timings, evcc_faults=[delay("ServiceDiscoveryReq", 61.0)])
    sim.run()
    response = next(e for e in sim.messages("SECC") if e.name == "SessionSetupRes")
    timer = fired(sim, "SECC", SEQUENCE_TIMER)
    assert timer.time - response.time == pytest.approx(V2G_SECC_SEQUENCE_TIMEOUT_S, abs=1e-9)
    assert sim.stopped["SECC"].result is StopResult.TIMEOUT
    assert sim.stopped["EVCC"].result is StopResult.CONNECTION_LOST


def test_secc_sequence_timeout_just_under(make_session) -> None:
    timings = DinTimings(evcc_msg_timeout_s=100.0, evcc_ready_to_charge_timeout_s=500.0)
    sim = make_session(timings=timings, evcc_faults=[delay("ServiceDiscoveryReq", 59.999)])
    sim.run()
    assert sim.stopped["SECC"].result is StopResult.COMPLETED


def test_communication_setup_timeout(make_session) -> None:
    timings = DinTimings(evcc_msg_timeout_s=30.0)
    sim = make_session(timings=timings, secc_faults=[delay("SessionSetupRes", 25.0)])
    sim.run()
    timer = fired(sim, "EVCC", COMMUNICATION_SETUP_TIMER)
    assert timer.time == pytest.approx(V2G_EVCC_COMMUNICATION_SETUP_TIMEOUT_S, abs=1e-9)  # connection at t=0
    assert sim.stopped["EVCC"].result is StopResult.TIMEOUT
    assert "CommunicationSetup" in sim.stopped["EVCC"].reason


def test_ready_to_charge_timeout(make_session) -> None:
    # Authorization never finishes: the EV polls every 250 ms until V2G_EVCC_ReadyToCharge_Timeout.
    sim = make_session(
        secc_config=SeccConfig(session_id="8FA57FDE2BFAFE78", authorization_ongoing_rounds=10**6)
    )
    sim.run()
    setup = next(e for e in sim.messages("SECC") if e.name == "SessionSetupRes")
    timer = fired(sim, "EVCC", READY_TO_CHARGE_TIMER)
    assert timer.time - setup.time == pytest.approx(V2G_EVCC_READY_TO_CHARGE_TIMEOUT_S, abs=1e-9)
    assert sim.stopped["EVCC"].result is StopResult.TIMEOUT


def test_cable_check_timeout(make_session) -> None:
    sim = make_session(charger=ChargerParameters(isolation_check_duration_s=100.0))
    sim.run()
    first_check = next(e for e in sim.messages("EVCC") if e.name == "CableCheckReq")
    timer = fired(sim, "EVCC", CABLE_CHECK_TIMER)
    assert timer.time - first_check.time == pytest.approx(V2G_EVCC_CABLE_CHECK_TIMEOUT_S, abs=1e-9)
    assert sim.stopped["EVCC"].result is StopResult.TIMEOUT
    assert "PreChargeReq" not in sim.message_names()


def test_cable_check_just_within_the_timeout(make_session) -> None:
    # The isolation check (plus discharge) ends well before 40 s: no timeout, charging goes ahead.
    sim = make_session(charger=ChargerParameters(isolation_check_duration_s=38.0))
    sim.run()
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED


def test_pre_charge_timeout(make_session) -> None:
    sim = make_session(charger=ChargerParameters(voltage_time_constant_s=1000.0))
    sim.run()
    first_precharge = next(e for e in sim.messages("EVCC") if e.name == "PreChargeReq")
    timer = fired(sim, "EVCC", PRE_CHARGE_TIMER)
    assert timer.time - first_precharge.time == pytest.approx(V2G_EVCC_PRE_CHARGE_TIMEOUT_S, abs=1e-9)
    assert sim.stopped["EVCC"].result is StopResult.TIMEOUT


@pytest.mark.parametrize(("delay_s", "completes"), [(0.49, True), (0.51, False)])
def test_pixit_overrides_the_current_demand_timeout(make_session, delay_s: float, completes: bool) -> None:
    timings = DinTimings.from_pixit({"evcc_msg_timeout_current_demand_s": 0.5})
    sim = make_session(timings=timings, secc_faults=[delay("CurrentDemandRes", delay_s, 2)])
    sim.run()
    if completes:
        assert sim.stopped["EVCC"].result is StopResult.COMPLETED
    else:
        sent = [e for e in sim.messages("EVCC") if e.name == "CurrentDemandReq"][1]
        assert fired(sim, "EVCC", MSG_TIMER).time - sent.time == pytest.approx(0.5, abs=1e-9)


def test_pixit_rejects_unknown_or_invalid_timers() -> None:
    with pytest.raises(ValueError, match="unknown"):
        DinTimings.from_pixit({"evcc_msg_timout_s": 3.0})
    with pytest.raises(ValueError, match="positive"):
        DinTimings(evcc_msg_timeout_s=0.0)
