"""Control pilot: J1772 states and ranges, duty <-> ampacity, the EVSE pilot core on the kernel."""

from __future__ import annotations

import pytest

from harness.protocol import pilot as p
from harness.protocol.core import CancelTimer, Core, StartTimer, TimerExpired
from harness.protocol.pilot import (
    BeginMatching,
    DeEnergize,
    EndMatching,
    Energize,
    EnergyAuthorized,
    EvsePilot,
    EvsePilotConfig,
    NominalTransition,
    OutputOnWire,
    PilotFault,
    PilotOutput,
    PilotState,
    SetOutput,
    SlacFailed,
    SlacMatched,
    UseNominalDuty,
    VehicleStateMeasured,
)

# ---------------------------------------------------------------------------------- voltages


@pytest.mark.parametrize(
    ("volts", "state"),
    [
        (12.0, PilotState.A),
        (11.40, PilotState.A),
        (12.60, PilotState.A),
        (9.0, PilotState.B),
        (8.36, PilotState.B),
        (9.56, PilotState.B),
        (6.0, PilotState.C),
        (5.48, PilotState.C),
        (6.49, PilotState.C),
        (3.0, PilotState.D),
        (2.62, PilotState.D),
        (3.25, PilotState.D),
        (0.0, PilotState.E),
        (-12.0, PilotState.F),
        (-11.40, PilotState.F),
        (10.5, None),
        (7.0, None),
        (4.5, None),
        (-6.0, None),
    ],
)
def test_classify_pilot_voltage(volts: float, state: PilotState | None) -> None:
    assert p.classify_pilot_voltage(volts) is state


def test_nominal_voltages_fall_in_their_ranges() -> None:
    for state, volts in p.NOMINAL_VOLTAGE.items():
        assert volts in p.VOLTAGE_RANGES[state]
        assert p.classify_pilot_voltage(volts) is state


def test_iec_state_names() -> None:
    assert p.iec_state_name(PilotState.B, pwm=False) == "B1"
    assert p.iec_state_name(PilotState.C, pwm=True) == "C2"
    assert p.iec_state_name(PilotState.F, pwm=False) == "F"


# ---------------------------------------------------------------------------------- duty cycle


@pytest.mark.parametrize(
    ("duty", "allowed", "digital", "amps"),
    [
        (2.9, False, False, None),
        (3.0, True, True, None),
        (5.0, True, True, None),
        (7.0, True, True, None),
        (7.5, False, False, None),
        (9.0, True, False, 6.0),
        (10.0, True, False, 6.0),
        (16.0 / 0.6, True, False, 16.0),
        (50.0, True, False, 30.0),
        (85.0, True, False, 51.0),
        (90.0, True, False, 65.0),
        (96.0, True, False, 80.0),
        (96.5, True, False, 80.0),
        (97.1, False, False, None),
    ],
)
def test_ampacity_from_duty(duty: float, allowed: bool, digital: bool, amps: float | None) -> None:
    meaning = p.ampacity_from_duty(duty)
    assert (meaning.charging_allowed, meaning.digital_communication) == (allowed, digital)
    assert meaning.max_current_a == (pytest.approx(amps) if amps is not None else None)


@pytest.mark.parametrize("amps", [6.0, 10.0, 13.0, 16.0, 20.0, 32.0, 40.0, 51.0, 52.6, 63.0, 70.0, 80.0])
def test_duty_and_ampacity_round_trip(amps: float) -> None:
    duty = p.duty_from_ampacity(amps)
    assert p.LOW_BAND_MIN_DUTY <= duty <= p.HIGH_BAND_MAX_DUTY
    assert p.ampacity_from_duty(duty).max_current_a == pytest.approx(amps)


@pytest.mark.parametrize("amps", [51.5, 52.0, 52.5])
def test_the_gap_between_the_bands_is_signalled_conservatively(amps: float) -> None:
    duty = p.duty_from_ampacity(amps)
    assert duty == 85.0 and p.ampacity_from_duty(duty).max_current_a == 51.0 <= amps


