"""Steps for a whole DC charging session on one PLC link: pilot, SLAC, SDP and DIN SPEC 70121 in order.

The tester plays the EV (or the EVSE) the way a real one does: it plugs in, brings the Green PHY link
up with the SLAC testers, and only then runs SDP and the DIN SPEC 70121 session with the SDP/DIN
testers, all on the same interface and in the same capture.  The per-protocol checks are the existing
Then-steps of steps/slac.py, steps/sdp.py and steps/din70121.py (the feature names them); this module
adds the steps that chain the layers and the check that they follow one another on the one timeline.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pytest_bdd import given, then, when

from harness.protocol.pilot import (
    DIGITAL_COMMUNICATION_DUTY,
    DIGITAL_COMMUNICATION_MAX_DUTY,
    DIGITAL_COMMUNICATION_MIN_DUTY,
    PilotOutput,
    PilotState,
)
from harness.scenario import ScenarioRun
from harness.testers.slac import SlacEvseTester, SlacEvTester
from harness.verdict.verdicts import Inconclusive
from steps import din70121 as din_steps
from steps import slac as slac_steps

# The reference devices of the `plc` service: the whole stack in one process (harness.devices.plc_stack).
PLC_SERVICE = "plc"
# IEC 61851-1 / ISO 15118-3: how long an EV under test may take to present state B after plug-in
# (the same allowance the SLAC scenarios give; the reference EV presents it at once).
PLUG_IN_WAIT_S = 10.0
# Margin on top of a protocol timer for the bench's own thread hand-over.
BENCH_MARGIN_S = 5.0


def _tester_mac(run: ScenarioRun) -> str:
    return run.values["slac_tester_macs"][0]


async def _modem_linked(tester: SlacEvTester, timeout: float) -> bool:
    """Wait until one of the tester's modems has joined the peer's network (hears its beacons)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not any(modem.link_up for modem in tester.modems):
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        # The modem flips link_up from its beacon pump; no event is exposed, so look at its period.
        await asyncio.sleep(min(remaining, 0.05))
    return True


# --- tester as EV, DUT as SECC (the charger) -------------------------------------------------------


@given("the charger under test runs its whole stack on the PLC link")
def charger_runs_plc_stack(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.start_dut("secc", service=PLC_SERVICE)


@when("the tester plugs in as an EV and brings the PLC link up with SLAC")
def ev_brings_link_up(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    slac_steps.ev_plugs_in(run)
    slac_steps.ev_matches(run)
    tester: SlacEvTester = run.values["slac_ev_tester"]
    if tester.core.chosen is None:
        raise Inconclusive("the charger did not match with the tester EV, so the link never came up")
    # ISO 15118-3 Table A.1 TT_match_join: the EV joins the logical network within this after the match.
    join_s = run.bench.lab.config.pixit.timer("TT_match_join")
    if not run.bench.run(_modem_linked(tester, join_s), join_s + BENCH_MARGIN_S):
        raise Inconclusive(f"the PLC link did not come up within TT_match_join ({join_s:g} s) of the match")
    run.values["plc_link_up"] = True


@when("the tester discovers the SECC with SDP and charges through a complete DIN SPEC 70121 session")
def ev_discovers_and_charges(vgi_scenario: ScenarioRun) -> None:
    if not vgi_scenario.values.get("plc_link_up"):
        raise Inconclusive("the PLC link is not up, so an EV would not start SDP")
    # The DIN steps' own tester EV: SDP (with its retries) on the tester's interface, then the session.
    din_steps.tester_is_ev(vgi_scenario)
    din_steps.charge_complete(vgi_scenario)


# --- tester as EVSE, DUT as EVCC (the vehicle) -------------------------------------------------------


@when("the EV under test is plugged in with its whole PLC stack and the tester offers 5 %")
def ev_plugged_with_plc_stack(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.start_dut("evcc", service=PLC_SERVICE)
    tester: SlacEvseTester = run.values["slac_evse_tester"]
    if tester.pilot is None:  # a `plc` lab: the lab's pilot box offers 5 % to the EV
        tester.start_matching()
        return
    if not run.bench.run(tester.wait_vehicle(PilotState.B, PLUG_IN_WAIT_S), PLUG_IN_WAIT_S + BENCH_MARGIN_S):
        raise Inconclusive(f"the EV presented no state B within {PLUG_IN_WAIT_S:g} s")
    # As a charger does: the SLAC side listens before the 5 % offer invites the EV to start.
    tester.start_matching()
    run.bench.run(tester.set_output(PilotOutput.X2, DIGITAL_COMMUNICATION_DUTY), BENCH_MARGIN_S)


# --- expectations ------------------------------------------------------------------------------------


def _session_order(run: ScenarioRun, tester_is_ev: bool) -> list[dict[str, Any]]:
    tester, dut = {"src": _tester_mac(run)}, {"src": {"ne": _tester_mac(run)}}
    ev, evse = (tester, dut) if tester_is_ev else (dut, tester)
    # Only the pilot records of the plug-in phase take part in the order (state B, then 5 % in state B
    # before any energy); later ones (state C, energizing, unplugging) belong to other checks.
    plugged_in = {"protocol": "PILOT", "message": "VehicleState", "where": {**ev, "vehicle": "B"}}
    offers_5 = {
        "protocol": "PILOT",
        "message": "EvseOutput",
        "where": {
            **evse,
            "vehicle": "B",
            "energized": False,
            # "ne" first: +12 V records carry no duty cycle, and a range cannot compare None.
            "duty_percent": {
                "ne": None,
                "range": [DIGITAL_COMMUNICATION_MIN_DUTY, DIGITAL_COMMUNICATION_MAX_DUTY],
            },
        },
    }
    selectors: list[dict[str, Any]] = [
        plugged_in,
        offers_5,
        {"protocol": "SLAC", "message": "CM_SLAC_PARM.REQ", "where": ev},
        {"protocol": "SLAC"},  # sounding, attenuation, CM_SLAC_MATCH.REQ (and repetitions)
        {"protocol": "SLAC", "message": "CM_SLAC_MATCH.CNF", "where": evse},
        {"protocol": "SDP", "message": "SECCDiscoveryReq"},
        {"protocol": "SDP"},  # the answers and any further requests
        {"protocol": "AppProtocol"},
        {"protocol": "DIN"},
    ]
    # Every step may repeat (retries, the CurrentDemand loop); each must occur at least once.
    return [{"select": selector, "min": 1, "max": None} for selector in selectors]


@then("plug-in, the 5 % offer, SLAC, SDP and the DIN SPEC 70121 session follow one another on the one link")
def session_order(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    vgi_scenario.expect(
        {
            "kind": "sequence",
            "pattern": _session_order(run, tester_is_ev="slac_ev_tester" in run.values),
            # Whatever follows the session (unplugging, the link going down) is not part of the order.
            "complete": False,
        },
        "state B -> 5 % -> CM_SLAC_PARM.REQ ... CM_SLAC_MATCH.CNF -> SDP -> supportedAppProtocol -> DIN",
        "PLC-SESSION-01",
    )
