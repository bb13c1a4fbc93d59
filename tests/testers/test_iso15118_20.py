"""The ISO 15118-20 tester roles (harness.testers.iso15118_20) and the reference devices' -20 sessions
(harness.devices.dc_sessions): built from plain settings, run against each other on the simulated clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest

from harness.devices.evcc import evcc_machine
from harness.devices.secc import secc_machine
from harness.devices.settings import DeviceSettings
from harness.protocol.app_front import EvccFront, SeccFront
from harness.protocol.dc_profiles import EV_PREFERENCE, dc_profile
from harness.protocol.din70121 import evcc as din_evcc
from harness.protocol.din70121.events import StopResult
from harness.protocol.din70121.simulation import Simulation
from harness.protocol.iso15118_20 import evcc as iso20_evcc
from harness.protocol.iso15118_20 import secc as iso20_secc
from harness.protocol.iso15118_20.messages import ServiceID, body
from harness.protocol.timers import TIMERS
from harness.testers.iso15118_20 import TESTER_SESSION_ID, Iso20TesterSetup, named_fault

TIMER_DEFAULTS = MappingProxyType({name: timer.default_s for name, timer in TIMERS.items()})
SIM_PICS = frozenset({"din70121", "iso15118-2", "iso15118-20", "iso20.dc_bpt"})


def _settings(supported: frozenset[str] = SIM_PICS) -> DeviceSettings:
    return DeviceSettings(timers=TIMER_DEFAULTS, supported=supported)


def _in_loop(build: Callable[[], Any]) -> Any:
    """Build a core where a live one is built: inside a running loop (its header clock anchor)."""

    async def inside() -> Any:
        return build()

    return asyncio.run(inside())


def _tester() -> Iso20TesterSetup:
    return Iso20TesterSetup.for_lab(_settings())


def _bodies(sim: Simulation, name: str) -> list[dict[str, Any]]:
    return [body(e.message) for e in sim.messages() if e.name == name]


def test_every_named_fault_builds_and_an_unknown_one_is_refused() -> None:
    options = {"code": "FAILED", "seconds": 0.1, "send": "DC_CableCheckReq", "service": 9, "element": "X"}
    kinds = ["wrong session id", "response code", "delay", "drop", "malformed exi", "truncated v2gtp"]
    kinds += ["out of sequence", "select service", "service detail", "no discharge limits"]
    kinds += ["discharge without bpt", "evse terminate", "tcp reset"]
    for kind in kinds:
        assert named_fault(kind, "DC_ChargeLoopRes", 1, **options) is not None
    with pytest.raises(ValueError, match="no DC charge-loop control mode"):
        named_fault("control mode", "DC_ChargeLoopReq", 1, element="X")  # not a control mode element
    with pytest.raises(ValueError, match="unknown ISO 15118-20 tester fault"):
        named_fault("gremlins", "SessionSetupReq")


def test_tester_ev_against_tester_secc_completes_a_dc_session_with_the_tester_session_id() -> None:
    ev, secc = _tester(), _tester()
    sim = Simulation(_in_loop(ev.ev_machine), _in_loop(secc.secc_machine))
    sim.run()
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED
    assert all(b["Header"]["SessionID"] == TESTER_SESSION_ID for b in _bodies(sim, "DC_ChargeLoopReq"))
    # A live core's header clock: the wall-clock Unix time, not the fixed simulation anchor.
    stamps = [b["Header"]["TimeStamp"] for b in _bodies(sim, "SessionSetupReq")]
    assert stamps[0] > iso20_evcc.EvccConfig().time_anchor_s + 86_400


def test_a_tester_fault_reaches_the_wire() -> None:
    ev = _tester()
    ev.faults.append(named_fault("wrong session id", "ServiceDiscoveryReq"))
    sim = Simulation(_in_loop(ev.ev_machine), _in_loop(_tester().secc_machine))
    sim.run()
    assert [b["ResponseCode"] for b in _bodies(sim, "ServiceDiscoveryRes")] == ["FAILED_UnknownSession"]


def test_the_sim_lab_devices_speak_iso20_dc_bpt_to_each_other() -> None:
    # PICS iso15118-20 and iso20.dc_bpt: the reference EV offers -20 first and prefers DC_BPT, the
    # reference SECC offers DC and DC_BPT; both fronts hand the connection to their -20 cores.
    ev = _in_loop(lambda: evcc_machine(_settings(), frozenset()))
    secc = _in_loop(lambda: secc_machine(_settings(), frozenset()))
    assert isinstance(ev, EvccFront) and isinstance(secc, SeccFront)
    sim = Simulation(ev, secc)
    sim.run()
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED
    assert isinstance(ev.active, iso20_evcc.EvccMachine) and isinstance(secc.active, iso20_secc.SeccMachine)
    assert (
        _bodies(sim, "ServiceSelectionReq")[0]["SelectedEnergyTransferService"]["ServiceID"]
        == ServiceID.DC_BPT
    )
    assert _bodies(sim, "PowerDeliveryReq")[0]["BPT_ChannelSelection"] == "Discharge"


def test_without_iso20_in_the_pics_the_devices_are_as_before() -> None:
    settings = _settings(frozenset({"din70121", "iso15118-2"}))
    ev = _in_loop(lambda: evcc_machine(settings, frozenset()))
    assert not isinstance(ev, EvccFront)
    assert isinstance(ev.core, din_evcc.EvccMachine)


def test_the_sim_lab_secc_serves_an_iso2_ev_in_iso2() -> None:
    iso2_ev = _in_loop(lambda: evcc_machine(_settings(frozenset({"iso15118-2"})), frozenset()))
    secc = _in_loop(lambda: secc_machine(_settings(), frozenset()))
    sim = Simulation(iso2_ev, secc)
    sim.run()
    assert sim.stopped["SECC"].result is StopResult.COMPLETED
    assert "CurrentDemandReq" in sim.message_names("EVCC")


def test_a_tester_ev_offering_all_three_gets_iso2_from_the_reference_secc_without_iso20() -> None:
    ev = _tester()
    ev.profiles = tuple(dc_profile(name, TIMER_DEFAULTS.__getitem__) for name in EV_PREFERENCE)
    secc = _in_loop(lambda: secc_machine(_settings(frozenset({"din70121", "iso15118-2"})), frozenset()))
    sim = Simulation(_in_loop(ev.ev_machine), secc)
    sim.run()
    offer = sim.messages("EVCC")[0].message["supportedAppProtocolReq"]["AppProtocol"]
    assert [(e["SchemaID"], e["Priority"]) for e in offer] == [(1, 1), (2, 2), (3, 3)]
    assert sim.messages("SECC")[0].message["supportedAppProtocolRes"]["SchemaID"] == 2  # ISO 15118-2
    assert sim.stopped["EVCC"].result is StopResult.COMPLETED