def test_duty_examples_and_limits() -> None:
    assert p.duty_from_ampacity(6) == pytest.approx(10.0)
    assert p.duty_from_ampacity(32) == pytest.approx(53.333333)
    assert p.duty_from_ampacity(80) == pytest.approx(96.0)
    for amps in (5.9, 80.1, 0):
        with pytest.raises(ValueError):
            p.duty_from_ampacity(amps)


# ---------------------------------------------------------------------------------- EVSE pilot core


def kinds(actions) -> list[type]:
    return [type(a) for a in actions]


def plug(pilot: EvsePilot, now: float = 0.0):
    return pilot.handle(VehicleStateMeasured(PilotState.B), now)


def test_plug_in_with_hlc_offers_5_percent_and_starts_slac() -> None:
    pilot = EvsePilot()
    actions = plug(pilot)
    assert actions == [SetOutput(PilotOutput.X2, 5.0), BeginMatching()]
    assert p.ampacity_from_duty(pilot.duty_percent or 0).digital_communication


def test_basic_charging_offers_nominal_duty_and_energizes_on_c_within_3_s() -> None:
    pilot = EvsePilot(EvsePilotConfig(hlc=False, nominal_current_a=32.0))
    assert plug(pilot) == [SetOutput(PilotOutput.X2, p.duty_from_ampacity(32.0))]
    assert pilot.handle(VehicleStateMeasured(PilotState.C), 5.0) == [Energize(5.0 + p.T_ENERGIZE_MAX_S)]
    assert pilot.handle(VehicleStateMeasured(PilotState.B), 9.0) == [DeEnergize(9.0 + p.T_DEENERGIZE_MAX_S)]
    assert p.T_ENERGIZE_MAX_S == 3.0 and p.T_DEENERGIZE_MAX_S == 0.1


def test_hlc_energizes_only_when_the_v2g_layer_allows() -> None:
    pilot = EvsePilot()
    plug(pilot)
    pilot.handle(SlacMatched(), 1.0)
    assert pilot.handle(VehicleStateMeasured(PilotState.C), 2.0) == []
    assert pilot.handle(EnergyAuthorized(True), 3.0) == [Energize(6.0)]
    assert pilot.handle(EnergyAuthorized(False), 4.0) == [DeEnergize(pytest.approx(4.1))]


def test_unplug_while_charging_cuts_power_and_resets() -> None:
    pilot = EvsePilot(EvsePilotConfig(hlc=False))
    plug(pilot)
    pilot.handle(VehicleStateMeasured(PilotState.C), 1.0)
    actions = pilot.handle(VehicleStateMeasured(PilotState.A), 2.0)
    assert actions[0] == DeEnergize(pytest.approx(2.1))
    assert EndMatching() in actions and actions[-1] == SetOutput(PilotOutput.X1)
    assert not pilot.energized


def test_slac_failure_steps_through_f_and_retries_c_sequ_retry_times() -> None:
    pilot = EvsePilot()
    plug(pilot)
    outputs = []
    now = 0.0
    for _ in range(p.C_sequ_retry):
        now += 50.0
        actions = pilot.handle(SlacFailed("TT_EVSE_SLAC_init"), now)
        assert actions[0] == EndMatching()
        assert SetOutput(PilotOutput.STATE_F) in actions
        (timer,) = [a for a in actions if isinstance(a, StartTimer)]
        assert timer == StartTimer("T_step_EF", now + p.T_step_EF)
        assert pilot.next_deadline() == timer.deadline
        assert pilot.handle(TimerExpired("T_step_EF"), now + 1.0) == []  # not due yet
        now = timer.deadline
        back = pilot.handle(TimerExpired("T_step_EF"), now)
        assert back == [SetOutput(PilotOutput.X2, 5.0), BeginMatching()]
        outputs.append(pilot.output)
    final = pilot.handle(SlacFailed(), now + 50.0)
    assert SetOutput(PilotOutput.STATE_F) in final
    (fault,) = [a for a in final if isinstance(a, PilotFault)]
    assert "C_sequ_retry" in fault.reason and pilot.retries_used == p.C_sequ_retry == 2
    assert p.T_step_EF >= p.T_STEP_EF_MIN_S == 4.0


