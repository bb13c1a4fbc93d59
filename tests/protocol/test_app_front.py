"""supportedAppProtocol across DIN SPEC 70121, ISO 15118-2 and ISO 15118-20 DC (harness.protocol.app_front):
the fronts on the simulated clock, every session through to its end with the real cores."""

from __future__ import annotations

from harness.devices.models.battery import Battery, BatteryParameters
from harness.devices.models.dc_charger import ChargerParameters, DcCharger
from harness.protocol.app_front import Candidate, EvccFront, SeccFront
from harness.protocol.din70121 import evcc as din_evcc
from harness.protocol.din70121 import secc as din_secc
from harness.protocol.din70121.events import StopResult
from harness.protocol.din70121.profile import DinProfile
from harness.protocol.din70121.simulation import Simulation
from harness.protocol.din70121.timing import DinTimings
from harness.protocol.iso15118_2.profile import Iso2Profile
from harness.protocol.iso15118_2.timing import Iso2Timings
from harness.protocol.iso15118_20 import evcc as iso20_evcc
from harness.protocol.iso15118_20 import secc as iso20_secc
from harness.protocol.iso15118_20.messages import ServiceID
from harness.protocol.iso15118_20.protocol import DC_PROTOCOL

PACK = BatteryParameters(capacity_kwh=0.2, target_soc=80.0, taper_start_soc=70.0)
CHARGER = ChargerParameters(isolation_check_duration_s=0.5)
ISO2 = Iso2Profile(Iso2Timings())
DIN = DinProfile(DinTimings())


def _din_evcc(profiles: tuple, schema_id: int = 1) -> din_evcc.EvccMachine:
    config = din_evcc.EvccConfig(schema_id=schema_id)
    return din_evcc.EvccMachine(Battery(PACK, soc=75.0), config, DinTimings(), profiles)


def _din_secc(profiles: tuple) -> din_secc.SeccMachine:
    return din_secc.SeccMachine(DcCharger(CHARGER), din_secc.SeccConfig(), DinTimings(), profiles)


def _iso20_evcc(schema_id: int) -> iso20_evcc.EvccMachine:
    config = iso20_evcc.EvccConfig(services=(ServiceID.DC,), schema_id=schema_id)
    return iso20_evcc.EvccMachine(Battery(PACK, soc=75.0), config)


def _iso20_secc() -> iso20_secc.SeccMachine:
    return iso20_secc.SeccMachine(DcCharger(CHARGER), iso20_secc.SeccConfig(services=(ServiceID.DC,)))


def _ev_offering_all_three() -> EvccFront:
    """-20 DC first (SchemaID 3), then ISO 15118-2 (1) and DIN SPEC 70121 (2)."""
    din = _din_evcc((ISO2, DIN))
    return EvccFront(
        [Candidate((DC_PROTOCOL,), _iso20_evcc(3)), Candidate((ISO2.protocol, DIN.protocol), din)]
    )


def _secc_with_all_three() -> SeccFront:
    din = _din_secc((ISO2, DIN))
    return SeccFront(
        [Candidate((ISO2.protocol, DIN.protocol), din), Candidate((DC_PROTOCOL,), _iso20_secc())]
    )


def _completed(sim: Simulation) -> None:
    sim.run()
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED, sim.stopped["EVCC"]
    assert sim.stopped["SECC"].result is StopResult.COMPLETED, sim.stopped["SECC"]


def _offer(sim: Simulation) -> list[tuple[str, int, int]]:
    request = sim.messages("EVCC")[0].message["supportedAppProtocolReq"]["AppProtocol"]
    short = {"urn:iso:15118:2:2013:MsgDef": "iso", "urn:din:70121:2012:MsgDef": "din"}
    return [
        (short.get(e["ProtocolNamespace"], e["ProtocolNamespace"][-6:-3]), e["SchemaID"], e["Priority"])
        for e in request
    ]


