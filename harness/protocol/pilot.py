"""Control pilot (SAE J1772 / IEC 61851-1 Annex A, with the ISO 15118-3 rules for 5 %), sans-I/O.

Three parts:

* facts as data: the states A-F with their voltage ranges, PWM duty cycle <-> ampacity both ways,
  5 % = digital communication (high-level communication, HLC);
* :class:`EvsePilot`, the EVSE's pilot logic as a sans-I/O core: it decides the pilot output
  (+12 V, PWM, state E 0 V, state F -12 V) from the vehicle state the EVSE measures and from the SLAC
  outcome, and returns deadlines for energizing and de-energizing that a tester checks a DUT against;
* :class:`PilotDriver`, the interface a lab's pilot test box driver implements, registered under the
  entry point group :data:`PILOT_DRIVER_ENTRY_POINT_GROUP` and found with :func:`available_pilot_drivers`
  / :func:`load_pilot_driver`.  :class:`LoopbackPilotDriver` is an in-memory implementation.

Values REFERENCE.md marks [unverified] carry that mark in their comment, are registered as unverified
timers where they are times, and are fields of :class:`EvsePilotConfig`, so a lab overrides them
through PIXIT.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import Enum
from importlib.metadata import EntryPoint, entry_points
from typing import ClassVar

from harness.protocol.timers import register_timer

# --------------------------------------------------------------------------------------------------
# States and voltages
# --------------------------------------------------------------------------------------------------


class PilotState(Enum):
    """SAE J1772 / IEC 61851-1 Table A.3 pilot states as the EVSE measures them."""

    A = "A"  # not connected
    B = "B"  # connected, not ready
    C = "C"  # charging
    D = "D"  # charging with ventilation
    E = "E"  # error: pilot shorted to PE, or the EVSE pulls it to 0 V
    F = "F"  # EVSE not available (-12 V)


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


def iec_state_name(state: PilotState, pwm: bool) -> str:
    """IEC 61851-1 naming: B1/C1 without PWM (oscillator off), B2/C2 with PWM."""
    if state in (PilotState.A, PilotState.B, PilotState.C, PilotState.D):
        return f"{state.value}{2 if pwm else 1}"
    return state.value


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


class PilotOutput(Enum):
    """What the EVSE drives onto the pilot."""

    X1 = "+12 V, oscillator off"
    X2 = "PWM"
    STATE_E = "0 V (state E)"
    STATE_F = "-12 V (state F)"


# --------------------------------------------------------------------------------------------------
# The EVSE pilot core
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VehicleStateMeasured:
    state: PilotState


@dataclass(frozen=True, slots=True)
class SlacMatched:
    """The EVSE's SLAC core matched (harness.protocol.slac Matched)."""


@dataclass(frozen=True, slots=True)
class SlacFailed:
    """The EVSE's SLAC core gave up (no CM_SLAC_PARM.REQ within TT_EVSE_SLAC_init)."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class EnergyAuthorized:
    """HLC: the V2G layer allows (PowerDelivery Start) or withdraws energy transfer."""

    allowed: bool


@dataclass(frozen=True, slots=True)
class UseNominalDuty:
    """Leave 5 % for a nominal duty cycle (basic charging) at ``amps``."""

    amps: float


@dataclass(frozen=True, slots=True)
class PilotTimerExpired:
    name: str


PilotEvent = (
    VehicleStateMeasured | SlacMatched | SlacFailed | EnergyAuthorized | UseNominalDuty | PilotTimerExpired
)


@dataclass(frozen=True, slots=True)
class SetOutput:
    output: PilotOutput
    duty_percent: float | None = None


@dataclass(frozen=True, slots=True)
class BeginMatching:
    """Start the EVSE's SLAC core (it starts TT_EVSE_SLAC_init)."""


@dataclass(frozen=True, slots=True)
class EndMatching:
    """Stop the SLAC core (unplug, E/F step)."""


@dataclass(frozen=True, slots=True)
class Energize:
    """Close the contactors; a conforming EVSE has them closed by ``deadline``."""

    deadline: float


@dataclass(frozen=True, slots=True)
class DeEnergize:
    deadline: float


@dataclass(frozen=True, slots=True)
class PilotStartTimer:
    name: str
    deadline: float


@dataclass(frozen=True, slots=True)
class PilotCancelTimer:
    name: str


@dataclass(frozen=True, slots=True)
class PilotFault:
    reason: str


PilotAction = (
    SetOutput
    | BeginMatching
    | EndMatching
    | Energize
    | DeEnergize
    | PilotStartTimer
    | PilotCancelTimer
    | PilotFault
)

