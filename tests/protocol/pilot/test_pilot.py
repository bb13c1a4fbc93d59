"""Control pilot: J1772 states and ranges, duty <-> ampacity, the EVSE pilot core, driver plug-ins."""

from __future__ import annotations

import asyncio
from importlib.metadata import EntryPoint

import pytest

from harness.protocol import pilot as p
from harness.protocol.pilot import (
    BeginMatching,
    DeEnergize,
    EndMatching,
    Energize,
    EnergyAuthorized,
    EvsePilot,
    EvsePilotConfig,
    NominalTransition,
    PilotCancelTimer,
    PilotFault,
    PilotOutput,
    PilotStartTimer,
    PilotState,
    PilotTimerExpired,
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
        (timer,) = [a for a in actions if isinstance(a, PilotStartTimer)]
        assert timer == PilotStartTimer("T_step_EF", now + p.T_step_EF)
        assert pilot.next_deadline() == timer.deadline
        assert pilot.handle(PilotTimerExpired("T_step_EF"), now + 1.0) == []  # not due yet
        now = timer.deadline
        back = pilot.handle(PilotTimerExpired("T_step_EF"), now)
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
    assert SetOutput(PilotOutput.STATE_E) in actions and PilotStartTimer("T_step_EF", 56.0) in actions


def test_fallback_to_nominal_after_the_last_retry() -> None:
    pilot = EvsePilot(EvsePilotConfig(fallback_to_nominal=True, nominal_current_a=16.0))
    plug(pilot)
    now = 0.0
    for _ in range(p.C_sequ_retry):
        now += 50.0
        pilot.handle(SlacFailed(), now)
        now += p.T_step_EF
        pilot.handle(PilotTimerExpired("T_step_EF"), now)
    actions = pilot.handle(SlacFailed(), now + 50.0)
    # 5 % -> nominal goes through E/F first [unverified rule, configurable].
    assert SetOutput(PilotOutput.STATE_F) in actions
    actions = pilot.handle(PilotTimerExpired("T_step_EF"), now + 50.0 + p.T_step_EF)
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
        actions = pilot.handle(PilotTimerExpired("T_step_EF"), 1.0 + p.T_step_EF)
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
    assert PilotCancelTimer("T_step_EF") in actions and pilot.output is PilotOutput.X1
    assert pilot.handle(PilotTimerExpired("T_step_EF"), 54.0) == []


# ---------------------------------------------------------------------------------- drivers


def test_entry_point_group_name() -> None:
    assert p.PILOT_DRIVER_ENTRY_POINT_GROUP == "vgi.pilot_drivers"


def test_loopback_driver_is_always_available() -> None:
    assert p.load_pilot_driver("loopback") is p.LoopbackPilotDriver


def test_drivers_are_found_through_the_entry_point_group(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_entry_points(*, group: str):
        calls.append(group)
        return [
            EntryPoint(name="box", value="harness.protocol.pilot:LoopbackPilotDriver", group=group),
            EntryPoint(name="broken", value="harness.protocol.pilot:PilotReading", group=group),
        ]

    monkeypatch.setattr(p, "entry_points", fake_entry_points)
    assert set(p.available_pilot_drivers()) == {"box", "broken", "loopback"}
    assert calls == ["vgi.pilot_drivers"]
    assert p.load_pilot_driver("box") is p.LoopbackPilotDriver
    with pytest.raises(TypeError, match="not a PilotDriver"):
        p.load_pilot_driver("broken")
    with pytest.raises(LookupError, match="known: box, broken, loopback"):
        p.load_pilot_driver("missing")


def test_loopback_driver_combines_evse_output_and_vehicle_state() -> None:
    async def scenario() -> list[p.PilotReading]:
        driver = p.LoopbackPilotDriver()
        await driver.open()
        await driver.set_vehicle_state(PilotState.B)
        await driver.set_output(PilotOutput.X2, 5.0)
        await driver.set_vehicle_state(PilotState.C)
        await driver.set_output(PilotOutput.STATE_F)
        stream = driver.readings()
        seen = [await anext(stream) for _ in range(4)]
        with pytest.raises(ValueError):
            await driver.set_output(PilotOutput.X2)
        with pytest.raises(ValueError):
            await driver.set_vehicle_state(PilotState.F)
        await driver.close()
        return seen

    readings = asyncio.run(scenario())
    assert [(r.state, r.duty_percent) for r in readings] == [
        (PilotState.B, None),
        (PilotState.B, 5.0),
        (PilotState.C, 5.0),
        (PilotState.F, None),
    ]
    assert [p.classify_pilot_voltage(r.high_v) for r in readings] == [r.state for r in readings]
