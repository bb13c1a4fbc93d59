"""The simulated control pilot of the embedded lab, and the EVSE pilot logic running on it.

:class:`SimulatedPilotDriver` is a :class:`~harness.transport.pilot.PilotDriver` whose two halves (EVSE
side, EV side) live in different processes, one on each end of the veth link, and share the pilot line
over that link.  Each half drives its own part of the J1772 circuit (the EVSE its output: +12 V, PWM
duty, E, F; the EV its resistor: state A-D) and broadcasts a pilot record (ethertype 0x88B5, format in
:mod:`harness.codec.pilot`) whenever that part changes; the other half combines it with its own part
into the reading, as the real circuit would.  The records are on the captured link, so the capture
reader puts every pilot change on the timeline (protocol ``PILOT``) and pilot verdicts come from the
capture.  The EVSE half also records whether it has energized the outlet (``energized``).

It is registered as the pilot driver ``sim`` in the package's entry point group ``vgi.pilot_drivers``
and loaded through :func:`harness.transport.pilot.open_pilot_driver`, like a lab's pilot box driver.

:class:`EvsePilotRunner` runs the EVSE pilot core (:class:`~harness.protocol.pilot.EvsePilot`) on such a
pilot with the kernel's asyncio driver (:class:`~harness.transport.driver.CoreDriver`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from harness.codec.pilot import (
    ETHERTYPE_PILOT_RECORD,
    PILOT_SIDE_EV,
    PILOT_SIDE_EVSE,
    PilotOutput,
    PilotRecord,
    PilotRecordError,
    PilotState,
    decode_pilot_record,
    encode_pilot_record,
)
from harness.protocol.core import CancelTimer, StartTimer
from harness.protocol.pilot import DeEnergize, Energize, EvsePilot, OutputOnWire, PilotEvent, SetOutput
from harness.transport.driver import CoreDriver
from harness.transport.pilot import (
    PilotDriver,
    PilotPort,
    PilotReading,
    check_output,
    check_vehicle_state,
    nominal_reading,
)
from harness.transport.raw_ethernet import (
    RawEthernetEndpoint,
    ethernet_frame,
    open_raw_ethernet,
)

log = logging.getLogger(__name__)

BROADCAST = "ff:ff:ff:ff:ff:ff"


class SimulatedPilotDriver(PilotDriver):
    """One half of the simulated pilot line on ``interface``; ``side`` is "evse" or "ev"."""

    name = "sim"

    def __init__(self, interface: str, side: str, observer: object | None = None) -> None:
        super().__init__()
        if side not in ("evse", "ev"):
            raise ValueError("side is 'evse' or 'ev'")
        self.interface = interface
        self.side = PILOT_SIDE_EVSE if side == "evse" else PILOT_SIDE_EV
        self.observer = observer
        self.output = PilotOutput.X1
        self.duty: float | None = None
        self.vehicle = PilotState.A
        self.energized: bool | None = False if self.side == PILOT_SIDE_EVSE else None
        self._seq = 0
        self.peer_mac: str | None = None  # learned from the other half's records; until then broadcast
        self._endpoint: RawEthernetEndpoint | None = None
        self._pump: asyncio.Task[None] | None = None

    @classmethod
    def create(cls, port: PilotPort, options: Mapping[str, Any]) -> SimulatedPilotDriver:
        """The half of ``port.side`` on the run's link; the simulated pilot takes no options."""
        if options:
            raise TypeError(f"the simulated pilot takes no options, got {sorted(options)}")
        if port.interface is None:
            raise ValueError("the simulated pilot runs on the test link: the port needs its interface")
        return cls(port.interface, port.side, port.observer)

    async def open(self) -> None:
        self._endpoint = await open_raw_ethernet(
            self.interface, ETHERTYPE_PILOT_RECORD, observer=self.observer
        )
        self._pump = asyncio.ensure_future(self._receive())
        self._send(hello=True)

    async def close(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            try:
                await self._pump
            except asyncio.CancelledError:
                pass
            self._pump = None
        if self._endpoint is not None:
            self._endpoint.close()
            self._endpoint = None

    # ---------------------------------------------------------------- own part

    def apply_output(self, output: PilotOutput, duty_percent: float | None = None) -> None:
        """EVSE side: put ``output`` on the line now (the record is sent before this returns)."""
        if self.side != PILOT_SIDE_EVSE:
            raise RuntimeError("only the EVSE side drives the pilot output")
        self.output, self.duty = output, check_output(output, duty_percent)
        self._changed()

    def apply_energized(self, energized: bool) -> None:
        """EVSE side: the outlet's contactors closed (True) or open (False)."""
        self.energized = energized
        self._changed()

    async def set_output(self, output: PilotOutput, duty_percent: float | None = None) -> None:
        self.apply_output(output, duty_percent)

    async def set_vehicle_state(self, state: PilotState) -> None:
        if self.side != PILOT_SIDE_EV:
            raise RuntimeError("only the EV side switches the vehicle resistor")
        self.vehicle = check_vehicle_state(state)
        self._changed()

    async def set_energized(self, energized: bool) -> None:
        self.apply_energized(energized)

    # ---------------------------------------------------------------- readings

    def _reading(self) -> PilotReading:
        return nominal_reading(self.output, self.duty, self.vehicle)

    async def read(self) -> PilotReading:
        return self._reading()

    def _changed(self, send: bool = True) -> None:
        if send:
            self._send()
        self.report(self._reading())

    def _send(self, hello: bool = False) -> None:
        if self._endpoint is None:
            return
        self._seq += 1
        record = PilotRecord(
            self.side, self.output, self.duty, self.vehicle, self.energized, hello, self._seq
        )
        frame = ethernet_frame(
            self.peer_mac or BROADCAST,
            self._endpoint.mac,
            ETHERTYPE_PILOT_RECORD,
            encode_pilot_record(record),
        )
        self._endpoint.send(frame)

    async def _receive(self) -> None:
        assert self._endpoint is not None
        while True:
            frame = await self._endpoint.queue.get()
            try:
                record = decode_pilot_record(frame.data[14:])
            except PilotRecordError:
                continue
            if record.side == self.side:
                continue  # another half of our own side (not expected on a two-ended link)
            self.peer_mac = frame.src
            before = (self.output, self.duty, self.vehicle)
            if record.side == PILOT_SIDE_EVSE:
                self.output, self.duty = record.output, record.duty_percent
                self.energized = record.energized  # the EV side repeats what it last heard
            else:
                self.vehicle = record.vehicle
            if record.hello:
                self._send()
            if (self.output, self.duty, self.vehicle) != before:
                self._changed(send=False)


class EvsePilotRunner:
    """The EVSE pilot core on the EVSE half of a simulated pilot, run by the kernel's asyncio driver.

    Feed it :class:`~harness.protocol.pilot.PilotEvent` s (measured vehicle states, SLAC outcomes); the
    core's timers are the driver's.  :class:`SetOutput`, :class:`Energize` and :class:`DeEnergize` are
    carried out on the pilot; after a ``SetOutput`` the core is told the output is on the wire
    (:class:`OutputOnWire`), so a hold counts from when the new state is on the line, as on a real
    pilot.  Every other pilot action (BeginMatching, EndMatching, PilotFault) goes to ``on_action``.
    """

    def __init__(
        self,
        core: EvsePilot,
        pilot: SimulatedPilotDriver,
        on_action: Callable[[object], None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.core = core
        self.pilot = pilot
        self.on_action = on_action
        self.driver = CoreDriver(core, self._perform, clock=clock)

    def feed(self, event: PilotEvent) -> None:
        self.driver.feed(event)

    def close(self) -> None:
        self.driver.close()

    def _perform(self, action: object) -> None:
        log.info("pilot: %s", action)
        if isinstance(action, SetOutput):
            self.pilot.apply_output(action.output, action.duty_percent)
            self.driver.feed(OutputOnWire(action.output))  # handled right after this batch
        elif isinstance(action, Energize):
            self.pilot.apply_energized(True)
        elif isinstance(action, DeEnergize):
            self.pilot.apply_energized(False)
        elif not isinstance(action, StartTimer | CancelTimer):  # the driver reads deadlines itself
            self.on_action(action)
