"""The simulated pilot as a driver built by the one loader, and the EVSE pilot core run on CoreDriver."""

from __future__ import annotations

import asyncio

import pytest

from harness.devices.pilot_sim import EvsePilotRunner, SimulatedPilotDriver
from harness.devices.settings import DeviceSettings
from harness.protocol.pilot import (
    BeginMatching,
    EndMatching,
    EvsePilot,
    PilotOutput,
    PilotState,
    SlacFailed,
    VehicleStateMeasured,
)
from harness.testers.pilot import open_lab_pilot
from harness.transport.pilot import PilotPort


def test_the_simulated_pilot_is_built_for_the_port_and_takes_no_options() -> None:
    driver = SimulatedPilotDriver.create(PilotPort("ev", "vgi-tester0", observer="tap"), {})
    assert (driver.interface, driver.side, driver.observer) == ("vgi-tester0", 2, "tap")
    with pytest.raises(TypeError, match="no options"):
        SimulatedPilotDriver.create(PilotPort("ev", "vgi-tester0"), {"host": "box"})
    with pytest.raises(ValueError, match="interface"):
        SimulatedPilotDriver.create(PilotPort("evse"), {})


def test_a_lab_without_a_pilot_driver_gives_the_tester_none() -> None:
    assert asyncio.run(open_lab_pilot(DeviceSettings(pilot_driver=None), "ev", "vgi-tester0")) is None


def test_the_tester_pilot_comes_from_the_lab_named_driver() -> None:
    settings = DeviceSettings(pilot_driver="loopback")
    driver = asyncio.run(open_lab_pilot(settings, "evse"))
    assert type(driver).__name__ == "LoopbackPilotDriver"
    assert DeviceSettings().pilot_driver == "sim"  # what a sim lab gives


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_runner_carries_out_the_core_and_counts_the_hold_from_the_wire() -> None:
    clock = FakeClock(100.0)
    pilot = SimulatedPilotDriver("vgi-dut0", "evse")  # not opened: records are not sent
    core = EvsePilot()
    handed: list[object] = []
    sent = pilot.apply_output

    def slow_send(output: PilotOutput, duty: float | None = None) -> None:
        sent(output, duty)
        clock.now += 0.002  # putting the record on the link takes 2 ms

    pilot.apply_output = slow_send  # type: ignore[method-assign]

    async def scenario() -> None:
        runner = EvsePilotRunner(core, pilot, handed.append, clock=clock)
        runner.feed(VehicleStateMeasured(PilotState.B))
        assert (pilot.output, pilot.duty) == (PilotOutput.X2, 5.0)
        assert handed == [BeginMatching()]
        clock.now = 150.0
        runner.feed(SlacFailed("TT_EVSE_SLAC_init"))
        assert pilot.output is PilotOutput.STATE_F and handed[-1] == EndMatching()
        # Decided at 150.000, on the wire at 150.002: the E/F hold ends T_step_EF after the wire.
        assert core.next_deadline() == pytest.approx(150.002 + core.config.t_step_ef_s)
        runner.close()

    asyncio.run(scenario())


def test_the_runner_energizes_the_outlet_through_the_pilot() -> None:
    from harness.protocol.pilot import EnergyAuthorized, SlacMatched

    pilot = SimulatedPilotDriver("vgi-dut0", "evse")

    async def scenario() -> list[bool | None]:
        runner = EvsePilotRunner(EvsePilot(), pilot, lambda action: None)
        runner.feed(VehicleStateMeasured(PilotState.B))
        runner.feed(SlacMatched())
        runner.feed(VehicleStateMeasured(PilotState.C))
        seen = [pilot.energized]
        runner.feed(EnergyAuthorized(True))
        seen.append(pilot.energized)
        runner.feed(VehicleStateMeasured(PilotState.B))
        seen.append(pilot.energized)
        runner.close()
        return seen

    assert asyncio.run(scenario()) == [False, True, False]