TIMER_STEP_EF = "T_step_EF"


class NominalTransition(Enum):
    """How the EVSE leaves 5 % for a nominal duty.  [unverified] ISO 15118-3 / IEC 61851-1 Annex A
    as we read them: through state E/F for T_step_EF; a lab may choose X1 or a direct change."""

    VIA_EF = "via E/F"
    VIA_X1 = "via X1"
    DIRECT = "direct"


@dataclass
class EvsePilotConfig:
    hlc: bool = True  # offer 5 % (digital communication); False = basic charging only
    nominal_current_a: float = 16.0  # basic charging ampacity
    ev_state_for_step: PilotState = PilotState.F  # E or F during the ISO 15118-3 step
    t_step_ef_s: float = T_step_EF
    sequ_retry: int = C_sequ_retry
    energize_max_s: float = T_ENERGIZE_MAX_S
    deenergize_max_s: float = T_DEENERGIZE_MAX_S
    ventilation_supported: bool = False  # state D allowed to charge
    fallback_to_nominal: bool = False  # after the last SLAC retry: basic charging instead of F
    nominal_transition: NominalTransition = NominalTransition.VIA_EF


@dataclass
class EvsePilot:
    """The EVSE's pilot logic.  Feed measured vehicle states and SLAC outcomes; perform the actions."""

    config: EvsePilotConfig = field(default_factory=EvsePilotConfig)
    vehicle: PilotState = PilotState.A
    output: PilotOutput = PilotOutput.X1
    duty_percent: float | None = None
    energized: bool = False
    authorized: bool = False
    retries_used: int = 0
    matched: bool = False
    in_step: bool = False
    pending_nominal: float | None = None
    _deadlines: dict[str, float] = field(default_factory=dict)

    def next_deadline(self) -> float | None:
        return min(self._deadlines.values(), default=None)

    def handle(self, event: PilotEvent, now: float) -> list[PilotAction]:
        if isinstance(event, VehicleStateMeasured):
            return self._vehicle(event.state, now)
        if isinstance(event, SlacMatched):
            self.matched = True
            return []
        if isinstance(event, SlacFailed):
            return self._slac_failed(now)
        if isinstance(event, EnergyAuthorized):
            self.authorized = event.allowed
            return self._update_energy(now)
        if isinstance(event, UseNominalDuty):
            return self._use_nominal(event.amps, now)
        if isinstance(event, PilotTimerExpired):
            deadline = self._deadlines.get(event.name)
            if deadline is None or now + 1e-9 < deadline:
                return []
            del self._deadlines[event.name]
            if event.name == TIMER_STEP_EF:
                return self._step_over(now)
        return []

    # ---------------------------------------------------------------- helpers

    def _set(self, output: PilotOutput, duty: float | None = None) -> list[PilotAction]:
        if (output, duty) == (self.output, self.duty_percent):
            return []
        self.output, self.duty_percent = output, duty
        return [SetOutput(output, duty)]

    def _start_timer(self, name: str, deadline: float) -> PilotStartTimer:
        self._deadlines[name] = deadline
        return PilotStartTimer(name, deadline)

    def _cancel_timers(self) -> list[PilotAction]:
        actions: list[PilotAction] = [PilotCancelTimer(name) for name in self._deadlines]
        self._deadlines.clear()
        return actions

    def _offer(self) -> list[PilotAction]:
        """The PWM the EVSE offers in B/C: 5 % with HLC, else the nominal duty."""
        if self.config.hlc and self.pending_nominal is None:
            actions = self._set(PilotOutput.X2, DIGITAL_COMMUNICATION_DUTY)
            return [*actions, BeginMatching()]
        amps = self.pending_nominal if self.pending_nominal is not None else self.config.nominal_current_a
        return self._set(PilotOutput.X2, duty_from_ampacity(amps))

    def _charging_allowed(self) -> bool:
        if self.output is not PilotOutput.X2 or self.in_step:
            return False
        if self.vehicle is PilotState.D and not self.config.ventilation_supported:
            return False
        if self.vehicle not in (PilotState.C, PilotState.D):
            return False
        digital = self.duty_percent == DIGITAL_COMMUNICATION_DUTY
        # With HLC the V2G layer decides (PowerDelivery); in basic charging state C is enough.
        return self.authorized if digital else True

    def _update_energy(self, now: float) -> list[PilotAction]:
        allowed = self._charging_allowed()
        if allowed and not self.energized:
            self.energized = True
            return [Energize(now + self.config.energize_max_s)]
        if not allowed and self.energized:
            self.energized = False
            return [DeEnergize(now + self.config.deenergize_max_s)]
        return []

    # ---------------------------------------------------------------- events

    def _vehicle(self, state: PilotState, now: float) -> list[PilotAction]:
        previous, self.vehicle = self.vehicle, state
        actions: list[PilotAction] = []
        if state is PilotState.A:
            # Unplugged: de-energize, stop matching, back to +12 V; the next plug-in starts afresh.
            actions += self._update_energy(now)
            if previous is not PilotState.A:
                actions.append(EndMatching())
            actions += self._cancel_timers()
            actions += self._set(PilotOutput.X1)
            self.retries_used, self.matched, self.in_step, self.authorized = 0, False, False, False
            self.pending_nominal = None
            return actions
        if state in (PilotState.E, PilotState.F):
            actions += self._update_energy(now)
            return [*actions, PilotFault(f"vehicle side reads state {state.value}")]
        if previous is PilotState.A and not self.in_step:
            actions += self._offer()
        if state is PilotState.D and not self.config.ventilation_supported:
            actions.append(PilotFault("state D (ventilation) requested but not supported"))
        return actions + self._update_energy(now)

    def _slac_failed(self, now: float) -> list[PilotAction]:
        if self.vehicle is PilotState.A or self.in_step:
            return []
        if self.config.fallback_to_nominal and self.retries_used >= self.config.sequ_retry:
            return self._use_nominal(self.config.nominal_current_a, now)
        actions: list[PilotAction] = [EndMatching()]
        if self.retries_used < self.config.sequ_retry:
            # ISO 15118-3: state E/F for T_step_EF, then 5 % again and a new SLAC initialisation.
            self.retries_used += 1
            return actions + self._enter_step(now)
        actions += self._update_energy(now)
        actions += self._set(PilotOutput.STATE_F)
        return [*actions, PilotFault(f"no SLAC after {self.retries_used} E/F retries (C_sequ_retry)")]

    def _enter_step(self, now: float) -> list[PilotAction]:
        self.in_step = True
        actions = self._update_energy(now)
        output = PilotOutput.STATE_E if self.config.ev_state_for_step is PilotState.E else PilotOutput.STATE_F
        actions += self._set(output)
        actions.append(self._start_timer(TIMER_STEP_EF, now + self.config.t_step_ef_s))
        return actions

    def _step_over(self, now: float) -> list[PilotAction]:
        self.in_step = False
        if self.vehicle is PilotState.A:
            return self._set(PilotOutput.X1)
        return self._offer() + self._update_energy(now)

    def _use_nominal(self, amps: float, now: float) -> list[PilotAction]:
        duty = duty_from_ampacity(amps)  # validates the range
        self.pending_nominal = amps
        if self.duty_percent != DIGITAL_COMMUNICATION_DUTY or self.output is not PilotOutput.X2:
            return self._set(PilotOutput.X2, duty) + self._update_energy(now)
        actions: list[PilotAction] = [EndMatching()]
        transition = self.config.nominal_transition
        if transition is NominalTransition.VIA_EF:
            return actions + self._enter_step(now)
        if transition is NominalTransition.VIA_X1:
            actions += self._update_energy(now)
            actions += self._set(PilotOutput.X1)
        return actions + self._set(PilotOutput.X2, duty) + self._update_energy(now)


