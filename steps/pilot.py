"""Steps for the control pilot (SAE J1772 / IEC 61851-1, ISO 15118-3 5 % rules), both tester roles.

Every pilot change is a PILOT record on the captured link (the simulated pilot's 0x88B5 frames), so
these steps judge the pilot from the capture like any other protocol: ``EvseOutput`` records are the
EVSE side's changes, ``VehicleState`` records the vehicle side's.  The pilot testers drive the pilot the
SLAC tester of the scenario holds (steps/slac_tester.py opens it).
"""

from __future__ import annotations

import asyncio

from pytest_bdd import parsers, then, when

from harness.protocol.pilot import DIGITAL_COMMUNICATION_DUTY, PilotState, duty_from_ampacity
from harness.scenario import ScenarioRun, required
from harness.testers.pilot import PilotEvseTester, PilotEvTester
from harness.verdict.checks import pilot as p
from harness.verdict.checks.common import (
    Interval,
    Item,
    Present,
    ResponseTime,
    absent,
    one_of,
    repeated,
    sequence,
)
from harness.verdict.checks.slac import slac
from steps.slac_tester import BENCH_MARGIN_S, PILOT_CHANGE_S, PLUG_IN_WAIT_S

# The pilot records carry the duty cycle to 0.1 % (harness.devices.pilot_sim).
DUTY_DECIMALS = 1
_DIGITAL = {"output": "X2", "duty_percent": DIGITAL_COMMUNICATION_DUTY}


def _sides(run: ScenarioRun) -> p.PilotSides:
    return p.PilotSides(run.slac.tester_macs[0])


def _hold(run: ScenarioRun, seconds: float) -> None:
    run.bench.run(asyncio.sleep(seconds), seconds + BENCH_MARGIN_S)


def _evse_tester(run: ScenarioRun) -> PilotEvseTester:
    return PilotEvseTester(required(run.slac.evse, "tester EVSE"))


# --- tester as EV (EVSE under test) ----------------------------------------------------------------


@when(parsers.parse("the tester presents state {state} for {seconds:g} s"))
def present_state(vgi_scenario: ScenarioRun, state: str, seconds: float) -> None:
    tester = PilotEvTester(required(vgi_scenario.slac.ev, "tester EV"))
    vgi_scenario.bench.run(tester.present(PilotState(state), seconds), seconds + BENCH_MARGIN_S)


@when(parsers.parse("the tester waits {seconds:g} s"))
def wait(vgi_scenario: ScenarioRun, seconds: float) -> None:
    _hold(vgi_scenario, seconds)


@then("the EVSE shows +12 V until the vehicle presents state B, then offers 5 %")
def evse_offers_5(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        sequence(
            repeated(side.from_dut(p.EVSE_OUTPUT, output="X1")),
            repeated(side.from_tester(p.VEHICLE_STATE, state="B")),
            side.from_dut(p.EVSE_OUTPUT, **_DIGITAL),
            complete=False,
        ),
        "state A at +12 V (X1), then 5 % PWM once the vehicle presents state B",
        p.PILOT_EVSE_01,
    )


@then("the EVSE energizes within T_pilot_energize of state C")
def evse_energizes(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        ResponseTime(
            side.from_tester(p.VEHICLE_STATE, state="C"),
            side.from_dut(p.EVSE_OUTPUT, energized=True),
            vgi_scenario.timer("T_pilot_energize"),
        ),
        "the outlet is energized within T_pilot_energize of B->C",
        p.PILOT_EVSE_02,
    )


@then("the EVSE de-energizes within T_pilot_deenergize of leaving state C")
def evse_deenergizes(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        ResponseTime(
            side.from_tester(p.VEHICLE_STATE, state=one_of(["A", "B"]), energized=True),
            side.from_dut(p.EVSE_OUTPUT, energized=False),
            vgi_scenario.timer("T_pilot_deenergize"),
        ),
        "the outlet is de-energized within T_pilot_deenergize of C->B or C->A",
        p.PILOT_EVSE_03,
    )


@then("the EVSE returns to +12 V without PWM after unplugging")
def evse_back_to_x1(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        ResponseTime(
            side.from_tester(p.VEHICLE_STATE, state="A"),
            side.from_dut(p.EVSE_OUTPUT, output="X1", duty_percent=None),
            vgi_scenario.timer("T_pilot_pwm_response"),
        ),
        "state A: the EVSE stops the PWM and shows +12 V",
        p.PILOT_EVSE_04,
    )


@then("the EVSE does not energize without a match")
def evse_no_energy_without_match(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        absent(side.from_dut(p.EVSE_OUTPUT, energized=True)),
        "no energy in state C at 5 % before digital communication allowed it",
        p.PILOT_EVSE_05,
    )
    vgi_scenario.expect(
        Present(side.from_tester(p.VEHICLE_STATE, state="C"), min=1),
        "the vehicle did ask for energy (state C)",
        p.PILOT_EVSE_05,
    )


