"""Negative cases: each fault makes the other side answer, time out or stop as DIN SPEC 70121 asks."""

from __future__ import annotations

from typing import Any

import pytest

from harness.devices.models.dc_charger import ChargerParameters
from harness.protocol.din70121.events import StopResult
from harness.protocol.din70121.faults import (
    drop,
    emergency_shutdown,
    isolation_fault,
    malformed,
    out_of_sequence,
    response_code,
    stale_session_id,
    stop_charging_request,
    wrong_session_id,
)
from harness.protocol.din70121.messages import REQUEST_TO_RESPONSE, body, to_float
from harness.protocol.din70121.secc import SeccConfig


def first(sim: Any, side: str, name: str) -> Any:
    return next(e for e in sim.messages(side) if e.name == name)


def after(sim: Any, entry: Any) -> list[Any]:
    """Messages sent after ``entry``."""
    messages = sim.messages()
    return messages[messages.index(entry) + 1 :]


DIN_RESPONSES = [res for req, res in REQUEST_TO_RESPONSE.items() if req != "supportedAppProtocolReq"]


@pytest.mark.parametrize(
    ("request_name", "occurrence"),
    [
        ("ServiceDiscoveryReq", 1),
        ("ChargeParameterDiscoveryReq", 1),
        ("CableCheckReq", 2),
        ("CurrentDemandReq", 5),
        ("WeldingDetectionReq", 1),
        ("SessionStopReq", 1),
    ],
)
def test_wrong_session_id_gets_failed_unknown_session(
    make_session, request_name: str, occurrence: int
) -> None:
    sim = make_session(evcc_faults=[wrong_session_id(request_name, occurrence)])
    sim.run()
    response = [e for e in sim.messages("SECC") if e.name == REQUEST_TO_RESPONSE[request_name]][-1]
    assert body(response.message)["ResponseCode"] == "FAILED_UnknownSession"
    assert after(sim, response) == []
    assert sim.stopped["SECC"].result is StopResult.UNKNOWN_SESSION
    assert sim.stopped["EVCC"].result is StopResult.FAILED_RESPONSE
    assert any(n.name == "SessionID" and not n.ok for n in sim.notes("SECC"))


def test_stale_session_id_of_an_earlier_session_is_refused(make_session) -> None:
    earlier = make_session(secc_config=SeccConfig(session_id="1111111111111111"))
    earlier.run()
    stale = earlier.evcc.session
    assert stale == "1111111111111111"
    sim = make_session(evcc_faults=[stale_session_id("ChargeParameterDiscoveryReq", stale)])
    sim.run()
    response = first(sim, "SECC", "ChargeParameterDiscoveryRes")
    assert body(response.message)["ResponseCode"] == "FAILED_UnknownSession"
    assert sim.stopped["SECC"].result is StopResult.UNKNOWN_SESSION


def test_evcc_stops_on_a_response_with_a_wrong_session_id(make_session) -> None:
    sim = make_session(secc_faults=[wrong_session_id("ServicePaymentSelectionRes")])
    sim.run()
    response = first(sim, "SECC", "ServicePaymentSelectionRes")
    assert after(sim, response) == []
    assert sim.stopped["EVCC"].result is StopResult.UNKNOWN_SESSION
    assert any(n.name == "SessionID" and not n.ok for n in sim.notes("EVCC"))
    # The EVCC closed the connection; the SECC learns it.
    assert sim.stopped["SECC"].result is StopResult.CONNECTION_LOST


@pytest.mark.parametrize(
    ("instead_of", "occurrence", "send"),
    [
        ("ServiceDiscoveryReq", 1, "CurrentDemandReq"),
        ("ServiceDiscoveryReq", 1, "SessionSetupReq"),
        ("CableCheckReq", 1, "PreChargeReq"),
        ("ChargeParameterDiscoveryReq", 1, "PowerDeliveryReq"),
        ("CurrentDemandReq", 3, "WeldingDetectionReq"),
        ("CurrentDemandReq", 3, "SessionStopReq"),
        ("WeldingDetectionReq", 1, "CurrentDemandReq"),
    ],
)
def test_out_of_sequence_request_gets_failed_sequence_error(
    make_session, instead_of: str, occurrence: int, send: str
) -> None:
    sim = make_session(evcc_faults=[out_of_sequence(instead_of, send, occurrence)])
    sim.run()
    response = sim.messages("SECC")[-1]
    assert response.name == REQUEST_TO_RESPONSE[send]
    assert body(response.message)["ResponseCode"] == "FAILED_SequenceError"
    assert sim.stopped["SECC"].result is StopResult.SEQUENCE_ERROR
    assert any(n.name == "message sequence" and not n.ok for n in sim.notes("SECC"))
    # The reference EVCC expected another response type: it stops too, and sends nothing more.
    assert after(sim, response) == []
    assert sim.stopped["EVCC"].result in (StopResult.SEQUENCE_ERROR, StopResult.FAILED_RESPONSE)


