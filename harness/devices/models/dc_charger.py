"""A DC charger's power stage: limits, insulation check, precharge and a first-order output that follows the
EV's request; a bidirectional stage also sinks current (negative output current, SAE J2847/2 V2H/V2G) within
its own discharge limits.

Pure and deterministic: the state moves only through :meth:`DcCharger.advance` (fixed sub-steps of
``step_s``, exact first-order response per sub-step). Commands (start the insulation check, precharge,
deliver, stop) take effect at the time of the next ``advance``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

# IEC 61851-23 6.3.1.105 (insulation monitoring, as used by DIN SPEC 70121 CableCheck): above 500 ohm/V the
# insulation is good, between 100 and 500 ohm/V it is a warning, below 100 ohm/V a fault.
INSULATION_VALID_OHM_PER_V = 500.0
INSULATION_FAULT_OHM_PER_V = 100.0
# DIN SPEC 70121 (PreCharge): the EVSE limits precharge current to 2 A.
PRECHARGE_CURRENT_LIMIT_A = 2.0
# IEC 61851-23: DC output at or below 60 V counts as touch-safe.
SAFE_VOLTAGE_V = 60.0


class OutputMode(StrEnum):
    OFF = "OFF"  # contactors open, output discharging towards 0 V
    ISOLATION_CHECK = "ISOLATION_CHECK"  # test voltage applied, no current
    PRECHARGE = "PRECHARGE"  # voltage-controlled towards the EV's target, current limited to 2 A
    DELIVERING = "DELIVERING"  # current-controlled towards the EV's target current


class IsolationResult(StrEnum):
    """The outcome of the insulation check (the names of DIN SPEC 70121 isolationLevelType)."""

    Invalid = "Invalid"
    Valid = "Valid"
    Warning = "Warning"
    Fault = "Fault"


@dataclass(frozen=True, slots=True)
class ChargerParameters:
    """Rated limits and dynamics of the charger (defaults: a 50 kW, 500 V / 125 A unit)."""

    max_power_w: float = 50_000.0
    max_voltage_v: float = 500.0
    max_current_a: float = 125.0
    min_voltage_v: float = 50.0
    min_current_a: float = 0.0
    # Discharge: the most current and power the stage sinks from the EV (0: it does not sink).
    max_discharge_current_a: float = 0.0
    max_discharge_power_w: float = 0.0
    # First-order time constants of the output: how fast voltage and current settle on a new setpoint.
    voltage_time_constant_s: float = 0.4
    current_time_constant_s: float = 0.3
    # The discharge circuit pulls the output towards 0 V with this time constant after contactors open.
    discharge_time_constant_s: float = 0.15
    # How long the insulation check takes, and the insulation resistance it measures.
    isolation_check_duration_s: float = 2.0
    isolation_resistance_ohm: float = 10_000_000.0
    # Test voltage applied during the insulation check.
    isolation_test_voltage_v: float = 500.0
    step_s: float = 0.01

    def __post_init__(self) -> None:
        for name in ("max_power_w", "max_voltage_v", "max_current_a", "step_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_discharge_current_a < 0 or self.max_discharge_power_w < 0:
            raise ValueError("discharge limits are magnitudes, not negative")
        if self.min_voltage_v > self.max_voltage_v or self.min_current_a > self.max_current_a:
            raise ValueError("minimum limits exceed maximum limits")

    def isolation_result(self) -> IsolationResult:
        """Classify the measured insulation resistance against the test voltage (IEC 61851-23)."""
        ohm_per_volt = self.isolation_resistance_ohm / self.isolation_test_voltage_v
        if ohm_per_volt >= INSULATION_VALID_OHM_PER_V:
            return IsolationResult.Valid
        if ohm_per_volt >= INSULATION_FAULT_OHM_PER_V:
            return IsolationResult.Warning
        return IsolationResult.Fault


def first_order(value: float, target: float, dt: float, time_constant_s: float) -> float:
    """Exact step response of a first-order lag over ``dt`` with constant ``target``."""
    if time_constant_s <= 0:
        return target
    return target + (value - target) * math.exp(-dt / time_constant_s)


@dataclass(slots=True)
class DcCharger:
    """The charger's state. Voltages in volts, currents in amperes, times in seconds of the caller's clock."""

    params: ChargerParameters = field(default_factory=ChargerParameters)
    mode: OutputMode = OutputMode.OFF
    present_voltage_v: float = 0.0
    present_current_a: float = 0.0
    target_voltage_v: float = 0.0
    target_current_a: float = 0.0
    isolation_status: IsolationResult = IsolationResult.Invalid
    isolation_elapsed_s: float = 0.0
    delivered_wh: float = 0.0
    # Energy the stage sank from the EV (at its output).
    discharged_wh: float = 0.0
    last_time: float | None = None

    # --- commands ---

    def start_isolation_check(self) -> None:
        if self.mode is not OutputMode.ISOLATION_CHECK:
            self.mode = OutputMode.ISOLATION_CHECK
            self.isolation_elapsed_s = 0.0
            self.isolation_status = IsolationResult.Invalid

    def precharge(self, target_voltage_v: float, target_current_a: float) -> None:
        self.mode = OutputMode.PRECHARGE
        self.target_voltage_v = self.clamp_voltage(target_voltage_v)
        self.target_current_a = min(max(target_current_a, 0.0), PRECHARGE_CURRENT_LIMIT_A)

    def deliver(self, target_voltage_v: float, target_current_a: float) -> None:
        self.mode = OutputMode.DELIVERING
        self.target_voltage_v = self.clamp_voltage(target_voltage_v)
        if target_current_a < 0 and self.params.max_discharge_current_a > 0:
            # Sink current: negative, no more than the stage's discharge rating.
            self.target_current_a = max(target_current_a, -self.params.max_discharge_current_a)
            return
        self.target_current_a = min(
            max(target_current_a, self.params.min_current_a), self.params.max_current_a
        )

    def stop(self) -> None:
        """Open the output: current to zero, voltage discharged."""
        self.mode = OutputMode.OFF
        self.target_current_a = 0.0
        self.target_voltage_v = 0.0

    # --- queries ---

    def clamp_voltage(self, voltage_v: float) -> float:
        return min(max(voltage_v, 0.0), self.params.max_voltage_v)

    @property
    def isolation_check_finished(self) -> bool:
        return self.isolation_status is not IsolationResult.Invalid

    def current_limit_a(self) -> float:
        """The current the charger can deliver at its present voltage: rated current or rated power."""
        voltage = max(self.present_voltage_v, self.target_voltage_v, 1.0)
        return min(self.params.max_current_a, self.params.max_power_w / voltage)

    def discharge_limit_a(self) -> float:
        """The current the stage can sink at its present voltage: discharge current or power rating."""
        voltage = max(self.present_voltage_v, self.target_voltage_v, 1.0)
        return min(self.params.max_discharge_current_a, self.params.max_discharge_power_w / voltage)

    @property
    def current_limit_achieved(self) -> bool:
        return self.mode is OutputMode.DELIVERING and self.target_current_a >= self.params.max_current_a

    @property
    def power_limit_achieved(self) -> bool:
        voltage = max(self.target_voltage_v, 1.0)
        return (
            self.mode is OutputMode.DELIVERING and self.target_current_a * voltage >= self.params.max_power_w
        )

    @property
    def voltage_limit_achieved(self) -> bool:
        return self.target_voltage_v >= self.params.max_voltage_v

    # --- time ---

    def advance_to(self, now: float) -> None:
        if self.last_time is None:
            self.last_time = now
            return
        if now > self.last_time:
            self.advance(now - self.last_time)
            self.last_time = now

    def advance(self, dt: float) -> None:
        if dt < 0:
            raise ValueError("time does not run backwards")
        remaining = dt
        while remaining > 1e-12:
            h = min(self.params.step_s, remaining)
            self._step(h)
            remaining -= h

    def _step(self, h: float) -> None:
        p = self.params
        if self.mode is OutputMode.ISOLATION_CHECK:
            self.present_current_a = 0.0
            if self.isolation_elapsed_s < p.isolation_check_duration_s - 1e-9:
                self.present_voltage_v = first_order(
                    self.present_voltage_v, p.isolation_test_voltage_v, h, p.voltage_time_constant_s
                )
                self.isolation_elapsed_s += h
                return
            # Measured: discharge the test voltage, and report the result once the output is touch-safe,
            # so precharge starts from a low voltage as on a real charger.
            self.present_voltage_v = first_order(self.present_voltage_v, 0.0, h, p.discharge_time_constant_s)
            if self.present_voltage_v <= SAFE_VOLTAGE_V:
                self.isolation_status = p.isolation_result()
        elif self.mode is OutputMode.PRECHARGE:
            self.present_voltage_v = first_order(
                self.present_voltage_v, self.target_voltage_v, h, p.voltage_time_constant_s
            )
            self.present_current_a = first_order(
                self.present_current_a, self.target_current_a, h, p.current_time_constant_s
            )
        elif self.mode is OutputMode.DELIVERING:
            if self.target_current_a < 0:
                target_current = max(self.target_current_a, -self.discharge_limit_a())
            else:
                target_current = min(self.target_current_a, self.current_limit_a())
            self.present_voltage_v = first_order(
                self.present_voltage_v, self.target_voltage_v, h, p.voltage_time_constant_s
            )
            self.present_current_a = first_order(
                self.present_current_a, target_current, h, p.current_time_constant_s
            )
            if self.present_current_a >= 0:
                self.delivered_wh += self.present_voltage_v * self.present_current_a * h / 3600.0
            else:
                self.discharged_wh -= self.present_voltage_v * self.present_current_a * h / 3600.0
        else:
            self.present_current_a = first_order(self.present_current_a, 0.0, h, p.current_time_constant_s)
            self.present_voltage_v = first_order(self.present_voltage_v, 0.0, h, p.discharge_time_constant_s)
