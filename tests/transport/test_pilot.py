"""Pilot drivers: the entry point group, the one loader, the in-memory loopback line."""

from __future__ import annotations

import asyncio
from importlib.metadata import EntryPoint

import pytest

from harness.protocol.pilot import PilotOutput, PilotState, classify_pilot_voltage
from harness.transport import pilot as drivers
from harness.transport.pilot import LoopbackPilotDriver, PilotPort, PilotReading


def test_entry_point_group_name() -> None:
    assert drivers.PILOT_DRIVER_ENTRY_POINT_GROUP == "vgi.pilot_drivers"


def test_loopback_driver_is_always_available() -> None:
    assert drivers.load_pilot_driver("loopback") is LoopbackPilotDriver


def test_the_simulated_pilot_is_an_installed_entry_point() -> None:
    """`sim` comes through the same entry point group as a lab's box driver (pyproject registers it)."""
    from harness.devices.pilot_sim import SimulatedPilotDriver

    installed = {
        ep.name: ep.value for ep in drivers.entry_points(group=drivers.PILOT_DRIVER_ENTRY_POINT_GROUP)
    }
    assert installed["sim"] == "harness.devices.pilot_sim:SimulatedPilotDriver"
    assert drivers.load_pilot_driver("sim") is SimulatedPilotDriver


def test_drivers_are_found_through_the_entry_point_group(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_entry_points(*, group: str):
        calls.append(group)
        return [
            EntryPoint(name="box", value="harness.transport.pilot:LoopbackPilotDriver", group=group),
            EntryPoint(name="broken", value="harness.transport.pilot:PilotReading", group=group),
        ]

    monkeypatch.setattr(drivers, "entry_points", fake_entry_points)
    assert set(drivers.available_pilot_drivers()) == {"box", "broken", "loopback"}
    assert calls == ["vgi.pilot_drivers"]
    assert drivers.load_pilot_driver("box") is LoopbackPilotDriver
    with pytest.raises(TypeError, match="not a PilotDriver"):
        drivers.load_pilot_driver("broken")
    with pytest.raises(LookupError, match="known: box, broken, loopback"):
        drivers.load_pilot_driver("missing")


def test_open_pilot_driver_builds_with_the_lab_options_and_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    class Box(LoopbackPilotDriver):
        def __init__(self, host: str = "", port: int = 0) -> None:
            super().__init__()
            self.address = (host, port)
            self.opened = False

        async def open(self) -> None:
            self.opened = True

    async def scenario() -> Box:
        driver = await drivers.open_pilot_driver("box", {"host": "10.0.0.9", "port": 502}, PilotPort("ev"))
        assert isinstance(driver, Box)
        return driver

    monkeypatch.setattr(drivers, "load_pilot_driver", lambda name: Box)
    box = asyncio.run(scenario())
    assert box.address == ("10.0.0.9", 502) and box.opened
    with pytest.raises(ValueError, match="rejects the options"):
        asyncio.run(drivers.open_pilot_driver("box", {"baud": 9600}, PilotPort("ev")))


def test_a_port_names_a_side_the_harness_can_hold() -> None:
    assert PilotPort("evse", "vgi-tester0").interface == "vgi-tester0"
    with pytest.raises(ValueError, match="pilot side"):
        PilotPort("vehicle")


def test_loopback_driver_combines_evse_output_and_vehicle_state() -> None:
    async def scenario() -> list[PilotReading]:
        driver = LoopbackPilotDriver()
        await driver.open()
        await driver.set_vehicle_state(PilotState.B)
        await driver.set_output(PilotOutput.X2, 5.0)
        await driver.set_vehicle_state(PilotState.C)
        await driver.set_output(PilotOutput.STATE_F)
        stream = driver.readings()
        seen = [await anext(stream) for _ in range(4)]
        with pytest.raises(ValueError):
            await driver.set_output(PilotOutput.X2)
        with pytest.raises(ValueError):
            await driver.set_vehicle_state(PilotState.F)
        await driver.close()
        return seen

    readings = asyncio.run(scenario())
    assert [(r.state, r.duty_percent) for r in readings] == [
        (PilotState.B, None),
        (PilotState.B, 5.0),
        (PilotState.C, 5.0),
        (PilotState.F, None),
    ]
    assert [classify_pilot_voltage(r.high_v) for r in readings] == [r.state for r in readings]


def test_wait_until_wakes_on_a_reported_change_and_gives_up_at_the_timeout() -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        driver = LoopbackPilotDriver()
        already = await driver.wait_until(lambda r: r.state is PilotState.A, 0.0)

        async def plug_in() -> None:
            await driver.set_vehicle_state(PilotState.B)

        task = asyncio.ensure_future(plug_in())
        woke = await driver.wait_until(lambda r: r.state is PilotState.B, 5.0)
        await task
        never = await driver.wait_until(lambda r: r.state is PilotState.D, 0.0)
        return already, woke, never

    assert asyncio.run(scenario()) == (True, True, False)