def test_state_e_can_be_chosen_for_the_step() -> None:
    pilot = EvsePilot(EvsePilotConfig(ev_state_for_step=PilotState.E, t_step_ef_s=6.0))
    plug(pilot)
    actions = pilot.handle(SlacFailed(), 50.0)
    assert SetOutput(PilotOutput.STATE_E) in actions and StartTimer("T_step_EF", 56.0) in actions


def test_fallback_to_nominal_after_the_last_retry() -> None:
    pilot = EvsePilot(EvsePilotConfig(fallback_to_nominal=True, nominal_current_a=16.0))
    plug(pilot)
    now = 0.0
    for _ in range(p.C_sequ_retry):
        now += 50.0
        pilot.handle(SlacFailed(), now)
        now += p.T_step_EF
        pilot.handle(TimerExpired("T_step_EF"), now)
    actions = pilot.handle(SlacFailed(), now + 50.0)
    # 5 % -> nominal goes through E/F first [unverified rule, configurable].
    assert SetOutput(PilotOutput.STATE_F) in actions
    actions = pilot.handle(TimerExpired("T_step_EF"), now + 50.0 + p.T_step_EF)
    assert actions == [SetOutput(PilotOutput.X2, p.duty_from_ampacity(16.0))]
    assert BeginMatching() not in actions


@pytest.mark.parametrize(
    ("transition", "expected_outputs"),
    [
        (NominalTransition.VIA_EF, [PilotOutput.STATE_F]),
        (NominalTransition.VIA_X1, [PilotOutput.X1, PilotOutput.X2]),
        (NominalTransition.DIRECT, [PilotOutput.X2]),
    ],
)
def test_five_percent_to_nominal_transition_rules(transition, expected_outputs) -> None:
    pilot = EvsePilot(EvsePilotConfig(nominal_transition=transition))
    plug(pilot)
    actions = pilot.handle(UseNominalDuty(20.0), 1.0)
    assert actions[0] == EndMatching()
    assert [a.output for a in actions if isinstance(a, SetOutput)] == expected_outputs
    if transition is NominalTransition.VIA_EF:
        actions = pilot.handle(TimerExpired("T_step_EF"), 1.0 + p.T_step_EF)
    assert pilot.output is PilotOutput.X2 and pilot.duty_percent == p.duty_from_ampacity(20.0)


def test_no_energy_during_the_e_f_step() -> None:
    pilot = EvsePilot(EvsePilotConfig(hlc=False))
    plug(pilot)
    pilot.handle(VehicleStateMeasured(PilotState.C), 1.0)
    assert pilot.energized
    pilot.config.hlc = True  # e.g. the DUT wants HLC after all
    pilot.duty_percent = 5.0
    actions = pilot.handle(SlacFailed(), 2.0)
    assert DeEnergize(pytest.approx(2.1)) in actions and not pilot.energized


def test_state_d_without_ventilation_is_a_fault_and_not_energized() -> None:
    pilot = EvsePilot(EvsePilotConfig(hlc=False))
    plug(pilot)
    actions = pilot.handle(VehicleStateMeasured(PilotState.D), 1.0)
    assert kinds(actions) == [PilotFault] and not pilot.energized
    vented = EvsePilot(EvsePilotConfig(hlc=False, ventilation_supported=True))
    plug(vented)
    assert kinds(vented.handle(VehicleStateMeasured(PilotState.D), 1.0)) == [Energize]


def test_unplug_during_the_step_cancels_the_timer() -> None:
    pilot = EvsePilot()
    plug(pilot)
    pilot.handle(SlacFailed(), 50.0)
    actions = pilot.handle(VehicleStateMeasured(PilotState.A), 51.0)
    assert CancelTimer("T_step_EF") in actions and pilot.output is PilotOutput.X1
    assert pilot.handle(TimerExpired("T_step_EF"), 54.0) == []


# ---------------------------------------------------------------------------------- on the kernel


