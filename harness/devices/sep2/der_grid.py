"""The simulated lab's grid point: the voltage and frequency at the EV's connection.

A real EV measures the grid at its terminals; in a real lab a grid simulator (an AC source) sets what it
measures.  The embedded lab has no AC source, so the tester's server plays one: :class:`LabGrid` holds
the grid point over server time (a scenario schedules changes: "252 V from +600 s"), and the server
serves the point now at :data:`GRID_PATH`, a resource of the simulated lab only.  The reference EV reads
it once per reading period as its terminal measurement and reports what it measured in its
MirrorMeterReadings (voltage uom 29, frequency uom 33: :mod:`harness.devices.sep2.der_meter`), so a
verdict on volt-var or freq-watt comes from what the EV reports, never from this resource.

Why a lab resource rather than something shared in-process: the simulated EV runs as its own process
in its own network namespace (`vgi sim ev --service der`), and this is the one channel both ends
already have.  It is deliberately *not* an IEEE 2030.5 resource: it lives outside the 2030.5 tree
(``/vgi-lab/...``, linked from nothing the client discovers), is served as ``application/xml`` (not
``application/sep+xml``) in the harness's own namespace :data:`GRID_NAMESPACE`, so the capture shows
it as the lab's and no check takes it for the function set.  An EV from elsewhere never reads it; with
such a DUT the lab's own grid simulator sets the grid and the scenario's grid steps tell the operator.

Body (values in decivolts and centihertz so they stay whole numbers)::

    <LabGridPoint xmlns="urn:vgi:lab:grid"><voltage>2400</voltage><frequency>6000</frequency></LabGridPoint>
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass

from harness.codec.sep2.document import Sep2DecodeError, local_name, parse_xml

# Where the simulated lab serves its grid point (outside the IEEE 2030.5 resource tree).
GRID_PATH = "/vgi-lab/grid"
GRID_NAMESPACE = "urn:vgi:lab:grid"
GRID_ROOT = "LabGridPoint"
GRID_MEDIA_TYPE = "application/xml"
# Units on the wire: decivolts and centihertz.
DECIVOLTS_PER_V = 10
CENTIHERTZ_PER_HZ = 100
# The lab's nominal grid (North American 240 V split phase, 60 Hz; the inverter model's nominal point).
NOMINAL_VOLTAGE_V = 240.0
NOMINAL_FREQUENCY_HZ = 60.0
# Bounds on what the lab may set (harness choice: far outside any grid an inverter rides through).
MIN_VOLTAGE_V, MAX_VOLTAGE_V = 0.0, 1000.0
MIN_FREQUENCY_HZ, MAX_FREQUENCY_HZ = 40.0, 70.0


class GridError(ValueError):
    """A grid point out of the lab's bounds, or a body that is not one."""


@dataclass(frozen=True, slots=True)
class GridPoint:
    """Voltage (V RMS) and frequency (Hz) at the EV's connection."""

    voltage_v: float = NOMINAL_VOLTAGE_V
    frequency_hz: float = NOMINAL_FREQUENCY_HZ

    def __post_init__(self) -> None:
        if not MIN_VOLTAGE_V <= self.voltage_v <= MAX_VOLTAGE_V:
            raise GridError(f"grid voltage {self.voltage_v} V outside {MIN_VOLTAGE_V}-{MAX_VOLTAGE_V} V")
        if not MIN_FREQUENCY_HZ <= self.frequency_hz <= MAX_FREQUENCY_HZ:
            raise GridError(
                f"grid frequency {self.frequency_hz} Hz outside {MIN_FREQUENCY_HZ}-{MAX_FREQUENCY_HZ} Hz"
            )


class LabGrid:
    """The grid point over server time: nominal until the first change, then each change from its time.
    Thread-safe (the scenario schedules, the server's loop reads)."""

    def __init__(self, initial: GridPoint | None = None) -> None:
        self._lock = threading.Lock()
        self._initial = initial or GridPoint()
        self._times: list[float] = []
        self._points: list[GridPoint] = []

    def set_from(
        self, at: float, *, voltage_v: float | None = None, frequency_hz: float | None = None
    ) -> GridPoint:
        """From server time ``at`` on, the grid is at ``voltage_v`` / ``frequency_hz`` (None: as it
        was then); the point set."""
        with self._lock:
            before = self._at(at)
            point = GridPoint(
                before.voltage_v if voltage_v is None else float(voltage_v),
                before.frequency_hz if frequency_hz is None else float(frequency_hz),
            )
            index = bisect.bisect_right(self._times, at)
            self._times.insert(index, at)
            self._points.insert(index, point)
            return point

    def at(self, t: float) -> GridPoint:
        """The grid point at server time ``t``."""
        with self._lock:
            return self._at(t)

    def _at(self, t: float) -> GridPoint:
        index = bisect.bisect_right(self._times, t)
        return self._points[index - 1] if index else self._initial

    def changes(self) -> list[tuple[float, GridPoint]]:
        with self._lock:
            return list(zip(self._times, self._points, strict=True))


def grid_body(point: GridPoint) -> bytes:
    """The lab resource's body for ``point``."""
    decivolts = round(point.voltage_v * DECIVOLTS_PER_V)
    centihertz = round(point.frequency_hz * CENTIHERTZ_PER_HZ)
    return (
        f'<{GRID_ROOT} xmlns="{GRID_NAMESPACE}"><voltage>{decivolts}</voltage>'
        f"<frequency>{centihertz}</frequency></{GRID_ROOT}>"
    ).encode()


def parse_grid_body(body: bytes) -> GridPoint:
    """The grid point in a lab resource body; :class:`GridError` for anything else."""
    try:
        root = parse_xml(body)
    except Sep2DecodeError as exc:
        raise GridError(f"not a lab grid point: {exc.reason}") from None
    if local_name(root) != GRID_ROOT or root.nsmap.get(None) != GRID_NAMESPACE:
        raise GridError(f"not a lab grid point: root {local_name(root)!r}")
    values: dict[str, int] = {}
    for child in root:
        try:
            values[local_name(child)] = int((child.text or "").strip())
        except ValueError:
            raise GridError(f"lab grid point: {local_name(child)} is not a whole number") from None
    if "voltage" not in values or "frequency" not in values:
        raise GridError("lab grid point: voltage and frequency are both needed")
    return GridPoint(values["voltage"] / DECIVOLTS_PER_V, values["frequency"] / CENTIHERTZ_PER_HZ)
