"""The reference DCPC's pieces without I/O: the DER modes in effect become the SECC's V2G discharge demand
(and the fault keeps it from the SECC), a real SECC session on a simulated clock follows the demand
through GridFedSecc, and the DC meter integrates what flows on the link."""

from __future__ import annotations

from typing import Any

import pytest

from harness.devices.models.battery import Battery, BatteryParameters
from harness.devices.models.dc_charger import ChargerParameters, DcCharger
from harness.devices.sep2.common import SimClock
from harness.devices.sep2.der_dcpc import FAULT_IGNORES_CONTROL, DcMeter, DcpcDer, GridDemand, GridFedSecc
from harness.protocol.din70121.evcc import EvccConfig, EvccMachine
from harness.protocol.din70121.events import StopRequested
from harness.protocol.din70121.messages import body, to_float
from harness.protocol.din70121.secc import SeccConfig, SeccMachine
from harness.protocol.din70121.simulation import Simulation
from harness.protocol.din70121.timing import DinTimings
from harness.protocol.faults import FaultyCore
from harness.protocol.iso15118_2.profile import ISO2
from harness.protocol.sep2.der_events import AppliedMode

LFDI = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"
CONTROL = "00000000000000000000000000000001"
AUTHORIZED = {
    "opModEnergize": AppliedMode(True, "J3072", "/derp/1", from_default=True),
    "opModConnect": AppliedMode(True, "J3072", "/derp/1", from_default=True),
}


def _der(faults: frozenset[str] = frozenset()) -> DcpcDer:
    return DcpcDer(LFDI, SimClock(speedup=120.0), faults, role="dc-charger", say=lambda *a, **k: None)


def test_a_discharge_control_becomes_the_v2g_demand_and_its_end_zero() -> None:
    der = _der()
    der._apply(AUTHORIZED)
    assert der.demand.watts == 0.0 and der.demand.version == 0
    der._apply({**AUTHORIZED, "opModFixedW": AppliedMode(5000, CONTROL, "/derp/2")})
    # opModFixedW is hundredths of a percent of setMaxDischargeRateW (the reference 7.2 kW).
    assert der.demand.watts == pytest.approx(3600.0)
    assert CONTROL in der.demand.reason and der.demand.version == 1
    der._apply(AUTHORIZED)
    assert der.demand.watts == 0.0 and der.demand.version == 2


def test_no_export_while_energize_is_false_or_for_a_charge_command() -> None:
    der = _der()
    der._apply(
        {
            "opModEnergize": AppliedMode(False, "J3072", "/derp/1", True),
            "opModFixedW": AppliedMode(5000, CONTROL, "/derp/2"),
        }
    )
    assert der.demand.watts == 0.0
    der._apply({**AUTHORIZED, "opModFixedW": AppliedMode(-5000, CONTROL, "/derp/2")})
    assert der.demand.watts == 0.0


def test_the_fault_keeps_the_demand_from_the_secc() -> None:
    der = _der(frozenset({FAULT_IGNORES_CONTROL}))
    der._apply({**AUTHORIZED, "opModFixedW": AppliedMode(5000, CONTROL, "/derp/2")})
    assert der.demand.watts == 0.0 and der.demand.version == 0


def test_the_meter_integrates_import_and_export_on_the_lab_clock() -> None:
    meter = DcMeter()
    meter.sample(0.0, 7200.0)  # charging the EV
    meter.sample(30.0, -3600.0)  # the EV discharges
    meter.advance(90.0)
    assert meter.imported_wh == pytest.approx(60.0)
    assert meter.exported_wh == pytest.approx(60.0)
    der = _der()
    der.meter = meter
    counters = der.counters(120.0)
    assert (counters.at, counters.imported_wh, counters.exported_wh) == (120.0, 60.0, pytest.approx(90.0))


def _loop_session(demand: GridDemand, meter: DcMeter) -> Simulation:
    pack = BatteryParameters(
        capacity_kwh=60.0, max_discharge_current_a=100.0, max_discharge_power_w=40_000.0, min_soc=20.0
    )
    charger = ChargerParameters(
        isolation_check_duration_s=0.5, max_discharge_current_a=100.0, max_discharge_power_w=30_000.0
    )
    timings = DinTimings()
    evcc = EvccMachine(Battery(pack, soc=50.0), EvccConfig(bpt_modes=("V2G",)), timings, (ISO2,))
    # The DCPC's SECC offers V2G and asks for nothing until the grid does (the default would be 11 kW).
    secc = SeccMachine(DcCharger(charger), SeccConfig(bpt_services=("V2G",)), timings, (ISO2,))
    box: dict[str, Any] = {}
    wrapped = GridFedSecc(FaultyCore(secc), demand, meter, lambda: box["sim"].now)
    sim = Simulation(FaultyCore(evcc), wrapped)
    box["sim"] = sim
    return sim


def test_a_secc_session_follows_the_grid_demand_and_is_metered() -> None:
    demand, meter = GridDemand(), DcMeter()
    sim = _loop_session(demand, meter)
    sim.run(until=6.0)
    charging = [body(e.message) for e in sim.messages() if e.name == "CurrentDemandRes"]
    assert charging and all(to_float(r["EVSEMaximumPowerLimit"]) > 0 for r in charging)
    assert meter.imported_wh > 0 and meter.exported_wh == 0
    demand.set(3600.0, "test")
    sim.run(until=12.0)
    discharging = [body(e.message) for e in sim.messages() if e.name == "CurrentDemandRes"][len(charging) :]
    assert discharging and all(to_float(r["EVSEMaximumPowerLimit"]) == -3600.0 for r in discharging)
    assert meter.exported_wh > 0 and meter.power_w < 0
    # The wrapped machine's state reads through the wrapper (the device asks for paused/session).
    assert sim.secc.session is not None and sim.secc.paused is False
    sim.inject("EVCC", StopRequested("test over"), 12.5)
    sim.run(until=30.0)
    assert meter.power_w == 0.0
