"""The EVSE's pilot logic as a sans-I/O core on the protocol kernel.

:class:`EvsePilot` decides the pilot output (+12 V, PWM, state E 0 V, state F -12 V) from the vehicle
state the EVSE measures and from the SLAC outcome, and returns deadlines for energizing and
de-energizing that a tester checks a DUT against.  Its one timer, T_step_EF (the ISO 15118-3 hold in
state E/F before SLAC is retried), lives in the kernel :class:`~harness.protocol.core.TimerTable`; a
driver wakes it with the kernel :class:`~harness.protocol.core.TimerExpired`, and stale expiries are
ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from harness.protocol.core import CancelTimer, StartTimer, TimedCore, TimerExpired, TimerTable
from harness.protocol.pilot.j1772 import (
    DIGITAL_COMMUNICATION_DUTY,
    T_DEENERGIZE_MAX_S,
    T_ENERGIZE_MAX_S,
    C_sequ_retry,
    PilotOutput,
    PilotState,
    T_step_EF,
    duty_from_ampacity,
)

# --------------------------------------------------------------------------------------------------
# Events (besides the kernel's TimerExpired)
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
class OutputOnWire:
    """The driver reports that ``output`` (the core's last :class:`SetOutput`) is now on the line.

    A hold counts from when the new state is on the wire, as on a real pilot, not from when the core
    decided it: putting it there takes a moment.  A driver that does not report it gets holds that
    count from the decision."""

    output: PilotOutput


PilotEvent = (
    VehicleStateMeasured
    | SlacMatched
    | SlacFailed
    | EnergyAuthorized
    | UseNominalDuty
    | OutputOnWire
    | TimerExpired
)

# --------------------------------------------------------------------------------------------------
# Actions (besides the kernel's StartTimer and CancelTimer)
# --------------------------------------------------------------------------------------------------


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
class PilotFault:
    reason: str


PilotAction = (
    SetOutput | BeginMatching | EndMatching | Energize | DeEnergize | StartTimer | CancelTimer | PilotFault
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
class EvsePilot(TimedCore):
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
    step_on_wire: bool = False  # the E/F hold has been re-armed from when the step output hit the wire
    pending_nominal: float | None = None
    timers: TimerTable = field(default_factory=TimerTable, repr=False)

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
        if isinstance(event, OutputOnWire):
            return self._output_on_wire(event.output, now)
        if isinstance(event, TimerExpired) and self.timers.fire(event.name, now):
            if event.name == TIMER_STEP_EF:
                return self._step_over(now)
        return []

    # ---------------------------------------------------------------- helpers

    def _set(self, output: PilotOutput, duty: float | None = None) -> list[PilotAction]:
        if (output, duty) == (self.output, self.duty_percent):
            return []
        self.output, self.duty_percent = output, duty
        return [SetOutput(output, duty)]

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
            actions += self.timers.cancel_all()
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

    def _step_output(self) -> PilotOutput:
        return PilotOutput.STATE_E if self.config.ev_state_for_step is PilotState.E else PilotOutput.STATE_F

    def _enter_step(self, now: float) -> list[PilotAction]:
        self.in_step, self.step_on_wire = True, False
        actions = self._update_energy(now)
        actions += self._set(self._step_output())
        actions.append(self.timers.start(TIMER_STEP_EF, now + self.config.t_step_ef_s))
        return actions

    def _output_on_wire(self, output: PilotOutput, now: float) -> list[PilotAction]:
        """Count the E/F hold from when the step's output reached the line (once per step)."""
        if not self.in_step or self.step_on_wire or output is not self._step_output():
            return []
        if not self.timers.armed(TIMER_STEP_EF):
            return []
        self.step_on_wire = True
        return [self.timers.start(TIMER_STEP_EF, now + self.config.t_step_ef_s)]

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