# --------------------------------------------------------------------------------------------------
# Pilot test box drivers (plug-in interface)
# --------------------------------------------------------------------------------------------------

# Entry point group a lab's package registers its driver under, e.g. in its pyproject.toml:
#   [project.entry-points."vgi.pilot_drivers"]
#   mybox = "mylab.pilot:MyBoxDriver"
PILOT_DRIVER_ENTRY_POINT_GROUP = "vgi.pilot_drivers"


@dataclass(frozen=True, slots=True)
class PilotReading:
    """One observation of the pilot line."""

    state: PilotState | None  # None: the high level lies between the J1772 ranges
    high_v: float
    duty_percent: float | None  # None: no PWM (oscillator off, or E/F)
    frequency_hz: float | None = None


class PilotDriver(abc.ABC):
    """What the harness needs from a pilot test box, in either role.

    As EVSE-side tester (the DUT is an EV) the box drives the pilot: :meth:`set_output`.  As EV-side
    tester (the DUT is an EVSE) it switches the vehicle resistors: :meth:`set_vehicle_state`.  Either
    way it measures the line: :meth:`read` and the stream :meth:`readings` (one item per change of
    state or duty).  Drivers are constructed with keyword options from the lab config.
    """

    name: ClassVar[str] = ""

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

    @abc.abstractmethod
    def readings(self) -> AsyncIterator[PilotReading]:
        """Changes of the pilot as they happen, each stamped by the caller on receipt."""


