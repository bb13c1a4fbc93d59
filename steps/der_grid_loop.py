"""Steps of the grid-to-EV loop (interfaces 3 + 4): the DC charger (DCPC) under test is both the SECC on the
EV link and an IEEE 2030.5 DER client of the PFE; the tester plays both the PFE's DER server (steps/der.py)
and the EV (the ISO 15118-2 tester EV with SAE J2847/2 V2G, steps/iso15118_2_bpt.py), runs the EV's
session in the background (:mod:`harness.testers.grid_loop`) while the PFE publishes a discharge control,
and judges both links from the one capture (:mod:`harness.verdict.checks.der_grid_loop`, the DER checks of
steps/der_checks.py).  Times in the feature text are server seconds (PIXIT ``sep2_clock_speedup``).
"""

from __future__ import annotations

from dataclasses import replace

from pytest_bdd import given, parsers, then, when

from harness.devices.evcc import SIM_BATTERY
from harness.devices.sep2.common import dut_identity
from harness.scenario import ScenarioRun, required
from harness.testers.grid_loop import GridLoopEv
from harness.verdict.checks import der as d
from harness.verdict.checks import der_grid_loop as g
from harness.verdict.verdicts import Inconclusive
from steps.der import REGISTRATION_TIMEOUT_S, site
from steps.der_checks import der_pixit, der_responses, power_check
from steps.din70121_tester import BENCH_MARGIN_S, SESSION_LIMIT_S, setup
from steps.sep2_server import server, wait_until

# The DC charger role and the reference device service that is the DCPC (README "Grid-to-EV loop").
DCPC_ROLE = "dc-charger"
DCPC_SERVICE = "grid-bpt"
# How long the tester EV may take from plug-in to energy transfer (a simulated session: about a second;
# a real charger's cable check and precharge: well under this).
TRANSFER_TIMEOUT_S = 60.0
# The tester EV's session bound in the loop: the control's run on the lab clock comes on top of a session.
LOOP_SESSION_LIMIT_S = 4 * SESSION_LIMIT_S


def _loop(run: ScenarioRun) -> GridLoopEv:
    return required(run.din.grid_loop, "tester EV loop session")


def _speedup(run: ScenarioRun) -> float:
    return float(run.bench.settings.sep2_clock_speedup)


# --- the DCPC ------------------------------------------------------------------------------------


