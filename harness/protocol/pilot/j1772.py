"""Control pilot facts (SAE J1772 / IEC 61851-1 Annex A, with the ISO 15118-3 rules for 5 %), as data.

The states A-F with their voltage ranges, PWM duty cycle <-> ampacity both ways (5 % = digital
communication, high-level communication, HLC), and the pilot timers, registered so a lab overrides them
through PIXIT.  Values REFERENCE.md marks [unverified] carry that mark in their comment and are
registered as unverified timers where they are times.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.codec.pilot import PilotOutput, PilotState, iec_state_name
from harness.protocol.timers import register_timer

__all__ = [
    "C_sequ_retry",
    "DIGITAL_COMMUNICATION_DUTY",
    "DIGITAL_COMMUNICATION_MAX_DUTY",
    "DIGITAL_COMMUNICATION_MIN_DUTY",
    "DutyMeaning",
    "HIGH_BAND_AMPS_PER_PERCENT",
    "HIGH_BAND_MAX_DUTY",
    "HIGH_BAND_MIN_DUTY",
    "HIGH_BAND_OFFSET",
    "LOW_BAND_AMPS_PER_PERCENT",
    "LOW_BAND_MIN_DUTY",
    "MAX_AMPACITY_A",
    "MIN_AMPACITY_A",
    "NOMINAL_VOLTAGE",
    "NO_CHARGING_ABOVE_DUTY",
    "NO_CHARGING_BELOW_DUTY",
    "PWM_FREQUENCY_HZ",
    "PWM_LOW_LEVEL_V",
    "PilotOutput",
    "PilotState",
    "SIX_AMP_BAND_MIN_DUTY",
    "TOP_BAND_AMPS",
    "T_DEENERGIZE_MAX_S",
    "T_ENERGIZE_MAX_S",
    "T_STEP_EF_MIN_S",
    "T_VEHICLE_PWM_RESPONSE_S",
    "T_step_EF",
    "VEHICLE_RESISTANCE_OHM",
    "VOLTAGE_RANGES",
    "VoltageRange",
    "ampacity_from_duty",
    "classify_pilot_voltage",
    "duty_from_ampacity",
    "iec_state_name",
]

# --------------------------------------------------------------------------------------------------
# States and voltages (PilotState and PilotOutput are the code points of harness.codec.pilot)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VoltageRange:
    low: float
    high: float

    def __contains__(self, volts: object) -> bool:
        return isinstance(volts, int | float) and self.low <= volts <= self.high


# SAE J1772 Table 5 (REFERENCE.md section 2): nominal pilot high level and range incl. tolerance.
NOMINAL_VOLTAGE = {
    PilotState.A: 12.0,
    PilotState.B: 9.0,
    PilotState.C: 6.0,
    PilotState.D: 3.0,
    PilotState.E: 0.0,
    PilotState.F: -12.0,
}
VOLTAGE_RANGES = {
    PilotState.A: VoltageRange(11.40, 12.60),
    PilotState.B: VoltageRange(8.36, 9.56),
    PilotState.C: VoltageRange(5.48, 6.49),
    PilotState.D: VoltageRange(2.62, 3.25),
    # [unverified] REFERENCE.md gives 0 V without tolerance; +-1 V is our assumption.
    PilotState.E: VoltageRange(-1.0, 1.0),
    PilotState.F: VoltageRange(-12.60, -11.40),
}
# SAE J1772: vehicle-side resistance that produces each state (ohms; None = open).
VEHICLE_RESISTANCE_OHM = {PilotState.A: None, PilotState.B: 2740, PilotState.C: 882, PilotState.D: 246}
# SAE J1772 / IEC 61851-1: the PWM runs at 1 kHz with a -12 V low level.
PWM_FREQUENCY_HZ = 1000.0
PWM_LOW_LEVEL_V = -12.0


def classify_pilot_voltage(high_v: float) -> PilotState | None:
    """The state whose J1772 range contains the pilot's high level; None between the ranges."""
    for state, window in VOLTAGE_RANGES.items():
        if high_v in window:
            return state
    return None


# --------------------------------------------------------------------------------------------------
# Duty cycle <-> ampacity
# --------------------------------------------------------------------------------------------------