class LoopbackPilotDriver(PilotDriver):
    """An in-memory pilot: EVSE output and vehicle state combined the way the J1772 circuit does."""

    name = "loopback"

    def __init__(self) -> None:
        self.output = PilotOutput.X1
        self.duty: float | None = None
        self.vehicle = PilotState.A
        self._queue: asyncio.Queue[PilotReading] = asyncio.Queue()

    def _reading(self) -> PilotReading:
        if self.output is PilotOutput.STATE_E:
            return PilotReading(PilotState.E, NOMINAL_VOLTAGE[PilotState.E], None)
        if self.output is PilotOutput.STATE_F:
            return PilotReading(PilotState.F, NOMINAL_VOLTAGE[PilotState.F], None)
        high = NOMINAL_VOLTAGE[self.vehicle]
        pwm = self.output is PilotOutput.X2
        return PilotReading(self.vehicle, high, self.duty if pwm else None, PWM_FREQUENCY_HZ if pwm else None)

    async def set_output(self, output: PilotOutput, duty_percent: float | None = None) -> None:
        if output is PilotOutput.X2 and duty_percent is None:
            raise ValueError("PWM needs a duty cycle")
        self.output, self.duty = output, duty_percent if output is PilotOutput.X2 else None
        self._queue.put_nowait(self._reading())

    async def set_vehicle_state(self, state: PilotState) -> None:
        if state not in VEHICLE_RESISTANCE_OHM:
            raise ValueError(f"a vehicle cannot present state {state.value}")
        self.vehicle = state
        self._queue.put_nowait(self._reading())

    async def read(self) -> PilotReading:
        return self._reading()

    async def readings(self) -> AsyncIterator[PilotReading]:
        while True:
            yield await self._queue.get()


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


# --------------------------------------------------------------------------------------------------
# Pilot records on the captured link (simulated pilot)
# --------------------------------------------------------------------------------------------------

# The simulated pilot of the embedded lab puts every change of the pilot line on the captured link as a
# small Ethernet frame, so pilot verdicts come from the capture like every other verdict.  Format
# (ethertype 0x88B5, IEEE 802 local experimental 1; padded to 60 bytes; integers big endian):
#
#   dst ff:ff:ff:ff:ff:ff, src = the sender's MAC
#   "VGIP" | version 1 (u8) | side (u8: 1 EVSE, 2 EV) | flags (u8: bit 0 hello) | seq (u16)
#   | EVSE output (u8: 0 X1, 1 X2 PWM, 2 state E, 3 state F) | duty in 0.1 % (u16, 0xFFFF none)
#   | vehicle state the EV presents (ASCII A-D) | line state (ASCII A-F) | energized (u8: 0, 1, 0xFF ?)
#
# Each side sends its own part when it changes and repeats the last known part of the other side, so
# one record shows the whole line.  A "hello" asks the other side to send its part (at start-up).
ETHERTYPE_PILOT_RECORD = 0x88B5
PILOT_RECORD_MAGIC = b"VGIP"
PILOT_RECORD_VERSION = 1
PILOT_SIDE_EVSE, PILOT_SIDE_EV = 1, 2
PILOT_FLAG_HELLO = 0x01
_OUTPUT_CODES = {PilotOutput.X1: 0, PilotOutput.X2: 1, PilotOutput.STATE_E: 2, PilotOutput.STATE_F: 3}
_OUTPUT_BY_CODE = {code: output for output, code in _OUTPUT_CODES.items()}
OUTPUT_NAMES = {
    PilotOutput.X1: "X1",
    PilotOutput.X2: "X2",
    PilotOutput.STATE_E: "E",
    PilotOutput.STATE_F: "F",
}
_NO_DUTY = 0xFFFF
_PILOT_BODY_LENGTH = 4 + 1 + 1 + 1 + 2 + 1 + 2 + 1 + 1 + 1


class PilotRecordError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class PilotRecord:
    side: int
    output: PilotOutput
    duty_percent: float | None
    vehicle: PilotState
    energized: bool | None = None
    hello: bool = False
    seq: int = 0

    @property
    def line_state(self) -> PilotState:
        return line_state(self.output, self.vehicle)

    def fields(self) -> dict[str, object]:
        """The timeline fields of this record."""
        return {
            "side": "evse" if self.side == PILOT_SIDE_EVSE else "ev",
            "state": self.line_state.value,
            "iec_state": iec_state_name(self.line_state, self.output is PilotOutput.X2),
            "output": OUTPUT_NAMES[self.output],
            "duty_percent": self.duty_percent,
            "vehicle": self.vehicle.value,
            "energized": self.energized,
            "hello": self.hello,
            "seq": self.seq,
        }