def test_the_pilot_core_is_a_kernel_core_with_the_kernel_timer_table() -> None:
    pilot = EvsePilot()
    assert isinstance(pilot, Core)
    plug(pilot)
    pilot.handle(SlacFailed(), 10.0)
    assert pilot.timers.deadlines == {p.TIMER_STEP_EF: 10.0 + p.T_step_EF}
    assert pilot.due_timers(10.0 + p.T_step_EF - 0.5) == []
    assert pilot.due_timers(10.0 + p.T_step_EF) == [p.TIMER_STEP_EF]


def test_an_expiry_of_a_re_armed_step_timer_is_stale() -> None:
    pilot = EvsePilot()
    plug(pilot)
    pilot.handle(SlacFailed(), 10.0)
    # The F output reaches the line 2 ms after the decision: the hold counts from there.
    assert pilot.handle(OutputOnWire(PilotOutput.STATE_F), 10.002) == [
        StartTimer("T_step_EF", pytest.approx(14.002))
    ]
    assert pilot.handle(TimerExpired("T_step_EF"), 14.0) == []  # the first deadline no longer holds
    assert pilot.output is PilotOutput.STATE_F
    assert pilot.handle(TimerExpired("T_step_EF"), 14.002) == [
        SetOutput(PilotOutput.X2, 5.0),
        BeginMatching(),
    ]


def test_output_on_wire_moves_the_hold_once_and_only_for_the_step_output() -> None:
    pilot = EvsePilot()
    assert pilot.handle(OutputOnWire(PilotOutput.X1), 0.0) == []  # no step: nothing to count
    plug(pilot)
    assert pilot.handle(OutputOnWire(PilotOutput.X2), 0.001) == []
    pilot.handle(SlacFailed(), 10.0)
    assert pilot.handle(OutputOnWire(PilotOutput.X2), 10.001) == []  # not the step's output
    assert len(pilot.handle(OutputOnWire(PilotOutput.STATE_F), 10.002)) == 1
    assert pilot.handle(OutputOnWire(PilotOutput.STATE_F), 11.0) == []  # a repeat does not extend it
    assert pilot.next_deadline() == pytest.approx(14.002)


def test_an_unknown_timer_expiry_is_ignored() -> None:
    pilot = EvsePilot()
    plug(pilot)
    assert pilot.handle(TimerExpired("T_unknown"), 100.0) == []
    assert pilot.output is PilotOutput.X2


def test_retries_run_on_the_simulated_clock() -> None:
    """Two E/F steps of T_step_EF each and the final F, with SLAC failing after 20 s each time."""
    from harness.protocol.simclock import SimulatedClock

    clock = SimulatedClock()
    pilot = EvsePilot()
    outputs: list[tuple[float, PilotOutput]] = []

    def perform(actions: list[object], now: float) -> None:
        for action in actions:
            if isinstance(action, SetOutput):
                outputs.append((now, action.output))
            if isinstance(action, BeginMatching):
                clock.schedule(attached, SlacFailed("TT_EVSE_SLAC_init"), now + 20.0)

    attached = clock.attach(pilot, perform, name="EVSE pilot")
    clock.schedule(attached, VehicleStateMeasured(PilotState.B), 1.0)
    clock.run(until=200.0)
    assert outputs == [
        (1.0, PilotOutput.X2),
        (21.0, PilotOutput.STATE_F),
        (21.0 + p.T_step_EF, PilotOutput.X2),
        (41.0 + p.T_step_EF, PilotOutput.STATE_F),
        (41.0 + 2 * p.T_step_EF, PilotOutput.X2),
        (61.0 + 2 * p.T_step_EF, PilotOutput.STATE_F),
    ]
    assert pilot.retries_used == p.C_sequ_retry and pilot.next_deadline() is None


def test_the_package_keeps_the_names_importers_use() -> None:
    from harness.codec import pilot as codec

    assert p.PilotState is codec.PilotState and p.PilotOutput is codec.PilotOutput
    # the wire format lives in the codec only
    assert not hasattr(p, "decode_pilot_record") and not hasattr(p, "PilotRecord")
    # The kernel's timer types are the pilot's: no pilot-specific copies remain.
    assert not hasattr(p, "PilotTimerExpired") and not hasattr(p, "PilotStartTimer")
