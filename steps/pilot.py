"""Steps for the control pilot (SAE J1772 / IEC 61851-1, ISO 15118-3 5 % rules), both tester roles.

Every pilot change is a PILOT record on the captured link (the simulated pilot's 0x88B5 frames), so
these steps judge the pilot from the capture like any other protocol: ``EvseOutput`` records are the
EVSE side's changes, ``VehicleState`` records the vehicle side's.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pytest_bdd import parsers, then, when

from harness.protocol.pilot import DIGITAL_COMMUNICATION_DUTY, PilotState, duty_from_ampacity
from harness.scenario import ScenarioRun
from harness.testers.pilot import PilotEvseTester, PilotEvTester

_EVSE = "EvseOutput"
_VEHICLE = "VehicleState"


def _timer(run: ScenarioRun, name: str) -> float:
    return run.bench.lab.config.pixit.timer(name)


def _tester_mac(run: ScenarioRun) -> str:
    return run.values["slac_tester_macs"][0]


def _from_tester(run: ScenarioRun, message: str, **where: Any) -> dict[str, Any]:
    return {"protocol": "PILOT", "message": message, "where": {"src": _tester_mac(run), **where}}


def _from_dut(run: ScenarioRun, message: str, **where: Any) -> dict[str, Any]:
    return {"protocol": "PILOT", "message": message, "where": {"src": {"ne": _tester_mac(run)}, **where}}


def _hold(run: ScenarioRun, seconds: float) -> None:
    run.bench.run(asyncio.sleep(seconds), seconds + 5)


# --- tester as EV (EVSE under test) ----------------------------------------------------------------


@when(parsers.parse("the tester presents state {state} for {seconds:g} s"))
def present_state(vgi_scenario: ScenarioRun, state: str, seconds: float) -> None:
    tester = PilotEvTester(vgi_scenario.values["slac_ev_tester"])
    vgi_scenario.bench.run(tester.present(PilotState(state), seconds), seconds + 5)


@when(parsers.parse("the tester waits {seconds:g} s"))
def wait(vgi_scenario: ScenarioRun, seconds: float) -> None:
    _hold(vgi_scenario, seconds)


@then("the EVSE shows +12 V until the vehicle presents state B, then offers 5 %")
def evse_offers_5(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {
            "kind": "sequence",
            "pattern": [
                {"select": _from_dut(run, _EVSE, output="X1"), "min": 1, "max": None},
                {"select": _from_tester(run, _VEHICLE, state="B"), "min": 1, "max": None},
                {"select": _from_dut(run, _EVSE, output="X2", duty_percent=DIGITAL_COMMUNICATION_DUTY)},
            ],
            "complete": False,
        },
        "state A at +12 V (X1), then 5 % PWM once the vehicle presents state B",
        "PILOT-EVSE-01",
    )


@then("the EVSE energizes within T_pilot_energize of state C")
def evse_energizes(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {
            "kind": "response_time",
            "request": _from_tester(run, _VEHICLE, state="C"),
            "response": _from_dut(run, _EVSE, energized=True),
            "max_s": _timer(run, "T_pilot_energize"),
        },
        "the outlet is energized within T_pilot_energize of B->C",
        "PILOT-EVSE-02",
    )


@then("the EVSE de-energizes within T_pilot_deenergize of leaving state C")
def evse_deenergizes(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {
            "kind": "response_time",
            "request": _from_tester(run, _VEHICLE, state={"in": ["A", "B"]}, energized=True),
            "response": _from_dut(run, _EVSE, energized=False),
            "max_s": _timer(run, "T_pilot_deenergize"),
        },
        "the outlet is de-energized within T_pilot_deenergize of C->B or C->A",
        "PILOT-EVSE-03",
    )


@then("the EVSE returns to +12 V without PWM after unplugging")
def evse_back_to_x1(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {
            "kind": "response_time",
            "request": _from_tester(run, _VEHICLE, state="A"),
            "response": _from_dut(run, _EVSE, output="X1", duty_percent=None),
            "max_s": _timer(run, "T_pilot_pwm_response"),
        },
        "state A: the EVSE stops the PWM and shows +12 V",
        "PILOT-EVSE-04",
    )


@then("the EVSE does not energize without a match")
def evse_no_energy_without_match(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {"kind": "present", "select": _from_dut(run, _EVSE, energized=True), "min": 0, "max": 0},
        "no energy in state C at 5 % before digital communication allowed it",
        "PILOT-EVSE-05",
    )
    run.expect(
        {"kind": "present", "select": _from_tester(run, _VEHICLE, state="C"), "min": 1},
        "the vehicle did ask for energy (state C)",
        "PILOT-EVSE-05",
    )


@then("without SLAC the EVSE goes through state F for T_step_EF and offers 5 % again")
def evse_step_ef(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    digital = {"output": "X2", "duty_percent": DIGITAL_COMMUNICATION_DUTY}
    run.expect(
        {
            "kind": "sequence",
            "pattern": [
                {"select": _from_dut(run, _EVSE, output="X1"), "min": 0, "max": None},
                {"select": _from_dut(run, _EVSE, **digital), "min": 1, "max": None},
                {"select": _from_dut(run, _EVSE, output={"in": ["E", "F"]}), "min": 1, "max": None},
                {"select": _from_dut(run, _EVSE, **digital), "min": 1, "max": None},
            ],
            "complete": False,
        },
        "5 %, then state E/F after TT_EVSE_SLAC_init, then 5 % again (ISO 15118-3 retry)",
        "PILOT-EVSE-06",
    )
    run.expect(
        {
            "kind": "interval",
            "select": _from_dut(run, _EVSE, output={"in": ["E", "F", "X2"]}),
            "min_s": _timer(run, "T_step_EF"),
            "tolerance_s": run.bench.lab.config.pixit.capture_jitter_s,
        },
        "state E/F held at least T_step_EF, and 5 % held TT_EVSE_SLAC_init before it",
        "PILOT-EVSE-06",
    )


# --- tester as EVSE (EV under test) ----------------------------------------------------------------


@when(parsers.parse("the tester offers a nominal duty cycle for {amps:g} A for {seconds:g} s"))
def offer_nominal(vgi_scenario: ScenarioRun, amps: float, seconds: float) -> None:
    run = vgi_scenario
    run.start_dut("ev", "slac")
    tester = PilotEvseTester(run.values["slac_evse_tester"])
    run.bench.run(tester.slac.wait_vehicle(PilotState.B, 10.0), 15)
    run.values["pilot_nominal_duty"] = round(duty_from_ampacity(amps), 1)  # records carry 0.1 %
    run.bench.run(tester.offer_nominal(amps), 5)
    _hold(run, seconds)


@when(parsers.parse("the tester switches the pilot to state F for {seconds:g} s"))
def state_f(vgi_scenario: ScenarioRun, seconds: float) -> None:
    tester = PilotEvseTester(vgi_scenario.values["slac_evse_tester"])
    vgi_scenario.bench.run(tester.state_f(), 5)
    _hold(vgi_scenario, seconds)


@when(parsers.parse("the tester offers 5 % again for {seconds:g} s"))
def offer_again(vgi_scenario: ScenarioRun, seconds: float) -> None:
    tester = PilotEvseTester(vgi_scenario.values["slac_evse_tester"])
    vgi_scenario.bench.run(tester.offer_digital(), 5)
    _hold(vgi_scenario, seconds)


@then("the EV presents state B, and state C only after the match")
def ev_c_after_match(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {"kind": "present", "select": _from_dut(run, _VEHICLE, state="B"), "min": 1},
        "the plugged-in EV presents state B",
        "PILOT-EV-01",
    )
    run.expect(
        {
            "kind": "sequence",
            "pattern": [
                {"select": {"protocol": "SLAC", "message": "CM_SLAC_MATCH.CNF"}, "min": 1, "max": None},
                {"select": _from_dut(run, _VEHICLE, vehicle="C"), "min": 1, "max": None},
            ],
        },
        "state C only after CM_SLAC_MATCH.CNF",
        "PILOT-EV-01",
    )


@then("the EV charges on the nominal duty cycle without SLAC")
def ev_basic_charging(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {
            "kind": "present",
            "select": {"protocol": "SLAC", "message": "CM_SLAC_PARM.REQ"},
            "min": 0,
            "max": 0,
        },
        "no SLAC on a nominal duty cycle (no digital communication requested)",
        "PILOT-EV-02",
    )
    run.expect(
        {
            "kind": "response_time",
            "request": _from_tester(run, _EVSE, duty_percent=run.values.get("pilot_nominal_duty")),
            "response": _from_dut(run, _VEHICLE, vehicle="C"),
            "max_s": _timer(run, "T_pilot_pwm_response"),
        },
        "state C within T_pilot_pwm_response of the nominal duty cycle",
        "PILOT-EV-02",
    )


@then("the EV stops SLAC in state F and starts again on 5 %")
def ev_stops_in_f(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    digital = {"output": "X2", "duty_percent": DIGITAL_COMMUNICATION_DUTY}
    run.expect(
        {
            "kind": "sequence",
            "pattern": [
                {"select": _from_tester(run, _EVSE, output="X1"), "min": 0, "max": None},
                {"select": _from_tester(run, _EVSE, **digital)},
                {"select": {"protocol": "SLAC", "message": "CM_SLAC_PARM.REQ"}, "min": 1, "max": None},
                {"select": _from_tester(run, _EVSE, output="F")},
                {"select": _from_tester(run, _EVSE, **digital)},
                {"select": {"protocol": "SLAC", "message": "CM_SLAC_PARM.REQ"}, "min": 1, "max": None},
            ],
        },
        "CM_SLAC_PARM.REQ on 5 %, none while in state F, again after 5 % returns",
        "PILOT-EV-03",
    )


@then("the EV leaves state C when the EVSE goes to state F")
def ev_leaves_c(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {
            "kind": "response_time",
            "request": _from_tester(run, _EVSE, output="F"),
            "response": _from_dut(run, _VEHICLE, vehicle={"in": ["A", "B"]}),
            "max_s": _timer(run, "T_pilot_pwm_response"),
        },
        "the EV opens S2 (state B) within T_pilot_pwm_response of state F",
        "PILOT-EV-04",
    )
