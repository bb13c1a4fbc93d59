"""The ISO 15118-20 EVCC and SECC cores against each other on the simulated clock: full DC and DC_BPT
sessions with every message through the real EXI codec (strict, with the schema ``schema_of`` names),
and the refusals and timeouts of the state table."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from harness.codec.v2g import exi_codec
from harness.devices.models.battery import Battery, BatteryParameters
from harness.devices.models.dc_charger import ChargerParameters, DcCharger
from harness.protocol.core import LinkUp, MessageReceived, Send
from harness.protocol.din70121.events import StopRequested, StopResult
from harness.protocol.din70121.messages import supported_app_protocol_req
from harness.protocol.din70121.simulation import Simulation
from harness.protocol.faults import Delay, Drop, FaultyCore, Rewrite
from harness.protocol.iso15118_20 import faults
from harness.protocol.iso15118_20.evcc import EvccConfig, EvccMachine
from harness.protocol.iso15118_20.messages import (
    TYPICAL_DC_SESSION_REQUESTS,
    ServiceID,
    body,
    message,
    schema_of,
    to_float,
)
from harness.protocol.iso15118_20.secc import SeccConfig, SeccMachine, SeccState
from harness.protocol.iso15118_20.services import ControlMode
from harness.protocol.iso15118_20.timing import Iso20Timings

SESSION_ID = "8FA57FDE2BFAFE78"
# A small bidirectional pack: a charge from 75 % to 80 % or a discharge from 79 % to 76 % takes seconds.
PACK = BatteryParameters(
    capacity_kwh=0.2,
    target_soc=80.0,
    taper_start_soc=70.0,
    max_discharge_current_a=100.0,
    max_discharge_power_w=40_000.0,
    min_soc=76.0,
)
CHARGER = ChargerParameters(
    isolation_check_duration_s=0.5, max_discharge_current_a=100.0, max_discharge_power_w=30_000.0
)
BOTH = (ServiceID.DC, ServiceID.DC_BPT)


def _session(
    *,
    ev_services: tuple[int, ...] = (ServiceID.DC,),
    offered: tuple[int, ...] = BOTH,
    soc: float = 75.0,
    evcc_config: EvccConfig | None = None,
    secc_config: SeccConfig | None = None,
    evcc_timings: Iso20Timings | None = None,
    evcc_faults: list[Any] | None = None,
    secc_faults: list[Any] | None = None,
) -> Simulation:
    evcc = EvccMachine(
        Battery(PACK, soc=soc),
        evcc_config or EvccConfig(services=ev_services),
        evcc_timings or Iso20Timings(),
    )
    secc = SeccMachine(DcCharger(CHARGER), secc_config or SeccConfig(services=offered, session_id=SESSION_ID))
    return Simulation(FaultyCore(evcc, evcc_faults or []), FaultyCore(secc, secc_faults or []))


def _through_codec(sim: Simulation) -> None:
    """Every message exchanged encodes strictly and decodes back to itself with its schema."""
    for entry in sim.messages():
        schema = schema_of(entry.name)
        assert exi_codec.decode(schema, exi_codec.encode(schema, entry.message, strict=True)) == entry.message


def _bodies(sim: Simulation, name: str) -> list[dict[str, Any]]:
    return [body(e.message) for e in sim.messages() if e.name == name]


def _phases(sim: Simulation, side: str = "EVCC") -> list[str]:
    names: list[str] = []
    for name in sim.message_names(side):
        if not names or names[-1] != name:
            names.append(name)
    return names


def sends(name: str) -> Callable[[object], bool]:
    return lambda action: isinstance(action, Send) and action.name == name


def edit(name: str, change: Callable[[dict[str, Any]], Any], occurrence: int = 1) -> Rewrite:
    """Rewrite the ``occurrence``-th ``name`` a core sends with ``change`` (on a deep copy)."""

    def rewrite(action: Send) -> Send:
        msg = copy.deepcopy(action.message)
        replaced = change(msg)
        msg = replaced if replaced is not None else msg
        return Send(msg, next(iter(msg)))

    return Rewrite(sends(name), times=1, after=occurrence - 1, rewrite=rewrite)


def _responses(sim: Simulation, name: str) -> list[str]:
    return [b["ResponseCode"] for b in _bodies(sim, name)]


# --- full sessions ------------------------------------------------------------------------------------


def test_full_dc_session_charges_to_the_target_soc_and_ends_cleanly() -> None:
    sim = _session(ev_services=(ServiceID.DC,), offered=(ServiceID.DC,))
    sim.run()
    _through_codec(sim)
    assert tuple(_phases(sim)) == TYPICAL_DC_SESSION_REQUESTS
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED
    assert sim.stopped["SECC"].result is StopResult.COMPLETED
    assert "target SOC" in sim.stopped["EVCC"].reason
    assert sim.evcc.battery.soc >= PACK.target_soc
    # Every response OK (session setup: a new session), every performance time met.
    assert all(not e.message[e.name]["ResponseCode"].startswith("FAILED") for e in sim.messages("SECC")[1:])
    assert [n for n in sim.notes() if not n.ok] == []
    loops = _bodies(sim, "DC_ChargeLoopReq")
    assert all("Scheduled_DC_CLReqControlMode" in b for b in loops)
    assert max(to_float(b["EVSEPresentCurrent"]) for b in _bodies(sim, "DC_ChargeLoopRes")) > 50
    assert [b["ChargeProgress"] for b in _bodies(sim, "PowerDeliveryReq")] == ["Start", "Stop"]
    assert _bodies(sim, "SessionStopReq")[0]["ChargingSession"] == "Terminate"
    # The header carries the session id and a TimeStamp on the run's anchor.
    assert all(b["Header"]["SessionID"] == SESSION_ID for b in loops)


def test_full_dc_bpt_session_discharges_to_the_minimum_soc() -> None:
    sim = _session(ev_services=(ServiceID.DC_BPT, ServiceID.DC), soc=79.0)
    sim.run()
    _through_codec(sim)
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED
    assert "minimum SOC 76" in sim.stopped["EVCC"].reason
    assert sim.stopped["SECC"].result is StopResult.COMPLETED
    assert [n for n in sim.notes() if not n.ok] == []
    assert _bodies(sim, "ServiceSelectionReq")[0]["SelectedEnergyTransferService"]["ServiceID"] == 6
    detail = _bodies(sim, "ServiceDetailRes")[0]["ServiceParameterList"]["ParameterSet"][0]["Parameter"]
    assert {p["Name"] for p in detail} >= {
        "Connector",
        "ControlMode",
        "Pricing",
        "BPTChannel",
        "GeneratorMode",
    }
    cpd = _bodies(sim, "DC_ChargeParameterDiscoveryReq")[0]["BPT_DC_CPDReqEnergyTransferMode"]
    assert to_float(cpd["EVMaximumDischargePower"]) == PACK.max_discharge_power_w
    assert to_float(cpd["EVMaximumDischargeCurrent"]) == PACK.max_discharge_current_a
    cpd_res = _bodies(sim, "DC_ChargeParameterDiscoveryRes")[0]["BPT_DC_CPDResEnergyTransferMode"]
    assert to_float(cpd_res["EVSEMaximumDischargePower"]) == CHARGER.max_discharge_power_w
    schedule = _bodies(sim, "ScheduleExchangeRes")[0]["Scheduled_SEResControlMode"]["ScheduleTuple"][0]
    discharge = schedule["DischargingSchedule"]["PowerSchedule"]["PowerScheduleEntries"]["PowerScheduleEntry"]
    assert to_float(discharge[0]["Power"]) < 0
    start = _bodies(sim, "PowerDeliveryReq")[0]
    assert start["BPT_ChannelSelection"] == "Discharge"
    assert to_float(start["EVPowerProfile"]["EVPowerProfileEntries"]["EVPowerProfileEntry"][0]["Power"]) < 0
    loops = _bodies(sim, "DC_ChargeLoopReq")
    assert all("BPT_Scheduled_DC_CLReqControlMode" in b for b in loops)
    assert all(to_float(b["BPT_Scheduled_DC_CLReqControlMode"]["EVTargetCurrent"]) < 0 for b in loops)
    # The bidirectional charger sank the current: negative present current, energy out of the pack.
    assert min(to_float(b["EVSEPresentCurrent"]) for b in _bodies(sim, "DC_ChargeLoopRes")) < -50
    assert sim.secc.charger.discharged_wh > 0
    # Minimum SoC respected: the EV stopped at it (within one loop's worth of discharge).
    assert PACK.min_soc - 0.5 < sim.evcc.battery.soc <= PACK.min_soc
    res_mode = _bodies(sim, "DC_ChargeLoopRes")[0]["BPT_Scheduled_DC_CLResControlMode"]
    assert to_float(res_mode["EVSEMaximumDischargeCurrent"]) == CHARGER.max_discharge_current_a


def test_bpt_ev_charges_when_the_secc_offers_dc_only() -> None:
    sim = _session(ev_services=(ServiceID.DC_BPT, ServiceID.DC), offered=(ServiceID.DC,))
    sim.run()
    _through_codec(sim)
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED
    assert _bodies(sim, "ServiceSelectionReq")[0]["SelectedEnergyTransferService"]["ServiceID"] == 2
    assert "BPT_ChannelSelection" not in _bodies(sim, "PowerDeliveryReq")[0]


def test_ongoing_authorization_and_schedules_three_tuples_then_pause() -> None:
    secc_config = SeccConfig(
        services=BOTH,
        session_id=SESSION_ID,
        authorization_ongoing_rounds=2,
        schedule_ongoing_rounds=1,
        schedule_tuples=3,
    )
    sim = _session(evcc_config=EvccConfig(pause=True), secc_config=secc_config)
    sim.run()
    _through_codec(sim)
    assert [b["EVSEProcessing"] for b in _bodies(sim, "AuthorizationRes")] == [
        "Ongoing",
        "Ongoing",
        "Finished",
    ]
    assert [b["EVSEProcessing"] for b in _bodies(sim, "ScheduleExchangeRes")] == ["Ongoing", "Finished"]
    tuples = _bodies(sim, "ScheduleExchangeRes")[-1]["Scheduled_SEResControlMode"]["ScheduleTuple"]
    assert [t["ScheduleTupleID"] for t in tuples] == [1, 2, 3]
    assert _bodies(sim, "SessionStopReq")[0]["ChargingSession"] == "Pause"
    assert sim.secc.paused
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED


def test_a_paused_session_is_resumed_with_its_session_id() -> None:
    sim = _session(
        evcc_config=EvccConfig(resume_session_id=SESSION_ID),
        secc_config=SeccConfig(session_id="1111111111111111", previous_session_id=SESSION_ID),
    )
    sim.run()
    _through_codec(sim)
    assert _bodies(sim, "SessionSetupReq")[0]["Header"]["SessionID"] == SESSION_ID
    assert _responses(sim, "SessionSetupRes") == ["OK_OldSessionJoined"]
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED


def test_the_evse_ends_energy_transfer_with_a_terminate_notification() -> None:
    sim = _session()
    sim.inject("SECC", StopRequested("operator stop"), at=3.0)
    sim.run()
    _through_codec(sim)
    assert sim.stopped["EVCC"].result is StopResult.EVSE_SHUTDOWN
    assert "Terminate" in sim.stopped["EVCC"].reason
    assert _phases(sim)[-4:] == [
        "DC_ChargeLoopReq",
        "PowerDeliveryReq",
        "DC_WeldingDetectionReq",
        "SessionStopReq",
    ]


# --- supportedAppProtocol -----------------------------------------------------------------------------


def test_secc_refuses_an_evcc_that_offers_no_iso20_dc() -> None:
    secc = SeccMachine(DcCharger(CHARGER))
    secc.handle(LinkUp(), 0.0)
    actions = secc.handle(MessageReceived(supported_app_protocol_req()), 0.1)
    response = next(a for a in actions if isinstance(a, Send))
    assert response.message == {"supportedAppProtocolRes": {"ResponseCode": "Failed_NoNegotiation"}}
    assert secc.result is not None and secc.result.result is StopResult.NEGOTIATION_FAILED
    assert exi_codec.encode("app", response.message)


def test_secc_handed_over_after_negotiation_starts_at_session_setup() -> None:
    secc = SeccMachine(DcCharger(CHARGER), SeccConfig(session_id=SESSION_ID), negotiated=True)
    secc.handle(LinkUp(), 0.0)
    assert secc.state is SeccState.WAIT_SESSION_SETUP
    request = message("SessionSetupReq", "00" * 8, 1, {"EVCCID": "WMIV1234567890ABCDEX"})
    actions = secc.handle(MessageReceived(request), 0.1)
    response = next(a for a in actions if isinstance(a, Send)).message
    assert body(response)["ResponseCode"] == "OK_NewSessionEstablished"
    assert body(response)["Header"]["SessionID"] == SESSION_ID
    # A supportedAppProtocolReq now is out of sequence.
    late = SeccMachine(DcCharger(CHARGER), negotiated=True)
    late.handle(LinkUp(), 0.0)
    answer = next(
        a for a in late.handle(MessageReceived(supported_app_protocol_req()), 0.1) if isinstance(a, Send)
    )
    assert answer.name == "supportedAppProtocolRes"
    assert late.result is not None and late.result.result is StopResult.SEQUENCE_ERROR


# --- negative ------------------------------------------------------------------------------------------


def test_wrong_session_id_is_failed_unknown_session_and_ends_the_session() -> None:
    sim = _session(evcc_faults=[faults.wrong_session_id("ServiceDiscoveryReq")])
    sim.run()
    _through_codec(sim)
    assert _responses(sim, "ServiceDiscoveryRes") == ["FAILED_UnknownSession"]
    assert sim.stopped["SECC"].result is StopResult.UNKNOWN_SESSION
    assert sim.stopped["EVCC"].result is StopResult.FAILED_RESPONSE
    assert sim.message_names("EVCC")[-1] == "ServiceDiscoveryReq"


def test_out_of_sequence_request_is_failed_sequence_error() -> None:
    sim = _session(evcc_faults=[faults.out_of_sequence("ServiceDiscoveryReq", "DC_CableCheckReq")])
    sim.run()
    _through_codec(sim)
    assert _responses(sim, "DC_CableCheckRes") == ["FAILED_SequenceError"]
    assert sim.stopped["SECC"].result is StopResult.SEQUENCE_ERROR
    # The EVCC got DC_CableCheckRes while waiting for ServiceDiscoveryRes.
    assert sim.stopped["EVCC"].result is StopResult.SEQUENCE_ERROR


def test_charge_loop_response_later_than_half_a_second_ends_the_evcc_session() -> None:
    late = Delay(sends("DC_ChargeLoopRes"), times=1, after=2, seconds=0.6)
    sim = _session(secc_faults=[late])
    sim.run()
    stop = sim.stopped["EVCC"]
    assert stop.result is StopResult.TIMEOUT
    assert "V2G_EVCC_Msg_Timeout_ChargeLoop (0.5 s" in stop.reason
    assert sim.timers_fired("EVCC")[-1].name == "V2G_EVCC_Msg_Timeout"
    # Three loop requests answered in time, the third answer came too late: the EV stopped on time.
    assert sim.stopped["SECC"].result is StopResult.CONNECTION_LOST


def test_charge_loop_response_within_the_timeout_but_past_the_performance_time_is_noted() -> None:
    slow = Delay(sends("DC_ChargeLoopRes"), times=1, after=2, seconds=0.3)
    sim = _session(secc_faults=[slow])
    sim.run()
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED
    failed = [n for n in sim.notes("EVCC") if not n.ok]
    assert [n.name for n in failed] == ["V2G_SECC_Msg_Performance_Time_ChargeLoop"]
    assert "300.0 ms (limit 250 ms" in failed[0].detail


def test_secc_sequence_timeout_ends_the_session_after_60_s() -> None:
    # The EV never sends AuthorizationSetupReq (and waits for its answer longer than the SECC waits).
    sim = _session(
        evcc_faults=[Drop(sends("AuthorizationSetupReq"))], evcc_timings=Iso20Timings(evcc_msg_timeout_s=120)
    )
    sim.run()
    stop = sim.stopped["SECC"]
    assert stop.result is StopResult.TIMEOUT
    assert "V2G_SECC_Sequence_Timeout (60 s" in stop.reason
    session_setup_res = next(e for e in sim.messages("SECC") if e.name == "SessionSetupRes")
    timeout = next(e for e in sim.timers_fired("SECC") if e.name == "V2G_SECC_Sequence_Timeout")
    assert timeout.time - session_setup_res.time == pytest.approx(60.0)
    assert sim.stopped["EVCC"].result is StopResult.CONNECTION_LOST


def test_bpt_discharge_loop_without_discharge_limits_is_failed_wrong_charge_parameter() -> None:
    sim = _session(
        ev_services=(ServiceID.DC_BPT,),
        soc=79.0,
        evcc_faults=[faults.without_discharge_limits()],
    )
    sim.run()
    _through_codec(sim)
    assert _responses(sim, "DC_ChargeLoopRes") == ["FAILED_WrongChargeParameter"]
    assert sim.stopped["SECC"].result is StopResult.PARAMETER_ERROR
    assert "EVMaximumDischargePower, EVMaximumDischargeCurrent" in sim.stopped["SECC"].reason
    assert sim.stopped["EVCC"].result is StopResult.FAILED_RESPONSE


def test_selecting_a_service_that_was_not_offered_is_failed_service_selection_invalid() -> None:
    sim = _session(offered=(ServiceID.DC,), evcc_faults=[faults.select_service(ServiceID.DC_BPT)])
    sim.run()
    _through_codec(sim)
    assert _responses(sim, "ServiceSelectionRes") == ["FAILED_ServiceSelectionInvalid"]
    assert sim.stopped["SECC"].result is StopResult.PARAMETER_ERROR


def test_details_of_a_service_that_was_not_offered_are_failed_service_id_invalid() -> None:
    sim = _session(offered=(ServiceID.DC,), evcc_faults=[faults.service_detail_of(ServiceID.DC_BPT)])
    sim.run()
    _through_codec(sim)
    assert _responses(sim, "ServiceDetailRes") == ["FAILED_ServiceIDInvalid"]
    assert sim.stopped["EVCC"].result is StopResult.FAILED_RESPONSE


def test_charge_loop_in_the_wrong_control_mode_is_failed_wrong_charge_parameter() -> None:
    fault = faults.charge_loop_control_mode("BPT_Scheduled_DC_CLReqControlMode")
    sim = _session(evcc_faults=[fault])
    sim.run()
    _through_codec(sim)
    assert _responses(sim, "DC_ChargeLoopRes") == ["FAILED_WrongChargeParameter"]
    assert "BPT_Scheduled_DC_CLReqControlMode" in sim.stopped["SECC"].reason


def test_a_discharge_target_in_a_dc_session_is_refused() -> None:
    sim = _session(evcc_faults=[faults.discharge_without_bpt(occurrence=2)])
    sim.run()
    _through_codec(sim)
    assert _responses(sim, "DC_ChargeLoopRes") == ["OK", "FAILED_WrongChargeParameter"]
    assert sim.secc.charger.discharged_wh == 0


def test_a_schedule_tuple_that_was_not_offered_is_failed_schedule_selection_invalid() -> None:
    def other_tuple(msg: dict[str, Any]) -> None:
        body(msg)["EVPowerProfile"]["Scheduled_EVPPTControlMode"]["SelectedScheduleTupleID"] = 3

    sim = _session(evcc_faults=[edit("PowerDeliveryReq", other_tuple)])
    sim.run()
    _through_codec(sim)
    assert _responses(sim, "PowerDeliveryRes") == ["FAILED_ScheduleSelectionInvalid"]


# --- dynamic control ----------------------------------------------------------------------------------


def test_full_dc_session_in_dynamic_control_mode() -> None:
    sim = _session(evcc_config=EvccConfig(control_mode=ControlMode.Dynamic))
    sim.run()
    _through_codec(sim)
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED
    assert "target SOC" in sim.stopped["EVCC"].reason
    assert [n for n in sim.notes() if not n.ok] == []
    assert _bodies(sim, "ServiceSelectionReq")[0]["SelectedEnergyTransferService"]["ParameterSetID"] == 2
    assert "Dynamic_SEReqControlMode" in _bodies(sim, "ScheduleExchangeReq")[0]
    assert "Dynamic_SEResControlMode" in _bodies(sim, "ScheduleExchangeRes")[0]
    assert "Dynamic_EVPPTControlMode" in _bodies(sim, "PowerDeliveryReq")[0]["EVPowerProfile"]
    assert all("Dynamic_DC_CLReqControlMode" in b for b in _bodies(sim, "DC_ChargeLoopReq"))
    # The EVSE set the current (the EV gave limits only) and it flowed.
    assert max(to_float(b["EVSEPresentCurrent"]) for b in _bodies(sim, "DC_ChargeLoopRes")) > 50
    assert sim.evcc.battery.soc >= PACK.target_soc


def test_full_dc_bpt_session_in_dynamic_control_mode_discharges_to_the_minimum_soc() -> None:
    config = EvccConfig(services=(ServiceID.DC_BPT,), control_mode=ControlMode.Dynamic)
    sim = _session(evcc_config=config, soc=79.0)
    sim.run()
    _through_codec(sim)
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED
    assert "minimum SOC 76" in sim.stopped["EVCC"].reason
    request = _bodies(sim, "ScheduleExchangeReq")[0]["Dynamic_SEReqControlMode"]
    assert {"EVMaximumV2XEnergyRequest", "EVMinimumV2XEnergyRequest"} <= set(request)
    assert request["MinimumSOC"] <= request["TargetSOC"]
    assert all("BPT_Dynamic_DC_CLReqControlMode" in b for b in _bodies(sim, "DC_ChargeLoopReq"))
    assert min(to_float(b["EVSEPresentCurrent"]) for b in _bodies(sim, "DC_ChargeLoopRes")) < -50
    assert PACK.min_soc - 0.5 < sim.evcc.battery.soc <= PACK.min_soc


def test_dynamic_schedule_request_with_one_v2x_request_is_failed_wrong_charge_parameter() -> None:
    def one_v2x(msg: dict[str, Any]) -> None:
        del body(msg)["Dynamic_SEReqControlMode"]["EVMinimumV2XEnergyRequest"]

    config = EvccConfig(services=(ServiceID.DC_BPT,), control_mode=ControlMode.Dynamic)
    sim = _session(evcc_config=config, soc=79.0, evcc_faults=[edit("ScheduleExchangeReq", one_v2x)])
    sim.run()
    _through_codec(sim)
    assert _responses(sim, "ScheduleExchangeRes") == ["FAILED_WrongChargeParameter"]
    assert "both present or both absent" in sim.stopped["SECC"].reason


def test_secc_discharges_nothing_from_an_ev_at_its_minimum_soc() -> None:
    """An EV that reports PresentSOC at its MinimumSOC but keeps asking for discharge gets none."""

    def at_minimum(action: Send) -> Send:
        msg = copy.deepcopy(action.message)
        display = body(msg)["DisplayParameters"]
        display["PresentSOC"] = display["MinimumSOC"]
        return Send(msg, action.name)

    sim = _session(
        ev_services=(ServiceID.DC_BPT,),
        soc=79.0,
        evcc_faults=[Rewrite(sends("DC_ChargeLoopReq"), times=None, rewrite=at_minimum)],
    )
    sim.run(until=10.0)
    loops = _bodies(sim, "DC_ChargeLoopReq")
    assert len(loops) > 10
    assert all(to_float(b["BPT_Scheduled_DC_CLReqControlMode"]["EVTargetCurrent"]) < 0 for b in loops)
    assert all(to_float(b["EVSEPresentCurrent"]) > -1.0 for b in _bodies(sim, "DC_ChargeLoopRes"))
    assert sim.secc.charger.discharged_wh < 0.1


def test_evse_terminate_notification_fault_ends_energy_transfer() -> None:
    sim = _session(secc_faults=[faults.evse_terminate(occurrence=3)])
    sim.run()
    _through_codec(sim)
    assert sim.stopped["EVCC"].result is StopResult.EVSE_SHUTDOWN
    assert sim.message_names("EVCC").count("DC_ChargeLoopReq") == 3
    assert _bodies(sim, "PowerDeliveryReq")[-1]["ChargeProgress"] == "Stop"


def test_an_undecodable_charge_loop_response_ends_the_evcc_session() -> None:
    sim = _session(secc_faults=[faults.malformed("DC_ChargeLoopRes", occurrence=2)])
    sim.run()
    assert sim.stopped["EVCC"].result is StopResult.MALFORMED
    assert [e.name for e in sim.trace if e.kind == "malformed"] == ["DC_ChargeLoopRes"]


def test_out_of_sequence_fault_needs_a_known_template() -> None:
    with pytest.raises(ValueError):
        faults.out_of_sequence("ServiceDiscoveryReq", "DC_ChargeLoopReq")
    with pytest.raises(ValueError):
        faults.charge_loop_control_mode("AC_ChargeLoopReq")


def test_a_power_delivery_start_with_ev_processing_ongoing_is_answered_and_asked_again() -> None:
    """josev 0.31.2's EV sends PowerDeliveryReq(Start) with EVProcessing Ongoing, then again with Finished:
    the SECC answers both OK and starts energy transfer on the second.  Replayed into a fresh SECC: the
    requests of a complete session, with an Ongoing copy of PowerDeliveryReq(Start) before the real one."""
    from harness.protocol.core import LinkUp, MessageReceived

    sim = _session(ev_services=(ServiceID.DC,), offered=(ServiceID.DC,))
    sim.run()
    requests = [(e.time, e.message) for e in sim.messages("EVCC")]
    start = next(i for i, (_, m) in enumerate(requests) if body(m).get("ChargeProgress") == "Start")
    t, real = requests[start]
    ongoing = copy.deepcopy(real)
    body(ongoing)["EVProcessing"] = "Ongoing"
    requests[start:start] = [(t, ongoing)]
    secc = SeccMachine(DcCharger(CHARGER), SeccConfig(services=(ServiceID.DC,), session_id=SESSION_ID))
    secc.handle(LinkUp(), 0.0)
    codes = []
    for t, request in requests:
        for action in secc.handle(MessageReceived(request), t):
            if isinstance(action, Send) and "ResponseCode" in body(action.message):
                codes.append((action.name, body(action.message)["ResponseCode"]))
    assert [c for c in codes if c[0] == "PowerDeliveryRes"][:2] == [("PowerDeliveryRes", "OK")] * 2
    assert all(code.startswith("OK") for _, code in codes), codes
    assert ("DC_ChargeLoopRes", "OK") in codes
