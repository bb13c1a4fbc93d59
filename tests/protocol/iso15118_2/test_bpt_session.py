"""SAE J2847/2 V2H and V2G sessions on ISO 15118-2 between the reference EVCC and SECC on a simulated clock,
every message through the real EXI codec, and the refusals of a session that selected no BPT service."""

from __future__ import annotations

from typing import Any

from harness.codec.v2g import exi_codec
from harness.devices.models.battery import BatteryParameters
from harness.devices.models.dc_charger import ChargerParameters
from harness.protocol.din70121.evcc import EvccConfig
from harness.protocol.din70121.events import StopResult
from harness.protocol.din70121.faults import body_fields
from harness.protocol.din70121.messages import body, physical, to_float
from harness.protocol.din70121.secc import SeccConfig
from harness.protocol.iso15118_2 import bpt
from harness.protocol.iso15118_2.profile import ISO2

SESSION_ID = "8FA57FDE2BFAFE78"
# A small bidirectional pack that reaches its minimum SOC within seconds of discharge.
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


def _session(make_session: Any, ev_modes: tuple[str, ...], offered: tuple[str, ...], **kwargs: Any) -> Any:
    return make_session(
        soc=79.0,
        battery=PACK,
        charger=CHARGER,
        evcc_config=EvccConfig(bpt_modes=ev_modes),
        secc_config=SeccConfig(session_id=SESSION_ID, bpt_services=offered),
        evcc_profiles=(ISO2,),
        secc_profiles=(ISO2,),
        **kwargs,
    )


def _bodies(sim: Any, name: str) -> list[dict[str, Any]]:
    return [body(e.message) for e in sim.messages() if e.name == name]


def _through_codec(sim: Any) -> None:
    for entry in sim.messages():
        schema = "iso2" if "V2G_Message" in entry.message else "app"
        assert exi_codec.decode(schema, exi_codec.encode(schema, entry.message)) == entry.message, entry.name


def test_v2h_session_discharges_to_the_minimum_soc_and_ends_cleanly(make_session) -> None:
    sim = _session(make_session, ("V2H",), ("V2H", "V2G"))
    sim.run()
    _through_codec(sim)
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED, sim.stopped
    assert "minimum SOC" in sim.stopped["EVCC"].reason
    assert sim.stopped["SECC"].result is StopResult.COMPLETED, sim.stopped
    services = _bodies(sim, "ServiceDiscoveryRes")[0]["ServiceList"]["Service"]
    assert [s["ServiceID"] for s in services] == [28472, 28473]
    selected = _bodies(sim, "PaymentServiceSelectionReq")[0]["SelectedServiceList"]["SelectedService"]
    assert selected == [{"ServiceID": 1}, {"ServiceID": 28472}]
    # The first ChargeParameterDiscoveryRes is Ongoing; the EV's requests carry BulkSOC and negative limits.
    cpd_res = _bodies(sim, "ChargeParameterDiscoveryRes")
    assert [r["EVSEProcessing"] for r in cpd_res] == ["Ongoing", "Finished"]
    for request in _bodies(sim, "ChargeParameterDiscoveryReq"):
        assert bpt.v2h_limits_ok(request["DC_EVChargeParameter"])
        assert request["DC_EVChargeParameter"]["BulkSOC"] == 76
    demands = _bodies(sim, "CurrentDemandReq")
    assert demands and all(to_float(d["EVTargetCurrent"]) < 0 for d in demands)
    # The home load (7.4 kW) bounds the discharge; the EVSE sinks current.
    responses = _bodies(sim, "CurrentDemandRes")
    assert all(to_float(r["EVSEMaximumPowerLimit"]) == -7_400.0 for r in responses)
    assert min(to_float(r["EVSEPresentCurrent"]) for r in responses) < -10
    evcc = sim.evcc.core
    assert evcc.battery.soc <= PACK.min_soc + 0.5
    assert evcc.battery.discharged_wh > 0
    # No discharge request once the EV reported a SOC below its minimum.
    assert all(d["DC_EVStatus"]["EVRESSSOC"] >= 76 for d in demands)
    assert sim.requests_collapsed()[-3:] == ["PowerDeliveryReq", "WeldingDetectionReq", "SessionStopReq"]


