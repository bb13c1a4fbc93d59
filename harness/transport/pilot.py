"""Pilot drivers: how the harness holds the control pilot (a lab's pilot test box, or the simulated pilot).

A driver is the I/O side of the pilot, in either role: as EVSE-side tester (the DUT is an EV) it drives
the pilot output, as EV-side tester (the DUT is an EVSE) it switches the vehicle resistors, and either
way it measures the line.  Drivers are found by name in the entry point group
:data:`PILOT_DRIVER_ENTRY_POINT_GROUP`; the lab config names one (``pilot: {driver: NAME, options:
{...}}``) and :func:`open_pilot_driver` is the one way a driver is built and opened.  The embedded
lab's simulated pilot (``sim``, :mod:`harness.devices.pilot_sim`) is registered and loaded exactly like
a lab's box driver.  :class:`LoopbackPilotDriver` (``loopback``) is an in-memory line.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, ClassVar

from harness.codec.pilot import PilotOutput, PilotState, line_state
from harness.protocol.pilot import NOMINAL_VOLTAGE, PWM_FREQUENCY_HZ, VEHICLE_RESISTANCE_OHM

# Entry point group a lab's package registers its driver under, e.g. in its pyproject.toml:
#   [project.entry-points."vgi.pilot_drivers"]
#   mybox = "mylab.pilot:MyBoxDriver"
PILOT_DRIVER_ENTRY_POINT_GROUP = "vgi.pilot_drivers"
# The sides the harness can hold: "evse" drives the pilot output, "ev" switches the vehicle resistor.
PILOT_SIDES = ("evse", "ev")


@dataclass(frozen=True, slots=True)
class PilotReading:
    """One observation of the pilot line."""

    state: PilotState | None  # None: the high level lies between the J1772 ranges
    high_v: float
    duty_percent: float | None  # None: no PWM (oscillator off, or E/F)
    frequency_hz: float | None = None


def nominal_reading(output: PilotOutput, duty_percent: float | None, vehicle: PilotState) -> PilotReading:
    """What an ideal J1772 circuit shows for the EVSE's ``output`` and the vehicle's resistor."""
    state = line_state(output, vehicle)
    pwm = output is PilotOutput.X2
    return PilotReading(
        state, NOMINAL_VOLTAGE[state], duty_percent if pwm else None, PWM_FREQUENCY_HZ if pwm else None
    )


@dataclass(frozen=True)
class PilotPort:
    """What the harness knows at run time about where it holds the pilot (the lab file gives options)."""

    side: str  # one of PILOT_SIDES
    interface: str | None = None  # the network interface facing the DUT, for drivers that use the link
    observer: object | None = None  # the capture tap of the run, for drivers that send on the link

    def __post_init__(self) -> None:
        if self.side not in PILOT_SIDES:
            raise ValueError(f"pilot side {self.side!r}; known: {', '.join(PILOT_SIDES)}")


class PilotDriver(abc.ABC):
    """What the harness needs from a pilot test box, in either role.

    As EVSE-side tester (the DUT is an EV) the box drives the pilot: :meth:`set_output`.  As EV-side
    tester (the DUT is an EVSE) it switches the vehicle resistors: :meth:`set_vehicle_state`.  Either
    way it measures the line: :meth:`read`, and it calls :meth:`report` with each change it sees, which
    feeds the stream :meth:`readings` and wakes :meth:`wait_until`.  :meth:`create` builds a driver
    from the lab's ``pilot.options``.
    """

    name: ClassVar[str] = ""

    def __init__(self) -> None:
        self._readings: asyncio.Queue[PilotReading] = asyncio.Queue()
        self.changed = asyncio.Event()

    @classmethod
    def create(cls, port: PilotPort, options: Mapping[str, Any]) -> PilotDriver:
        """The driver for ``port``, configured with the lab's options; default: ``cls(**options)``.
        A driver that needs the port (the link's interface, the side) overrides this."""
        return cls(**options)

    async def open(self) -> None:  # noqa: B027 (optional hook)
        """Connect to the box; default: nothing to do."""

    async def close(self) -> None:  # noqa: B027
        """Release the box; default: nothing to do."""

    @abc.abstractmethod
    async def set_output(self, output: PilotOutput, duty_percent: float | None = None) -> None:
        """EVSE role: +12 V (X1), PWM at ``duty_percent`` (X2), state E or state F."""

    @abc.abstractmethod
    async def set_vehicle_state(self, state: PilotState) -> None:
        """EV role: present the resistance of state A, B, C or D (E: short to PE, if the box can)."""

    @abc.abstractmethod
    async def read(self) -> PilotReading:
        """The pilot as measured now."""

    def report(self, reading: PilotReading) -> None:
        """The driver saw the line change to ``reading``."""
        self._readings.put_nowait(reading)
        self.changed.set()

    async def readings(self) -> AsyncIterator[PilotReading]:
        """Changes of the pilot as they happen, each stamped by the caller on receipt."""
        while True:
            yield await self._readings.get()

    async def wait_until(self, predicate: Callable[[PilotReading], bool], timeout: float) -> bool:
        """Wait until ``predicate`` holds for the line as read now; False after ``timeout`` seconds."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    self.changed.clear()  # before reading: a change reported meanwhile still wakes us
                    if predicate(await self.read()):
                        return True
                    await self.changed.wait()
        except TimeoutError:
            return False


def check_output(output: PilotOutput, duty_percent: float | None) -> float | None:
    """The duty cycle to hold for ``output`` (None unless PWM); PWM without a duty cycle is an error."""
    if output is PilotOutput.X2 and duty_percent is None:
        raise ValueError("PWM needs a duty cycle")
    return duty_percent if output is PilotOutput.X2 else None


def check_vehicle_state(state: PilotState) -> PilotState:
    """``state`` if a vehicle can present it with its resistor (A-D)."""
    if state not in VEHICLE_RESISTANCE_OHM:
        raise ValueError(f"a vehicle cannot present state {state.value}")
    return state


class LoopbackPilotDriver(PilotDriver):
    """An in-memory pilot: EVSE output and vehicle state combined the way the J1772 circuit does."""

    name = "loopback"

    def __init__(self) -> None:
        super().__init__()
        self.output = PilotOutput.X1
        self.duty: float | None = None
        self.vehicle = PilotState.A

    def _reading(self) -> PilotReading:
        return nominal_reading(self.output, self.duty, self.vehicle)

    async def set_output(self, output: PilotOutput, duty_percent: float | None = None) -> None:
        self.output, self.duty = output, check_output(output, duty_percent)
        self.report(self._reading())

    async def set_vehicle_state(self, state: PilotState) -> None:
        self.vehicle = check_vehicle_state(state)
        self.report(self._reading())

    async def read(self) -> PilotReading:
        return self._reading()


def available_pilot_drivers() -> dict[str, EntryPoint]:
    """Pilot drivers installed in this environment, by entry point name (plus the built-in loopback)."""
    found = {ep.name: ep for ep in entry_points(group=PILOT_DRIVER_ENTRY_POINT_GROUP)}
    found.setdefault(
        LoopbackPilotDriver.name,
        EntryPoint(
            name=LoopbackPilotDriver.name,
            value=f"{__name__}:{LoopbackPilotDriver.__name__}",
            group=PILOT_DRIVER_ENTRY_POINT_GROUP,
        ),
    )
    return found


def load_pilot_driver(name: str) -> type[PilotDriver]:
    """The driver class registered as ``name``; raises LookupError or TypeError with a clear message."""
    drivers = available_pilot_drivers()
    if name not in drivers:
        known = ", ".join(sorted(drivers)) or "none"
        raise LookupError(
            f"no pilot driver {name!r} in entry point group {PILOT_DRIVER_ENTRY_POINT_GROUP!r}; "
            f"known: {known}"
        )
    loaded = drivers[name].load()
    if not (isinstance(loaded, type) and issubclass(loaded, PilotDriver)):
        raise TypeError(f"pilot driver {name!r} ({drivers[name].value}) is not a PilotDriver subclass")
    return loaded


async def open_pilot_driver(name: str, options: Mapping[str, Any], port: PilotPort) -> PilotDriver:
    """Load the driver registered as ``name``, build it for ``port`` with ``options`` and open it."""
    driver_class = load_pilot_driver(name)
    try:
        driver = driver_class.create(port, dict(options))
    except TypeError as exc:
        raise ValueError(f"pilot driver {name!r} rejects the options {sorted(options)}: {exc}") from exc
    await driver.open()
    return driver