@pytest.mark.parametrize("code", ["FAILED", "FAILED_SequenceError"])
@pytest.mark.parametrize("response_name", DIN_RESPONSES)
def test_evcc_ends_the_session_on_a_failed_response(make_session, response_name: str, code: str) -> None:
    sim = make_session(secc_faults=[response_code(response_name, code)])
    sim.run()
    response = first(sim, "SECC", response_name)
    assert body(response.message)["ResponseCode"] == code
    # DIN SPEC 70121: after a FAILED response code the EVCC sends no further request and closes.
    assert after(sim, response) == []
    assert sim.stopped["EVCC"].result is StopResult.FAILED_RESPONSE
    assert code in sim.stopped["EVCC"].reason
    closes = [e for e in sim.trace if e.kind == "close" and e.side == "EVCC"]
    assert closes and closes[0].time == response.time


def test_malformed_request_stops_the_secc(make_session) -> None:
    sim = make_session(evcc_faults=[malformed("CableCheckReq")])
    sim.run()
    assert [e.name for e in sim.trace if e.kind == "malformed"] == ["CableCheckReq"]
    assert sim.stopped["SECC"].result is StopResult.MALFORMED
    assert "CableCheckRes" not in sim.message_names()


def test_malformed_response_stops_the_evcc(make_session) -> None:
    sim = make_session(secc_faults=[malformed("PreChargeRes", 2)])
    sim.run()
    assert sim.stopped["EVCC"].result is StopResult.MALFORMED
    assert sim.message_names("EVCC").count("PreChargeReq") == 2
    assert "PowerDeliveryReq" not in sim.message_names()


def test_dropped_request_makes_the_evcc_time_out(make_session) -> None:
    sim = make_session(evcc_faults=[drop("ContractAuthenticationReq")])
    sim.run()
    assert "ContractAuthenticationReq" not in sim.message_names()
    assert sim.stopped["EVCC"].result is StopResult.TIMEOUT
    assert sim.stopped["SECC"].result is StopResult.CONNECTION_LOST


def _power_delivery_stop_follows(sim: Any, response: Any) -> None:
    following = [e for e in after(sim, response) if e.side == "EVCC"]
    assert following[0].name == "PowerDeliveryReq"
    assert body(following[0].message)["ReadyToChargeState"] is False
    # No pause: the EV reacts to the EVSE's stop in its very next request.
    assert following[0].time == response.time
    names = [e.name for e in following]
    assert "CurrentDemandReq" not in names
    assert names[1] == "WeldingDetectionReq"
    assert names[-1] == "SessionStopReq"


def test_stop_request_during_current_demand(make_session) -> None:
    sim = make_session(secc_faults=[stop_charging_request(occurrence=20)])
    sim.run()
    responses = [e for e in sim.messages("SECC") if e.name == "CurrentDemandRes"]
    assert len(responses) == 20
    assert body(responses[-1].message)["DC_EVSEStatus"]["EVSENotification"] == "StopCharging"
    _power_delivery_stop_follows(sim, responses[-1])
    assert sim.stopped["EVCC"].result is StopResult.EVSE_SHUTDOWN
    assert sim.evcc.battery.soc < 80.0


def test_emergency_shutdown_during_current_demand(make_session) -> None:
    sim = make_session(secc_faults=[emergency_shutdown(occurrence=10)])
    sim.run()
    responses = [e for e in sim.messages("SECC") if e.name == "CurrentDemandRes"]
    assert len(responses) == 10
    assert body(responses[-1].message)["DC_EVSEStatus"]["EVSEStatusCode"] == "EVSE_EmergencyShutdown"
    _power_delivery_stop_follows(sim, responses[-1])
    assert sim.stopped["EVCC"].result is StopResult.EVSE_SHUTDOWN


def test_isolation_fault_in_cable_check_ends_the_session_before_precharge(make_session) -> None:
    sim = make_session(secc_faults=[isolation_fault(occurrence=2)])
    sim.run()
    names = sim.message_names("EVCC")
    assert "PreChargeReq" not in names
    assert names[-2:] == ["CableCheckReq", "SessionStopReq"]
    assert sim.stopped["EVCC"].result is StopResult.ISOLATION_FAULT
    assert sim.stopped["SECC"].result is StopResult.COMPLETED


def test_isolation_fault_measured_by_the_charger(make_session) -> None:
    # 10 kOhm at a 500 V test voltage is 20 ohm/V: an IEC 61851-23 insulation fault.
    sim = make_session(charger=ChargerParameters(isolation_resistance_ohm=10_000.0))
    sim.run()
    last_check = [e for e in sim.messages("SECC") if e.name == "CableCheckRes"][-1]
    assert body(last_check.message)["DC_EVSEStatus"]["EVSEIsolationStatus"] == "Fault"
    assert body(last_check.message)["EVSEProcessing"] == "Finished"
    assert "PreChargeReq" not in sim.message_names()
    assert sim.stopped["EVCC"].result is StopResult.ISOLATION_FAULT


def test_precharge_never_reaching_target_is_not_charging(make_session) -> None:
    # Sanity of the precharge physics used by the timeout tests: a very slow output stays far off.
    sim = make_session(charger=ChargerParameters(voltage_time_constant_s=1000.0))
    sim.run()
    voltages = [
        to_float(body(e.message)["EVSEPresentVoltage"])
        for e in sim.messages("SECC")
        if e.name == "PreChargeRes"
    ]
    assert max(voltages) < 100.0
    assert "CurrentDemandReq" not in sim.message_names()
