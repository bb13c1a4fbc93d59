"""Steps for a whole DC charging session on one PLC link: pilot, SLAC, SDP and DIN SPEC 70121 in order.

The tester plays the EV (or the EVSE) the way a real one does: it plugs in, brings the Green PHY link
up with the SLAC testers, and only then runs SDP and the DIN SPEC 70121 session with the SDP/DIN
testers, all on the same interface and in the same capture.  The per-protocol checks are the existing
Then-steps of the slac, sdp and din70121 step modules (the feature names them); this module adds the
steps that chain the layers and the check that they follow one another on the one timeline.
"""

from __future__ import annotations

from pytest_bdd import given, then, when

from harness.scenario import ScenarioRun
from harness.verdict.checks import plc_session
from harness.verdict.checks.common import Sequence
from harness.verdict.verdicts import Inconclusive
from steps.din70121_tester import charge, open_ev_and_discover
from steps.slac_tester import BENCH_MARGIN_S, match_ev, offer_5_percent, plug_in_ev

# The reference devices of the `plc` service: the whole stack in one process (harness.devices.plc_stack).
PLC_SERVICE = "plc"


# --- tester as EV, DUT as SECC (the charger) -------------------------------------------------------


@given("the charger under test runs its whole stack on the PLC link")
def charger_runs_plc_stack(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.start_dut("secc", service=PLC_SERVICE)


@when("the tester plugs in as an EV and brings the PLC link up with SLAC")
def ev_brings_link_up(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    plug_in_ev(run)
    match_ev(run)
    tester = run.slac.ev
    if tester is None or tester.matched_evse_mac is None:
        raise Inconclusive("the charger did not match with the tester EV, so the link never came up")
    # ISO 15118-3 Table A.1 TT_match_join: the EV joins the logical network within this after the match.
    join_s = run.timer("TT_match_join")
    if not run.bench.run(tester.wait_link(join_s), join_s + BENCH_MARGIN_S):
        raise Inconclusive(f"the PLC link did not come up within TT_match_join ({join_s:g} s) of the match")
    run.slac.link_up = True


@when("the tester discovers the SECC with SDP and charges through a complete DIN SPEC 70121 session")
def ev_discovers_and_charges(vgi_scenario: ScenarioRun) -> None:
    if not vgi_scenario.slac.link_up:
        raise Inconclusive("the PLC link is not up, so an EV would not start SDP")
    # The DIN tester EV: SDP (with its retries) on the tester's interface, then the session.
    open_ev_and_discover(vgi_scenario)
    charge(vgi_scenario)


# --- tester as EVSE, DUT as EVCC (the vehicle) -------------------------------------------------------


@when("the EV under test is plugged in with its whole PLC stack and the tester offers 5 %")
def ev_plugged_with_plc_stack(vgi_scenario: ScenarioRun) -> None:
    offer_5_percent(vgi_scenario, "evcc", PLC_SERVICE)


# --- expectations ------------------------------------------------------------------------------------


@then("plug-in, the 5 % offer, SLAC, SDP and the DIN SPEC 70121 session follow one another on the one link")
def session_order(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    vgi_scenario.expect(
        # Whatever follows the session (unplugging, the link going down) is not part of the order.
        Sequence(
            plc_session.session_order(run.slac.tester_macs[0], tester_is_ev=run.slac.ev is not None),
            complete=False,
        ),
        "state B -> 5 % -> CM_SLAC_PARM.REQ ... CM_SLAC_MATCH.CNF -> SDP -> supportedAppProtocol -> DIN",
        plc_session.PLC_SESSION_01,
    )
