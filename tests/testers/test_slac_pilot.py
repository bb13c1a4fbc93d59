"""The SLAC testers hold the pilot the lab names (harness.testers.pilot.open_lab_pilot), not one of
their own: the embedded lab's simulated pilot, any driver of the entry point group, or none when the
lab's pilot box is held outside the harness."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from harness.devices.settings import DeviceSettings
from harness.lab.loader import load_lab
from harness.lab.settings import device_settings
from harness.protocol.pilot import PilotState
from harness.testers.slac import SlacEvseTester, SlacEvTester
from harness.transport.link import LOOPBACK_ADDRESS, Link
from harness.transport.pilot import LoopbackPilotDriver
from lab_configs import DEFAULT_LAB

LINK = Link("loopback", "lo", LOOPBACK_ADDRESS)


def _settings(driver: str | None) -> DeviceSettings:
    """The embedded lab's settings (its timers) with ``driver`` as the lab's pilot driver."""
    return dataclasses.replace(device_settings(load_lab(DEFAULT_LAB).config), pilot_driver=driver)


@pytest.mark.parametrize("tester_class", [SlacEvTester, SlacEvseTester])
def test_the_labs_driver_is_the_testers_pilot(tester_class) -> None:
    tester = tester_class(LINK, _settings("loopback"), None, real_modem=False)
    asyncio.run(tester._open_pilot("ev" if tester_class is SlacEvTester else "evse"))
    assert isinstance(tester.pilot, LoopbackPilotDriver)


def test_no_driver_means_no_pilot_even_without_a_real_modem() -> None:
    tester = SlacEvTester(LINK, _settings(None), None, real_modem=False)
    asyncio.run(tester._open_pilot("ev"))
    assert tester.pilot is None


def test_the_evse_tester_waits_for_the_vehicle_state_as_the_line_shows_it() -> None:
    async def scenario() -> tuple[bool, bool]:
        tester = SlacEvseTester(LINK, _settings("loopback"), None, real_modem=False)
        await tester._open_pilot("evse")
        assert tester.pilot is not None
        before = await tester.wait_vehicle(PilotState.B, 0.01)
        await tester.pilot.set_vehicle_state(PilotState.B)  # the vehicle plugs in (one shared line)
        return before, await tester.wait_vehicle(PilotState.B, 0.01)

    assert asyncio.run(scenario()) == (False, True)