def test_an_ev_offering_all_three_gets_iso20_from_an_secc_that_has_it() -> None:
    ev, secc = _ev_offering_all_three(), _secc_with_all_three()
    sim = Simulation(ev, secc)
    _completed(sim)
    assert _offer(sim) == [("-20", 3, 1), ("iso", 1, 2), ("din", 2, 3)]
    response = sim.messages("SECC")[0].message["supportedAppProtocolRes"]
    assert response == {"ResponseCode": "OK_SuccessfulNegotiation", "SchemaID": 3}
    assert isinstance(ev.active, iso20_evcc.EvccMachine)
    assert isinstance(secc.active, iso20_secc.SeccMachine)
    names = sim.message_names("EVCC")
    assert "DC_ChargeLoopReq" in names and "CurrentDemandReq" not in names
    assert ev.battery.soc >= PACK.target_soc  # the session's battery, through the front


def test_an_ev_offering_all_three_gets_iso2_from_an_secc_without_iso20() -> None:
    ev = _ev_offering_all_three()
    sim = Simulation(ev, _din_secc((ISO2, DIN)))
    _completed(sim)
    assert sim.messages("SECC")[0].message["supportedAppProtocolRes"]["SchemaID"] == 1
    assert isinstance(ev.active, din_evcc.EvccMachine)
    assert "CurrentDemandReq" in sim.message_names("EVCC")


def test_an_ev_offering_all_three_gets_din_from_a_din_only_secc() -> None:
    ev = _ev_offering_all_three()
    sim = Simulation(ev, _din_secc((DIN,)))
    _completed(sim)
    assert sim.messages("SECC")[0].message["supportedAppProtocolRes"]["SchemaID"] == 2
    assert ev.active.profile.protocol == DIN.protocol


def test_an_iso2_and_din_ev_gets_iso2_from_the_secc_with_all_three() -> None:
    secc = _secc_with_all_three()
    sim = Simulation(_din_evcc((ISO2, DIN)), secc)
    _completed(sim)
    assert isinstance(secc.active, din_secc.SeccMachine)
    assert secc.active.profile.protocol == ISO2.protocol


def test_an_iso20_only_ev_gets_iso20_from_the_secc_with_all_three() -> None:
    secc = _secc_with_all_three()
    sim = Simulation(_iso20_evcc(1), secc)
    _completed(sim)
    assert isinstance(secc.active, iso20_secc.SeccMachine)


def test_the_ev_priority_wins_over_the_secc_order() -> None:
    # The EV puts ISO 15118-2 before -20: the SECC that has both takes ISO 15118-2.
    din = _din_evcc((ISO2,), schema_id=1)
    ev = EvccFront([Candidate((ISO2.protocol,), din), Candidate((DC_PROTOCOL,), _iso20_evcc(2))])
    secc = _secc_with_all_three()
    sim = Simulation(ev, secc)
    _completed(sim)
    assert ev.active is din and isinstance(secc.active, din_secc.SeccMachine)


def test_no_common_protocol_fails_the_negotiation_on_the_primary() -> None:
    secc = SeccFront([Candidate((DIN.protocol,), _din_secc((DIN,)))])
    sim = Simulation(_iso20_evcc(1), secc)
    sim.run()
    response = sim.messages("SECC")[0].message["supportedAppProtocolRes"]
    assert response["ResponseCode"] == "Failed_NoNegotiation"
    assert sim.stopped["SECC"].result is StopResult.NEGOTIATION_FAILED


def test_candidates_with_the_same_schema_id_are_refused() -> None:
    ev = EvccFront([Candidate((DC_PROTOCOL,), _iso20_evcc(1)), Candidate((DIN.protocol,), _din_evcc((DIN,)))])
    sim = Simulation(ev, _din_secc((DIN,)))
    try:
        sim.run()
    except ValueError as exc:
        assert "SchemaID 1" in str(exc)
    else:
        raise AssertionError("two offers with SchemaID 1 went out")
