"""Pilot tester roles: the vehicle side against an EVSE under test, the EVSE side against an EV under
test.

On the embedded lab both run on the simulated pilot (:mod:`harness.devices.pilot_sim`) that the SLAC
testers of :mod:`harness.testers.slac` already hold, because a real session needs both on one plug:
the pilot tester drives that pilot while the SLAC tester matches.  A lab with a pilot test box loads its
driver by name (entry point group ``vgi.pilot_drivers``, see :func:`open_lab_pilot`).
"""

from __future__ import annotations

import asyncio

from harness.protocol.pilot import (
    DIGITAL_COMMUNICATION_DUTY,
    PilotDriver,
    PilotOutput,
    PilotState,
    duty_from_ampacity,
    load_pilot_driver,
)
from harness.testers.slac import SlacEvseTester, SlacEvTester


async def open_lab_pilot(name: str, **options: object) -> PilotDriver:
    """A lab's pilot box driver, constructed with the lab's options and opened."""
    driver = load_pilot_driver(name)(**options)
    await driver.open()
    return driver


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