@given("the dc-charger under test is running as the DC power converter of the grid-to-EV loop")
def dcpc_running(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.sep2.dut_role = DCPC_ROLE
    vgi_scenario.start_dut(DCPC_ROLE, DCPC_SERVICE)


@given("the DER site waits until the dc-charger is authorized")
def dcpc_authorized(vgi_scenario: ScenarioRun) -> None:
    der = site(vgi_scenario)
    lfdi = dut_identity(DCPC_ROLE, vgi_scenario.bench.settings).lfdi
    if not wait_until(vgi_scenario, lambda: der.authorized(lfdi), REGISTRATION_TIMEOUT_S):
        tried = server(vgi_scenario).connection_attempts() > 0
        raise Inconclusive(
            "the dc-charger under test "
            + ("did not declare a DER the site authorizes" if tried else "never connected to the tester")
            + f" within {REGISTRATION_TIMEOUT_S:g} s"
        )


# --- the tester EV ---------------------------------------------------------------------------------


@given(
    parsers.parse(
        "the tester EV's pack holds {kwh:g} kWh at {soc:g} % state of charge, {min_soc:g} % its minimum"
    )
)
def loop_ev_pack(vgi_scenario: ScenarioRun, kwh: float, soc: float, min_soc: float) -> None:
    # A pack that neither fills nor empties while the control runs: the session lasts until the user stops.
    ev = setup(vgi_scenario)
    ev.battery = replace(ev.battery or SIM_BATTERY, capacity_kwh=kwh, min_soc=min_soc)
    ev.start_soc = soc


@when("the tester EV starts charging and reaches energy transfer")
def loop_ev_starts(vgi_scenario: ScenarioRun) -> None:
    ev = required(vgi_scenario.din.ev, "tester EV (it has not found the SECC)")
    loop = GridLoopEv(ev)
    vgi_scenario.din.grid_loop = loop
    vgi_scenario.bench.run(loop.start(LOOP_SESSION_LIMIT_S))
    # A scenario that ends early (inconclusive, error) does not leave the session running.
    vgi_scenario.cleanups.append(lambda: vgi_scenario.bench.run(loop.cancel(), BENCH_MARGIN_S))
    began = vgi_scenario.bench.run(
        loop.wait_transfer(TRANSFER_TIMEOUT_S), TRANSFER_TIMEOUT_S + BENCH_MARGIN_S
    )
    if not began:
        raise Inconclusive(
            f"the tester EV's session did not reach energy transfer within {TRANSFER_TIMEOUT_S:g} s"
        )


@when("the tester EV's user stops charging")
def loop_ev_stops(vgi_scenario: ScenarioRun) -> None:
    loop = _loop(vgi_scenario)
    try:
        outcome = vgi_scenario.bench.run(loop.finish(), LOOP_SESSION_LIMIT_S + BENCH_MARGIN_S)
    except OSError as exc:
        raise Inconclusive(f"the SECC did not accept the V2G TCP connection: {exc}") from None
    finally:
        for port in loop.tester.local_ports:
            vgi_scenario.claim_port(port)
    vgi_scenario.din.outcomes.append(outcome)


# --- checks ----------------------------------------------------------------------------------------


def _control(run: ScenarioRun, name: str) -> str:
    return required(run.der.controls.get(name), f'control "{name}"')


@then(
    parsers.parse(
        'the dc-charger asks the EV for the commanded discharge while control "{name}" is in effect'
    )
)
def asks_for_discharge(vgi_scenario: ScenarioRun, name: str) -> None:
    check = g.DerGridLoop(
        _speedup(vgi_scenario),
        _control(vgi_scenario, name),
        g.DEMAND,
        tolerance_w=der_pixit(vgi_scenario).der_power_tolerance_w,
        max_latency_s=der_pixit(vgi_scenario).der_grid_loop_latency_s,
        jitter_s=der_pixit(vgi_scenario).capture_jitter_s,
    )
    vgi_scenario.expect(
        check,
        f'CurrentDemandRes ask for the export control "{name}" commands (negative EVSEMaximumPowerLimit) '
        "while it is in effect, within the EV's limits, and for none before or after",
        g.DER_DCPC_01,
    )


@then(parsers.parse('the dc-charger passes control "{name}" to the EV within the loop latency'))
def within_latency(vgi_scenario: ScenarioRun, name: str) -> None:
    check = g.DerGridLoop(
        _speedup(vgi_scenario),
        _control(vgi_scenario, name),
        g.LATENCY,
        max_latency_s=der_pixit(vgi_scenario).der_grid_loop_latency_s,
        jitter_s=der_pixit(vgi_scenario).capture_jitter_s,
    )
    vgi_scenario.expect(
        check,
        f'the first CurrentDemandRes asking for discharge follows control "{name}"\'s effective start within '
        "the PIXIT der_grid_loop_latency_s (default one pollRate and 3 CurrentDemand cycles)",
        g.DER_DCPC_02,
    )


@then("the dc-charger answers every control as the schedule calls for")
def dcpc_answers_as_scheduled(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        der_responses(vgi_scenario),
        "every DERControlResponse (received, started, completed) as the oracle over the published schedule "
        "calls for",
        d.DER_RSP_01,
    )


@then("the dc-charger mirrors the export as negative real power of the commanded size")
def mirrors_export(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        power_check(vgi_scenario, "fixed", "exports"),
        "real-power readings of the DC link negative during the discharge, within tolerance of the "
        "commanded export once settled",
        g.DER_DCPC_03,
    )
