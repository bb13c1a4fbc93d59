"""Fixtures for the DIN SPEC 70121 machine tests: an EVCC and an SECC connected in memory."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness.devices.models.battery import Battery, BatteryParameters
from harness.devices.models.dc_charger import ChargerParameters, DcCharger
from harness.protocol.din70121.evcc import EvccConfig, EvccMachine
from harness.protocol.din70121.faults import FaultyMachine
from harness.protocol.din70121.secc import SeccConfig, SeccMachine
from harness.protocol.din70121.simulation import Simulation
from harness.protocol.din70121.timing import DinTimings
from harness.protocol.faults import Fault

SESSION_ID = "8FA57FDE2BFAFE78"

# A small pack so that a whole session from 60 % to 80 % takes about a minute of simulated time.
SMALL_PACK = BatteryParameters(capacity_kwh=2.0, target_soc=80.0, taper_start_soc=70.0)

SessionFactory = Callable[..., Simulation]


@pytest.fixture
def session_id() -> str:
    return SESSION_ID


@pytest.fixture
def make_session() -> SessionFactory:
    def build(
        *,
        soc: float = 60.0,
        battery: BatteryParameters = SMALL_PACK,
        charger: ChargerParameters | None = None,
        evcc_config: EvccConfig | None = None,
        secc_config: SeccConfig | None = None,
        timings: DinTimings | None = None,
        evcc_faults: list[Fault] | None = None,
        secc_faults: list[Fault] | None = None,
        latency_s: float = 0.0,
    ) -> Simulation:
        timings = timings or DinTimings()
        evcc = EvccMachine(Battery(battery, soc=soc), evcc_config or EvccConfig(), timings)
        secc = SeccMachine(
            DcCharger(charger or ChargerParameters()),
            secc_config or SeccConfig(session_id=SESSION_ID),
            timings,
        )
        return Simulation(
            FaultyMachine(evcc, evcc_faults or []),
            FaultyMachine(secc, secc_faults or []),
            latency_s=latency_s,
        )

    return build