def test_v2g_session_discharges_when_the_evse_asks(make_session) -> None:
    sim = _session(make_session, ("V2H", "V2G"), ("V2G",))
    sim.run()
    _through_codec(sim)
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED, sim.stopped
    selected = _bodies(sim, "PaymentServiceSelectionReq")[0]["SelectedServiceList"]["SelectedService"]
    assert selected == [{"ServiceID": 1}, {"ServiceID": 28473}]
    # V2G: charge parameters as in a charging session (positive), one round.
    assert [r["EVSEProcessing"] for r in _bodies(sim, "ChargeParameterDiscoveryRes")] == ["Finished"]
    responses = _bodies(sim, "CurrentDemandRes")
    assert all(to_float(r["EVSEMaximumCurrentLimit"]) < 0 for r in responses)
    assert all(to_float(r["EVSEMaximumPowerLimit"]) == -11_000.0 for r in responses)
    demands = _bodies(sim, "CurrentDemandReq")
    # The first request precedes the EVSE's discharge request; every later one discharges.
    assert to_float(demands[0]["EVTargetCurrent"]) > 0
    assert all(to_float(d["EVTargetCurrent"]) < 0 for d in demands[1:])
    assert min(to_float(r["EVSEPresentCurrent"]) for r in responses) < -10
    assert sim.secc.core.charger.discharged_wh > 0


def test_an_ev_that_wants_bpt_charges_plainly_from_an_secc_that_offers_none(make_session) -> None:
    sim = _session(make_session, ("V2H", "V2G"), ())
    sim.run()
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED, sim.stopped
    assert "ServiceList" not in _bodies(sim, "ServiceDiscoveryRes")[0]
    selected = _bodies(sim, "PaymentServiceSelectionReq")[0]["SelectedServiceList"]["SelectedService"]
    assert selected == [{"ServiceID": 1}]
    assert all(to_float(d["EVTargetCurrent"]) >= 0 for d in _bodies(sim, "CurrentDemandReq"))


def test_v2h_with_positive_limits_is_wrong_energy_transfer_mode(make_session) -> None:
    positive = {
        "DC_EVChargeParameter": {
            "DC_EVStatus": {"EVReady": True, "EVErrorCode": "NO_ERROR", "EVRESSSOC": 79},
            "EVMaximumCurrentLimit": physical(100, "A"),
            "EVMaximumPowerLimit": physical(40_000, "W"),
            "EVMaximumVoltageLimit": physical(420, "V"),
            "BulkSOC": 76,
        }
    }
    sim = _session(
        make_session,
        ("V2H",),
        ("V2H",),
        evcc_faults=[body_fields("ChargeParameterDiscoveryReq", positive, 2)],
    )
    sim.run()
    assert _bodies(sim, "ChargeParameterDiscoveryRes")[-1]["ResponseCode"] == "FAILED_WrongEnergyTransferMode"
    assert sim.stopped["SECC"].result is StopResult.PARAMETER_ERROR


def test_negative_target_without_bpt_is_refused(make_session) -> None:
    sim = _session(
        make_session,
        (),
        ("V2H",),
        evcc_faults=[body_fields("CurrentDemandReq", {"EVTargetCurrent": physical(-20, "A")}, 2)],
    )
    sim.run()
    assert _bodies(sim, "CurrentDemandRes")[-1]["ResponseCode"] == "FAILED_WrongChargeParameter"
    assert sim.stopped["SECC"].result is StopResult.PARAMETER_ERROR


def test_selecting_a_bpt_service_not_offered_is_refused(make_session) -> None:
    selection = {"SelectedServiceList": {"SelectedService": [{"ServiceID": 1}, {"ServiceID": 28473}]}}
    sim = _session(
        make_session, (), ("V2H",), evcc_faults=[body_fields("PaymentServiceSelectionReq", selection)]
    )
    sim.run()
    assert _bodies(sim, "PaymentServiceSelectionRes")[0]["ResponseCode"] == "FAILED_ServiceSelectionInvalid"


def test_pics_options_name_the_modes_and_only_iso2_carries_them(make_session) -> None:
    assert bpt.modes_from_pics(lambda key: key in {"bpt.v2g", "iso15118-2"}) == (bpt.BptMode.V2G,)
    assert bpt.modes_from_pics(lambda key: key in {"bpt.v2h", "bpt.v2g"}) == (
        bpt.BptMode.V2H,
        bpt.BptMode.V2G,
    )
    # DIN SPEC 70121 has no value-added services: an SECC configured for BPT offers none in a DIN session.
    sim = make_session(
        soc=79.0,
        battery=PACK,
        charger=CHARGER,
        evcc_config=EvccConfig(bpt_modes=("V2H",)),
        secc_config=SeccConfig(session_id=SESSION_ID, bpt_services=("V2H", "V2G")),
    )
    sim.run()
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED, sim.stopped
    assert "ServiceList" not in _bodies(sim, "ServiceDiscoveryRes")[0]
    assert all(to_float(d["EVTargetCurrent"]) >= 0 for d in _bodies(sim, "CurrentDemandReq"))
