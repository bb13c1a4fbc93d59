"""A DC-charged EV traction battery: state of charge, pack voltage against SOC, and the current the BMS asks
for, tapering as the SOC nears its target; a bidirectional pack also discharges (negative current) down to
its minimum SOC, below which the BMS refuses to discharge.

Pure and deterministic: the state moves only through :meth:`Battery.advance`, which integrates the charge
current over a time span in fixed sub-steps of ``step_s``. No clock is read.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

# Open-circuit voltage of one NMC cell against SOC (percent): a typical curve of the chemistry most DC-charged
# EVs use, steep at both ends and flat in the middle.
NMC_CELL_OCV: tuple[tuple[float, float], ...] = (
    (0.0, 3.00),
    (5.0, 3.30),
    (10.0, 3.45),
    (20.0, 3.55),
    (40.0, 3.65),
    (60.0, 3.78),
    (80.0, 3.95),
    (90.0, 4.05),
    (100.0, 4.20),
)


def interpolate(curve: tuple[tuple[float, float], ...], x: float) -> float:
    """Piecewise-linear lookup, clamped at both ends."""
    xs = [point[0] for point in curve]
    if x <= xs[0]:
        return curve[0][1]
    if x >= xs[-1]:
        return curve[-1][1]
    i = bisect.bisect_right(xs, x)
    (x0, y0), (x1, y1) = curve[i - 1], curve[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


@dataclass(frozen=True, slots=True)
class BatteryParameters:
    """What the EV's BMS knows about its pack (defaults: a mid-size 400 V class EV)."""

    capacity_kwh: float = 60.0
    cells_in_series: int = 96
    # Pack internal resistance: terminal voltage rises by I*R while charging.
    internal_resistance_ohm: float = 0.08
    max_current_a: float = 200.0
    max_power_w: float = 100_000.0
    # The highest pack voltage the EV accepts (EVMaximumVoltageLimit).
    max_voltage_v: float = 420.0
    target_soc: float = 80.0
    # Below this SOC the BMS asks for full current; above it the request falls linearly to
    # ``min_current_a`` at the target (constant current, then taper).
    taper_start_soc: float = 70.0
    min_current_a: float = 5.0
    # Discharge (SAE J2847/2 V2H/V2G): the BMS's limits on current out of the pack (0: the pack does not
    # discharge) and the SOC below which it refuses to discharge.
    max_discharge_current_a: float = 0.0
    max_discharge_power_w: float = 0.0
    min_soc: float = 10.0
    # Integration step of :meth:`Battery.advance`.
    step_s: float = 0.01

    def __post_init__(self) -> None:
        if not 0 < self.target_soc <= 100:
            raise ValueError("target_soc must be in (0, 100]")
        if self.taper_start_soc > self.target_soc:
            raise ValueError("taper_start_soc must not exceed target_soc")
        if not 0 <= self.min_soc < self.target_soc:
            raise ValueError("min_soc must be in [0, target_soc)")
        if self.max_discharge_current_a < 0 or self.max_discharge_power_w < 0:
            raise ValueError("discharge limits are magnitudes, not negative")
        if self.capacity_kwh <= 0 or self.step_s <= 0 or self.cells_in_series <= 0:
            raise ValueError("capacity, cell count and step must be positive")

    @property
    def nominal_voltage_v(self) -> float:
        return self.cells_in_series * interpolate(NMC_CELL_OCV, 50.0)

    @property
    def capacity_ah(self) -> float:
        return self.capacity_kwh * 1000.0 / self.nominal_voltage_v