def line_state(output: PilotOutput, vehicle: PilotState) -> PilotState:
    """The state the pilot line is in: the EVSE's E/F override the vehicle's resistor."""
    if output is PilotOutput.STATE_E:
        return PilotState.E
    if output is PilotOutput.STATE_F:
        return PilotState.F
    return vehicle


def encode_pilot_record(record: PilotRecord) -> bytes:
    """The body of a pilot record frame (after the Ethernet header)."""
    duty = _NO_DUTY if record.duty_percent is None else round(record.duty_percent * 10)
    energized = 0xFF if record.energized is None else int(record.energized)
    return (
        PILOT_RECORD_MAGIC
        + bytes([PILOT_RECORD_VERSION, record.side, PILOT_FLAG_HELLO if record.hello else 0])
        + (record.seq & 0xFFFF).to_bytes(2, "big")
        + bytes([_OUTPUT_CODES[record.output]])
        + duty.to_bytes(2, "big")
        + record.vehicle.value.encode()
        + record.line_state.value.encode()
        + bytes([energized])
    )


def decode_pilot_record(body: bytes) -> PilotRecord:
    if len(body) < _PILOT_BODY_LENGTH or not body.startswith(PILOT_RECORD_MAGIC):
        raise PilotRecordError("not a pilot record (magic or length)")
    if body[4] != PILOT_RECORD_VERSION:
        raise PilotRecordError(f"pilot record version {body[4]}")
    side, flags = body[5], body[6]
    if side not in (PILOT_SIDE_EVSE, PILOT_SIDE_EV):
        raise PilotRecordError(f"unknown side {side}")
    seq = int.from_bytes(body[7:9], "big")
    output = _OUTPUT_BY_CODE.get(body[9])
    if output is None:
        raise PilotRecordError(f"unknown EVSE output code {body[9]}")
    duty_raw = int.from_bytes(body[10:12], "big")
    try:
        vehicle = PilotState(chr(body[12]))
    except ValueError:
        raise PilotRecordError(f"unknown vehicle state byte {body[12]}") from None
    energized = None if body[14] == 0xFF else bool(body[14])
    return PilotRecord(
        side,
        output,
        None if duty_raw == _NO_DUTY else duty_raw / 10,
        vehicle,
        energized,
        bool(flags & PILOT_FLAG_HELLO),
        seq,
    )


# --------------------------------------------------------------------------------------------------
# Pilot events recorded by commercial testers
# --------------------------------------------------------------------------------------------------

# Some commercial PLC testers put the pilot on the capture as a vendor MME to the local modem address:
# STP_CPSTATE.IND (HomePlug AV MMV 1, MMTYPE 0xA22E, OUI 00:80:E1 ST/IoTecha), as Wireshark decodes it.
# Layout after the Ethernet header: MMV, MMTYPE (LE), FMI (2), OUI (3), MME version, 3 reserved, message
# version, CP state (1 A, 3 B, 5 C, 7 D, 9 E, 0x0A F; even values are "between two states"), PWM duty
# (%, 100 = no PWM), PWM frequency (Hz, LE u16; 0 = no PWM), CP voltage (mV, LE u16).
STP_CPSTATE_IND = 0xA22E
STP_OUI = bytes.fromhex("0080e1")
_STP_STATES = {1: "A", 3: "B", 5: "C", 7: "D", 9: "E", 0x0A: "F"}
_STP_LENGTH = 14 + 19


def decode_stp_cpstate(frame: bytes) -> dict[str, object] | None:
    """The timeline fields of an STP_CPSTATE.IND frame, or None if ``frame`` is not one."""
    if len(frame) < _STP_LENGTH or frame[12:14] != b"\x88\xe1":
        return None
    if int.from_bytes(frame[15:17], "little") != STP_CPSTATE_IND or frame[19:22] != STP_OUI:
        return None
    code, duty = frame[27], frame[28]
    frequency = int.from_bytes(frame[29:31], "little")
    pwm = frequency > 0 and duty < 100
    state = _STP_STATES.get(code)
    return {
        "side": "tester",
        "state": state if state is not None else f"ambiguous 0x{code:02x}",
        "duty_percent": float(duty) if pwm else None,
        "frequency_hz": frequency or None,
        "voltage_v": int.from_bytes(frame[31:33], "little") / 1000,
        "format": "STP_CPSTATE.IND",
    }
