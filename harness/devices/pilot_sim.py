"""The simulated control pilot of the embedded lab: a :class:`~harness.protocol.pilot.PilotDriver`
whose two halves (EVSE side, EV side) live in different processes, one on each end of the veth link,
and share the pilot line over that link.

Each half drives its own part of the J1772 circuit (the EVSE its output: +12 V, PWM duty, E, F; the EV
its resistor: state A-D) and broadcasts a pilot record (ethertype 0x88B5, format in
:mod:`harness.protocol.pilot`) whenever that part changes; the other half combines it with its own
part into the reading, as the real circuit would.  The records are on the captured link, so the
capture reader puts every pilot change on the timeline (protocol ``PILOT``) and pilot verdicts come
from the capture.  The EVSE half also records whether it has energized the outlet (``energized``).

To be registered as the pilot driver ``sim`` in the package's own entry point group
(``[project.entry-points."vgi.pilot_drivers"] sim = "harness.devices.pilot_sim:SimulatedPilotDriver"``);
construct it with ``interface`` and ``side``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from harness.protocol.pilot import (
    ETHERTYPE_PILOT_RECORD,
    NOMINAL_VOLTAGE,
    PILOT_SIDE_EV,
    PILOT_SIDE_EVSE,
    PWM_FREQUENCY_HZ,
    VEHICLE_RESISTANCE_OHM,
    PilotDriver,
    PilotOutput,
    PilotReading,
    PilotRecord,
    PilotRecordError,
    PilotState,
    decode_pilot_record,
    encode_pilot_record,
    line_state,
)
from harness.transport.raw_ethernet import (
    RawEthernetEndpoint,
    ethernet_frame,
    open_raw_ethernet,
)

BROADCAST = "ff:ff:ff:ff:ff:ff"


class SimulatedPilotDriver(PilotDriver):
    """One half of the simulated pilot line on ``interface``; ``side`` is "evse" or "ev"."""

    name = "sim"

    def __init__(self, interface: str, side: str, observer: object | None = None) -> None:
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
        self._queue: asyncio.Queue[PilotReading] = asyncio.Queue()
        self.changed = asyncio.Event()

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

    async def set_output(self, output: PilotOutput, duty_percent: float | None = None) -> None:
        if self.side != PILOT_SIDE_EVSE:
            raise RuntimeError("only the EVSE side drives the pilot output")
        if output is PilotOutput.X2 and duty_percent is None:
            raise ValueError("PWM needs a duty cycle")
        self.output, self.duty = output, duty_percent if output is PilotOutput.X2 else None
        self._changed()

    async def set_vehicle_state(self, state: PilotState) -> None:
        if self.side != PILOT_SIDE_EV:
            raise RuntimeError("only the EV side switches the vehicle resistor")
        if state not in VEHICLE_RESISTANCE_OHM:
            raise ValueError(f"a vehicle cannot present state {state.value}")
        self.vehicle = state
        self._changed()

    async def set_energized(self, energized: bool) -> None:
        """EVSE side: the outlet's contactors closed (True) or open (False)."""
        self.energized = energized
        self._changed()

    # ---------------------------------------------------------------- readings

    def _reading(self) -> PilotReading:
        state = line_state(self.output, self.vehicle)
        pwm = self.output is PilotOutput.X2
        return PilotReading(
            state, NOMINAL_VOLTAGE[state], self.duty if pwm else None, PWM_FREQUENCY_HZ if pwm else None
        )

    async def read(self) -> PilotReading:
        return self._reading()

    async def readings(self) -> AsyncIterator[PilotReading]:
        while True:
            yield await self._queue.get()

    def _changed(self, send: bool = True) -> None:
        if send:
            self._send()
        self._queue.put_nowait(self._reading())
        self.changed.set()

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

    async def wait_until(self, predicate, timeout: float) -> bool:  # noqa: ANN001 - a PilotReading predicate
        """Wait until ``predicate(reading)`` holds for the current reading."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate(self._reading()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except TimeoutError:
                return False
        return True