@dataclass(slots=True)
class Battery:
    """The pack's state. ``soc`` is percent; ``current_a`` is the current flowing into the pack (negative:
    out of it)."""

    params: BatteryParameters = field(default_factory=BatteryParameters)
    soc: float = 20.0
    current_a: float = 0.0
    charged_ah: float = 0.0
    # Charge and energy taken out of the pack (energy at the open-circuit voltage, i.e. what the SOC lost).
    discharged_ah: float = 0.0
    discharged_wh: float = 0.0

    @property
    def open_circuit_voltage_v(self) -> float:
        return self.params.cells_in_series * interpolate(NMC_CELL_OCV, self.soc)

    @property
    def terminal_voltage_v(self) -> float:
        """Pack voltage at the present current (what the charger sees once contactors are closed)."""
        return self.open_circuit_voltage_v + self.current_a * self.params.internal_resistance_ohm

    @property
    def charging_complete(self) -> bool:
        return self.soc >= self.params.target_soc

    @property
    def bulk_soc(self) -> float:
        """The SOC where bulk (full-current) charging ends."""
        return self.params.taper_start_soc

    @property
    def bulk_charging_complete(self) -> bool:
        return self.soc >= self.params.taper_start_soc

    def requested_current_a(self) -> float:
        """The current the BMS asks for now: full below the taper, falling linearly to the minimum at the
        target, zero once the target is reached; never more than the power limit allows."""
        p = self.params
        if self.charging_complete:
            return 0.0
        if self.soc <= p.taper_start_soc or p.target_soc == p.taper_start_soc:
            current = p.max_current_a
        else:
            fraction = (p.target_soc - self.soc) / (p.target_soc - p.taper_start_soc)
            current = p.min_current_a + (p.max_current_a - p.min_current_a) * fraction
        power_limited = p.max_power_w / max(self.open_circuit_voltage_v, 1.0)
        return max(0.0, min(current, power_limited))

    def target_voltage_v(self) -> float:
        """EVTargetVoltage: the pack voltage at the requested current, capped at the EV's maximum."""
        voltage = (
            self.open_circuit_voltage_v + self.requested_current_a() * self.params.internal_resistance_ohm
        )
        return min(voltage, self.params.max_voltage_v)

    @property
    def discharge_allowed(self) -> bool:
        """Whether the BMS lets current out of the pack: it can discharge and is above its minimum SOC."""
        return self.params.max_discharge_current_a > 0 and self.soc > self.params.min_soc

    def discharge_current_a(self, limit_a: float | None = None) -> float:
        """The (negative) current the BMS offers to discharge now: its current and power limits, and
        ``limit_a`` (a magnitude, e.g. the EVSE's), whichever is least; 0 at or below the minimum SOC."""
        if not self.discharge_allowed:
            return 0.0
        p = self.params
        power_limited = p.max_discharge_power_w / max(self.open_circuit_voltage_v, 1.0)
        current = min(p.max_discharge_current_a, power_limited)
        if limit_a is not None:
            current = min(current, abs(limit_a))
        return -max(0.0, current)

    def remaining_time_s(self, to_soc: float, current_a: float | None = None) -> float:
        """Time to reach ``to_soc`` at ``current_a`` (default: the present request); 0 when already there."""
        if self.soc >= to_soc:
            return 0.0
        current = current_a if current_a is not None else self.requested_current_a()
        current = max(current, self.params.min_current_a)
        return (to_soc - self.soc) / 100.0 * self.params.capacity_ah * 3600.0 / current

    def advance(self, dt: float, current_a: float) -> None:
        """Let ``current_a`` (amperes into the pack; negative out of it) flow for ``dt`` seconds. The BMS
        lets no current out of a pack that cannot discharge or has reached its minimum SOC."""
        if dt < 0:
            raise ValueError("time does not run backwards")
        if current_a >= 0:
            self._charge(dt, current_a)
        else:
            self._discharge(dt, current_a)

    def _charge(self, dt: float, current: float) -> None:
        self.current_a = current
        remaining = dt
        while remaining > 1e-12:
            h = min(self.params.step_s, remaining)
            delta_ah = current * h / 3600.0
            self.charged_ah += delta_ah
            self.soc = min(100.0, self.soc + 100.0 * delta_ah / self.params.capacity_ah)
            remaining -= h

    def _discharge(self, dt: float, current: float) -> None:
        p = self.params
        limit = p.max_discharge_current_a
        self.current_a = max(current, -limit) if self.discharge_allowed else 0.0
        remaining = dt
        while remaining > 1e-12:
            h = min(p.step_s, remaining)
            if not self.discharge_allowed:
                self.current_a = 0.0
                return
            delta_ah = -self.current_a * h / 3600.0
            self.discharged_ah += delta_ah
            self.discharged_wh += delta_ah * self.open_circuit_voltage_v
            self.soc = max(0.0, self.soc - 100.0 * delta_ah / p.capacity_ah)
            remaining -= h


@dataclass(slots=True)
class ClockedBattery:
    """A battery driven by absolute timestamps: ``advance_to(now, current)`` integrates since the last call
    with the current that flowed in that span (the last value the EVSE reported)."""

    battery: Battery
    last_time: float | None = None
    flowing_current_a: float = 0.0

    def advance_to(self, now: float) -> None:
        if self.last_time is not None and now > self.last_time:
            self.battery.advance(now - self.last_time, self.flowing_current_a)
        self.last_time = now if self.last_time is None else max(self.last_time, now)

    def set_current(self, now: float, current_a: float) -> None:
        """The current changed at ``now`` (e.g. a new EVSEPresentCurrent was reported)."""
        self.advance_to(now)
        self.flowing_current_a = max(0.0, current_a)
        self.battery.current_a = self.flowing_current_a