@then("without SLAC the EVSE goes through state F for T_step_EF and offers 5 % again")
def evse_step_ef(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        sequence(
            Item(side.from_dut(p.EVSE_OUTPUT, output="X1"), 0, None),
            repeated(side.from_dut(p.EVSE_OUTPUT, **_DIGITAL)),
            repeated(side.from_dut(p.EVSE_OUTPUT, output=one_of(["E", "F"]))),
            repeated(side.from_dut(p.EVSE_OUTPUT, **_DIGITAL)),
            complete=False,
        ),
        "5 %, then state E/F after TT_EVSE_SLAC_init, then 5 % again (ISO 15118-3 retry)",
        p.PILOT_EVSE_06,
    )
    vgi_scenario.expect(
        Interval(
            side.from_dut(p.EVSE_OUTPUT, output=one_of(["E", "F", "X2"])),
            min_s=vgi_scenario.timer("T_step_EF"),
            tolerance_s=vgi_scenario.capture_jitter_s,
        ),
        "state E/F held at least T_step_EF, and 5 % held TT_EVSE_SLAC_init before it",
        p.PILOT_EVSE_06,
    )


# --- tester as EVSE (EV under test) ----------------------------------------------------------------


@when(parsers.parse("the tester offers a nominal duty cycle for {amps:g} A for {seconds:g} s"))
def offer_nominal(vgi_scenario: ScenarioRun, amps: float, seconds: float) -> None:
    run = vgi_scenario
    run.start_dut("ev", "slac")
    tester = _evse_tester(run)
    evse = run.slac.evse
    assert evse is not None
    run.bench.run(evse.wait_vehicle(PilotState.B, PLUG_IN_WAIT_S), PLUG_IN_WAIT_S + BENCH_MARGIN_S)
    run.pilot.nominal_duty_percent = round(duty_from_ampacity(amps), DUTY_DECIMALS)
    run.bench.run(tester.offer_nominal(amps), PILOT_CHANGE_S)
    _hold(run, seconds)


@when(parsers.parse("the tester switches the pilot to state F for {seconds:g} s"))
def state_f(vgi_scenario: ScenarioRun, seconds: float) -> None:
    vgi_scenario.bench.run(_evse_tester(vgi_scenario).state_f(), PILOT_CHANGE_S)
    _hold(vgi_scenario, seconds)


@when(parsers.parse("the tester offers 5 % again for {seconds:g} s"))
def offer_again(vgi_scenario: ScenarioRun, seconds: float) -> None:
    vgi_scenario.bench.run(_evse_tester(vgi_scenario).offer_digital(), PILOT_CHANGE_S)
    _hold(vgi_scenario, seconds)


@then("the EV presents state B, and state C only after the match")
def ev_c_after_match(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        Present(side.from_dut(p.VEHICLE_STATE, state="B"), min=1),
        "the plugged-in EV presents state B",
        p.PILOT_EV_01,
    )
    vgi_scenario.expect(
        sequence(repeated(slac("CM_SLAC_MATCH.CNF")), repeated(side.from_dut(p.VEHICLE_STATE, vehicle="C"))),
        "state C only after CM_SLAC_MATCH.CNF",
        p.PILOT_EV_01,
    )


@then("the EV charges on the nominal duty cycle without SLAC")
def ev_basic_charging(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        absent(slac("CM_SLAC_PARM.REQ")),
        "no SLAC on a nominal duty cycle (no digital communication requested)",
        p.PILOT_EV_02,
    )
    vgi_scenario.expect(
        ResponseTime(
            side.from_tester(p.EVSE_OUTPUT, duty_percent=vgi_scenario.pilot.nominal_duty_percent),
            side.from_dut(p.VEHICLE_STATE, vehicle="C"),
            vgi_scenario.timer("T_pilot_pwm_response"),
        ),
        "state C within T_pilot_pwm_response of the nominal duty cycle",
        p.PILOT_EV_02,
    )


@then("the EV stops SLAC in state F and starts again on 5 %")
def ev_stops_in_f(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        sequence(
            Item(side.from_tester(p.EVSE_OUTPUT, output="X1"), 0, None),
            side.from_tester(p.EVSE_OUTPUT, **_DIGITAL),
            repeated(slac("CM_SLAC_PARM.REQ")),
            side.from_tester(p.EVSE_OUTPUT, output="F"),
            side.from_tester(p.EVSE_OUTPUT, **_DIGITAL),
            repeated(slac("CM_SLAC_PARM.REQ")),
        ),
        "CM_SLAC_PARM.REQ on 5 %, none while in state F, again after 5 % returns",
        p.PILOT_EV_03,
    )


@then("the EV leaves state C when the EVSE goes to state F")
def ev_leaves_c(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        ResponseTime(
            side.from_tester(p.EVSE_OUTPUT, output="F"),
            side.from_dut(p.VEHICLE_STATE, vehicle=one_of(["A", "B"])),
            vgi_scenario.timer("T_pilot_pwm_response"),
        ),
        "the EV opens S2 (state B) within T_pilot_pwm_response of state F",
        p.PILOT_EV_04,
    )