# SAE J1772 / IEC 61851-1 Table A.8 (REFERENCE.md section 2).
DIGITAL_COMMUNICATION_DUTY = 5.0  # nominal 5 %: digital communication required
DIGITAL_COMMUNICATION_MIN_DUTY = 3.0
DIGITAL_COMMUNICATION_MAX_DUTY = 7.0
NO_CHARGING_BELOW_DUTY = 3.0
NO_CHARGING_ABOVE_DUTY = 97.0
LOW_BAND_MIN_DUTY = 10.0  # 10-85 %: 0.6 A per %
LOW_BAND_AMPS_PER_PERCENT = 0.6
HIGH_BAND_MIN_DUTY = 85.0  # 85-96 %: (D - 64) x 2.5 A
HIGH_BAND_OFFSET = 64.0
HIGH_BAND_AMPS_PER_PERCENT = 2.5
HIGH_BAND_MAX_DUTY = 96.0
# [unverified] IEC 61851-1:2017 Table A.8 as we read it, absent from REFERENCE.md: 8-10 % = 6 A,
# 96-97 % = 80 A, 7-8 % = not allowed.
SIX_AMP_BAND_MIN_DUTY = 8.0
TOP_BAND_AMPS = 80.0
MIN_AMPACITY_A = 6.0  # 10 % x 0.6 A
MAX_AMPACITY_A = 80.0  # (96 - 64) x 2.5 A


@dataclass(frozen=True, slots=True)
class DutyMeaning:
    """What a measured duty cycle tells the vehicle."""

    duty_percent: float
    charging_allowed: bool
    digital_communication: bool
    max_current_a: float | None = None  # ampacity for the nominal bands


def ampacity_from_duty(duty_percent: float) -> DutyMeaning:
    d = duty_percent
    if d < NO_CHARGING_BELOW_DUTY or d > NO_CHARGING_ABOVE_DUTY:
        return DutyMeaning(d, charging_allowed=False, digital_communication=False)
    if d <= DIGITAL_COMMUNICATION_MAX_DUTY:
        return DutyMeaning(d, charging_allowed=True, digital_communication=True)
    if d < SIX_AMP_BAND_MIN_DUTY:
        return DutyMeaning(d, charging_allowed=False, digital_communication=False)
    if d < LOW_BAND_MIN_DUTY:
        return DutyMeaning(d, True, False, MIN_AMPACITY_A)
    if d <= HIGH_BAND_MIN_DUTY:
        return DutyMeaning(d, True, False, round(d * LOW_BAND_AMPS_PER_PERCENT, 3))
    if d <= HIGH_BAND_MAX_DUTY:
        return DutyMeaning(d, True, False, round((d - HIGH_BAND_OFFSET) * HIGH_BAND_AMPS_PER_PERCENT, 3))
    return DutyMeaning(d, True, False, TOP_BAND_AMPS)


def duty_from_ampacity(amps: float) -> float:
    """The duty cycle (percent) an EVSE signals for ``amps`` (6 A - 80 A); it never means more than
    ``amps``."""
    if not MIN_AMPACITY_A <= amps <= MAX_AMPACITY_A:
        raise ValueError(f"{amps} A is outside the signalable {MIN_AMPACITY_A:g}-{MAX_AMPACITY_A:g} A")
    if amps <= HIGH_BAND_MIN_DUTY * LOW_BAND_AMPS_PER_PERCENT:  # up to 51 A
        return round(amps / LOW_BAND_AMPS_PER_PERCENT, 6)
    if amps <= (HIGH_BAND_MIN_DUTY - HIGH_BAND_OFFSET) * HIGH_BAND_AMPS_PER_PERCENT:
        # 51 A < I <= 52.5 A has no duty cycle: 85 % means 51 A and anything above 85 % already means
        # more than 52.5 A.  Signal 85 % (51 A): never more than the EVSE can deliver.
        return HIGH_BAND_MIN_DUTY
    return round(amps / HIGH_BAND_AMPS_PER_PERCENT + HIGH_BAND_OFFSET, 6)


# --------------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------------

# [unverified] REFERENCE.md section 2: EVSE energizes within 3 s of B->C and cuts power within 100 ms
# of C->B or C->A; the vehicle follows a PWM change within 5 s.
T_ENERGIZE_MAX_S = register_timer(
    "T_pilot_energize", 3.0, "SAE J1772 / IEC 61851-1", "EVSE energizes after B->C", unverified=True
)
T_DEENERGIZE_MAX_S = register_timer(
    "T_pilot_deenergize", 0.1, "SAE J1772 / IEC 61851-1", "EVSE cuts power after C->B / C->A", unverified=True
)
T_VEHICLE_PWM_RESPONSE_S = register_timer(
    "T_pilot_pwm_response", 5.0, "SAE J1772 / IEC 61851-1", "vehicle follows a PWM change", unverified=True
)
# ISO 15118-3 (REFERENCE.md section 2): at least 4 s in state E/F after a failed SLAC initialisation,
# repeated C_sequ_retry = 2 times.
T_step_EF = register_timer("T_step_EF", 4.0, "ISO 15118-3", "EVSE holds state E/F before retrying SLAC")
T_STEP_EF_MIN_S = 4.0
C_sequ_retry = 2
