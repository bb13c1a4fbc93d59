"""Pilot tester roles: the vehicle side against an EVSE under test, the EVSE side against an EV under
test, and :func:`open_lab_pilot`, the one way a tester gets its pilot driver.

The lab config names the driver (``pilot: {driver: NAME, options: {...}}``; settings
``pilot_driver``/``pilot_options``).  On the embedded lab it is the simulated pilot
(:mod:`harness.devices.pilot_sim`, driver ``sim``), loaded through the entry point group
``vgi.pilot_drivers`` like a lab's pilot box driver.  The SLAC testers of :mod:`harness.testers.slac`
hold that pilot, because a real session needs both on one plug: the pilot tester drives that pilot
while the SLAC tester matches.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from harness.devices.settings import DeviceSettings
from harness.protocol.pilot import (
    DIGITAL_COMMUNICATION_DUTY,
    PilotOutput,
    PilotState,
    duty_from_ampacity,
)
from harness.transport.pilot import PilotDriver, PilotPort, open_pilot_driver

if TYPE_CHECKING:  # harness.testers.slac opens its pilot with open_lab_pilot: no import cycle
    from harness.testers.slac import SlacEvseTester, SlacEvTester


async def open_lab_pilot(
    settings: DeviceSettings, side: str, interface: str | None = None, observer: object | None = None
) -> PilotDriver | None:
    """The lab's pilot driver for the tester's ``side`` ("ev" or "evse") of the link on ``interface``,
    built with the lab's options and opened; None when the lab holds the pilot outside the harness."""
    if settings.pilot_driver is None:
        return None
    port = PilotPort(side, interface, observer)
    return await open_pilot_driver(settings.pilot_driver, settings.pilot_options, port)


class PilotEvTester:
    """The tester presents vehicle states to an EVSE under test."""

    def __init__(self, slac: SlacEvTester) -> None:
        self.slac = slac

    async def present(self, state: PilotState, hold_s: float = 0.0) -> None:
        await self.slac.set_state(state)
        if hold_s:
            await asyncio.sleep(hold_s)  # the scenario's observation window, not a timing fix


class PilotEvseTester:
    """The tester drives the pilot of an EV under test."""

    def __init__(self, slac: SlacEvseTester) -> None:
        self.slac = slac

    async def offer_digital(self) -> None:
        await self.slac.set_output(PilotOutput.X2, DIGITAL_COMMUNICATION_DUTY)

    async def offer_nominal(self, amps: float) -> None:
        await self.slac.set_output(PilotOutput.X2, duty_from_ampacity(amps))

    async def state_f(self) -> None:
        await self.slac.set_output(PilotOutput.STATE_F)
